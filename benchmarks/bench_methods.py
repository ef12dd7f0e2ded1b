"""Latency of every traditional method on a 1024x768 RGB photo, with reference baselines.

Run: ``python -m benchmarks.bench_methods [--repeats 5] [--only otsu,canny]``

Rows:
- every registered non-deep method at default parameters (stage cache cleared
  before each run, so nothing is reused), next to the reference library call
  where one exists;
- "late stage" rows: a cheap parameter moved with the expensive stages cached
  (what a slider does in the dashboard), against the full run;
- the working resolution: a 4000x3000 photo segmented at the default working
  size versus at full size;
- hand-written twins of library functions (``--twins``): each of our own
  implementations against the library call it stands in for, timed in the same
  process, with a column saying how far the results agree. The README's
  "Hand-written, and why" table quotes these rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools

import numpy as np
from skimage import data, feature, filters, segmentation
from skimage.color import rgb2gray
from skimage.transform import resize
from skimage import graph as skgraph
from skimage.metrics import adapted_rand_error
from sklearn.cluster import KMeans, MeanShift
from threadpoolctl import threadpool_limits

import seglib
from seglib import cache
from seglib.traditional import clustering, graph, threshold

from .harness import Case, measure, run_cases, table

HEAVY = {"mean-shift", "normalized-cut", "hierarchical", "split-merge", "fuzzy-cmeans", "watershed", "slic", "felzenszwalb"}


def photo(height: int = 768, width: int = 1024) -> np.ndarray:
    """The astronaut photo resized to (height, width), uint8 RGB."""
    return (resize(data.astronaut(), (height, width), anti_aliasing=True) * 255).astype(np.uint8)


def baselines(image: np.ndarray) -> dict:
    """Reference implementations, keyed by method slug: (label, callable)."""
    gray = rgb2gray(image)
    floats = image / 255.0
    pixels = floats.reshape(-1, 3)
    k = _default("kmeans", "n_clusters", 4)
    return {
        "otsu": ("skimage threshold_otsu", lambda: gray > filters.threshold_otsu(gray)),
        "canny": ("skimage.feature.canny", lambda: feature.canny(gray, 1.0, 0.8, 0.95, use_quantiles=True)),
        "felzenszwalb": ("skimage felzenszwalb", lambda: segmentation.felzenszwalb(floats, scale=_default("felzenszwalb", "scale", 1), sigma=0.8, min_size=20, channel_axis=-1)),
        "slic": ("skimage slic", lambda: segmentation.slic(floats, n_segments=_default("slic", "n_segments", 200), compactness=_default("slic", "compactness", 10.0), start_label=1)),
        "kmeans": (f"sklearn KMeans(k={k}) on all pixels", lambda: KMeans(n_clusters=k, n_init=1, random_state=0).fit(pixels)),
    }


def _slugs() -> set[str]:
    return {m.name for m in seglib.methods()}


def _default(slug: str, param: str, fallback):
    try:
        return seglib.method(slug).param(param).default
    except KeyError:
        return fallback


def method_cases(image: np.ndarray, only: set[str] | None) -> list[Case]:
    refs = baselines(image)
    size = f"{image.shape[1]}x{image.shape[0]}"
    cases = []
    for m in seglib.methods():
        if m.family in ("deep", "interactive") or (only and m.name not in only):
            continue
        label, ref = refs.get(m.name, ("", None))
        cases.append(Case(m.name, size, lambda m=m: seglib.segment(image, m), baseline=ref, baseline_label=label,
                          target_ms=1500 if m.name in HEAVY else 150, setup=cache.clear))
    return cases


def late_stage_cases(image: np.ndarray, only: set[str] | None) -> list[Case]:
    """A slider on a late stage, caches warm, against the full computation.

    Canny's hysteresis is cheap (target 150 ms). Watershed's compactness changes the flood itself,
    the method's main work, so only the landscape and markers are reused and the row keeps the
    method's own target (a heavy method: 1.5 s).
    """
    size = f"{image.shape[1]}x{image.shape[0]}"
    moves = {
        "canny": ("high_quantile", [0.95, 0.96, 0.97]),
        "watershed": ("compactness", None),
    }
    cases = []
    for slug, (param, values) in moves.items():
        if slug not in _slugs() or (only and slug not in only):
            continue
        spec = seglib.method(slug).param(param)
        values = values or [spec.default, spec.high if spec.high is not None else spec.default]
        cycle = itertools.cycle(values)
        cases.append(Case(f"{slug}: move {param} only", size,
                          lambda slug=slug, param=param, cycle=cycle: seglib.segment(image, slug, **{param: next(cycle)}),
                          baseline=lambda slug=slug: (cache.clear(), seglib.segment(image, slug)),
                          baseline_label="full run, cache cleared", target_ms=1500 if slug in HEAVY else 150))
    return cases


def working_resolution_cases() -> list[Case]:
    big = photo(3000, 4000)
    return [Case("otsu at working size 1024", "4000x3000", lambda: seglib.segment(big, "otsu"),
                 baseline=lambda: seglib.segment(big, "otsu", working_size=None), baseline_label="full resolution",
                 setup=cache.clear)]


def _inertia(points: np.ndarray, centres: np.ndarray) -> float:
    """Mean squared distance of the points to their nearest centre."""
    nearest = clustering.nearest_centre(points, centres)
    return float(((points - centres[nearest]) ** 2).sum(axis=1).mean())


def kmeans_twin(image: np.ndarray) -> tuple[Case, str]:
    """Our sample fit plus assigning every pixel, against scikit-learn's KMeans on every pixel."""
    k = _default("kmeans", "n_clusters", 4)
    pixels = clustering.pixel_features(image / 255.0).astype(np.float64)

    def ours():
        with threadpool_limits(limits=1, user_api="blas"):
            centres = clustering.fit_kmeans(pixels, k, 0)
            clustering.nearest_centre(pixels, centres)
        return centres

    def theirs():
        return KMeans(n_clusters=k, n_init=1, random_state=0).fit(pixels).cluster_centers_

    ratio = _inertia(pixels, ours()) / _inertia(pixels, theirs())
    return (Case(f"kmeans fit (k={k}, 10,000-pixel sample) + assign all", "1024x768", ours, baseline=theirs,
                 baseline_label="sklearn KMeans(n_init=1), all pixels"),
            f"inertia {ratio:.3f}x sklearn's")


def multi_otsu_twin(image: np.ndarray, classes: int = 4) -> tuple[Case, str]:
    """Our exact dynamic programme against scikit-image's lookup-table search on the same 256-bin histogram."""
    gray = threshold.luminance(image / 255.0)
    prob, levels = threshold._range_histogram(gray)
    ours = lambda: levels[threshold.multi_otsu_indices(prob, classes)]  # noqa: E731
    theirs = lambda: filters.threshold_multiotsu(hist=(prob.copy(), levels), classes=classes)  # noqa: E731
    same = np.array_equal(ours(), theirs())
    return (Case(f"multi-Otsu thresholds ({classes} classes, 256 bins)", "1024x768", ours, baseline=theirs,
                 baseline_label="skimage threshold_multiotsu"), "the same thresholds" if same else "different thresholds")


def mean_shift_twin(image: np.ndarray) -> tuple[Case, str]:
    """Our vectorised climb against scikit-learn's MeanShift from the same seeds on the same sample."""
    bandwidth = 0.15
    features = clustering.pixel_features(image / 255.0).astype(np.float64)
    rows = np.random.default_rng(0).choice(len(features), clustering.MEAN_SHIFT_SAMPLE, replace=False)
    points = features[np.sort(rows)]
    seeds, _ = clustering._bin_seeds(points, bandwidth, clustering.MAX_MEAN_SHIFT_SEEDS)
    ours = lambda: clustering.mean_shift_modes(points, seeds, bandwidth)  # noqa: E731
    theirs = lambda: MeanShift(bandwidth=bandwidth, seeds=seeds).fit(points).cluster_centers_  # noqa: E731
    a, b = ours(), theirs()
    agree = f"{len(a)} modes, max difference {np.abs(a - b).max():.1e}" if a.shape == b.shape else \
        f"{len(a)} vs {len(b)} modes"
    return (Case(f"mean-shift modes ({len(seeds)} seeds, 5,000 points)", "1024x768", ours, baseline=theirs,
                 baseline_label="sklearn MeanShift(seeds=...)"), agree)


def _library_rag(rag: graph.SuperpixelGraph):
    """The same graph as a scikit-image RAG (built from our pairs: rag_mean_color alone takes seconds)."""
    library = skgraph.RAG()
    library.add_nodes_from((node, {"labels": [node + 1]}) for node in range(len(rag.colours)))
    library.add_weighted_edges_from((int(a), int(b), float(w)) for (a, b), w in zip(rag.pairs, rag.weights))
    return library


def normalized_cut_twins(image: np.ndarray) -> list[tuple[Case, str]]:
    """Our graph against rag_mean_color, and our recursive cut against cut_normalized on the same graph."""
    floats = image / 255.0
    n_segments = _default("normalized-cut", "n_segments", 300)
    rag = graph.superpixel_graph(floats, n_segments, 10.0)
    sp = np.asarray(rag.superpixels)
    build = (Case(f"normalized-cut graph ({len(rag.colours)} superpixels)", "1024x768",
                  lambda: graph.similarity_graph(floats, sp), baseline=lambda: skgraph.rag_mean_color(
                      floats, sp, connectivity=2, mode="similarity", sigma=graph.SIMILARITY_SCALE),
                  baseline_label="skimage rag_mean_color"), "same nodes, pairs and weights (tests)")
    rows = [build]
    for thresh in (0.001, 0.01):
        def ours(thresh=thresh):
            return graph.normalized_cut(len(rag.colours), rag.pairs, rag.weights, thresh=thresh, num_cuts=10)[0]

        def theirs(thresh=thresh):
            try:
                return skgraph.cut_normalized(sp, _library_rag(rag), thresh=thresh, num_cuts=10, rng=0)
            except Exception as error:  # noqa: BLE001 - reported in the table
                return error

        result = theirs()
        if isinstance(result, Exception):
            agree = f"library fails: {type(result).__name__}"
        else:
            agree = f"adapted Rand error {adapted_rand_error(result + 1, ours()[sp - 1])[0]:.3f}"
        rows.append((Case(f"normalized-cut recursive cut (thresh={thresh})", "1024x768", ours, baseline=theirs,
                          baseline_label="skimage cut_normalized"), agree))
    return rows


def grabcut_twin(image: np.ndarray) -> tuple[Case, str] | None:
    """Our GrabCut against OpenCV's cv2.grabCut (when installed), boxes around ShapeScenes objects.

    Timed on the first scene; agreement is each one's IoU with the true object over six scenes
    (256x256, medium), the box four pixels around the largest object, three rounds each.
    """
    if importlib.util.find_spec("cv2") is None:
        return None
    import cv2

    from seglib.datasets.shapes import make_scene

    def prompt(seed):
        scene = make_scene(seed, difficulty="medium")
        picture = np.asarray(scene.image)
        objects = np.asarray(scene.instances)
        ids, counts = np.unique(objects[objects > 0], return_counts=True)
        truth = objects == ids[np.argmax(counts)]
        rows, cols = np.nonzero(truth)
        h, w = truth.shape
        box = (max(cols.min() - 4, 0), max(rows.min() - 4, 0), min(cols.max() + 5, w), min(rows.max() + 5, h))
        return picture, box, truth

    def ours(picture, box):
        return seglib.segment(picture, "grabcut", box=box, iterations=3).labels.astype(bool)

    def theirs(picture, box):
        mask = np.zeros(picture.shape[:2], np.uint8)
        cv2.setRNGSeed(0)
        x0, y0, x1, y1 = (int(v) for v in box)
        cv2.grabCut(np.ascontiguousarray(picture[..., ::-1]), mask, (x0, y0, x1 - x0, y1 - y0), np.zeros((1, 65)),
                    np.zeros((1, 65)), 3, cv2.GC_INIT_WITH_RECT)
        return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)

    def iou(a, b):
        return (a & b).sum() / max((a | b).sum(), 1)

    scenes = [prompt(seed) for seed in range(6)]
    ours_iou = np.mean([iou(ours(p, b), t) for p, b, t in scenes])
    theirs_iou = np.mean([iou(theirs(p, b), t) for p, b, t in scenes])
    picture, box, _ = scenes[0]
    size = f"{picture.shape[1]}x{picture.shape[0]}"
    return (Case("grabcut, 3 rounds (solver_size 128)", size, lambda: ours(picture, box),
                 baseline=lambda: theirs(picture, box), baseline_label="cv2.grabCut, 3 rounds, full size",
                 setup=cache.clear), f"IoU with the truth {ours_iou:.3f} vs {theirs_iou:.3f} (6 scenes)")


def twin_rows(image: np.ndarray, repeats: int) -> list[dict]:
    """Each hand-written twin against its library call: times and agreement."""
    twins = [kmeans_twin(image), mean_shift_twin(image), multi_otsu_twin(image), *normalized_cut_twins(image), grabcut_twin(image)]
    rows = []
    for case, agree in filter(None, twins):
        row = measure(case, repeats=repeats)
        row["agreement"] = agree
        rows.append(row)
        print(f"{case.label}: {row['median ms']:.1f} ms vs {row['baseline ms']:.1f} ms; {agree}", flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (median reported)")
    parser.add_argument("--only", default="", help="comma-separated slugs to run (default: all)")
    parser.add_argument("--twins", action="store_true", help="only the hand-written twins against their libraries")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(","))) or None
    image = photo()
    if args.twins:
        print()
        print(table(twin_rows(image, args.repeats)))
        return
    cases = method_cases(image, only) + late_stage_cases(image, only)
    if not only:
        cases += working_resolution_cases()
    rows = run_cases(cases, repeats=args.repeats)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()

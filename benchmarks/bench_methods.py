"""Latency of every traditional method on a 1024x768 RGB photo, with reference baselines.

Run: ``python -m benchmarks.bench_methods [--repeats 5] [--only otsu,canny]``

Rows:
- every registered non-deep method at default parameters (stage cache cleared
  before each run, so nothing is reused), next to the reference library call
  where one exists;
- "late stage" rows: a cheap parameter moved with the expensive stages cached
  (what a slider does in the dashboard), against the full run;
- the working resolution: a 4000x3000 photo segmented at the default working
  size versus at full size.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from skimage import data, feature, filters, segmentation
from skimage.color import rgb2gray
from skimage.transform import resize
from sklearn.cluster import KMeans

import seglib
from seglib import cache

from .harness import Case, run_cases, table

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
        "canny": ("skimage.feature.canny", lambda: feature.canny(gray, 1.0, 0.1, 0.2)),
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
        "canny": ("high_threshold", [0.2, 0.25, 0.3]),
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (median reported)")
    parser.add_argument("--only", default="", help="comma-separated slugs to run (default: all)")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(","))) or None
    image = photo()
    cases = method_cases(image, only) + late_stage_cases(image, only)
    if not only:
        cases += working_resolution_cases()
    rows = run_cases(cases, repeats=args.repeats)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()

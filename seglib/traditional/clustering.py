"""Clustering: k-means, mean-shift, agglomerative (hierarchical), fuzzy c-means and SLIC superpixels.

Every pixel becomes a feature vector: its colour (the image's channels, or
its gray level) optionally followed by its position ``(x, y)`` scaled by a
``spatial_weight`` (:func:`pixel_features`). Points that lie close together
in that feature space share a segment. The point-based methods fit on a
random sample of pixels and then assign every pixel to its nearest centre,
which is what makes them fast on full photos.

Labels are ``cluster index + 1`` (superpixel ids from 1 for ``slic``);
clusters are numbered from the darkest centre to the brightest so that the
colours of a result do not jump when a seed or slider changes.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy import sparse
from skimage import segmentation
from sklearn.cluster import AgglomerativeClustering, MeanShift, estimate_bandwidth, get_bin_seeds

from ..cache import cached_stage
from ..registry import Param, register
from ..result import Curve, Points, Segmentation

FIT_SAMPLE = 10_000  # pixels k-means and fuzzy c-means fit on
MEAN_SHIFT_SAMPLE = 3_000  # pixels mean-shift climbs from
BANDWIDTH_SAMPLE = 1_000  # pixels the automatic bandwidth is estimated on
MAX_MEAN_SHIFT_SEEDS = 150  # most populated colour bins mean-shift starts from
CLOUD_SIZE = 3_000  # points shown in a "pixel cloud" stage
N_INIT = 3  # k-means restarts on the sample; the lowest inertia wins
MAX_MEMBERSHIP_STAGES = 4  # fuzzy c-means shows the membership maps of at most this many clusters
BOUNDARY_COLOUR = (1.0, 0.9, 0.0)

SPATIAL_WEIGHT = Param(
    "spatial_weight", 0.0, low=0.0, high=2.0, step=0.05,
    help="How much pixel position counts next to colour. 0 clusters by colour alone, so one "
         "cluster may be scattered over the whole image; 0.3-1 makes clusters compact blobs.",
)
SEED = Param(
    "seed", 0, low=0, high=1000,
    help="Seed of the random pixel sample and the initial centres. Change it to check that the "
         "result is stable; the same seed always gives the same segmentation.",
)


def _n_clusters_param(default: int) -> Param:
    return Param(
        "n_clusters", default, low=2, high=16,
        help="Number of clusters (colours) to find. Start with the number of distinct materials "
             "you see; too many splits smooth shading into bands.",
    )


# --------------------------------------------------------------------------- features


def pixel_features(image: np.ndarray, spatial_weight: float = 0.0, dtype=np.float32) -> np.ndarray:
    """One feature vector per pixel: colour, then optionally weighted position.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
        Float image in [0, 1].
    spatial_weight : float, default 0
        Weight of the position features. Positions are ``x / L`` and
        ``y / L`` with ``L`` the longest image side, so both lie in [0, 1)
        like the colours; a weight of 1 makes crossing the whole image as
        costly as going from black to white. 0 leaves position out.
    dtype : numpy dtype, default float32

    Returns
    -------
    ndarray, (H * W, C) or (H * W, C + 2)
        ``C`` is 3 for RGB and 1 for gray; rows follow the pixels in
        row-major order.

    Raises
    ------
    ValueError
        If ``spatial_weight`` is negative.
    """
    if spatial_weight < 0:
        raise ValueError(f"spatial_weight={spatial_weight!r} is not allowed: expected a number >= 0")
    h, w = image.shape[:2]
    colours = image.reshape(h * w, -1).astype(dtype, copy=True)
    if spatial_weight == 0:
        return colours
    return np.hstack([colours, spatial_weight * _positions(h, w).astype(dtype)])


def _positions(h: int, w: int) -> np.ndarray:
    """(H * W, 2) array of ``(x, y)`` divided by the longest side."""
    scale = 1.0 / max(h, w)
    ys, xs = np.divmod(np.arange(h * w), w)
    return np.column_stack([xs * scale, ys * scale])


def _n_colours(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else image.shape[2]


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``min(n, size)`` distinct rows drawn at random."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def nearest_centre(features: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of every row (squared Euclidean distance).

    Uses the expansion ``|x - c|^2 = |x|^2 - 2 x.c + |c|^2`` (the ``|x|^2`` term
    does not change the argmin) as one matrix product in the features' dtype,
    then a running minimum over the few centres (faster than ``argmin`` along
    a short axis). Ties go to the lower index.

    Parameters
    ----------
    features : ndarray, (N, D)
    centres : ndarray, (K, D)

    Returns
    -------
    ndarray of intp, (N,)
    """
    centres = np.asarray(centres, dtype=features.dtype)
    scores = (-2.0 * centres) @ features.T  # (K, N): one contiguous row per centre
    scores += np.einsum("kd,kd->k", centres, centres)[:, None]
    best = scores[0]
    index = np.zeros(len(features), dtype=np.intp)
    closer = np.empty(len(features), dtype=bool)
    for k in range(1, len(centres)):
        np.less(scores[k], best, out=closer)
        index[closer] = k
        np.minimum(best, scores[k], out=best)
    return index


def _squared_distances(features: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(N, K) squared distances, clipped at 0 against rounding."""
    centres = np.asarray(centres, dtype=features.dtype)
    d2 = features @ (-2.0 * centres).T
    d2 += np.einsum("kd,kd->k", centres, centres)
    d2 += np.einsum("nd,nd->n", features, features)[:, None]
    return np.maximum(d2, 0.0, out=d2)


def _brightness_order(colours: np.ndarray) -> np.ndarray:
    """Permutation sorting cluster colours from darkest to brightest (ties by channel)."""
    colours = np.asarray(colours, dtype=np.float64)
    keys = [colours[:, c] for c in range(colours.shape[1] - 1, -1, -1)]
    return np.lexsort(keys + [colours.mean(axis=1)])


def _relabel(assignment: np.ndarray, centres: np.ndarray, n_colour: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop unused centres and number the rest 1..K from darkest to brightest.

    Returns
    -------
    labels : ndarray of int32, (N,)
        1-based cluster of every row.
    centres : ndarray, (K, D)
        The used centres in label order (row ``i`` is label ``i + 1``).
    """
    used = np.flatnonzero(np.bincount(assignment, minlength=len(centres)))
    order = used[_brightness_order(centres[used, :n_colour])]
    rank = np.zeros(len(centres), dtype=np.int32)
    rank[order] = np.arange(1, len(order) + 1, dtype=np.int32)
    return rank[assignment], centres[order]


def _paint(labels: np.ndarray, colours: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Image of ``shape`` where each pixel has the colour of its 1-based label."""
    table = np.clip(np.vstack([np.zeros((1, colours.shape[1])), colours]), 0.0, 1.0)
    return np.take(table, labels, axis=0).reshape(shape)


def _fewer_note(found: int, asked: int) -> list[str]:
    if found >= asked:
        return []
    return [f"Found only {found} distinct cluster(s) of the {asked} asked for: the image has "
            f"fewer distinct colours than clusters."]


def _cloud(image: np.ndarray, labels: np.ndarray, centre_colours: np.ndarray, seed: int) -> Points:
    """A sample of at most :data:`CLOUD_SIZE` pixels in colour space, with the centres.

    RGB images are shown in (R, G, B); gray images in (intensity, x, y) so the
    cloud is still 3-D, each gray centre drawn at the mean position of its
    sampled pixels.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
    labels : ndarray of int, (H * W,)
        1-based cluster of every pixel.
    centre_colours : ndarray, (K, C)
        Colour of cluster ``i + 1`` in row ``i``.
    seed : int
    """
    h, w = image.shape[:2]
    rows = _sample(h * w, CLOUD_SIZE, np.random.default_rng(seed))
    colours = image.reshape(h * w, -1)[rows]
    picked = labels[rows]
    if image.ndim == 3:
        return Points(colours, picked, np.asarray(centre_colours, dtype=np.float64), ("R", "G", "B"))
    positions = _positions(h, w)[rows]
    counts = np.bincount(picked, minlength=len(centre_colours) + 1)[1:]
    where = np.full((len(centre_colours), 2), 0.5)
    for axis in range(2):
        sums = np.bincount(picked, weights=positions[:, axis], minlength=len(centre_colours) + 1)[1:]
        np.divide(sums, counts, out=where[:, axis], where=counts > 0)
    centres = np.column_stack([np.asarray(centre_colours, dtype=np.float64)[:, :1], where])
    return Points(np.column_stack([colours, positions]), picked, centres, ("intensity", "x", "y"))


def _boundary_mask(labels: np.ndarray) -> np.ndarray:
    """True on pixels whose right or lower neighbour has another label."""
    mask = np.zeros(labels.shape, dtype=bool)
    horizontal = labels[:, 1:] != labels[:, :-1]
    vertical = labels[1:, :] != labels[:-1, :]
    mask[:, :-1] |= horizontal
    mask[:-1, :] |= vertical
    return mask


def _with_boundaries(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """RGB copy of ``image`` with segment boundaries drawn in yellow."""
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image.copy()
    rgb[_boundary_mask(labels)] = BOUNDARY_COLOUR
    return rgb


def _segment_means(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(K, C) mean colour of segments 1..K (rows of empty segments are 0)."""
    flat = labels.ravel()
    colours = image.reshape(flat.size, -1)
    size = int(flat.max()) + 1
    counts = np.maximum(np.bincount(flat, minlength=size), 1)
    sums = [np.bincount(flat, weights=colours[:, c], minlength=size) for c in range(colours.shape[1])]
    return (np.column_stack(sums) / counts[:, None])[1:]


# --------------------------------------------------------------------------- k-means


def _kmeans_plusplus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each new centre drawn with probability proportional to D^2.

    Stops early (fewer than ``k`` centres) when every point already sits on a
    centre, so duplicate centres never arise.
    """
    centres = [points[rng.integers(len(points))]]
    d2 = ((points - centres[0]) ** 2).sum(axis=1)
    while len(centres) < k:
        total = d2.sum()
        if total <= 0:
            break
        pick = points[rng.choice(len(points), p=d2 / total)]
        centres.append(pick)
        np.minimum(d2, ((points - pick) ** 2).sum(axis=1), out=d2)
    return np.array(centres)


def _lloyd(points: np.ndarray, centres: np.ndarray, max_iter: int = 100, tol: float = 1e-4):
    """Lloyd iterations from ``centres``; returns (centres, inertia).

    Stops when no point changes cluster, or when the centres move less (sum
    of squared shifts) than ``tol`` times the mean variance of the features,
    scikit-learn's criterion. A centre that loses all its points keeps its
    position.
    """
    k, d = centres.shape
    tol = tol * float(points.var(axis=0).mean())
    previous = None
    for _ in range(max_iter):
        assignment = nearest_centre(points, centres)
        if previous is not None and np.array_equal(assignment, previous):
            break
        counts = np.bincount(assignment, minlength=k)
        sums = np.column_stack([np.bincount(assignment, weights=points[:, j], minlength=k) for j in range(d)])
        moved = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centres)
        shift = float(((moved - centres) ** 2).sum())
        centres, previous = moved, assignment
        if shift <= tol:
            break
    inertia = float(_squared_distances(points, centres).min(axis=1).sum())
    return centres, inertia


def fit_kmeans(features: np.ndarray, n_clusters: int, seed: int = 0, *,
               sample_size: int = FIT_SAMPLE, n_init: int = N_INIT) -> np.ndarray:
    """k-means centres fitted on a random sample of the rows of ``features``.

    Parameters
    ----------
    features : ndarray, (N, D)
    n_clusters : int
    seed : int
        Seeds the sample and the k-means++ initialisation.
    sample_size : int, default 10000
        Rows fitted on (all of them when ``N`` is smaller).
    n_init : int, default 3
        Restarts; the centres with the lowest sample inertia win.

    Returns
    -------
    ndarray of float64, (K, D)
        ``K <= n_clusters``: fewer when the sample has fewer distinct rows.
    """
    rng = np.random.default_rng(seed)
    points = features[_sample(len(features), sample_size, rng)].astype(np.float64)
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        centres, inertia = _lloyd(points, _kmeans_plusplus(points, n_clusters, rng))
        if inertia < best_inertia:
            best, best_inertia = centres, inertia
    return best


@register(
    "kmeans",
    title="k-means clustering",
    family="clustering",
    kind="regions",
    params=(_n_clusters_param(4), SPATIAL_WEIGHT, SEED),
    description="Groups pixels into k clusters so that each pixel is as close as possible to its "
                "cluster's mean colour. The means are learned on a random sample of 10,000 pixels "
                "(k-means++ start, Lloyd iterations) and every pixel then joins its nearest mean.",
    references=(
        "S. P. Lloyd, Least squares quantization in PCM, IEEE Trans. Information Theory 28(2), 1982.",
        "D. Arthur & S. Vassilvitskii, k-means++: the advantages of careful seeding, Proc. ACM-SIAM SODA, 2007.",
    ),
)
def kmeans(image, *, n_clusters, spatial_weight, seed):
    features = pixel_features(image, spatial_weight)
    centres = fit_kmeans(features, n_clusters, seed)
    labels, centres = _relabel(nearest_centre(features, centres), centres, _n_colours(image))
    return _point_result(image, labels, centres, "cluster colours", seed, _fewer_note(len(centres), n_clusters))


def _point_result(image, labels, centres, colour_stage: str, seed: int, notes: list[str]) -> Segmentation:
    """Result of a centre-based method: labels, painted centres and the pixel cloud."""
    colours = centres[:, :_n_colours(image)]
    return Segmentation(
        labels=labels.reshape(image.shape[:2]),
        stages={
            colour_stage: _paint(labels, colours, image.shape),
            "pixel cloud": _cloud(image, labels, colours, seed),
        },
        notes=notes,
    )


def kmeans_speed_and_quality(image, n_clusters: int = 4, seed: int = 0, repeats: int = 3) -> dict:
    """Compare ``kmeans`` with scikit-learn's ``KMeans`` fitted on every pixel.

    The benchmark harness and the module's README numbers use this: it times
    both (median of ``repeats`` runs each, interleaved) and measures the mean
    squared distance of every pixel to its centre (inertia per pixel) for both.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
        Float in [0, 1].
    n_clusters, seed : int
    repeats : int

    Returns
    -------
    dict
        ``ours_ms``, ``sklearn_ms``, ``speedup``, ``ours_inertia``,
        ``sklearn_inertia`` (per pixel) and ``inertia_ratio`` (ours / sklearn).
    """
    from sklearn.cluster import KMeans

    features = pixel_features(image)

    def ours():
        centres = fit_kmeans(features, n_clusters, seed)
        nearest_centre(features, centres)  # the assignment of every pixel is part of the cost
        return centres

    def theirs():
        return KMeans(n_clusters=n_clusters, n_init=1, random_state=seed).fit(features.astype(np.float64))

    ours_ms, theirs_ms = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        centres = ours()
        ours_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        model = theirs()
        theirs_ms.append((time.perf_counter() - start) * 1000)
    mine = float(_squared_distances(features.astype(np.float64), centres).min(axis=1).mean())
    reference = float(model.inertia_) / len(features)
    return {
        "ours_ms": float(np.median(ours_ms)),
        "sklearn_ms": float(np.median(theirs_ms)),
        "speedup": float(np.median(theirs_ms) / np.median(ours_ms)),
        "ours_inertia": mine,
        "sklearn_inertia": reference,
        "inertia_ratio": mine / reference,
    }


# --------------------------------------------------------------------------- mean-shift


def _bin_seeds(points: np.ndarray, bin_size: float, max_seeds: int) -> tuple[np.ndarray, bool]:
    """One real point from each of the ``max_seeds`` most populated grid bins of side ``bin_size``.

    Returns the seeds and whether less populated bins were left out.
    """
    bins = np.round(points / bin_size).astype(np.int64)
    _, first, counts = np.unique(bins, axis=0, return_index=True, return_counts=True)
    keep = np.argsort(-counts, kind="stable")[:max_seeds]
    return points[np.sort(first[keep])], len(counts) > max_seeds


def _auto_bandwidth(points: np.ndarray, seed: int) -> float:
    """A bandwidth from the 10 % quantile of nearest-neighbour distances on a sample (at least 0.02)."""
    rows = _sample(len(points), BANDWIDTH_SAMPLE, np.random.default_rng(seed))
    return max(float(estimate_bandwidth(points[rows], quantile=0.1, random_state=seed)), 0.02)


def find_modes(features: np.ndarray, bandwidth: float, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Modes of the pixel density found by mean-shift on a sample of the rows.

    Parameters
    ----------
    features : ndarray, (N, D)
    bandwidth : float
        Radius of the flat kernel; 0 estimates it from the data.
    seed : int
        Seeds the pixel sample.

    Returns
    -------
    modes : ndarray, (K, D)
    notes : list of str
        What was estimated or capped.
    """
    rng = np.random.default_rng(seed)
    points = features[_sample(len(features), MEAN_SHIFT_SAMPLE, rng)].astype(np.float64)
    notes = []
    if bandwidth == 0:
        bandwidth = _auto_bandwidth(points, seed)
        notes.append(f"Estimated bandwidth: {bandwidth:.3f}.")
    seeds, capped = _bin_seeds(points, bandwidth, MAX_MEAN_SHIFT_SEEDS)
    if capped:
        notes.append(f"Started from the {MAX_MEAN_SHIFT_SEEDS} most populated colour bins only; "
                     f"a larger bandwidth considers every bin.")
    model = MeanShift(bandwidth=bandwidth, seeds=seeds, cluster_all=True).fit(points)
    return model.cluster_centers_, notes


@register(
    "mean-shift",
    title="Mean-shift clustering",
    family="clustering",
    kind="regions",
    params=(
        Param("bandwidth", 0.15, low=0.0, high=0.5, step=0.01,
              help="Radius of the colour neighbourhood each pixel climbs in (colours are 0-1). "
                   "Smaller finds more, finer clusters; 0.1-0.2 suits photos; 0 estimates it."),
        SPATIAL_WEIGHT,
    ),
    description="Every sample pixel repeatedly moves to the mean of its neighbours in colour space "
                "until it settles on a peak (mode) of the colour density; pixels that reach the same "
                "peak form a cluster. The number of clusters is not given: the bandwidth decides it.",
    references=(
        "D. Comaniciu & P. Meer, Mean shift: a robust approach toward feature space analysis, "
        "IEEE Trans. PAMI 24(5), 2002.",
        "K. Fukunaga & L. Hostetler, The estimation of the gradient of a density function, with "
        "applications in pattern recognition, IEEE Trans. Information Theory 21(1), 1975.",
    ),
)
def mean_shift(image, *, bandwidth, spatial_weight):
    features = pixel_features(image, spatial_weight)
    modes, notes = find_modes(features, bandwidth)
    labels, modes = _relabel(nearest_centre(features, modes), modes, _n_colours(image))
    notes.append(f"Found {len(modes)} mode(s).")
    return _point_result(image, labels, modes, "mode colours", 0, notes)


# --------------------------------------------------------------------------- SLIC superpixels


@cached_stage
def superpixels(image: np.ndarray, n_segments: int, compactness: float, sigma: float) -> np.ndarray:
    """SLIC superpixels numbered from 1 (scikit-image's ``slic``).

    RGB images are clustered in CIELAB. Gray images are clustered on their
    intensity with ``compactness / 100``, which makes the same compactness
    mean the same trade-off as on a colour image (L* spans 0-100, intensity 0-1).
    """
    rgb = image.ndim == 3
    return segmentation.slic(
        image, n_segments=n_segments, compactness=compactness if rgb else compactness / 100.0,
        sigma=sigma, start_label=1, channel_axis=-1 if rgb else None,
    ).astype(np.int32)


@register(
    "slic",
    title="SLIC superpixels",
    family="clustering",
    kind="regions",
    params=(
        Param("n_segments", 200, low=2, high=2000,
              help="Approximate number of superpixels: the grid of starting centres. More gives "
                   "smaller superpixels that follow fine detail."),
        Param("compactness", 10.0, low=0.01, high=100.0, log=True,
              help="Balance of colour against distance. Explore on a log scale (0.1, 1, 10, 100): "
                   "high values give square, grid-like cells; low values hug colour edges."),
        Param("sigma", 0.0, low=0.0, high=5.0, step=0.25,
              help="Gaussian smoothing (pixels) before clustering; 0.5-1 calms noisy or JPEG images."),
    ),
    description="Simple Linear Iterative Clustering: k-means on colour plus position where each "
                "centre only searches a window twice the grid spacing, giving compact superpixels "
                "of roughly equal size that follow colour edges. A common first step for other methods.",
    references=(
        "R. Achanta, A. Shaji, K. Smith, A. Lucchi, P. Fua & S. Süsstrunk, SLIC superpixels compared "
        "to state-of-the-art superpixel methods, IEEE Trans. PAMI 34(11), 2012.",
    ),
)
def slic(image, *, n_segments, compactness, sigma):
    labels = superpixels(image, n_segments, compactness, sigma)
    return Segmentation(
        labels=labels,
        stages={
            "boundaries": _with_boundaries(image, labels),
            "mean colour": _paint(labels.ravel(), _segment_means(image, labels), image.shape),
        },
        notes=[f"{int(labels.max())} superpixels."],
    )


# --------------------------------------------------------------------------- hierarchical

LINKAGES = ("ward", "average", "complete", "single")
MERGE_CURVE_LENGTH = 50  # the merge-distance curve shows the last merges only
PIXEL_NODES_FACTOR = 4  # images of at most this many pixels per wanted node use pixels as nodes


@cached_stage
def superpixel_graph(image: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SLIC superpixels as graph nodes with their mean colours, sizes and adjacency.

    Images with at most ``4 * n_nodes`` pixels use every pixel as a node:
    superpixels only a few pixels wide would straddle edges.

    Returns
    -------
    nodes : ndarray of int32, (H, W)
        Node of every pixel, 0..n-1.
    colours : ndarray, (n, C)
        Mean colour of each node.
    sizes : ndarray of int, (n,)
        Pixels in each node.
    pairs : ndarray of int, (E, 2)
        Each pair of touching nodes once (4-connectivity).
    """
    h, w = image.shape[:2]
    if h * w <= PIXEL_NODES_FACTOR * n_nodes:
        nodes = np.arange(h * w, dtype=np.int32).reshape(h, w)
    else:
        _, inverse = np.unique(superpixels(image, n_nodes, 10.0, 0.0), return_inverse=True)
        nodes = inverse.reshape(h, w).astype(np.int32)
    sizes = np.bincount(nodes.ravel())
    colours = _segment_means(image, nodes + 1)
    pairs = np.vstack([
        np.column_stack([nodes[:, :-1].ravel(), nodes[:, 1:].ravel()]),
        np.column_stack([nodes[:-1, :].ravel(), nodes[1:, :].ravel()]),
    ])
    pairs = np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1)
    return nodes, colours, sizes, np.unique(pairs, axis=0)


def agglomerate(colours: np.ndarray, pairs: np.ndarray, n_clusters: int, linkage: str) -> tuple[np.ndarray, np.ndarray]:
    """Agglomerative clustering of graph nodes, merging only touching nodes.

    Parameters
    ----------
    colours : ndarray, (n, C)
        Feature vector of each node.
    pairs : ndarray of int, (E, 2)
        Touching nodes (the connectivity).
    n_clusters : int
        Wanted clusters; fewer are returned when there are fewer nodes or
        distinct colours.
    linkage : {"ward", "average", "complete", "single"}

    Returns
    -------
    clusters : ndarray of int, (n,)
        Cluster of each node, 0-based.
    distances : ndarray, (n - 1,)
        Linkage distance of each merge, in merge order (empty when nothing merges).
    """
    if linkage not in LINKAGES:
        raise ValueError(f"linkage={linkage!r} is not allowed: expected one of {', '.join(LINKAGES)}")
    n = len(colours)
    wanted = min(n_clusters, n, len(np.unique(colours, axis=0)))
    if wanted <= 1:
        return np.zeros(n, dtype=np.intp), np.zeros(0)
    ones = np.ones(len(pairs))
    connectivity = sparse.coo_matrix((ones, (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()
    model = AgglomerativeClustering(n_clusters=wanted, linkage=linkage, connectivity=connectivity + connectivity.T,
                                    compute_full_tree=True, compute_distances=True)
    with warnings.catch_warnings():
        # A graph with several components is completed by scikit-learn; that is fine here.
        warnings.simplefilter("ignore", UserWarning)
        model.fit(colours)
    return model.labels_, model.distances_


def _merge_curve(distances: np.ndarray, n_clusters: int, linkage: str) -> Curve:
    """Linkage distance against the number of clusters left after each merge."""
    left = len(distances) - np.arange(len(distances))  # clusters remaining after each merge
    show = left <= MERGE_CURVE_LENGTH
    order = np.argsort(left[show])
    return Curve(left[show][order].astype(np.float64), {"merge distance": np.asarray(distances)[show][order]},
                 {"n_clusters": float(n_clusters)}, "clusters left", f"{linkage} merge distance")


@register(
    "hierarchical",
    title="Hierarchical (agglomerative) clustering",
    family="clustering",
    kind="regions",
    params=(
        _n_clusters_param(6),
        Param("linkage", "ward", choices=LINKAGES,
              help="How the distance between two groups is measured: ward (smallest increase in "
                   "variance, even-sized regions), average, complete, or single (chains along gradients)."),
        Param("n_nodes", 400, low=50, high=2000, step=50,
              help="Number of superpixels that are merged. More nodes follow boundaries more closely "
                   "at a higher cost; the clustering itself stays fast."),
    ),
    description="Starts from superpixels and repeatedly merges the two most similar touching groups "
                "until n_clusters remain, building a tree of merges. The merge-distance curve shows "
                "where merging starts to join very different regions: a good place to stop.",
    references=(
        "J. H. Ward, Hierarchical grouping to optimize an objective function, J. American "
        "Statistical Association 58(301), 1963.",
        "R. Achanta et al., SLIC superpixels compared to state-of-the-art superpixel methods, "
        "IEEE Trans. PAMI 34(11), 2012.",
    ),
)
def hierarchical(image, *, n_clusters, linkage, n_nodes):
    nodes, colours, sizes, pairs = superpixel_graph(image, n_nodes)
    clusters, distances = agglomerate(colours, pairs, n_clusters, linkage)
    k = int(clusters.max()) + 1
    weights = np.bincount(clusters, weights=sizes, minlength=k)
    means = np.column_stack([np.bincount(clusters, weights=sizes * colours[:, c], minlength=k)
                             for c in range(colours.shape[1])]) / weights[:, None]
    rank = np.empty(k, dtype=np.int32)
    rank[_brightness_order(means)] = np.arange(1, k + 1, dtype=np.int32)
    labels = rank[clusters][nodes]
    stages = {
        "nodes": _with_boundaries(_paint(nodes.ravel() + 1, colours, image.shape), nodes),
        "cluster colours": _paint(labels.ravel(), means[_brightness_order(means)], image.shape),
    }
    if len(distances):
        stages["merge distances"] = _merge_curve(distances, k, linkage)
    notes = [f"Merged {len(colours)} nodes into {k} cluster(s)."] + _fewer_note(k, n_clusters)
    return Segmentation(labels=labels, stages=stages, notes=notes)


# --------------------------------------------------------------------------- fuzzy c-means


def fuzzy_memberships(features: np.ndarray, centres: np.ndarray, m: float) -> np.ndarray:
    """Fuzzy c-means memberships ``u_ik = 1 / sum_j (d_ik / d_jk) ** (2 / (m - 1))``.

    Computed as a softmax of ``-log(d_ik^2) / (m - 1)``, which stays finite
    for fuzzifiers close to 1 and for pixels lying exactly on a centre.

    Parameters
    ----------
    features : ndarray, (N, D)
    centres : ndarray, (K, D)
    m : float
        Fuzzifier, > 1.

    Returns
    -------
    ndarray, (N, K)
        Rows are non-negative and sum to 1; dtype of ``features``.
    """
    d2 = _squared_distances(features, centres)
    tiny = np.finfo(d2.dtype).tiny ** 0.5
    logits = np.log(np.maximum(d2, tiny, out=d2), out=d2)
    logits *= -1.0 / (m - 1.0)
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def fit_fuzzy_cmeans(features: np.ndarray, n_clusters: int, m: float = 2.0, *, max_iter: int = 100,
                     tol: float = 1e-4, seed: int = 0, sample_size: int = FIT_SAMPLE) -> tuple[np.ndarray, np.ndarray]:
    """Fuzzy c-means centres fitted on a random sample of the rows of ``features``.

    Alternates memberships (:func:`fuzzy_memberships`) and centres
    ``v_k = sum_i u_ik^m x_i / sum_i u_ik^m`` from a k-means++ start until no
    centre moves more than ``tol`` in any coordinate or ``max_iter`` passes.

    Returns
    -------
    centres : ndarray, (K, D)
        ``K <= n_clusters`` (fewer when the sample has fewer distinct rows).
    objective : ndarray, (iterations,)
        ``J_m = sum_ik u_ik^m d_ik^2`` per sample pixel after each iteration.
    """
    rng = np.random.default_rng(seed)
    points = features[_sample(len(features), sample_size, rng)].astype(np.float64)
    centres = _kmeans_plusplus(points, n_clusters, rng)
    objective = []
    for _ in range(max_iter):
        weights = fuzzy_memberships(points, centres, m) ** m
        objective.append(float((weights * _squared_distances(points, centres)).sum()) / len(points))
        moved = (weights.T @ points) / np.maximum(weights.sum(axis=0), np.finfo(float).tiny)[:, None]
        shift = float(np.abs(moved - centres).max())
        centres = moved
        if shift <= tol:
            break
    return centres, np.array(objective)


@register(
    "fuzzy-cmeans",
    title="Fuzzy c-means clustering",
    family="clustering",
    kind="regions",
    params=(
        _n_clusters_param(4),
        Param("m", 2.0, low=1.1, high=5.0, step=0.1,
              help="Fuzzifier. Close to 1 behaves like k-means (hard memberships); 2 is the usual "
                   "choice; larger values make every pixel belong partly to every cluster."),
        Param("max_iter", 100, low=5, high=500, step=5,
              help="Most iterations of the fit; the objective curve shows whether it had converged."),
        Param("tol", 1e-4, low=1e-6, high=1e-2, log=True,
              help="Stop when no centre moves more than this (colour units, 0-1). Smaller is more "
                   "precise and slower."),
        SPATIAL_WEIGHT,
        SEED,
    ),
    description="Like k-means, but every pixel belongs to every cluster with a membership between 0 "
                "and 1 that falls with its distance to the cluster's centre. Each pixel is labelled "
                "with its strongest membership; the membership map shows where that choice is uncertain.",
    references=(
        "J. C. Bezdek, Pattern Recognition with Fuzzy Objective Function Algorithms, Plenum Press, 1981.",
        "J. C. Dunn, A fuzzy relative of the ISODATA process and its use in detecting compact "
        "well-separated clusters, J. Cybernetics 3(3), 1973.",
    ),
)
def fuzzy_cmeans(image, *, n_clusters, m, max_iter, tol, spatial_weight, seed):
    features = pixel_features(image, spatial_weight)
    centres, objective = fit_fuzzy_cmeans(features, n_clusters, m, max_iter=max_iter, tol=tol, seed=seed)
    order = _brightness_order(centres[:, :_n_colours(image)])
    centres = centres[order]
    memberships = fuzzy_memberships(features, centres, m)
    labels = np.argmax(memberships, axis=1).astype(np.int32) + 1
    colours = centres[:, :_n_colours(image)]
    strongest = memberships.max(axis=1).astype(np.float64).reshape(image.shape[:2])
    stages = {"membership": strongest}
    for k in range(min(len(centres), MAX_MEMBERSHIP_STAGES)):
        stages[f"membership of cluster {k + 1}"] = memberships[:, k].astype(np.float64).reshape(image.shape[:2])
    stages["cluster colours"] = _paint(labels, colours, image.shape)
    stages["fuzzy colours"] = np.clip(memberships @ colours.astype(memberships.dtype), 0, 1).astype(np.float64).reshape(image.shape)
    stages["pixel cloud"] = _cloud(image, labels, colours, seed)
    stages["objective"] = Curve(np.arange(1, len(objective) + 1, dtype=np.float64), {"objective J_m": objective},
                                {}, "iteration", "objective per pixel")
    notes = [f"Fit stopped after {len(objective)} iteration(s)."] + _fewer_note(len(centres), n_clusters)
    return Segmentation(labels=labels.reshape(image.shape[:2]), scores=strongest, stages=stages, notes=notes)

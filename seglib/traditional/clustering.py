"""Clustering: k-means, mean-shift, agglomerative (hierarchical), fuzzy c-means and SLIC superpixels.

Every pixel becomes a feature vector: its colour (the image's channels, or
its gray level) optionally followed by its position ``(x, y)`` scaled by a
``spatial_weight`` (:func:`pixel_features`). Points that lie close together
in that feature space share a segment. The point-based methods fit on a
random sample of pixels and then assign every pixel to its nearest centre,
which is what makes them fast on full photos. When position does not count,
that per-pixel work is done once per distinct colour of an 8-bit picture
(:func:`distinct_colours`: at most 256 for a gray one) and gathered, and a
sample's repeated colours are fitted once with their counts as weights (k-means,
fuzzy c-means).

Labels are ``cluster index + 1`` (superpixel ids from 1 for ``slic``);
clusters are numbered from the darkest centre to the brightest so that the
colours of a result do not jump when a seed or slider changes.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from scipy import sparse

from ..cache import cached_stage
from ..isolation import offloaded
from ..labels import (SuperpixelNodes, adjacent_pairs, draw_boundaries, group_means, mean_colour, superpixel_nodes,
                      superpixels)
from ..palette import distinct_rows, palette
from ..registry import Param, register
from ..result import Curve, Points, Segmentation
from ..threads import limit_threads

FIT_SAMPLE = 10_000  # pixels k-means and fuzzy c-means fit on
MEAN_SHIFT_SAMPLE = 5_000  # pixels whose density mean-shift climbs
BANDWIDTH_SAMPLE = 1_000  # pixels the automatic bandwidth is estimated on
MAX_MEAN_SHIFT_SEEDS = 400  # most populated bins mean-shift starts from
CLOUD_SIZE = 3_000  # points shown in a "pixel cloud" stage
GRAY_CLOUD_SIZE = 20_000  # a one-channel cloud is drawn as a histogram: more pixels, smoother bars
N_INIT = 3  # k-means restarts on the sample; the lowest inertia wins
MAX_MEMBERSHIP_STAGES = 4  # fuzzy c-means shows the membership maps of at most this many clusters
# Largest (centres x pixels) distance table built at once: 2 MB in float32, so the few passes over it
# stay in cache (1024 x 1024 pixels, against 32 MB tables: 16 centres 123-145 -> 91-107 ms, 8 centres
# 63-76 -> 49-62 ms; the same labels).
CHUNK_ENTRIES = 1 << 19
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


def _one_blas_thread(func):
    """Run ``func`` with BLAS limited to one thread.

    The matrix products here are small (K x D by D x N with D <= 5), and a
    multi-threaded BLAS spinning up for each on a busy machine is up to ten
    times slower than one thread; scikit-learn's KMeans limits BLAS the same way.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with limit_threads(1, torch=False):
            return func(*args, **kwargs)

    return wrapper


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


@cached_stage
def distinct_colours(image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`seglib.palette.palette` in the features' dtype: a pixel's nearest centre and memberships
    depend on its colour alone (when position does not count), so they are computed once per distinct
    colour and gathered.

    Returns
    -------
    (colours, index) or None
        ``colours``: (U, C) float32, the rows :func:`pixel_features` gives them (without position);
        ``index``: (H * W,) int32, each pixel's row in ``colours``. None where the picture has no
        palette.
    """
    table = palette(image)
    return None if table is None else (table.colours.astype(np.float32), table.index)


def _colour_table(image: np.ndarray, spatial_weight: float) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`distinct_colours` when clustering by colour alone (position makes every pixel distinct)."""
    return distinct_colours(image) if spatial_weight == 0 else None


def _assign(features: np.ndarray, centres: np.ndarray, table) -> np.ndarray:
    """:func:`nearest_centre` of every row, through ``table`` (:func:`distinct_colours`) when there is one."""
    if table is None:
        return nearest_centre(features, centres)
    colours, index = table
    return nearest_centre(colours, centres).take(index)


def _scores(features: np.ndarray, centres: np.ndarray, *, full: bool) -> np.ndarray:
    """(K, N) squared distances of every row to every centre, one contiguous row per centre.

    Uses the expansion ``|x - c|^2 = |x|^2 - 2 x.c + |c|^2`` as one matrix
    product in the features' dtype. With ``full=False`` the ``|x|^2`` term,
    which does not change which centre is nearest, is left out.
    """
    centres = np.asarray(centres, dtype=features.dtype)
    scores = (-2.0 * centres) @ features.T
    scores += np.einsum("kd,kd->k", centres, centres)[:, None]
    if full:
        scores += np.einsum("nd,nd->n", features, features)
        np.maximum(scores, 0.0, out=scores)  # rounding can dip just below 0
    return scores


def _first_best(rows: np.ndarray, *, largest: bool = False, with_best: bool = False):
    """Index of the smallest (or largest) row in each column of a (K, N) array.

    Ties go to the lower index. A running comparison over the few rows is
    faster than ``argmin`` along a short axis. ``with_best``: ``(index, best)``,
    the best values too.
    """
    wins_over, keep = (np.greater, np.maximum) if largest else (np.less, np.minimum)
    best = rows[0].copy()
    index = np.zeros(rows.shape[1], dtype=np.intp)
    wins = np.empty(rows.shape[1], dtype=bool)
    for k in range(1, len(rows)):
        wins_over(rows[k], best, out=wins)
        index[wins] = k
        keep(best, rows[k], out=best)
    return (index, best) if with_best else index


def nearest_centre(features: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of every row (squared Euclidean distance).

    Parameters
    ----------
    features : ndarray, (N, D)
    centres : ndarray, (K, D)

    Returns
    -------
    ndarray of intp, (N,)
        Ties go to the lower index.

    Notes
    -----
    Rows are processed in chunks so the (K, chunk) distance table stays
    below :data:`CHUNK_ENTRIES` entries however many centres there are.
    """
    step = max(1, CHUNK_ENTRIES // max(len(centres), 1))
    if len(features) <= step:
        return _first_best(_scores(features, centres, full=False))
    return np.concatenate([_first_best(_scores(features[start:start + step], centres, full=False))
                           for start in range(0, len(features), step)])


def _inertia(features: np.ndarray, centres: np.ndarray, counts: np.ndarray | None = None) -> float:
    """Sum of squared distances of the rows to their nearest centre (each counted ``counts`` times)."""
    nearest = _scores(features, centres, full=True).min(axis=0)
    return float(nearest.sum() if counts is None else nearest @ counts)


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
    """Image of ``shape`` where each pixel has the colour of its 1-based label, in float32 (a stage:
    :func:`seglib.segment` keeps stages in float32, so a float64 picture would be painted, then copied)."""
    table = np.clip(np.vstack([np.zeros((1, colours.shape[1])), colours]), 0.0, 1.0).astype(np.float32)
    return np.take(table, labels, axis=0).reshape(shape)


def _fewer_note(found: int, asked: int) -> list[str]:
    if found >= asked:
        return []
    return [f"Found only {found} distinct cluster(s) of the {asked} asked for: the image has "
            f"fewer distinct colours than clusters."]


def _is_gray(pixels: np.ndarray) -> bool:
    """Whether every row of (N, C) ``pixels`` has one value in all its channels. A colour picture is
    told by a few thousand rows spread over it first (the whole check: 9 ms of a 1024 x 1024 move)."""
    if pixels.shape[1] == 1:
        return True
    probe = pixels[::max(1, len(pixels) // 4096)]
    return bool(np.all(probe == probe[:, :1])) and bool(np.all(pixels == pixels[:, :1]))


def _cloud(image: np.ndarray, labels: np.ndarray, centre_colours: np.ndarray, seed: int) -> Points:
    """A sample of pixels in colour space, labelled by cluster, with the centres.

    RGB images give a 3-D cloud of at most :data:`CLOUD_SIZE` pixels in
    (R, G, B). A gray picture (one channel, or three equal channels, as the
    gray samples are loaded) would collapse onto a line there, so it gives a
    1-D sample of at most :data:`GRAY_CLOUD_SIZE` intensities instead, which
    the dashboard draws as a histogram coloured by cluster.

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
    pixels = image.reshape(h * w, -1)
    centres = np.asarray(centre_colours, dtype=np.float64)
    gray = _is_gray(pixels)
    rows = _sample(h * w, GRAY_CLOUD_SIZE if gray else CLOUD_SIZE, np.random.default_rng(seed))
    if gray:
        return Points(pixels[rows, :1].astype(np.float64), labels[rows], centres[:, :1], ("intensity",))
    return Points(pixels[rows], labels[rows], centres, ("R", "G", "B"))


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


def _lloyd(points: np.ndarray, centres: np.ndarray, max_iter: int = 50, tol: float = 1e-4,
           repeated: tuple[np.ndarray, np.ndarray | None] | None = None):
    """Lloyd iterations from ``centres``; returns (centres, inertia).

    Stops when no point changes cluster, or when the centres move less (sum
    of squared shifts) than ``tol`` times the mean variance of the features,
    scikit-learn's criterion, or after ``max_iter`` passes (on a sample the
    last passes of a slow tail change the inertia by well under 0.1 %). A
    centre that loses all its points keeps its position. ``repeated``: the
    points' distinct rows and counts (:func:`_repeated_rows`), the same sums
    over fewer rows.
    """
    tol = tol * float(points.var(axis=0).mean())
    values, counts = repeated or (points, None)
    previous = None
    for _ in range(max_iter):
        assignment = nearest_centre(values, centres)
        if previous is not None and np.array_equal(assignment, previous):
            break
        means, totals = group_means(assignment, values, len(centres), weights=counts)
        moved = np.where(totals[:, None] > 0, means, centres)
        shift = float(((moved - centres) ** 2).sum())
        centres, previous = moved, assignment
        if shift <= tol:
            break
    return centres, _inertia(values, centres, counts)


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
    return _best_restart(points, n_clusters, rng, n_init)


@offloaded  # hundreds of small numpy calls on a small sample: see seglib.isolation.offload
def _best_restart(points: np.ndarray, n_clusters: int, rng: np.random.Generator, n_init: int) -> np.ndarray:
    """The centres of the best of ``n_init`` k-means++ starts and their Lloyd passes (lowest inertia)."""
    best, best_inertia = None, np.inf
    repeated = _repeated_rows(points)  # a gray picture's 10,000 pixels have at most 256 values
    for _ in range(n_init):
        centres, inertia = _lloyd(points, _kmeans_plusplus(points, n_clusters, rng), repeated=repeated)
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
@_one_blas_thread
def kmeans(image, *, n_clusters, spatial_weight, seed):
    features = pixel_features(image, spatial_weight)
    centres = fit_kmeans(features, n_clusters, seed)
    table = _colour_table(image, spatial_weight)
    labels, centres = _relabel(_assign(features, centres, table), centres, _n_colours(image))
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
    """scikit-learn's ``estimate_bandwidth`` on a sample: the mean distance of a point to its
    nearest 10 % of the other points (at least 0.02, so a flat image still gets a usable radius)."""
    from sklearn.cluster import estimate_bandwidth  # here: a process that only fits centres (seglib.isolation's
    # helper) then does not import scikit-learn (about 120 MB)

    rows = _sample(len(points), BANDWIDTH_SAMPLE, np.random.default_rng(seed))
    return max(float(estimate_bandwidth(points[rows], quantile=0.1, random_state=seed)), 0.02)


def _climb(points: np.ndarray, seeds: np.ndarray, bandwidth: float, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Move every seed to the mean of the points within ``bandwidth`` until it settles.

    All seeds climb together, one matrix product per step. A seed stops when
    it moves at most ``1e-3 * bandwidth`` (scikit-learn's criterion) or after
    ``max_iter`` steps.

    Returns
    -------
    means : ndarray, (S, D)
        Where each seed settled.
    counts : ndarray of int, (S,)
        Points within ``bandwidth`` of it (0 for a seed with no neighbours).
    """
    means = np.array(seeds, dtype=np.float64)
    counts = np.zeros(len(means), dtype=np.intp)
    active = np.arange(len(means))
    for step in range(max_iter + 1):
        if not active.size:
            break
        within = _scores(points, means[active], full=True) <= bandwidth ** 2  # (A, N)
        n = within.sum(axis=1)
        moved = (within.astype(np.float64) @ points) / np.maximum(n, 1)[:, None]
        settled = np.linalg.norm(moved - means[active], axis=1) <= 1e-3 * bandwidth
        means[active[n > 0]] = moved[n > 0]
        counts[active] = n
        active = active[(n > 0) & ~settled & (step < max_iter)]
    return means, counts


def mean_shift_modes(points: np.ndarray, seeds: np.ndarray, bandwidth: float, *, max_iter: int = 300) -> np.ndarray:
    """Modes of the density of ``points`` reached from ``seeds`` by flat-kernel mean-shift.

    The same algorithm as scikit-learn's ``MeanShift(bandwidth, seeds=seeds)``
    (its cluster centres), vectorised over the seeds instead of looping over
    them in Python, which makes it 10-50 times faster on a few thousand points.

    Parameters
    ----------
    points : ndarray, (N, D)
    seeds : ndarray, (S, D)
        Starting positions, e.g. one point per occupied grid bin.
    bandwidth : float
        Radius of the flat kernel, > 0.
    max_iter : int, default 300

    Returns
    -------
    ndarray, (K, D)
        Modes, strongest (most points within ``bandwidth``) first; a weaker
        mode within ``bandwidth`` of a stronger one is dropped. At least one
        mode when a seed lies on a point.
    """
    means, counts = _climb(points, seeds, bandwidth, max_iter)
    means, first = np.unique(means[counts > 0], axis=0, return_index=True)
    counts = counts[counts > 0][first]
    # Strongest first, ties broken by coordinates, both descending as in scikit-learn.
    order = np.lexsort([means[:, d] for d in range(means.shape[1] - 1, -1, -1)] + [counts])[::-1]
    means = means[order]
    close = _scores(means, means, full=True) <= bandwidth ** 2
    keep = np.ones(len(means), dtype=bool)
    for i in range(len(means)):
        if keep[i]:
            keep[close[i]] = False
            keep[i] = True
    return means[keep]


def find_modes(features: np.ndarray, bandwidth: float, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Modes of the pixel density found by mean-shift on a sample of the rows.

    Parameters
    ----------
    features : ndarray, (N, D)
    bandwidth : float or None
        Radius of the flat kernel; None estimates it from the data.
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
    if bandwidth is None:
        bandwidth = _auto_bandwidth(points, seed)
        notes.append(f"Estimated bandwidth: {bandwidth:.3f}.")
    seeds, capped = _bin_seeds(points, bandwidth, MAX_MEAN_SHIFT_SEEDS)
    if capped:
        notes.append(f"Started from the {MAX_MEAN_SHIFT_SEEDS} most populated bins only; "
                     f"a larger bandwidth considers every bin.")
    return mean_shift_modes(points, seeds, bandwidth), notes


@register(
    "mean-shift",
    title="Mean-shift clustering",
    family="clustering",
    kind="regions",
    params=(
        Param("bandwidth", 0.15, low=0.01, high=0.5, step=0.01, none="auto",
              help="Radius of the colour neighbourhood averaged at each step (colours run 0-1). "
                   "Smaller finds more, finer clusters; 0.1-0.2 suits photos; auto (None) estimates it."),
        SPATIAL_WEIGHT,
    ),
    description="Starting points in colour space repeatedly move to the mean colour of the pixels "
                "within one bandwidth of them until they settle on a peak (mode) of the colour "
                "density; each pixel then joins its nearest peak. The number of clusters is not "
                "given: the bandwidth decides it.",
    references=(
        "D. Comaniciu & P. Meer, Mean shift: a robust approach toward feature space analysis, "
        "IEEE Trans. PAMI 24(5), 2002.",
        "K. Fukunaga & L. Hostetler, The estimation of the gradient of a density function, with "
        "applications in pattern recognition, IEEE Trans. Information Theory 21(1), 1975.",
    ),
)
@_one_blas_thread
def mean_shift(image, *, bandwidth, spatial_weight):
    features = pixel_features(image, spatial_weight)
    modes, notes = find_modes(features, bandwidth)
    table = _colour_table(image, spatial_weight)
    labels, modes = _relabel(_assign(features, modes, table), modes, _n_colours(image))
    notes.append(f"Found {len(modes)} mode(s).")
    return _point_result(image, labels, modes, "mode colours", 0, notes)


# --------------------------------------------------------------------------- SLIC superpixels


@register(
    "slic",
    title="SLIC superpixels",
    family="clustering",
    kind="regions",
    supplied=("colour_space",),
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
def slic(image, *, n_segments, compactness, sigma, colour_space):
    labels = superpixels(image, n_segments, compactness, sigma, colour_space)
    return Segmentation(
        labels=labels,
        stages={
            "boundaries": draw_boundaries(image, labels),
            "mean colour": mean_colour(image, labels),
        },
        notes=[f"{int(labels.max())} superpixels."],
    )


# --------------------------------------------------------------------------- hierarchical

LINKAGES = ("ward", "average", "complete", "single")
MERGE_CURVE_LENGTH = 50  # the merge-distance curve shows the last merges only
PIXEL_NODES_FACTOR = 4  # images of at most this many pixels per wanted node use pixels as nodes


@cached_stage
def merge_nodes(image: np.ndarray, n_nodes: int, colour_space: str = "rgb") -> SuperpixelNodes:
    """The nodes hierarchical clustering merges: about ``n_nodes`` SLIC superpixels (cached).

    Images with at most ``4 * n_nodes`` pixels use every pixel as a node:
    superpixels only a few pixels wide would straddle edges. See
    :class:`~seglib.labels.SuperpixelNodes` for the fields.
    """
    h, w = image.shape[:2]
    if h * w > PIXEL_NODES_FACTOR * n_nodes:
        return superpixel_nodes(image, n_nodes, colour_space=colour_space)
    nodes = np.arange(h * w, dtype=np.int32).reshape(h, w)
    return SuperpixelNodes(nodes, image.reshape(h * w, -1).astype(np.float64), np.ones(h * w, dtype=np.intp),
                           adjacent_pairs(nodes))


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
    from sklearn.cluster import AgglomerativeClustering  # here, as in _auto_bandwidth

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
    supplied=("colour_space",),
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
def hierarchical(image, *, n_clusters, linkage, n_nodes, colour_space):
    nodes, colours, sizes, pairs = merge_nodes(image, n_nodes, colour_space)
    clusters, distances = agglomerate(colours, pairs, n_clusters, linkage)
    k = int(clusters.max()) + 1
    means, _ = group_means(clusters, colours, k, weights=sizes.astype(np.float64))
    node_labels, means = _relabel(clusters, means, colours.shape[1])
    labels = node_labels[nodes]
    stages = {
        "nodes": draw_boundaries(_paint(nodes.ravel() + 1, colours, image.shape), nodes),
        "cluster colours": _paint(labels.ravel(), means, image.shape),
    }
    if len(distances):
        stages["merge distances"] = _merge_curve(distances, k, linkage)
    notes = [f"Merged {len(colours)} nodes into {k} cluster(s)."] + _fewer_note(k, n_clusters)
    return Segmentation(labels=labels, stages=stages, notes=notes)


# --------------------------------------------------------------------------- fuzzy c-means


_QUICK_POWERS = (0.5, 1.0, 2.0)  # exponents numpy applies without a logarithm and an exponential


def _ratio_powers(d2: np.ndarray, m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The terms of fuzzy memberships from (K, N) squared distances (overwritten).

    ``u_ik`` is proportional to ``d_ik^(-2 / (m - 1))``. With each column's
    nearest squared distance ``n_k`` and the ratios ``r_ik = n_k / d_ik^2`` in
    (0, 1], ``u_ik = r_ik^p / sum_j r_jk^p`` with ``p = 1 / (m - 1)``: every
    term at most 1, so it stays finite for fuzzifiers close to 1 and for points
    lying exactly on a centre.

    Returns
    -------
    ratios : ndarray, (K, N)
        ``r_ik`` (in ``d2``'s memory).
    powers : ndarray, (K, N)
        ``r_ik^p``.
    nearest : ndarray, (N,)
        ``n_k``.
    """
    np.maximum(d2, np.finfo(d2.dtype).tiny ** 0.5, out=d2)
    nearest = d2.min(axis=0)
    ratios = np.divide(nearest, d2, out=d2)
    p = 1.0 / (m - 1.0)
    if p in _QUICK_POWERS:  # m = 2 (the usual choice), 1.5 and 3
        return ratios, np.power(ratios, p), nearest
    powers = np.log(ratios)
    powers *= p
    return ratios, np.exp(powers, out=powers), nearest


def fuzzy_memberships(features: np.ndarray, centres: np.ndarray, m: float) -> np.ndarray:
    """Fuzzy c-means memberships ``u_ik = 1 / sum_j (d_ik / d_jk) ** (2 / (m - 1))``.

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
    return _all_memberships(features, centres, m).T


def _all_memberships(features: np.ndarray, centres: np.ndarray, m: float) -> np.ndarray:
    """(K, N) memberships of every row, built in chunks of at most :data:`CHUNK_ENTRIES` table entries (see
    :func:`nearest_centre`): the same values, 53-61 -> 33-40 ms for four centres on 1024 x 1024 pixels."""
    u = np.empty((len(centres), len(features)), dtype=features.dtype)
    step = max(1, CHUNK_ENTRIES // max(len(centres), 1))
    for start in range(0, len(features), step):
        _, powers, _ = _ratio_powers(_scores(features[start:start + step], centres, full=True), m)
        np.divide(powers, powers.sum(axis=0), out=u[:, start:start + step])
    return u


def _repeated_rows(points: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The distinct rows of ``points`` and how often each occurs, when at most half the rows are
    distinct (a sum over the points is then a weighted sum over fewer rows); else ``(points, None)``."""
    rows = distinct_rows(points, 0.5)
    if rows is None:
        return points, None
    first, _, counts = rows
    return points[first], counts.astype(points.dtype)


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
        ``J_m = sum_ik u_ik^m d_ik^2`` per sample pixel with the centres
        each iteration started from.
    """
    rng = np.random.default_rng(seed)
    points = features[_sample(len(features), sample_size, rng)].astype(np.float64)
    return _fuzzy_iterations(points, n_clusters, m, max_iter, tol, rng)


@offloaded  # a hundred small numpy calls an iteration on a small sample: see seglib.isolation.offload
def _fuzzy_iterations(points: np.ndarray, n_clusters: int, m: float, max_iter: int, tol: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Fuzzy c-means on ``points`` from a k-means++ start (see :func:`fit_fuzzy_cmeans`)."""
    centres = _kmeans_plusplus(points, n_clusters, rng)
    values, counts = _repeated_rows(points)  # a gray picture's 10,000 pixels have at most 256 values
    squares = np.einsum("nd,nd->n", values, values)  # |x|^2 of the distances, the same every iteration
    objective = []
    for _ in range(max_iter):
        d2 = _scores(values, centres, full=False)
        d2 += squares
        ratios, powers, nearest = _ratio_powers(d2, m)
        # With t = sum_i r_i^p: u^m = (r^p / t)^m = r * r^p / t^m (as r^(p (m - 1)) = r), and the objective's
        # sum_i u_i^m d_i^2 = n t / t^m: no further power of the table. A value that n points share counts n times.
        totals = powers.sum(axis=0)
        scale = totals ** -m
        weights = np.multiply(ratios, powers, out=ratios)
        weights *= scale
        if counts is not None:
            weights *= counts
            scale *= counts
        objective.append(float(nearest @ (totals * scale)) / len(points))
        moved = (weights @ values) / np.maximum(weights.sum(axis=1), np.finfo(float).tiny)[:, None]
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
@_one_blas_thread
def fuzzy_cmeans(image, *, n_clusters, m, max_iter, tol, spatial_weight, seed):
    features = pixel_features(image, spatial_weight)
    centres, objective = fit_fuzzy_cmeans(features, n_clusters, m, max_iter=max_iter, tol=tol, seed=seed)
    order = _brightness_order(centres[:, :_n_colours(image)])
    centres = centres[order]
    colours = centres[:, :_n_colours(image)]
    table = _colour_table(image, spatial_weight)
    u = _all_memberships(features if table is None else table[0], centres, m)  # (K, N), or (K, U) by colour
    best, largest = _first_best(u, largest=True, with_best=True)
    labels = (best + 1).astype(np.int32)
    blend = u.T @ colours.astype(u.dtype)  # membership-weighted centre colours, rows contiguous
    np.clip(blend, 0, 1, out=blend)
    if table is not None:  # from each distinct colour to its pixels (take: a third of fancy indexing's time)
        index = table[1].astype(np.intp)
        u, labels, largest, blend = (u.take(index, axis=1), labels.take(index), largest.take(index),
                                     blend.take(index, axis=0))
    strongest = largest.reshape(image.shape[:2])  # float32, as the stages are kept
    stages = {"membership": strongest}
    for k in range(min(len(centres), MAX_MEMBERSHIP_STAGES)):  # rows of u as they are (float32): no copies
        stages[f"membership of cluster {k + 1}"] = u[k].reshape(image.shape[:2])
    stages["cluster colours"] = _paint(labels, colours, image.shape)
    stages["fuzzy colours"] = blend.reshape(image.shape)
    stages["pixel cloud"] = _cloud(image, labels, colours, seed)
    stages["objective"] = Curve(np.arange(1, len(objective) + 1, dtype=np.float64), {"objective J_m": objective},
                                {}, "iteration", "objective per pixel")
    notes = [f"Fit stopped after {len(objective)} iteration(s)."] + _fewer_note(len(centres), n_clusters)
    return Segmentation(labels=labels.reshape(image.shape[:2]), scores=strongest, stages=stages, notes=notes)

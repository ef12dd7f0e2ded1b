"""Thresholding: global (manual, Otsu, multi-Otsu, Li, Yen, triangle, ISODATA) and local (adaptive, Sauvola).

Every method works on the luminance of the image and returns a binary mask
(``multi-otsu`` returns ``classes`` semantic levels). Stages show the gray
image, the histogram with the chosen threshold(s) and, for local methods,
the threshold surface.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from skimage import exposure, filters
from skimage.filters import rank
from skimage.filters.thresholding import _mean_std as _skimage_mean_std
from skimage.util.dtype import dtype_limits
from skimage.morphology import footprint_rectangle

from ..cache import cached_stage
from ..imaging import to_gray
from ..registry import Param, register
from ..result import Curve, Segmentation

_BINS = 256

POLARITY = Param(
    "polarity", "auto", choices=("auto", "bright", "dark"),
    help="Which side of the threshold is foreground: auto takes the smaller side (objects usually cover "
         "less of the picture than their background), bright objects on a dark background, or dark "
         "objects (text, cells under brightfield) on a bright one.",
)


def _histogram(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts, edges = np.histogram(gray, bins=_BINS, range=(0.0, 1.0))
    return (edges[:-1] + edges[1:]) / 2, counts


@cached_stage
def luminance(image) -> np.ndarray:
    """The gray picture every threshold works on, read-only and computed once per picture: moving a
    threshold re-uses it (and the gray stage stays the same object, whose figure the dashboard has
    already drawn)."""
    return to_gray(image)


@cached_stage
def gray_histogram(image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`luminance` and its histogram (bin centres, counts), read-only, once per picture."""
    gray = luminance(image)
    return (gray, *_histogram(gray))


def between_class_variance(centres: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Otsu's between-class variance for a split after each histogram bin.

    Parameters
    ----------
    centres, counts : ndarray, (N,)
        Histogram bin centres and counts.

    Returns
    -------
    ndarray, (N,)
        ``w0 * w1 * (mu0 - mu1) ** 2`` for a threshold at each bin centre; the
        maximum is Otsu's threshold.
    """
    p = counts / max(counts.sum(), 1)
    w0 = np.cumsum(p)
    w1 = 1.0 - w0
    m = np.cumsum(p * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu0 = m / w0
        mu1 = (m[-1] - m) / w1
        var = w0 * w1 * (mu0 - mu1) ** 2
    return np.nan_to_num(var)


def smaller_side(bright: np.ndarray) -> str:
    """What ``"auto"`` polarity picks for a mask of the pixels above the threshold: the side with
    fewer pixels, ``"bright"`` or ``"dark"`` (the bright one on a tie)."""
    return "bright" if 2 * np.count_nonzero(bright) <= bright.size else "dark"


def auto_side_note(side: str) -> str:
    """The note a result carries when ``"auto"`` polarity chose ``side``."""
    return f"Auto polarity: {side} objects (the smaller side of the threshold)."


def foreground_side(gray: np.ndarray, threshold, polarity: str) -> tuple[np.ndarray, str]:
    """The foreground mask for ``polarity`` and the side it is (``"bright"`` or ``"dark"``).

    ``"auto"`` takes :func:`smaller_side`. ``threshold`` is a number or a per-pixel surface;
    bright pixels are those above it.
    """
    bright = gray > threshold
    side = smaller_side(bright) if polarity == "auto" else polarity
    return (bright if side == "bright" else ~bright), side


def _side_notes(polarity: str, side: str) -> list[str]:
    return [auto_side_note(side)] if polarity == "auto" else []


def _global(image, threshold: float, polarity: str, *, extra: dict | None = None) -> Segmentation:
    gray, centres, counts = gray_histogram(image)
    series = {"pixels": counts.astype(np.float64)}
    series.update(extra(centres, counts) if extra else {})
    mask, side = foreground_side(gray, threshold, polarity)
    return Segmentation(
        labels=mask.astype(np.int32),
        stages={
            "gray": gray,
            "histogram": Curve(centres, series, {"threshold": float(threshold)}, "intensity", "pixels"),
            "mask": mask,
        },
        notes=_side_notes(polarity, side),
    )


def _flat_guard(gray: np.ndarray) -> bool:
    return float(gray.max()) == float(gray.min())


@register(
    "global-threshold",
    title="Global threshold",
    family="threshold",
    kind="binary",
    params=(
        Param("threshold", 0.5, low=0.0, high=1.0, step=0.005,
              help="Intensity (0 = black, 1 = white) that separates foreground from background. "
                   "Look for the valley between the histogram's peaks."),
        replace(POLARITY, default="bright"),  # a hand-moved threshold should not flip sides halfway
    ),
    description="Every pixel brighter than one fixed intensity is foreground. The simplest "
                "segmentation there is: it works when objects and background have distinct, "
                "evenly lit intensities, which the histogram shows as two separated peaks.",
    references=("Gonzalez & Woods, Digital Image Processing, 4th ed., section 10.3.",),
)
def global_threshold(image, *, threshold, polarity):
    return _global(image, threshold, polarity)


def _auto(name: str, title: str, func, description: str, reference: str, with_variance=False):
    """Register an automatic global threshold computed by ``func(gray)``."""

    def run(image, *, polarity):
        gray = luminance(image)
        value = float(gray.min()) if _flat_guard(gray) else float(func(gray))
        extra = (lambda c, n: {"between-class variance": _rescale(between_class_variance(c, n), n)}) if with_variance else None
        result = _global(image, value, polarity, extra=extra)
        result.notes.append(f"{title} chose threshold {value:.4f}.")
        return result

    run.__name__ = run.__qualname__ = name.replace("-", "_")
    register(name, title=title, family="threshold", kind="binary", params=(POLARITY,),
             description=description, references=(reference,))(run)
    return run


def _rescale(curve: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Scale ``curve`` to the histogram's height so both share one axis."""
    top = curve.max()
    return curve * (counts.max() / top) if top > 0 else curve


otsu = _auto(
    "otsu", "Otsu threshold", filters.threshold_otsu,
    "Chooses the threshold that maximises the variance between the two classes of pixels it "
    "creates (equivalently, minimises the variance within each). Excellent when the histogram is "
    "bimodal; it fails when one class is tiny or lighting is uneven.",
    "N. Otsu, A threshold selection method from gray-level histograms, IEEE Trans. SMC 9(1), 1979.",
    with_variance=True,
)
li = _auto(
    "li", "Li threshold", filters.threshold_li,
    "Minimises the cross-entropy between the image and its two-level version, iterating to a fixed "
    "point. Often better than Otsu when the object is small relative to the background.",
    "C. H. Li & P. K. S. Tam, An iterative algorithm for minimum cross entropy thresholding, Pattern Recognition Letters 19(8), 1998.",
)
yen = _auto(
    "yen", "Yen threshold", filters.threshold_yen,
    "Maximises the entropic correlation of the two classes. Tends to pick a higher threshold, "
    "keeping only clearly bright structures.",
    "J.-C. Yen, F.-J. Chang & S. Chang, A new criterion for automatic multilevel thresholding, IEEE Trans. Image Processing 4(3), 1995.",
)
triangle = _auto(
    "triangle", "Triangle threshold", filters.threshold_triangle,
    "Draws a line from the histogram's peak to its far end and thresholds where the histogram lies "
    "farthest below that line. Suited to one dominant background peak with a faint tail of objects.",
    "G. W. Zack, W. E. Rogers & S. A. Latt, Automatic measurement of sister chromatid exchange frequency, J. Histochem. Cytochem. 25(7), 1977.",
)
isodata = _auto(
    "isodata", "ISODATA threshold", filters.threshold_isodata,
    "Iterates until the threshold lies midway between the mean intensities of the two classes it "
    "separates (Ridler-Calvard). Close to Otsu on bimodal histograms.",
    "T. W. Ridler & S. Calvard, Picture thresholding using an iterative selection method, IEEE Trans. SMC 8(8), 1978.",
)


@register(
    "multi-otsu",
    title="Multi-Otsu threshold",
    family="threshold",
    kind="semantic",
    params=(
        Param("classes", 3, low=2, high=5,
              help="Number of intensity classes. Each extra class adds a threshold; 3 separates "
                   "dark, mid and bright."),
    ),
    description="Generalises Otsu to several thresholds that together maximise the between-class "
                "variance, splitting the image into intensity bands (class 0 darkest).",
    references=("P.-S. Liao, T.-S. Chen & P.-C. Chung, A fast algorithm for multilevel thresholding, J. Inf. Sci. Eng. 17(5), 2001.",),
)
def multi_otsu(image, *, classes):
    gray, centres, counts = gray_histogram(image)
    prob, levels = _range_histogram(gray)
    filled = np.count_nonzero(prob)
    if filled < classes:  # fewer levels than classes: equal bands over the picture's range
        thresholds = np.linspace(gray.min(), gray.max(), classes + 1)[1:-1]
    else:
        # As scikit-image's threshold_multiotsu: exactly `classes` levels split between them;
        # thresholds at the centre of the last bin of each lower class, moved to that bin's upper
        # edge so the whole bin stays below.
        index = np.flatnonzero(prob)[:-1] if filled == classes else multi_otsu_indices(prob, classes)
        thresholds = levels[index] + (levels[1] - levels[0]) / 2
    labels = np.digitize(gray, bins=thresholds).astype(np.int32)
    markers = {f"threshold {i + 1}": float(t) for i, t in enumerate(thresholds)}
    return Segmentation(
        labels=labels,
        class_names=[f"level {i}" for i in range(classes)],
        stages={
            "gray": gray,
            "histogram": Curve(centres, {"pixels": counts.astype(np.float64)}, markers, "intensity", "pixels"),
        },
    )


@cached_stage
def _range_histogram(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's histogram for multi-Otsu: :data:`_BINS` bins over the picture's own range,
    as probabilities (float32, as scikit-image computes them), and the bin centres."""
    prob, levels = exposure.histogram(gray, nbins=_BINS, source_range="image", normalize=True)
    return prob.astype(np.float32), levels


def multi_otsu_indices(prob: np.ndarray, classes: int) -> np.ndarray:
    """The histogram bins after which multi-Otsu splits ``classes`` classes, found exactly in O(classes * bins^2).

    Otsu's between-class variance is, up to constants, a sum over the classes of ``S_k^2 / P_k``
    (``P_k`` a class's probability, ``S_k`` its first moment): each term depends only on where its
    own class starts and ends, so the best split of the bins after ``i`` into ``k`` classes follows
    from the best splits into ``k - 1`` (dynamic programming). scikit-image's lookup-table search
    (Liao et al., 2001) tries every combination instead, ``bins ** (classes - 1)`` of them: 5.5 s for
    five classes on 256 bins, against under a millisecond here. The same objective, quirks included
    (scikit-image weighs bin 0 by 1 instead of 0 and scores a class of bin 0 alone as 0), and its
    tie-break, the first split in lexicographic order; the two agree on every bundled sample and
    differ only where two splits' variances agree to float32 precision, in which scikit-image
    computes them.

    Parameters
    ----------
    prob : ndarray, (N,)
        Histogram probabilities, with more than ``classes`` non-zero bins.
    classes : int
        Number of classes, 2 or more.

    Returns
    -------
    ndarray of int, (classes - 1,)
        The last bin of each class but the last, increasing.

    Examples
    --------
    >>> multi_otsu_indices(np.array([5, 5, 0, 0, 1, 1, 0, 6, 6], float) / 24, 3).tolist()
    [1, 5]
    """
    p = np.asarray(prob, dtype=np.float64)
    n = len(p)
    weight = np.arange(n, dtype=np.float64)
    weight[0] = 1.0  # scikit-image's first moment starts at prob[0]
    mass = np.concatenate([[0.0], np.cumsum(p)])
    moment = np.concatenate([[0.0], np.cumsum(p * weight)])
    span_mass = mass[None, :] - mass[:, None]  # [i, j]: the class of bins i .. j - 1
    span_moment = moment[None, :] - moment[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(span_mass > 0, span_moment * span_moment / span_mass, 0.0)
    score[0, 1] = 0.0  # scikit-image scores a class of bin 0 alone as 0
    score[np.tril_indices(n + 1)] = -np.inf  # a class holds one bin at least
    # best[k - 1][i]: the best score of k classes over bins i .. n - 1
    best = [score[:, n]]
    for _ in range(classes - 1):
        best.append(np.max(score + best[-1][None, :], axis=1))
    ends, start = [], 0
    for k in range(classes - 1, 0, -1):
        start = int(np.argmax(score[start] + best[k - 1]))  # the first best: the smallest split
        ends.append(start - 1)
    return np.array(ends, dtype=np.intp)


def _median_surface(gray: np.ndarray, block_size: int) -> np.ndarray:
    """Median of each pixel's ``block_size`` square (fewer pixels at the border), to 1/255.

    scikit-image's rank filter on 8-bit levels keeps a running histogram, so its cost grows with the
    block's side, not its area: ``threshold_local(method="median")`` took about 3 s at a 35 px block
    on a 1024x768 photo and ran out of memory at 301 px; this takes 0.1 and 0.6 s.
    """
    levels = np.round(np.clip(gray, 0.0, 1.0) * 255).astype(np.uint8)
    return rank.median(levels, footprint_rectangle((block_size, block_size))) / 255.0


def _odd(value: int) -> int:
    return value if value % 2 else value + 1


@register(
    "adaptive-threshold",
    title="Adaptive (local) threshold",
    family="threshold",
    kind="binary",
    params=(
        Param("block_size", 35, low=3, high=301, step=2,
              help="Side of the neighbourhood (pixels, odd) whose statistic sets each pixel's "
                   "threshold. Make it larger than the objects; too small and it picks up texture."),
        Param("offset", 0.0, low=-0.3, high=0.3, step=0.005,
              help="Subtracted from the local statistic. Positive values keep only pixels clearly "
                   "brighter than their surroundings."),
        Param("method", "gaussian", choices=("gaussian", "mean", "median"),
              help="Local statistic: a Gaussian-weighted mean (smooth), a plain mean, or the median "
                   "(robust to outliers, slower)."),
        POLARITY,
    ),
    description="Each pixel gets its own threshold from a statistic of its neighbourhood, so uneven "
                "illumination and shading no longer matter. The classic choice for scanned "
                "documents and microscopy with a vignette.",
    references=("Gonzalez & Woods, Digital Image Processing, 4th ed., section 10.3.7 (variable thresholding).",),
)
def adaptive_threshold(image, *, block_size, offset, method, polarity):
    gray = luminance(image)
    surface = _local_statistic(gray, _odd(block_size), method) - offset
    return _local(gray, surface, polarity)


@cached_stage
def _local_statistic(gray: np.ndarray, block_size: int, method: str) -> np.ndarray:
    """The neighbourhood statistic of every pixel, before the offset: moving the offset re-uses it.

    ``threshold_local`` subtracts its offset last, so with offset 0 and the offset
    subtracted here the surface is the same, bit for bit.
    """
    if method == "median":
        return _median_surface(gray, block_size)
    return filters.threshold_local(gray, block_size=block_size, method=method, offset=0.0)


def _local(gray, surface, polarity):
    mask, side = foreground_side(gray, surface, polarity)
    return Segmentation(
        labels=mask.astype(np.int32),
        stages={"gray": gray, "threshold surface": surface, "mask": mask},
        notes=_side_notes(polarity, side),
    )


@register(
    "sauvola",
    title="Sauvola threshold",
    family="threshold",
    kind="binary",
    params=(
        Param("window_size", 25, low=3, high=201, step=2,
              help="Side of the local window (pixels, odd). About the height of a line of text works "
                   "well for documents."),
        Param("k", 0.2, low=0.0, high=1.0, step=0.01,
              help="How strongly local contrast lowers the threshold; 0.2-0.5 is typical. Larger "
                   "values keep less foreground."),
        replace(POLARITY, default="dark"),
    ),
    description="A local threshold designed for documents: the local mean adjusted by the local "
                "standard deviation, T = m * (1 + k * (s / R - 1)). Text stays crisp on stained, "
                "unevenly lit paper.",
    references=("J. Sauvola & M. Pietikäinen, Adaptive document image binarization, Pattern Recognition 33(2), 2000.",),
)
def sauvola(image, *, window_size, k, polarity):
    gray = luminance(image)
    mean, std = _local_mean_std(gray, _odd(window_size))
    low, high = dtype_limits(gray, clip_negative=False)  # R as threshold_sauvola takes it: half the dtype's range
    surface = mean * (1 + k * ((std / (0.5 * (high - low))) - 1))  # its formula, term for term
    return _local(gray, surface, polarity)


@cached_stage
def _local_mean_std(gray: np.ndarray, window_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Local mean and standard deviation in ``window_size`` windows, by scikit-image's own helper, so
    that the surface is ``threshold_sauvola``'s bit for bit: moving ``k`` re-uses them (two integral
    images and four box sums were two thirds of a move)."""
    return _skimage_mean_std(gray, window_size)

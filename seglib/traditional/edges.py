"""Edge detection: Canny, Sobel and Laplacian of Gaussian (Marr-Hildreth).

Every method works on the luminance of the image and returns a 0/1 edge map
(kind ``edges``). With ``close_regions=True`` the edges are turned into
regions instead: the connected areas between edges are labelled 1..n and
each edge pixel joins its nearest area (kind ``regions``).

The expensive early stages (smoothing, gradients, non-maximum suppression,
the LoG response) are cached on the image and the parameters they depend
on, so moving a threshold slider recomputes only the thresholding.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi
from skimage import filters
from skimage.segmentation import expand_labels

from ..cache import cached_stage
from ..registry import Param, register
from ..result import Curve, Segmentation
from .threshold import luminance

CLOSE_REGIONS = Param(
    "close_regions", False,
    help="Turn the edge map into regions: the areas enclosed by edges become segments and edge "
         "pixels join the nearest one. Works best when edges form closed contours.",
)

# Colours of the "strong and weak edges" stage.
_NOT_EDGE, _WEAK_DROPPED, _WEAK_KEPT, _STRONG = range(4)
_HYSTERESIS_COLOURS = np.array(
    [[0.0, 0.0, 0.0],   # below the low threshold (or suppressed)
     [0.9, 0.2, 0.15],  # weak, not connected to a strong edge: dropped
     [0.2, 0.75, 1.0],  # weak, connected to a strong edge: kept
     [1.0, 1.0, 1.0]],  # strong: above the high threshold
    dtype=np.float32,
)
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)

try:  # scikit-image's compiled non-maximum suppression (a private name; fall back if it moves)
    from skimage.feature._canny_cy import _nonmaximum_suppression_bilinear as _compiled_nms
except ImportError:  # pragma: no cover
    _compiled_nms = None
_HISTOGRAM_BINS = 128


# --------------------------------------------------------------------------- shared pieces

def nonmax_suppression(grad_rows: np.ndarray, grad_cols: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Thin a gradient magnitude to one-pixel-wide ridges.

    A pixel survives when its magnitude is at least that of both neighbours
    along the gradient direction, each neighbour linearly interpolated
    between the two pixels the gradient direction passes between. This is
    the bilinear variant used by :func:`skimage.feature.canny` and agrees
    with it exactly.

    Parameters
    ----------
    grad_rows, grad_cols : ndarray of float, shape (H, W)
        Derivatives along axis 0 (down the rows) and axis 1 (across columns).
    magnitude : ndarray of float, shape (H, W)
        The gradient norm.

    Returns
    -------
    ndarray of float, shape (H, W)
        ``magnitude`` at local maxima, 0 elsewhere. The one-pixel border is
        always 0 (its neighbours lie outside the image).
    """
    thinned = np.zeros_like(magnitude)
    if min(magnitude.shape) < 3:
        return thinned
    gi, gj = grad_rows[1:-1, 1:-1], grad_cols[1:-1, 1:-1]
    m = magnitude[1:-1, 1:-1]
    ai, aj = np.abs(gi), np.abs(gj)
    same_sign = ((gi >= 0) & (gj >= 0)) | ((gi <= 0) & (gj <= 0))
    # The axis the gradient mostly points along decides which neighbours straddle it;
    # the interpolation weight is the tangent of the angle away from that axis.
    rows_major = np.where(same_sign, ai > aj, ai >= aj)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.minimum(ai, aj) / np.maximum(ai, aj)
    rest = 1.0 - weight
    h, w = magnitude.shape

    def shifted(di, dj):
        return magnitude[1 + di:h - 1 + di, 1 + dj:w - 1 + dj]

    def is_max_towards(sign):
        # Neighbour along the major axis, and the diagonal one next to it; for a
        # same-sign gradient the step down the rows has the sign of the column step.
        down = same_sign if sign > 0 else ~same_sign
        axis = np.where(rows_major, np.where(down, shifted(1, 0), shifted(-1, 0)), shifted(0, sign))
        diagonal = np.where(down, shifted(1, sign), shifted(-1, sign))
        diagonal *= weight
        axis *= rest
        return diagonal + axis <= m

    keep = (m > 0) & is_max_towards(1) & is_max_towards(-1)
    thinned[1:-1, 1:-1] = np.where(keep, m, 0.0)
    return thinned


def hysteresis(thinned: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canny's double threshold with edge tracking.

    Parameters
    ----------
    thinned : ndarray of float, shape (H, W)
        Non-maximum-suppressed gradient magnitude.
    low, high : float
        Pixels at or above ``high`` are strong edges; pixels at or above
        ``low`` are kept when 8-connected to a strong edge through other such
        pixels.

    Returns
    -------
    edges, candidates, strong : ndarray of bool, shape (H, W)
        The final edges, every pixel at or above ``low`` and the strong ones.

    Notes
    -----
    scikit-image compares against ``low`` in single precision (and treats 0
    as 1e-14, so zero magnitudes never count); the same is done here so
    results agree bit for bit.
    """
    low32 = np.float32(low) if np.float32(low) != 0 else np.float32(1e-14)
    candidates = thinned >= float(low32)
    strong = candidates & (thinned >= high)
    regions, count = ndi.label(candidates, _EIGHT_CONNECTED)
    if count == 0:
        return candidates, candidates, strong
    has_strong = np.zeros(count + 1, dtype=bool)
    has_strong[regions[strong]] = True
    has_strong[0] = False
    return has_strong[regions], candidates, strong


def regions_from_edges(edges: np.ndarray) -> np.ndarray:
    """Label the areas enclosed by an edge map, then give edge pixels to the nearest area.

    Areas are 4-connected, so a diagonal (8-connected) edge line still
    separates them. An edge that stops one pixel short of the image border
    (Canny never marks the border) is extended to it, so it still closes.

    Parameters
    ----------
    edges : ndarray of bool, shape (H, W)

    Returns
    -------
    ndarray of int32, shape (H, W)
        Labels 1..n covering every pixel (all 1 when everything is edge).
    """
    walls = edges.copy()
    if min(edges.shape) > 2:
        walls[0, :] |= edges[1, :]
        walls[-1, :] |= edges[-2, :]
        walls[:, 0] |= edges[:, 1]
        walls[:, -1] |= edges[:, -2]
    areas, count = ndi.label(~walls)
    if count == 0:
        return np.ones(edges.shape, dtype=np.int32)
    return expand_labels(areas, distance=sum(walls.shape)).astype(np.int32)


def _edge_result(edges: np.ndarray, stages: dict, close_regions: bool, notes=()) -> Segmentation:
    stages["edges"] = edges
    notes = list(notes)
    if not close_regions:
        return Segmentation(labels=edges.astype(np.int32), kind="edges", stages=stages, notes=notes)
    regions = regions_from_edges(edges)
    stages["regions from edges"] = regions
    notes.append(f"The edges enclose {int(regions.max())} regions.")
    return Segmentation(labels=regions, kind="regions", stages=stages, notes=notes)


def _magnitude_histogram(magnitude: np.ndarray, markers: dict) -> Curve:
    """Histogram of non-zero magnitudes (log counts) with threshold markers."""
    values = magnitude[magnitude > 0]
    top = max(float(values.max()) if values.size else 0.0, *markers.values(), 1e-6)
    counts, bin_edges = np.histogram(values, bins=_HISTOGRAM_BINS, range=(0.0, top))
    centres = (bin_edges[:-1] + bin_edges[1:]) / 2
    counts_axis = "log10(1 + pixels)"
    return Curve(centres, {counts_axis: np.log10(1.0 + counts)}, dict(markers), "magnitude", counts_axis)


# --------------------------------------------------------------------------- Canny

def _zero_padded(sigma: float) -> dict:
    return dict(sigma=sigma, mode="constant", cval=0.0, preserve_range=False)


@cached_stage
def _coverage(shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-padded Gaussian blur of an all-ones image (plus eps): how much of each
    pixel's smoothing window lies inside the image. Depends only on the shape.

    Only the bands within the kernel's reach of a border differ from the inside,
    so the blur is made on a picture of those bands (at most ``2 * reach + 2``
    pixels a side) and spread over the shape: every pixel sees the same window
    of ones and zeros as on the whole, so the values are the same bit for bit
    (tests compare), at a fraction of a full blur's cost (half of a Canny move's
    smoothing, the slider students move most).
    """
    reach = int(4.0 * sigma + 0.5) + 1  # past the kernel's radius at scikit-image's truncate=4
    small_shape = tuple(min(n, 2 * reach + 2) for n in shape)
    small = filters.gaussian(np.ones(small_shape), **_zero_padded(sigma)) + np.finfo(np.float64).eps
    rows, cols = (_band_index(n, m, reach) for n, m in zip(shape, small_shape))
    return small.take(rows, axis=0).take(cols, axis=1)


def _band_index(n: int, m: int, reach: int) -> np.ndarray:
    """Where each of ``n`` places along an axis finds its value in the ``m``-long band picture of
    :func:`_coverage`: the first and last ``reach`` places their own, the inside the middle one."""
    places = np.arange(n)
    if n == m:
        return places
    return np.where(places < reach, places, np.where(places >= n - reach, places - (n - m), reach))


@cached_stage
def canny_gradients(image: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canny's threshold-free stages: smoothing, Sobel gradient and thinning.

    Parameters
    ----------
    image : ndarray of float, shape (H, W) or (H, W, 3)
        Values in [0, 1]; RGB is converted to luminance.
    sigma : float
        Standard deviation of the Gaussian smoothing (pixels).

    Returns
    -------
    smoothed, magnitude, thinned : ndarray of float, shape (H, W)
        The image smoothed as :func:`skimage.feature.canny` does (zero
        padding, renormalised by the smoothed all-ones image so borders do
        not darken), its Sobel gradient norm, and that norm after
        non-maximum suppression. Cached: read-only.
    """
    gray = luminance(image)
    smoothed = filters.gaussian(gray, **_zero_padded(sigma))
    smoothed /= _coverage(gray.shape, sigma)
    grad_cols = ndi.sobel(smoothed, axis=1)
    grad_rows = ndi.sobel(smoothed, axis=0)
    magnitude = _norm(grad_rows, grad_cols)
    return smoothed, magnitude, thin(grad_rows, grad_cols, magnitude)


def _norm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.sqrt(a * a + b * b)``, the same bits, in one new array instead of four."""
    norm = a * a
    norm += b * b
    return np.sqrt(norm, out=norm)


def thin(grad_rows: np.ndarray, grad_cols: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Non-maximum suppression, by scikit-image's compiled routine when it is available.

    It applies the very rule of :func:`nonmax_suppression` (tests check they
    agree exactly) about ten times faster; the numpy version is the readable
    reference and the fallback.
    """
    if _compiled_nms is None or min(magnitude.shape) < 3:
        return nonmax_suppression(grad_rows, grad_cols, magnitude)
    inside = np.zeros(magnitude.shape, dtype=bool)
    inside[1:-1, 1:-1] = True  # the border has no neighbours on both sides: never a maximum
    return np.asarray(_compiled_nms(grad_rows, grad_cols, magnitude, inside, 0.0))


def _hysteresis_picture(edges, candidates, strong) -> np.ndarray:
    # strong pixels are edges and edges candidates, so the sum counts up to a pixel's category:
    # _WEAK_DROPPED (1), _WEAK_KEPT (2) or _STRONG (3)
    category = candidates.astype(np.uint8)
    category += edges
    category += strong
    return _HYSTERESIS_COLOURS.take(category, axis=0)  # take: a quarter of fancy indexing's time


@register(
    "canny",
    title="Canny edge detector",
    family="edge",
    kind="edges",
    params=(
        Param("sigma", 1.0, low=0.0, high=10.0, step=0.1,
              help="Gaussian smoothing (pixels) before taking gradients. Raise it (2-4) on noisy "
                   "or textured images to keep only large-scale edges."),
        Param("thresholds", "quantiles", choices=("quantiles", "absolute"),
              help="How the two thresholds are given. 'quantiles' (the default) sets them relative to "
                   "this picture's gradients (0.95 = stronger than 95% of the pixels), so busy photos "
                   "and flat scans both get a few percent of edge pixels; 'absolute' takes gradient "
                   "magnitudes, as in the textbook."),
        Param("low_quantile", 0.8, low=0.0, high=1.0, step=0.005, shown_when={"thresholds": "quantiles"},
              help="Weak edges: ridges stronger than this fraction of all pixels' gradients, kept "
                   "only when connected to a strong edge. Lower it to close gaps in contours."),
        Param("high_quantile", 0.95, low=0.0, high=1.0, step=0.005, shown_when={"thresholds": "quantiles"},
              help="Strong edges: ridges stronger than this fraction of all pixels' gradients start "
                   "an edge. Raise it (0.97-0.99) to keep only the main outlines; it must be at "
                   "least the low quantile."),
        Param("low_threshold", 0.1, low=0.0, high=1.0, step=0.005, shown_when={"thresholds": "absolute"},
              help="Weak-edge gradient magnitude: weak pixels survive only when connected to a "
                   "strong edge. Lower it to close gaps in contours."),
        Param("high_threshold", 0.2, low=0.0, high=1.0, step=0.005, shown_when={"thresholds": "absolute"},
              help="Strong-edge gradient magnitude that starts an edge. Raise it to drop faint "
                   "edges; it must be at least the low threshold."),
        CLOSE_REGIONS,
    ),
    description="Smooths the image, measures the Sobel gradient, thins it to one-pixel ridges "
                "(non-maximum suppression) and keeps ridges above a high threshold plus the weaker "
                "ridges connected to them (hysteresis). Thin, well-connected edges with few "
                "isolated fragments.",
    references=(
        "J. Canny, A computational approach to edge detection, IEEE Trans. PAMI 8(6), 679-698, 1986.",
        "S. van der Walt et al., scikit-image: image processing in Python, PeerJ 2:e453, 2014 "
        "(skimage.feature.canny).",
    ),
)
def canny(image, *, sigma, thresholds, low_quantile, high_quantile, low_threshold, high_threshold,
          close_regions):
    """Canny edges; equal to ``skimage.feature.canny`` with the same parameters.

    With ``thresholds="quantiles"`` the hysteresis thresholds are the
    ``low_quantile`` and ``high_quantile`` quantiles of the gradient
    magnitude over the whole picture (``use_quantiles=True`` in
    scikit-image); with ``"absolute"`` they are ``low_threshold`` and
    ``high_threshold`` themselves.

    Raises
    ------
    ValueError
        If the low threshold (or quantile) in use exceeds the high one.
    """
    relative = thresholds == "quantiles"
    low, high = (low_quantile, high_quantile) if relative else (low_threshold, high_threshold)
    low_name, high_name = ("low_quantile", "high_quantile") if relative else ("low_threshold", "high_threshold")
    if low > high:
        raise ValueError(
            f"{low_name}={low!r} is larger than {high_name}={high!r}: "
            f"the low (weak-edge) {low_name.split('_')[1]} must be at most the high (strong-edge) one"
        )
    smoothed, magnitude, thinned = canny_gradients(image, sigma)
    if relative:
        low, high = (float(v) for v in np.percentile(magnitude, [100.0 * low, 100.0 * high]))
    edges, candidates, strong = hysteresis(thinned, low, high)
    markers = ({f"low threshold ({low_quantile:g} quantile)": low,
                f"high threshold ({high_quantile:g} quantile)": high}
               if relative else {"low threshold": low, "high threshold": high})
    stages = {
        "smoothed": smoothed,
        "gradient magnitude": magnitude,
        "non-maximum suppression": thinned,
        "magnitude histogram": _magnitude_histogram(thinned, markers),
        "strong and weak edges": _hysteresis_picture(edges, candidates, strong),
    }
    notes = ["Strong and weak edges: white = strong, blue = weak but connected to a strong edge "
             "(kept), red = weak and isolated (dropped)."]
    if relative:
        notes.append(f"Thresholds from this picture's gradients: the {low_quantile:g} and {high_quantile:g} "
                     f"quantiles are magnitudes {low:.3g} and {high:.3g}; {100 * edges.mean():.1f}% of "
                     "the pixels are edges.")
    return _edge_result(edges, stages, close_regions, notes)


# --------------------------------------------------------------------------- Sobel

@cached_stage
def sobel_gradients(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sobel derivatives and magnitude of the image's luminance.

    Returns
    -------
    grad_x, grad_y, magnitude : ndarray of float, shape (H, W)
        Derivative across columns (x, to the right) and down the rows (y,
        downwards), signed, and ``sqrt((grad_x**2 + grad_y**2) / 2)``, the
        normalisation of :func:`skimage.filters.sobel` (values in [0, 1]).
    """
    gray = luminance(image)
    grad_x = filters.sobel(gray, axis=1)
    grad_y = filters.sobel(gray, axis=0)
    magnitude = np.sqrt((grad_x * grad_x + grad_y * grad_y) / 2)
    return grad_x, grad_y, magnitude


@register(
    "sobel",
    title="Sobel gradient threshold",
    family="edge",
    kind="edges",
    params=(
        Param("threshold", 0.1, low=0.0, high=1.0, step=0.005,
              help="Gradient magnitude above which a pixel is an edge. Check the magnitude "
                   "histogram: edges are its long tail; 0.05-0.15 suits most photos."),
        Param("thin", False,
              help="Keep only the ridge of each edge (non-maximum suppression along the gradient), "
                   "giving one-pixel-wide lines instead of thick bands."),
        CLOSE_REGIONS,
    ),
    description="Estimates the brightness gradient with the Sobel operator (a derivative combined "
                "with smoothing across it) and marks pixels whose gradient magnitude exceeds a "
                "threshold. Fast and simple, but edges come out thick and noise passes through.",
    references=(
        "I. Sobel & G. Feldman, A 3x3 isotropic gradient operator for image processing, talk at "
        "the Stanford Artificial Intelligence Project, 1968.",
        "Gonzalez & Woods, Digital Image Processing, 4th ed., section 10.2.",
    ),
)
def sobel(image, *, threshold, thin, close_regions):
    grad_x, grad_y, magnitude = sobel_gradients(image)
    strength = nonmax_suppression(grad_y, grad_x, magnitude) if thin else magnitude
    edges = strength > threshold
    stages = {
        "gradient x": grad_x,
        "gradient y": grad_y,
        "magnitude": magnitude,
        "magnitude histogram": _magnitude_histogram(strength, {"threshold": threshold}),
    }
    if thin:
        stages["non-maximum suppression"] = strength
    return _edge_result(edges, stages, close_regions)


# --------------------------------------------------------------------------- Laplacian of Gaussian

# For a step of height h, the LoG response changes by about h / (sigma**3 * sqrt(2 pi))
# per pixel across its zero crossing; multiplying by this factor makes the crossing's
# contrast an estimate of h, so the threshold reads as an intensity step.
_STEP_FACTOR = math.sqrt(2 * math.pi)


def zero_crossing_strength(response: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Contrast of the sign changes of ``response`` between 4-neighbours.

    Each pair of horizontally or vertically adjacent pixels whose responses
    have opposite signs is a zero crossing; its contrast ``|r_a - r_b| *
    scale`` is written on the pixel of the pair nearer zero, giving
    one-pixel-wide lines.

    Parameters
    ----------
    response : ndarray of float, shape (H, W)
    scale : float
        Multiplies the contrasts.

    Returns
    -------
    ndarray of float, shape (H, W)
        The largest contrast of a crossing at each pixel, 0 where none.
    """
    strength = np.zeros_like(response)
    positive = response >= 0
    magnitude = np.abs(response)
    for axis in (0, 1):
        first = (slice(None, -1), slice(None)) if axis == 0 else (slice(None), slice(None, -1))
        second = (slice(1, None), slice(None)) if axis == 0 else (slice(None), slice(1, None))
        # Contrasts are finite and >= 0, so multiplying by a mask keeps or zeroes them exactly as
        # np.where would, in place: five new arrays an axis instead of nine.
        contrast = response[first] - response[second]
        np.abs(contrast, out=contrast)
        contrast *= scale
        contrast *= positive[first] != positive[second]  # only across a sign change
        first_nearer = magnitude[first] <= magnitude[second]
        np.maximum(strength[first], contrast * first_nearer, out=strength[first])
        contrast *= ~first_nearer
        np.maximum(strength[second], contrast, out=strength[second])
    return strength


@cached_stage
def log_response(image: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Laplacian-of-Gaussian response and the contrast of its zero crossings.

    Returns
    -------
    response, strength : ndarray of float, shape (H, W)
        ``scipy.ndimage.gaussian_laplace`` of the luminance, and
        :func:`zero_crossing_strength` calibrated so that a sharp step of
        height ``h`` gives a strength of about ``h``.
    """
    response = ndi.gaussian_laplace(luminance(image), sigma, mode="nearest")
    return response, zero_crossing_strength(response, scale=sigma ** 3 * _STEP_FACTOR)


@register(
    "log",
    title="Laplacian of Gaussian (Marr-Hildreth)",
    family="edge",
    kind="edges",
    params=(
        Param("sigma", 2.0, low=0.5, high=10.0, step=0.1,
              help="Scale of the Gaussian (pixels): small values find fine detail and noise, "
                   "large values (3-6) only the outlines of big structures."),
        Param("threshold", 0.1, low=0.0, high=1.0, step=0.005,
              help="Minimum brightness step (0-1) across a zero crossing for it to count as an "
                   "edge. At 0 every sign change is kept, including those of flat noise."),
        CLOSE_REGIONS,
    ),
    description="Blurs the image with a Gaussian and takes the Laplacian (the second derivative). "
                "An edge is where that response changes sign, the inflection point of a brightness "
                "step; weak sign changes from noise are dropped by a contrast threshold. Zero "
                "crossings always form closed curves, so the edges close regions naturally.",
    references=(
        "D. Marr & E. Hildreth, Theory of edge detection, Proc. Royal Society of London B "
        "207(1167), 187-217, 1980.",
    ),
)
def log(image, *, sigma, threshold, close_regions):
    response, strength = log_response(image, sigma)
    edges = strength > threshold
    stages = {
        "LoG response": response,
        "zero crossings": strength,
        "crossing contrast histogram": _magnitude_histogram(strength, {"threshold": threshold}),
    }
    return _edge_result(edges, stages, close_regions)

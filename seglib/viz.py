"""Pictures of segmentations: label colours, overlays and plotly figures of stages.

Pure functions of numpy arrays (no Streamlit), usable from a notebook:

>>> import seglib, seglib.viz as viz
>>> result = seglib.segment(image, "otsu")                          # doctest: +SKIP
>>> rgb = viz.overlay(image, result.labels, result.kind, opacity=0.6)  # doctest: +SKIP
>>> viz.stage_figure("histogram", result.stages["histogram"]).show()   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import functools
import io
import struct
import zlib

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import get_colorscale, sample_colorscale
from PIL import Image
from scipy import ndimage as ndi
from skimage.color import hsv2rgb
from skimage.segmentation import find_boundaries

from .cache import cached_stage
from .checks import check_int
from .cloud_picture import CAMERA_EYE, cloud_picture
from .imaging import as_uint8, resize_image, resize_labels, to_rgb, with_channels
from .labels import BOUNDARY_COLOUR, distinct
from .result import Curve, Points, Segmentation

# Sasha Trubetskoy's "20 simple, distinct colours", ordered for contrast.
_PALETTE = np.array([
    [230, 25, 75], [60, 180, 75], [255, 225, 25], [67, 99, 216], [245, 130, 49],
    [145, 30, 180], [66, 212, 244], [240, 50, 230], [191, 239, 69], [250, 190, 212],
    [70, 153, 144], [220, 190, 255], [154, 99, 36], [255, 250, 200], [128, 0, 0],
    [170, 255, 195], [128, 128, 0], [255, 216, 177], [0, 0, 117], [169, 169, 169],
], dtype=np.uint8)
EDGE_COLOUR = BOUNDARY_COLOUR  # edge maps are drawn in the one boundary yellow
MIN_MASK_CONTRAST = 150.0
"""RGB distance between a binary mask's colour and the mean colour it covers below which another is used."""
MASK_ALTERNATIVES = ((0, 130, 200), BOUNDARY_COLOUR, (60, 180, 75))
"""Blue, yellow and green: the colours a binary mask may take instead of its usual red (white would
only look like a faded picture)."""
MODES = ("filled", "contour")
# Label maps with more segments than this get one boundary colour in contour mode.
_MAX_COLOURED_CONTOURS = 32
# Longest side of the images drawn inside plotly figures.
FIGURE_MAX_SIDE = 640
_FIGURE_MARGIN = dict(l=4, r=4, t=30, b=4)
# Margins that already hold what plotly would push them out to (a colour bar at the right, axis titles,
# tick labels, the rows of a legend: see legend_margin): a figure whose pushes outgrow its margins is laid
# out and drawn twice (about 20-60 ms of a browser's main thread per figure, Chromium, measured with the
# figures of a threshold move). A longer tick label or an extra legend row still pushes: drawn right, only
# slower.
_COLOUR_BAR = dict(thickness=10, len=0.9, outlinewidth=0, tickfont=dict(size=10), x=1.0, xanchor="left", xpad=8)
_BAR_MARGIN = dict(_FIGURE_MARGIN, r=56)
_CURVE_MARGIN = dict(_FIGURE_MARGIN, l=48, b=46)
_CURVE_LEGEND_PER_ROW, _CURVE_LEGEND_ROW = 2, 32  # a histogram and two thresholds take two rows
_GOLDEN = 0.618033988749895


@functools.lru_cache(maxsize=16)
def _label_colours(n: int) -> np.ndarray:
    colours = np.zeros((n, 3), dtype=np.uint8)
    fixed = min(n - 1, len(_PALETTE))
    colours[1:fixed + 1] = _PALETTE[:fixed]
    extra = n - 1 - fixed
    if extra > 0:
        i = np.arange(extra)
        hsv = np.stack([(0.11 + i * _GOLDEN) % 1.0, 0.55 + 0.4 * ((i * 7) % 5) / 4, 0.7 + 0.3 * ((i * 3) % 4) / 3], -1)
        colours[fixed + 1:] = np.round(hsv2rgb(hsv[None])[0] * 255).astype(np.uint8)
    colours.setflags(write=False)
    return colours


def label_colours(n: int) -> np.ndarray:
    """Distinct colours for labels ``0 .. n - 1``.

    Label 0 (background, unlabelled) is black; labels 1 to 20 take a fixed
    palette of well-separated colours; further labels get hues spread by the
    golden ratio, so every call with the same ``n`` gives the same colours and
    a longer list extends a shorter one.

    Parameters
    ----------
    n : int
        Number of colours (at least 1).

    Returns
    -------
    ndarray of uint8, (n, 3)
        Read-only RGB colours.

    Examples
    --------
    >>> label_colours(3)
    array([[  0,   0,   0],
           [230,  25,  75],
           [ 60, 180,  75]], dtype=uint8)
    """
    return _label_colours(check_int(n, "n", low=1))


def _check_labels(labels, name: str = "labels") -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 2:
        raise ValueError(f"`{name}` has shape {array.shape}; expected a 2-D (H, W) label map")
    if array.dtype == bool:
        return array.astype(np.int32)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"`{name}` has dtype {array.dtype}; expected integer labels")
    return array


def _colour_index(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Map labels to palette rows: small non-negative ids index directly, others are ranked."""
    if labels.size and labels.min() >= 0 and labels.max() < 1 << 16:
        return labels, int(labels.max()) + 1 if labels.size else 1
    values, inverse = np.unique(labels, return_inverse=True)
    offset = 0 if values[0] == 0 else 1  # keep 0 as background when present
    return inverse.reshape(labels.shape) + offset, len(values) + offset


def _lut(labels: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    index, n = _colour_index(labels)
    lut = label_colours(max(n, 2))
    if kind == "edges":
        lut = lut.copy()
        lut[1:] = EDGE_COLOUR
    return index, lut


def colourise(labels, kind: str = "regions") -> np.ndarray:
    """Colour a label map: each label its own colour, 0 black.

    Parameters
    ----------
    labels : ndarray of int or bool, (H, W)
    kind : str
        The segmentation kind; ``"edges"`` maps are drawn in one bright colour.

    Returns
    -------
    ndarray of uint8, (H, W, 3)
    """
    labels = _check_labels(labels)
    index, lut = _lut(labels, kind)
    return lut.take(index, axis=0)  # a third of the time of lut[index]


def _rgb_uint8(image, name: str = "image") -> np.ndarray:
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(f"`{name}` has shape {array.shape}; expected (H, W) grayscale or (H, W, 3) RGB")
    return to_rgb(as_uint8(array))


def thicken(labels, width: int) -> np.ndarray:
    """Grow non-zero labels into the background by ``width - 1`` pixels (the larger label wins).

    Keeps one-pixel lines (edge maps, boundaries) visible once a picture is
    shown smaller than its pixel size. ``width <= 1`` returns the labels unchanged.
    """
    labels = _check_labels(labels)
    if width <= 1:
        return labels
    grown = ndi.grey_dilation(labels, size=(int(width), int(width)))
    return np.where(labels != 0, labels, grown)


def overlay(image, labels, kind: str = "regions", opacity: float = 0.5, mode: str = "filled",
            contour_colour=None, line_width: int = 1) -> np.ndarray:
    """Draw a label map over an image.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
        uint8, or float in [0, 1]. Not modified.
    labels : ndarray of int, (H, W)
        Label 0 stays transparent.
    kind : str
        The segmentation kind (``"edges"`` maps are drawn in one bright colour).
    opacity : float in [0, 1]
        Weight of the label colours in ``"filled"`` mode.
    mode : {"filled", "contour"}
        ``"filled"`` blends each segment's colour over it; ``"contour"`` draws
        segment boundaries solid and leaves the image visible inside them.
        Edge maps are lines already: both modes draw them, solid in contour mode.
    contour_colour : tuple of 3 ints, optional
        One colour for every boundary. By default boundaries take their
        segment's colour, or yellow when there are more than 32 segments.
    line_width : int
        Width in pixels of boundaries and edge lines; use more than 1 when the
        picture is shown shrunk.

    Returns
    -------
    ndarray of uint8, (H, W, 3)
    """
    rgb = _rgb_uint8(image)
    labels = _check_labels(labels)
    if labels.shape != rgb.shape[:2]:
        raise ValueError(f"`labels` (shape {labels.shape}) must have the same (H, W) as `image` (shape {rgb.shape})")
    if not 0.0 <= float(opacity) <= 1.0:
        raise ValueError(f"opacity={opacity!r} is not allowed: expected a number in [0, 1]")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not allowed: expected one of {', '.join(MODES)}")
    check_int(line_width, "line_width", low=1)
    index, lut = _lut(labels, kind)
    if kind == "binary" and contour_colour is None:
        lut = _visible_binary_lut(rgb, labels != 0, lut)
    if kind == "edges":
        index = thicken(index, line_width)
        painted, alpha = index != 0, (1.0 if mode == "contour" else float(opacity))
    elif mode == "filled":
        painted, alpha = labels != 0, float(opacity)
    else:
        painted, alpha = find_boundaries(labels, mode="thick"), 1.0
        if line_width > 2:
            painted = ndi.binary_dilation(painted, np.ones((line_width - 1, line_width - 1), bool))
        return _blend(rgb, painted, alpha, *_contour_colours(labels, index, lut, contour_colour, line_width))
    return _blend(rgb, painted, alpha, lut, index)


def _blend(rgb: np.ndarray, painted: np.ndarray, alpha: float, lut: np.ndarray,
           index: np.ndarray | None = None) -> np.ndarray:
    """``rgb`` with colours blended in at ``alpha`` where ``painted``, rounded to uint8.

    A pixel's colour is ``lut[index]`` at its place, or ``lut[0]`` everywhere when ``index``
    is None. Integer arithmetic in place, with each colour's share of the blend computed
    once per colour and gathered by ``take`` (three times as fast as ``lut[index]``), on the
    painted pixels only when they are fewer than half: blending float copies through
    boolean masks took several times as long. When more are painted, every pixel is blended
    and the unpainted ones are put back through a mask of the flat channel values: a
    (N, 1) mask broadcast over the channels took 25-29 ms at 1024 x 1024 against 6-17 ms,
    and when every pixel is painted (clusterings, most region methods) no mask is needed.
    """
    weight = np.uint16(round(float(alpha) * 256))
    shares = np.asarray(lut, dtype=np.uint16).reshape(-1, 3) * weight + 128  # + 128: rounds the >> 8 below
    flat = painted.reshape(-1)
    count = np.count_nonzero(flat)
    dense = count * 2 > flat.size
    where = slice(None) if dense else np.flatnonzero(flat)
    mixed = rgb.reshape(-1, 3)[where].astype(np.uint16)
    mixed *= 256 - weight
    mixed += shares[0] if index is None else shares.take(index.reshape(-1)[where], axis=0)
    mixed >>= 8  # at most (255 * 256 + 128) >> 8: no overflow in 16 bits
    if dense:
        out = mixed.astype(np.uint8)
        if count < flat.size:
            np.copyto(out.reshape(-1), rgb.reshape(-1), where=np.repeat(~flat, 3))
    else:
        out = rgb.reshape(-1, 3).copy()
        out[where] = mixed
    return out.reshape(rgb.shape)


_EXACT_ROWS = 65536  # 65536 * 255 < 2 ** 24: a float32 sum of this many uint8 values is exact in any order


def _covered_sums(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel sums (float64, exact) of the uint8 (N, 3) ``pixels`` where the (N,) ``mask`` is set.

    Matrix products in float32 over blocks of :data:`_EXACT_ROWS` pixels, whose sums are whole numbers
    below 2 ** 24 and so exact, added up in float64: 7 against 20 ms for one float64 product at
    1200 x 1200 (and 47 ms through a boolean index), every move of a binary method (on one BLAS thread,
    as the app's server runs: see :func:`seglib.threads.cap_blas`).
    """
    weights, values = mask.astype(np.float32), pixels.astype(np.float32)
    whole = len(weights) - len(weights) % _EXACT_ROWS
    blocks = np.matmul(weights[:whole].reshape(-1, 1, _EXACT_ROWS), values[:whole].reshape(-1, _EXACT_ROWS, 3))
    return blocks.sum(axis=(0, 1), dtype=np.float64) + (weights[whole:] @ values[whole:]).astype(np.float64)


def _visible_binary_lut(rgb: np.ndarray, mask: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """``lut`` with the mask colour swapped for the alternative farthest from the covered pixels' mean
    colour, when the usual colour is closer to it than :data:`MIN_MASK_CONTRAST` (a red mask on a pink
    object would be invisible)."""
    covered = np.count_nonzero(mask)
    if not covered:
        return lut
    mean = _covered_sums(rgb.reshape(-1, 3), mask.reshape(-1)) / covered

    def distance(colour) -> float:
        return float(np.linalg.norm(mean - np.asarray(colour, dtype=np.float64)))

    if distance(lut[1]) >= MIN_MASK_CONTRAST:
        return lut
    swapped = lut.copy()
    swapped[1] = max(MASK_ALTERNATIVES, key=distance)
    return swapped


def _contour_colours(labels, index, lut, contour_colour, line_width: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Colours of the contour pixels as :func:`_blend` takes them, ``(lut, index)``: one colour (index
    None), or each segment's, spilling onto the background beside it."""
    if contour_colour is None and np.count_nonzero(distinct(labels)) > _MAX_COLOURED_CONTOURS:
        contour_colour = BOUNDARY_COLOUR
    if contour_colour is not None:
        return np.broadcast_to(np.asarray(contour_colour, dtype=np.uint8), (1, 3)), None
    # A boundary pixel on the background side takes its neighbour segment's colour.
    return lut, thicken(index, line_width + 2)


def fit(image, labels=None, max_side: int = 1200):
    """Shrink an image (bilinear) and its label map (nearest) so the longest side is at most ``max_side``.

    Returns ``(image, labels)`` (``labels`` stays None when not given);
    smaller inputs come back unchanged. A read-only image (a picked picture: the
    same object on every rerun) is shrunk once and kept in the stage cache, so a
    slider move only resizes its new labels.
    """
    array = np.asarray(image)
    small_or_writeable = array.flags.writeable or max(array.shape[:2], default=0) <= max_side
    rgb = (_display_picture if small_or_writeable else _kept_display_picture)(array, max_side)
    if labels is not None:
        labels = _check_labels(labels)
        if labels.shape != array.shape[:2]:
            raise ValueError(f"`labels` (shape {labels.shape}) must have the same (H, W) as `image` "
                             f"(shape {array.shape})")
        labels = resize_labels(labels, rgb.shape[:2])
    return rgb, labels


def _display_picture(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` as RGB uint8 with its longest side at most ``max_side``."""
    rgb = _rgb_uint8(image)
    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb
    scale = max_side / max(h, w)
    return resize_image(rgb, (max(2, round(h * scale)), max(2, round(w * scale))))


_kept_display_picture = cached_stage(_display_picture)
""":func:`_display_picture` of a read-only picture, kept in the stage cache (a writeable one could change)."""


def summary(result: Segmentation) -> dict[str, str]:
    """A few headline numbers for a result, as display strings.

    Binary masks report the foreground share and the connected objects, edge
    maps the share of edge pixels, other kinds the number of segments and
    the share of labelled pixels.
    """
    labels = result.labels
    share = f"{100.0 * np.count_nonzero(labels) / max(labels.size, 1):.1f}%"
    if result.kind == "binary":
        _, objects = ndi.label(labels > 0, structure=np.ones((3, 3), bool))  # 8-connected, as "Objects" says
        return {"Objects": str(objects), "Foreground": share}
    if result.kind == "edges":
        return {"Edge pixels": share}
    return {"Segments": str(result.n_segments), "Labelled": share}


# ---------------------------------------------------------------- figures


def _shrink(array: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Downscale for display; returns the array and the pixel size in input pixels."""
    h, w = array.shape[:2]
    scale = max(h, w) / max_side
    if scale <= 1:
        return array, 1.0
    shape = (max(1, round(h / scale)), max(1, round(w / scale)))
    if array.dtype == np.uint8:
        return resize_image(array, shape), w / shape[1]
    return resize_labels(array, shape), w / shape[1]


_FLAT_SHARE = 0.75  # at least this share of pixels repeat their left neighbour exactly: flat colours
_JPEG_QUALITY = 90


def is_flat(rgb: np.ndarray) -> bool:
    """Whether a uint8 picture (RGB or gray) is drawn in flat colours (label maps, masks, drawings) rather than a photo.

    Judged by how often a pixel repeats its left neighbour exactly, on up to 64 rows: 83-99% of the
    pixels in the colour pictures of the bundled samples' label maps (hundreds of colours), at most 59%
    in their photos. Counting colours instead took every gray photo (never more than 256 values) for
    a drawing, and sent it as a PNG four to ten times the JPEG's size and encoding time.
    """
    array = with_channels(np.asarray(rgb))
    rows = array[:: max(1, array.shape[0] // 64)]
    if rows.shape[0] == 0 or rows.shape[1] < 2:
        return True
    same = np.all(rows[:, 1:] == rows[:, :-1], axis=-1)
    return bool(same.mean() >= _FLAT_SHARE)


def encode_picture(picture: np.ndarray, lossless: bool | None = None) -> tuple[bytes, str]:
    """Encode a picture for display: ``(bytes, mime type)``.

    ``picture`` is RGB uint8 (H, W, 3), gray uint8 (H, W) or a boolean mask
    (H, W). Flat-colour pictures (see :func:`is_flat`) become PNG, lossless and
    small (rows left unfiltered: see :func:`_unfiltered_png`); photos and
    overlays on photos become JPEG at quality 90, a tenth of the PNG's size and
    several times faster to encode. ``lossless`` forces one or the other. A
    mask is always a 1-bit PNG and a gray picture keeps one channel: a 600 x 400
    mask encodes in 1 ms against 5 ms as black-and-white RGB.
    """
    picture = np.ascontiguousarray(picture)
    buffer = io.BytesIO()
    if picture.dtype != bool and not (lossless if lossless is not None else is_flat(picture)):
        Image.fromarray(picture).save(buffer, format="JPEG", quality=_JPEG_QUALITY)
        return buffer.getvalue(), "image/jpeg"
    if picture.dtype == np.uint8:
        return _unfiltered_png(picture), "image/png"
    # A mask as mode "1" (a bit a pixel); other depths (16-bit gray) as Pillow writes them.
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue(), "image/png"


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _unfiltered_png(picture: np.ndarray) -> bytes:
    """A uint8 picture (gray or RGB, with or without alpha) as a PNG whose rows are not filtered, compressed at
    zlib's fastest level.

    Pillow tries all five PNG row filters on every row of an 8-bit picture
    and cannot be told not to: a 512 x 512 RGB label picture took 15-18 ms to
    encode, 5-6.5 ms this way, within 3% of the size (flat colours repeat
    exactly, which is what the filters would look for). zlib lets other
    threads run while it compresses.
    """
    height, width = picture.shape[:2]
    channels = 1 if picture.ndim == 2 else picture.shape[2]
    rows = np.zeros((height, width * channels + 1), dtype=np.uint8)  # a 0 before each row: filter "none"
    rows[:, 1:] = picture.reshape(height, -1)
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]  # gray, gray + alpha, RGB, RGBA
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(rows, 1))
            + _png_chunk(b"IEND", b""))


def _data_uri(picture: np.ndarray, lossless: bool | None = None) -> str:
    data, mime = encode_picture(picture, lossless)
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


_GRAY_SCALE = [[0.0, "rgb(0,0,0)"], [1.0, "rgb(255,255,255)"]]
_SIGNED_SCALE = [list(stop) for stop in get_colorscale("RdBu_r")]  # plotly.js knows no "_r" names


@functools.lru_cache(maxsize=4)
def _colourmap(name: str) -> np.ndarray:
    """256-entry RGB lookup table of a plotly colour scale (``"gray"`` is linear black to white)."""
    if name == "gray":
        return np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    colours = sample_colorscale(name, list(np.linspace(0.0, 1.0, 256)))
    return np.array([[int(float(c)) for c in s[s.index("(") + 1:-1].split(",")] for s in colours], dtype=np.uint8)


def _finite_copy(value, posinf: float | None = None, neginf: float | None = None) -> np.ndarray:
    """``value`` as a new float64 array with NaN as 0 and infinities as given (``np.nan_to_num``; by
    default the largest floats), checked in one pass first: ``nan_to_num`` makes three."""
    array = np.array(value, dtype=np.float64)
    if not np.isfinite(array).all():
        np.nan_to_num(array, copy=False, nan=0.0, posinf=posinf, neginf=neginf)
    return array


def _scalar_to_picture(value: np.ndarray) -> tuple[np.ndarray, dict]:
    """Float map -> picture: min-max gray (one channel), or red-blue RGB symmetric around zero for signed values.

    NaN counts as 0 and infinities as the largest floats (``np.nan_to_num``). Scaled in place in one
    float copy (the same arithmetic, in the same order, as ``round((x - low) / span * 255)``).
    """
    array = _finite_copy(value)
    low, high = float(array.min()), float(array.max())
    if low < 0 < high:
        name, bound = "RdBu_r", max(-low, high)
        low, high, scale = -bound, bound, _SIGNED_SCALE
    else:
        name, scale = "gray", _GRAY_SCALE
    span = high - low
    if span > 0:
        array -= low
        array /= span
        array *= 255
        np.round(array, out=array)
        np.clip(array, 0, 255, out=array)
        index = array.astype(np.uint8)
    else:
        index = np.full(array.shape, 128, dtype=np.uint8)  # round(0.5 * 255)
    picture = index if name == "gray" else _colourmap(name).take(index, axis=0)  # 2 against 7 ms for [index] at 640 px
    return picture, {"colorscale": scale, "cmin": low, "cmax": high if span > 0 else low + 1}


def _unit_float_to_uint8(value: np.ndarray) -> np.ndarray:
    """Floats meant to lie in [0, 1] (NaN as 0, out-of-range clipped) as rounded uint8, in one float copy.

    The same values as ``as_uint8(np.clip(np.nan_to_num(value), 0, 1))``, which made four full copies
    (a 512 x 512 colour stage: 3 ms of every k-means move).
    """
    scaled = _finite_copy(value, posinf=1.0, neginf=0.0)
    np.clip(scaled, 0.0, 1.0, out=scaled)
    scaled *= 255.0
    np.round(scaled, out=scaled)
    return scaled.astype(np.uint8)


def _stage_picture(value: np.ndarray) -> tuple[np.ndarray, dict | None]:
    """A displayable picture of a stage array and, for scalar maps, its colour scale.

    RGB stays RGB (uint8); masks and 0/1 maps become boolean (a 1-bit PNG), gray
    scalar maps one uint8 channel, label maps and signed maps RGB colours.
    """
    if value.ndim == 3:
        if value.dtype == np.uint8:
            return value, None
        return _unit_float_to_uint8(value), None
    if value.dtype == bool or (np.issubdtype(value.dtype, np.integer) and value.size and value.min() >= 0 and value.max() <= 1):
        return value.astype(bool, copy=False), None
    if np.issubdtype(value.dtype, np.integer):
        return colourise(value), None
    return _scalar_to_picture(value)


def _title(title: str) -> dict:
    return dict(text=title, font=dict(size=13), x=0.01, y=0.98, yanchor="top")


def _base_layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title=_title(title), margin=_FIGURE_MARGIN, height=height)
    return fig


def plain_figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure of plain trace and layout dicts, not validated by plotly.

    plotly checks every property of a figure it builds, its encoded picture
    included, on every slider move: a 512 px noisy scalar stage with its colour
    bar took 14.7 ms to build, 6.5 ms without the checks (smooth maps, whose
    pictures encode smaller, gain less). The figures of this module and of
    :mod:`seglib.charts` are built only from names and values that plotly
    accepts as they are: the tests compare each kind with plotly's own
    validated copy, property for property.

    Unless ``layout`` names a template, the figure carries only the parts of
    plotly's default template (Streamlit's, in the app) that it can use: the
    layout defaults and those of its own trace types (see
    :func:`_template_for`).
    """
    if "template" not in layout and isinstance(pio.templates.default, str):
        kinds = tuple(sorted({trace.get("type", "scatter") for trace in data}))
        layout = {**layout, "template": _template_for(pio.templates.default, kinds)}
    return go.Figure(data=data, layout=layout, _validate=False)


@functools.lru_cache(maxsize=32)
def _template_for(name: str, kinds: tuple[str, ...]) -> dict:
    """The layout defaults of template ``name`` and its trace defaults for the trace types ``kinds``.

    plotly.js applies a template's trace defaults by trace type only, so a
    figure draws the same with this part as with the whole template. Streamlit's
    template has defaults for ten trace types: each figure carried all of them
    (3.7 kB of JSON), built, copied and encoded on every move: 1-1.7 ms a figure.
    """
    whole = pio.templates[name].to_plotly_json()
    part = {"layout": whole.get("layout", {})}
    defaults = {kind: whole["data"][kind] for kind in kinds if kind in whole.get("data", {})}
    return {**part, "data": defaults} if defaults else part


def image_figure(value: np.ndarray, title: str = "", height: int | None = None) -> go.Figure:
    """A plotly figure of a 2-D or RGB array (labels coloured, scalar maps with a colour bar).

    Hover shows coordinates in the array's own pixels even when the picture
    is downscaled for display. ``height`` defaults to one that suits the
    aspect ratio in a column about 300 pixels wide.
    """
    value = np.asarray(value)
    if value.ndim not in (2, 3) or (value.ndim == 3 and value.shape[2] != 3):
        raise ValueError(f"`value` has shape {value.shape}; expected (H, W) or (H, W, 3)")
    h, w = value.shape[:2]
    if height is None:
        height = int(np.clip(_FIGURE_MARGIN["t"] + 300 * h / w, 160, 480))
    small, pixel = _shrink(value, FIGURE_MAX_SIDE)
    picture, scale = _stage_picture(small)
    # A scalar map through a 256-colour scale looks "flat" to is_flat but is a continuous picture:
    # JPEG (a tenth of the PNG's size and several times faster; every move re-sends its stages).
    source = _data_uri(picture, lossless=False if scale is not None else None)
    data = [dict(type="image", source=source, dx=pixel, dy=pixel,
                 x0=(pixel - 1) / 2, y0=(pixel - 1) / 2, hoverinfo="x+y")]
    if scale is not None:
        # An invisible point carries the colour bar of the scalar map.
        data.append(dict(type="scatter", x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                         marker=dict(size=0, color=[scale["cmin"]], showscale=True, colorbar=_COLOUR_BAR, **scale)))
    layout = _picture_layout(title, height, h, w)
    if scale is not None:
        layout["margin"] = _BAR_MARGIN
    layout["shapes"] = [dict(type="rect", x0=-0.5, y0=-0.5, x1=w - 0.5, y1=h - 0.5,
                             line=dict(color="#c5ccd6", width=1))]
    return plain_figure(data, layout)


def legend_margin(margin: dict, entries: int, per_row: int, row: int) -> dict:
    """``margin`` with room added at the bottom for a horizontal legend of ``entries`` names.

    The room is for ``per_row`` names to a row, each row ``row`` pixels high, as plotly lays them out
    in the narrowest column the figure is drawn in. Without the room, plotly lays the figure out and
    draws it a second time to make it.
    """
    return dict(margin, b=margin["b"] + row * -(-entries // per_row))


def _picture_layout(title: str, height: int, h: int, w: int) -> dict:
    """Layout of a figure that shows one h x w picture: no axes, square pixels, row 0 at the top."""
    return dict(
        title=_title(title), margin=_FIGURE_MARGIN, height=height, plot_bgcolor="rgba(0,0,0,0)",
        xaxis=dict(visible=False, range=[-0.5, w - 0.5], constrain="domain"),
        yaxis=dict(visible=False, range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain"),
    )


def curve_figure(curve: Curve, title: str = "", height: int = 300) -> go.Figure:
    """Lines of a :class:`~seglib.result.Curve`, its markers as labelled vertical lines."""
    traces = []
    top = 0.0
    for i, (name, y) in enumerate(curve.series.items()):
        y = np.asarray(y, dtype=np.float64)
        colour = "#%02x%02x%02x" % tuple(_PALETTE[(i + 3) % len(_PALETTE)])
        traces.append(dict(type="scatter", x=np.asarray(curve.x), y=y, name=name, mode="lines",
                           line=dict(color=colour, width=1.5), fill="tozeroy" if i == 0 else None))
        if y.size:
            top = max(top, float(np.nanmax(y)))
    for i, (name, x) in enumerate(curve.markers.items()):
        colour = "#%02x%02x%02x" % tuple(_PALETTE[i % len(_PALETTE)])
        traces.append(dict(type="scatter", x=[x, x], y=[0, top or 1], mode="lines", name=f"{name} = {x:.4g}",
                           line=dict(color=colour, width=2, dash="dash")))
    shown = len(traces) if len(traces) > 1 else 0  # plotly shows a legend for two traces or more
    layout = dict(
        title=_title(title), height=height, hovermode="x unified",
        margin=legend_margin(_CURVE_MARGIN, shown, _CURVE_LEGEND_PER_ROW, _CURVE_LEGEND_ROW),
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.0, xanchor="left", x=0.0,
                    font=dict(size=11)),
        xaxis=dict(title=dict(text=curve.x_label, standoff=4), showgrid=False),
        yaxis=dict(title=dict(text=curve.y_label, standoff=4), rangemode="tozero"),
    )
    return plain_figure(traces, layout)


def _cluster_colours(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique point labels and their colours, matching :func:`colourise` for 1-based ids."""
    values = np.unique(labels)
    shift = 1 if values.size and values.min() == 0 else 0  # 0-based cluster indices -> label map ids
    index = (values + shift) % (1 << 16)
    return values, label_colours(int(index.max()) + 1)[index]


def points_figure(points: Points, title: str = "", height: int = 380) -> go.Figure:
    """A :class:`~seglib.result.Points` cloud coloured by cluster, centres as big markers.

    One-dimensional points (the intensities of a gray picture) become a
    histogram stacked by cluster with each centre as a dashed line; two and
    three dimensions a scatter that fills the figure, the legend below it.
    """
    xyz = np.asarray(points.points, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] not in (1, 2, 3):
        raise ValueError(f"`points.points` has shape {xyz.shape}; expected (N, 1), (N, 2) or (N, 3)")
    if xyz.shape[1] == 1:
        return _histogram_by_cluster(points, title, height)
    labels = np.asarray(points.labels).reshape(-1)
    three = xyz.shape[1] == 3
    names = tuple(points.axis_names) + ("x", "y", "z")[len(points.axis_names):]
    kind = "scatter3d" if three else "scattergl"
    axes = "xyz"[:xyz.shape[1]]
    traces = []
    values, colours = _cluster_colours(labels)
    for value, colour in zip(values, colours):
        sel = labels == value
        # float32 coordinates: half the bytes of the figure's typed arrays, far finer than a pixel's colour step
        traces.append(dict({axis: xyz[sel, i].astype(np.float32) for i, axis in enumerate(axes)}, type=kind,
                           mode="markers",
                           name=f"cluster {value}", showlegend=len(values) <= 12,
                           marker=dict(size=3.5 if three else 5, color="rgb(%d,%d,%d)" % tuple(colour),
                                       opacity=0.8)))
    if points.centres is not None and len(points.centres):
        centres = np.asarray(points.centres, dtype=np.float64)
        traces.append(dict({axis: centres[:, i] for i, axis in enumerate(axes)}, type=kind, mode="markers",
                           name="centres", marker=dict(_CENTRE_MARKER, size=9 if three else 14)))
    layout = dict(title=_title(title), margin=_FIGURE_MARGIN, height=height, legend=_CLOUD_LEGEND)
    if three:
        axis = dict(title=dict(font=dict(size=11)), tickfont=dict(size=9))
        layout.update(scene=dict(**{f"{a}axis": dict(axis, title=dict(axis["title"], text=name))
                                    for a, name in zip("xyz", names)}, aspectmode="cube",
                                 domain=dict(x=[0, 1], y=[0.1, 1]), camera=dict(eye=dict(zip("xyz", CAMERA_EYE)))))
    else:
        layout.update(xaxis=dict(title=dict(text=names[0])), yaxis=dict(title=dict(text=names[1])))
    return plain_figure(traces, layout)


_CENTRE_MARKER = dict(color="white", symbol="diamond", line=dict(color="black", width=2))
_CLOUD_LEGEND = dict(orientation="h", yanchor="top", y=0.0, x=0.0, font=dict(size=10), itemsizing="constant")
_CLOUD_LEGEND_PER_ROW, _CLOUD_LEGEND_ROW = 5, 19


def is_3d_cloud(value) -> bool:
    """Whether a stage is a 3-D :class:`~seglib.result.Points` cloud (drawn by WebGL when interactive)."""
    return isinstance(value, Points) and np.ndim(value.points) == 2 and np.shape(value.points)[1] == 3


_STILL_CLOUD_SIDE = 360


def still_cloud_figure(points: Points, title: str = "", height: int = 380) -> go.Figure:
    """A 3-D :class:`~seglib.result.Points` cloud as a still picture from :func:`points_figure`'s first view.

    The same colours, centres and axis names as the interactive figure, drawn
    by :func:`seglib.cloud_picture.cloud_picture` into one picture: a browser
    draws it at the cost of a picture, where the interactive scene is a new
    WebGL scene on every change (seconds of a page's time in software WebGL).
    """
    if not is_3d_cloud(points):
        raise ValueError(f"`points.points` has shape {np.shape(points.points)}; expected (N, 3)")
    labels = np.asarray(points.labels).reshape(-1)
    values, colours = _cluster_colours(labels)
    picture, places = cloud_picture(points.points, colours[np.searchsorted(values, labels)], points.centres,
                                    side=_STILL_CLOUD_SIDE)
    names = tuple(points.axis_names) + ("x", "y", "z")[len(points.axis_names):]
    side = picture.shape[0]
    data = [dict(type="image", source=_data_uri(picture, lossless=True), hoverinfo="skip")]
    # The interactive figure's legend, from markers that are not drawn (no points: nothing for WebGL).
    legend = [(f"cluster {value}", dict(size=8, color="rgb(%d,%d,%d)" % tuple(colour)), len(values) <= 12)
              for value, colour in zip(values, colours)]
    if points.centres is not None and len(points.centres):
        legend.append(("centres", dict(_CENTRE_MARKER, size=9), True))
    data += [dict(type="scatter", x=[None], y=[None], mode="markers", name=name, marker=marker,
                  showlegend=shown, hoverinfo="skip") for name, marker, shown in legend]
    layout = dict(
        _picture_layout(title, height, side, side),
        margin=legend_margin(dict(_FIGURE_MARGIN, b=14), sum(shown for _, _, shown in legend),
                             _CLOUD_LEGEND_PER_ROW, _CLOUD_LEGEND_ROW),
        legend=dict(_CLOUD_LEGEND, itemclick=False, itemdoubleclick=False),  # the picture cannot hide a cluster
        annotations=[dict(x=x, y=y, text=name, showarrow=False, font=dict(size=12))
                     for (x, y), name in zip(places, names)],
    )
    return plain_figure(data, layout)


_CLOUD_BINS = 64
_BARS_MARGIN = dict(l=56, r=16, t=30, b=54)  # the y title and ticks, the x ticks and title, with room to spare
_BARS_LEGEND_PER_ROW, _BARS_LEGEND_ROW = 4, 29


def _histogram_by_cluster(points: Points, title: str, height: int) -> go.Figure:
    """Histogram of 1-D points, one stacked bar series per cluster, centres as dashed lines."""
    values = np.asarray(points.points, dtype=np.float64)[:, 0]
    labels = np.asarray(points.labels).reshape(-1)
    name = points.axis_names[0] if points.axis_names else "value"
    low, high = (0.0, 1.0) if values.size and values.min() >= 0 and values.max() <= 1 else (
        float(values.min(initial=0.0)), float(values.max(initial=1.0)))
    edges = np.linspace(low, high, _CLOUD_BINS + 1)
    centres_x = (edges[:-1] + edges[1:]) / 2
    ids, colours = _cluster_colours(labels)
    traces = []
    totals = np.zeros(_CLOUD_BINS)
    for value, colour in zip(ids, colours):
        counts, _ = np.histogram(values[labels == value], bins=edges)
        totals += counts
        traces.append(dict(type="bar", x=centres_x, y=counts, width=(high - low) / _CLOUD_BINS,
                           name=f"cluster {value}", showlegend=len(ids) <= 12,
                           marker=dict(color="rgb(%d,%d,%d)" % tuple(colour), line=dict(width=0))))
    top = max(1, int(totals.max(initial=0)))
    if points.centres is not None and len(points.centres):
        for i, centre in enumerate(np.asarray(points.centres, dtype=np.float64)[:, 0]):
            traces.append(dict(type="scatter", x=[centre, centre], y=[0, top * 1.05], mode="lines",
                               name="centres", legendgroup="centres", showlegend=i == 0,
                               line=dict(color="black", width=2, dash="dash")))
    layout = dict(title=_title(title), height=height, barmode="stack", bargap=0,
                  margin=legend_margin(_BARS_MARGIN, sum(trace["showlegend"] for trace in traces),
                                       _BARS_LEGEND_PER_ROW, _BARS_LEGEND_ROW),
                  xaxis=dict(title=dict(text=name, standoff=4), range=[low, high]),
                  yaxis=dict(title=dict(text="pixels (sample)", standoff=4), automargin=False),
                  legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.0, x=0.0,
                              font=dict(size=10)))
    return plain_figure(traces, layout)


def stage_figure(name: str, value, still: bool = False) -> go.Figure:
    """A compact plotly figure for one ``Segmentation.stages`` entry.

    Parameters
    ----------
    name : str
        The stage name, used as the figure title.
    value : ndarray, Curve or Points
        2-D or RGB arrays become pictures: booleans and 0/1 maps black and
        white, other integer maps coloured by label, float maps in gray (or
        red-blue around zero when signed) with a colour bar. A
        :class:`~seglib.result.Curve` becomes lines with vertical markers; a
        :class:`~seglib.result.Points` cloud a 3-D (or 2-D) scatter.
    still : bool, default False
        Draw a 3-D cloud as a still picture (:func:`still_cloud_figure`)
        instead of an interactive WebGL scene.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if isinstance(value, Curve):
        return curve_figure(value, name)
    if isinstance(value, Points):
        return still_cloud_figure(value, name) if still and is_3d_cloud(value) else points_figure(value, name)
    array = np.asarray(value)
    if array.ndim in (2, 3) and array.dtype != object:
        return image_figure(array, name)
    raise ValueError(f"stage {name!r} is a {type(value).__name__} of shape {array.shape}; expected a 2-D or RGB "
                     "array, a Curve or a Points cloud")


def describe_stage(value) -> str:
    """A one-line caption for a stage: its shape and value range."""
    if isinstance(value, Curve):
        marks = ", ".join(f"{k} = {v:.4g}" for k, v in value.markers.items())
        return f"{len(np.asarray(value.x))} points" + (f"; {marks}" if marks else "")
    if isinstance(value, Points):
        n_clusters = len(np.unique(np.asarray(value.labels)))
        return f"{len(np.asarray(value.points))} sampled points, {n_clusters} clusters"
    array = np.asarray(value)
    size = f"{array.shape[1]} x {array.shape[0]}"
    if array.dtype == bool:
        return f"{size} mask, {100.0 * array.mean():.1f}% set"
    if np.issubdtype(array.dtype, np.integer) and array.ndim == 2:
        return f"{size} labels, {len(distinct(array))} distinct"
    return f"{size}, values {float(array.min()):.3g} to {float(array.max()):.3g}"

"""Small array helpers shared by every method: dtype, colour and size."""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2gray
from PIL import Image


def check_image(image, name: str = "image") -> np.ndarray:
    """Validate an image array and return it as an ndarray (no copy).

    Accepts (H, W) or (H, W, 3), uint8 or float with values in [0, 1]
    (bool and other integer types are accepted and rescaled by
    :func:`as_float` by their values, never by their dtype: see
    :func:`integer_scale`).

    Raises
    ------
    ValueError
        Naming the argument, its shape/dtype and what is accepted.
    """
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(f"`{name}` has shape {array.shape}; expected (H, W) grayscale or (H, W, 3) RGB")
    if array.shape[0] < 2 or array.shape[1] < 2:
        raise ValueError(f"`{name}` has shape {array.shape}; it must be at least 2 x 2 pixels")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"`{name}` has dtype {array.dtype}; expected uint8 or float in [0, 1]")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"`{name}` contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            raise ValueError(f"`{name}` is float with values in [{low:.3g}, {high:.3g}]; float images must lie in [0, 1]")
    return array


def integer_scale(values: np.ndarray) -> tuple[float, float, int | None]:
    """``(offset, scale, bits)`` mapping integer pixel values to [0, 1] as ``(v - offset) / scale``.

    The rule looks at the values, never at the dtype, so the same values give
    the same picture whether they are stored as uint8, int32 or int64:

    - values in 0 .. 65535 are divided by ``2**bits - 1``, ``bits`` the
      smallest bit depth of at least 8 that holds the largest value (8-bit
      data by 255, 12-bit sensor data by 4095, full 16-bit data by 65535);
    - other values (negative, or above 65535) are stretched from their
      minimum to their maximum (``bits`` is None); a constant image maps to 0.
    """
    if values.size == 0:
        return 0.0, 255.0, 8
    low, high = int(values.min()), int(values.max())
    if low >= 0 and high <= 65535:
        bits = max(8, high.bit_length())
        return 0.0, float(2 ** bits - 1), bits
    return float(low), float(high - low) or 1.0, None


def as_float(image) -> np.ndarray:
    """Return a float64 copy of ``image`` scaled to [0, 1] (input never mutated).

    Floats pass through, bool maps to 0 and 1, other integers follow
    :func:`integer_scale` (an int64 copy of a uint8 photo is the same photo).
    """
    array = check_image(image)
    if array.dtype == bool:
        return array.astype(np.float64)
    if np.issubdtype(array.dtype, np.integer):
        offset, scale, _ = integer_scale(array)
        return (array.astype(np.float64) - offset) / scale
    return array.astype(np.float64, copy=True)


def as_uint8(image) -> np.ndarray:
    """Return ``image`` as uint8 (floats in [0, 1] scaled by 255, rounded)."""
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array
    return np.clip(np.round(as_float(array) * 255), 0, 255).astype(np.uint8)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luminance of an RGB float image (ITU-R 709 weights); gray passes through."""
    return rgb2gray(image) if image.ndim == 3 else image


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Stack a gray image to three channels; RGB passes through."""
    return np.stack([image] * 3, axis=-1) if image.ndim == 2 else image


def with_channels(image: np.ndarray) -> np.ndarray:
    """(H, W, C) view of an image: a gray (H, W) image gets a channel axis of length 1."""
    return image[..., None] if image.ndim == 2 else image


def colour_distance(a, b) -> np.ndarray:
    """Root-mean-square difference over the last (channel) axis.

    Parameters
    ----------
    a, b : array, (..., C)
        Colours in [0, 1], broadcast against each other (e.g. an (H, W, C)
        image and one (C,) colour).

    Returns
    -------
    ndarray, (...)
        Distance in [0, 1]; for one channel it is ``abs(a - b)``.

    Notes
    -----
    The squared differences are summed channel by channel, in order, then
    divided by the channel count: the arithmetic of ``np.mean(..., axis=-1)``
    over a few channels, so the same bits, without numpy's slow reduction
    over a short last axis or a full (..., C) temporary (region growing calls
    this once per growth round on the whole picture).
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    total = np.zeros(a.shape[:-1])
    for channel in range(a.shape[-1]):
        diff = a[..., channel] - b[..., channel]
        total += diff * diff
    total /= a.shape[-1]
    return np.sqrt(total)


def slic_colour_options(image: np.ndarray, compactness: float, colour_space: str = "rgb") -> dict:
    """Keyword arguments for scikit-image's ``slic`` that give ``compactness`` one meaning on any image.

    An RGB image is clustered in CIELAB, where L* spans 0-100. A gray image, or a colour image that
    pre-processing already converted (HSV, or Lab scaled to [0, 1]), is clustered on its own values,
    which span 0-1, so ``compactness`` is divided by 100 for the same balance of colour against space
    (and the image is not converted a second time).
    """
    colour = image.ndim == 3
    lab = colour and colour_space == "rgb"
    return {"compactness": compactness if lab else compactness / 100.0, "channel_axis": -1 if colour else None,
            "convert2lab": lab}


def working_shape(shape: tuple[int, ...], working_size: int | None) -> tuple[int, int]:
    """(H, W) scaled so the longest side is at most ``working_size``."""
    h, w = shape[:2]
    if working_size is None or max(h, w) <= working_size:
        return h, w
    scale = working_size / max(h, w)
    return max(2, round(h * scale)), max(2, round(w * scale))


def resize_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize an image to (H, W) with bilinear interpolation, anti-aliased when shrinking.

    uint8 images stay uint8 (resized by Pillow as one RGB or L image); other
    dtypes are resized channel by channel in float32 and returned as float64.
    """
    h, w = shape
    if image.shape[:2] == (h, w):
        return image
    if image.dtype == np.uint8:
        return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((w, h), Image.Resampling.BILINEAR))
    channels = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[2])]
    out = [np.asarray(Image.fromarray(np.ascontiguousarray(c, dtype=np.float32)).resize((w, h), Image.Resampling.BILINEAR))
           for c in channels]
    return (out[0] if image.ndim == 2 else np.stack(out, axis=-1)).astype(np.float64)


def resize_labels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a label map (labels are never blended)."""
    if labels.shape[:2] == tuple(shape):
        return labels
    h, w = labels.shape[:2]
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(np.intp), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(np.intp), w - 1)
    return labels.take(rows, axis=0).take(cols, axis=1)  # two 1-D gathers: 3-4x faster than one 2-D index

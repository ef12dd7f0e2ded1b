"""Photometric degradations for robustness curves.

Each degradation takes a uint8 RGB image and a strength in [0, 1] (0 leaves
the image unchanged, 1 is severe) and returns a degraded uint8 image of the
same shape. The ground truth is unaffected: these change how the scene
looks, not where its objects are.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from .imaging import as_float, as_uint8, check_image


def gaussian_noise(image: np.ndarray, strength: float, *, seed: int = 0) -> np.ndarray:
    """Add Gaussian noise with standard deviation ``0.3 * strength`` (in [0, 1] units)."""
    rng = np.random.default_rng(seed)
    noisy = as_float(image) + rng.normal(0.0, 0.3 * strength, np.shape(image))
    return as_uint8(np.clip(noisy, 0, 1))


def blur(image: np.ndarray, strength: float) -> np.ndarray:
    """Gaussian blur with sigma ``8 * strength`` pixels (per channel)."""
    sigma = 8.0 * strength
    if sigma == 0:
        return np.asarray(image).copy()
    sigmas = (sigma, sigma, 0) if np.ndim(image) == 3 else sigma
    return as_uint8(np.clip(ndi.gaussian_filter(as_float(image), sigmas), 0, 1))


def illumination(image: np.ndarray, strength: float) -> np.ndarray:
    """Multiply by a left-to-right lighting ramp from ``1 - 0.9 * strength`` to 1."""
    array = as_float(image)
    ramp = np.linspace(1.0 - 0.9 * strength, 1.0, array.shape[1])
    shaded = array * (ramp[None, :, None] if array.ndim == 3 else ramp[None, :])
    return as_uint8(shaded)


def jpeg(image: np.ndarray, strength: float) -> np.ndarray:
    """Encode and decode as JPEG at quality ``round(95 - 90 * strength)`` (95 down to 5)."""
    quality = int(round(95 - 90 * strength))
    buffer = io.BytesIO()
    Image.fromarray(as_uint8(image)).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        out = np.asarray(decoded.convert("RGB" if np.ndim(image) == 3 else "L"))
    return out


DEGRADATIONS: dict[str, Callable[..., np.ndarray]] = {
    "noise": gaussian_noise,
    "blur": blur,
    "illumination": illumination,
    "jpeg": jpeg,
}

DESCRIPTIONS = {
    "noise": "Gaussian noise, standard deviation 0 to 0.3 of the intensity range",
    "blur": "Gaussian blur, sigma 0 to 8 pixels",
    "illumination": "lighting ramp, the left edge darkened by 0 to 90 %",
    "jpeg": "JPEG compression, quality 95 down to 5",
}


def degrade(image: np.ndarray, name: str, strength: float) -> np.ndarray:
    """Apply the degradation ``name`` at ``strength``.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3), uint8 or float in [0, 1]
    name : str
        One of :data:`DEGRADATIONS`: ``noise``, ``blur``, ``illumination``, ``jpeg``.
    strength : float
        In [0, 1]; 0 is the identity.

    Returns
    -------
    ndarray of uint8, same shape as ``image``
    """
    check_image(image)
    if name not in DEGRADATIONS:
        raise ValueError(f"degradation={name!r} is not allowed: expected one of {', '.join(DEGRADATIONS)}")
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength={strength!r} is not allowed: expected a number in [0, 1]")
    if strength == 0:
        return as_uint8(image).copy()
    return DEGRADATIONS[name](image, float(strength))

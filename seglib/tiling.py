"""Tiled full-resolution segmentation of very large images with local methods.

A method is *local* when each output pixel depends only on the pixels within
a fixed distance (a filter's radius): it can then run tile by tile, each
tile read with a margin of that width, and give exactly the labels it gives
on the whole image. :func:`segment_tiled` does that through
``dask.array.map_overlap``, so the working memory is bounded by the tile
size, not the image size (only the input and the label map are whole).

Methods that support it (:data:`TILEABLE`, slug -> the margin they need):

================== ====================================================
global-threshold   no margin: one pixel at a time
adaptive-threshold the local statistic's radius: ``block_size // 2``
                   (mean, median) or the Gaussian's ``4 sigma`` with
                   ``sigma = (block_size - 1) / 6``
sobel              1 pixel (3 x 3 kernels), 2 with ``thin`` (the ridge
                   test looks one pixel further); not with ``close_regions``
log                the Gaussian's ``4 sigma`` + 1 (zero crossings look at
                   neighbours); not with ``close_regions``
================== ====================================================

Not tileable: methods that look at the whole image (Otsu and the other
automatic thresholds pick one threshold from the global histogram; Sauvola
normalises by the image's dynamic range; clustering and graph methods number
segments globally; Canny's hysteresis follows edges arbitrarily far; deep
models see a resized whole image). They run on the working-resolution image
as usual and their labels are scaled up.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from .checks import check_int
from .core import segment
from .imaging import check_image
from .registry import method as get_method
from .result import Segmentation
from .traditional.threshold import auto_side_note, smaller_side

__all__ = ["DEFAULT_TILE_SIZE", "TILEABLE", "segment_tiled", "tile_margin"]

DEFAULT_TILE_SIZE = 1024
"""Tile side in pixels (before the margin)."""

_MIN_TILE = 16


def _gaussian_radius(sigma: float) -> int:
    # scipy.ndimage.gaussian_filter's kernel radius with its default truncate=4.0
    return int(4.0 * float(sigma) + 0.5)


def _adaptive_margin(params: dict) -> int:
    block = params["block_size"] if params["block_size"] % 2 else params["block_size"] + 1
    if params["method"] == "gaussian":
        return _gaussian_radius((block - 1) / 6.0)
    return block // 2


def _edge_margin(margin: Callable[[dict], int]) -> Callable[[dict], int | None]:
    return lambda params: None if params["close_regions"] else margin(params)


TILEABLE: dict[str, Callable[[dict], int | None]] = {
    "global-threshold": lambda params: 0,
    "adaptive-threshold": _adaptive_margin,
    "sobel": _edge_margin(lambda params: 2 if params["thin"] else 1),
    "log": _edge_margin(lambda params: _gaussian_radius(params["sigma"]) + 1),
}
"""Methods that run tiled, each with a function of its (resolved) parameters giving
the margin in pixels, or None when those parameters make it non-local."""


def tile_margin(method, params: dict | None = None) -> int:
    """The overlap (pixels) that makes tiled output equal untiled output for ``method`` with ``params``.

    Raises
    ------
    ValueError
        When the method, or the method with these parameters, is not local.
    """
    spec = get_method(method)
    resolved = spec.resolve(params or {})
    margin_of = TILEABLE.get(spec.name)
    if margin_of is None:
        raise ValueError(f"method {spec.name!r} is not local, so it cannot run tiled; tileable methods: "
                         f"{', '.join(TILEABLE)}")
    margin = margin_of(resolved)
    if margin is None:
        raise ValueError(f"method {spec.name!r} with close_regions=True numbers regions across the whole image, "
                         "so it cannot run tiled; set close_regions=False")
    return int(margin)


def _tile_labels(block: np.ndarray, *, slug: str, params: dict) -> np.ndarray:
    return segment(block, slug, working_size=None, **params).labels.astype(np.uint8)


def segment_tiled(image, method, *, tile_size: int = DEFAULT_TILE_SIZE, scheduler="threads",
                  num_workers: int | None = None, **params) -> Segmentation:
    """Segment a (large) image at full resolution, tile by tile, with a local method.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
        uint8, or float in [0, 1]. Never mutated (tiles are views).
    method : str or Method
        One of :data:`TILEABLE`.
    tile_size : int
        Side of each tile before its margin (at least 16). Memory per tile
        grows with its square.
    scheduler : str or distributed.Client
        Dask scheduler for the tiles: ``"threads"`` (default),
        ``"synchronous"`` (one tile at a time, least memory) or a Client.
    num_workers : int, optional
        Threads for the ``"threads"`` scheduler.
    **params
        The method's parameters.

    Returns
    -------
    Segmentation
        Labels equal to ``seglib.segment(image, method, working_size=None,
        **params).labels``; no stages (they would be whole-image arrays); a
        note on the tiling.

    Raises
    ------
    ValueError
        For a method that is not local, a bad ``tile_size``, a malformed
        image or a parameter outside its spec.
    """
    import dask.array as da

    spec = get_method(method)
    check_image(image)
    margin = tile_margin(spec, params)
    check_int(tile_size, "tile_size", low=_MIN_TILE)
    resolved = spec.resolve(params)
    # "auto" polarity picks the smaller side of the whole image: tiles take the bright side, the
    # whole label map is then flipped if that side is the larger one (exactly what one run does).
    auto = resolved.get("polarity") == "auto"
    tile_params = dict(params, polarity="bright") if auto else dict(params)
    start = time.perf_counter()
    array = np.asarray(image)
    height, width = array.shape[:2]
    chunks = (tile_size, tile_size) + ((array.shape[2],) if array.ndim == 3 else ())
    depth = {0: margin, 1: margin, **({2: 0} if array.ndim == 3 else {})}
    tiles = da.from_array(array, chunks=chunks)
    labels = da.map_overlap(_tile_labels, tiles, depth=depth, boundary="none", dtype=np.uint8,
                            drop_axis=[2] if array.ndim == 3 else [], chunks=tiles.chunks[:2], trim=True,
                            slug=spec.name, params=tile_params)
    options = {"num_workers": num_workers} if num_workers else {}
    if isinstance(scheduler, str):
        values = labels.compute(scheduler=scheduler, **options)
    else:
        values = scheduler.compute(labels).result()
    notes = []
    if auto:
        side = smaller_side(values)
        values = values if side == "bright" else 1 - values
        notes.append(auto_side_note(side))
    count = math.ceil(height / tile_size) * math.ceil(width / tile_size)
    notes.append(f"Ran in {count} tile(s) of up to {tile_size} px with a {margin} px margin (dask map_overlap).")
    return Segmentation(labels=values.astype(np.int32), kind=spec.kind, params=dict(resolved),
                        elapsed_s=time.perf_counter() - start, notes=notes)

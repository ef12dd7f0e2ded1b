"""COCO segmentations (polygons and run-length encodings) as small, bounded patches.

A COCO annotation covers a part of the image, so it is drawn where it lies:
:func:`polygon_patch` rasterises polygons inside their bounding box (with
``pycocotools``, translated so the pixels match a full-image rasterisation
exactly) and :func:`rle_patch` expands a run-length encoding over the band
of columns its foreground spans. Each returns a :class:`Patch` whose
``area`` is the number of pixels drawing it costs, known before anything is
rasterised, so a caller can budget the work of all annotations.

:func:`compressed_runs` parses COCO's compressed RLE strings in linear time
with bounded shifts (pycocotools' own parser accepts runs of any length and
wraps them to 32 bits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_RLE_CHARACTERS", "Patch", "compressed_runs", "polygon_patch", "rle_patch", "check_runs"]

MAX_RLE_CHARACTERS = 16_000_000
"""Longest compressed RLE string read for one annotation (16 million characters)."""

_MAX_GROUPS = 7  # 5-bit groups in one run: 35 bits hold any count of a 40-megapixel image, with sign
_MARGIN = 2  # pixels around a polygon's box: pycocotools rounds vertices to 1/5 pixel


@dataclass
class Patch:
    """Where an annotation lies and how to rasterise it.

    Attributes
    ----------
    rows, cols : slice
        The box in the image that holds the annotation.
    area : int
        Pixels of the box: the cost of rasterising and drawing it.
    rasterise : callable
        ``rasterise() -> ndarray of bool`` of the box's shape.
    """

    rows: slice
    cols: slice
    area: int
    rasterise: object


def polygon_patch(polygons: list[list[float]], height: int, width: int) -> Patch:
    """The polygons of one annotation (validated lists of x, y) rasterised in their bounding box."""
    xs = np.concatenate([np.asarray(p[0::2], dtype=np.float64) for p in polygons])
    ys = np.concatenate([np.asarray(p[1::2], dtype=np.float64) for p in polygons])
    x0, y0 = max(0, int(np.floor(xs.min())) - _MARGIN), max(0, int(np.floor(ys.min())) - _MARGIN)
    x1, y1 = min(width, int(np.ceil(xs.max())) + _MARGIN), min(height, int(np.ceil(ys.max())) + _MARGIN)
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    box_h, box_w = y1 - y0, x1 - x0

    def rasterise() -> np.ndarray:
        from pycocotools import mask as coco_mask

        shifted = []
        for polygon in polygons:
            coords = np.asarray(polygon, dtype=np.float64).copy()
            coords[0::2] -= x0
            coords[1::2] -= y0
            shifted.append(coords.tolist())
        rle = coco_mask.merge(coco_mask.frPyObjects(shifted, box_h, box_w))
        return coco_mask.decode(rle).astype(bool)

    return Patch(slice(y0, y1), slice(x0, x1), box_h * box_w, rasterise)


def rle_patch(runs: np.ndarray, height: int, width: int) -> Patch:
    """A checked run-length encoding (column-major runs, background first) over its columns."""
    ends = np.cumsum(runs)
    starts = ends - runs
    foreground = np.flatnonzero((np.arange(len(runs)) % 2 == 1) & (runs > 0))
    if foreground.size == 0:
        return Patch(slice(0, 0), slice(0, 0), 0, lambda: np.zeros((0, 0), dtype=bool))
    first, last = int(starts[foreground[0]]), int(ends[foreground[-1]]) - 1
    c0, c1 = first // height, last // height + 1
    band_start, band_end = c0 * height, c1 * height

    def rasterise() -> np.ndarray:
        lo = np.clip(starts, band_start, band_end)
        hi = np.clip(ends, band_start, band_end)
        values = (np.arange(len(runs)) % 2 == 1)
        flat = np.repeat(values, hi - lo)  # column-major band, exactly (c1 - c0) * height pixels
        return flat.reshape(c1 - c0, height).T

    return Patch(slice(0, height), slice(c0, c1), (c1 - c0) * height, rasterise)


def check_runs(runs: np.ndarray, height: int, width: int, where: str) -> np.ndarray:
    """Runs that are non-negative and sum to ``height * width`` exactly; ValueError otherwise."""
    if runs.size and runs.min() < 0:
        position = int(np.argmax(runs < 0))
        raise ValueError(f"{where} RLE has a negative run length ({int(runs[position])}) at run {position}")
    total = int(runs.sum(dtype=np.int64)) if runs.size else 0
    if total != height * width:
        raise ValueError(f"{where} RLE counts sum to {total}, not height * width = {height * width}")
    return runs


def compressed_runs(counts: str, where: str) -> np.ndarray:
    """Run lengths of a COCO compressed RLE string (as pycocotools' ``rleFrString`` reads it).

    Each run is a little-endian sequence of 5-bit groups stored as
    ``chr(48 + group)``; bit 0x20 means "more groups follow" and bit 0x10 of
    the last group is the sign. From the fourth run on, a value is a delta to
    the run two places before. Linear time; a run of more than seven groups
    (35 bits) is refused rather than shifted further.

    Raises
    ------
    ValueError
        For a string over :data:`MAX_RLE_CHARACTERS`, a character outside
        ``'0'..'o'``, a run longer than seven groups or a truncated string.
    """
    if len(counts) > MAX_RLE_CHARACTERS:
        raise ValueError(f"{where} compressed RLE has {len(counts):,} characters; at most "
                         f"{MAX_RLE_CHARACTERS:,} are read for one annotation")
    raw = np.frombuffer(counts.encode("utf-8", "replace"), dtype=np.uint8)
    if raw.size != len(counts) or raw.size and (raw.min() < 48 or raw.max() >= 48 + 64):
        position = next(i for i, c in enumerate(counts) if not 48 <= ord(c) < 112)
        raise ValueError(f"{where} compressed RLE has the invalid character {counts[position]!r} at position "
                         f"{position}; expected characters '0' to 'o'")
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64)
    codes = raw - np.uint8(48)
    last = (codes & 0x20) == 0
    if not last[-1]:
        raise ValueError(f"{where} compressed RLE string is truncated (it ends inside a run)")
    ends = np.flatnonzero(last)
    starts = np.concatenate([[0], ends[:-1] + 1])
    groups = ends - starts + 1
    if groups.max() > _MAX_GROUPS:
        run = int(np.argmax(groups > _MAX_GROUPS))
        raise ValueError(f"{where} compressed RLE run {run} has {int(groups[run])} characters; at most "
                         f"{_MAX_GROUPS} (35 bits) encode any run length of an image")
    values = np.zeros(len(starts), dtype=np.int64)
    for j in range(_MAX_GROUPS):  # add group j of every run that has one
        has = groups > j
        values[has] += (codes[starts[has] + j].astype(np.int64) & 0x1F) << (5 * j)
    negative = (codes[ends] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * groups[negative]).astype(np.int64)
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])  # run m > 2 is a delta to run m - 2
    runs[2::2] = np.cumsum(values[2::2])
    return runs

"""The distinct colours of an 8-bit picture, for per-pixel work done once per colour.

A gray picture has at most 256 colours and a drawing a few dozen, while a
photo of a million pixels has about a hundred thousand. Whatever depends on
a pixel's colour alone (its nearest cluster centre, its fuzzy memberships,
its distance to a region's mean colour) is then cheaper computed once per
distinct colour and gathered to the pixels. :func:`palette` finds the
colours once per picture (a cached stage), so the sort is paid on a
picture's first move only; it is shared by every method that uses it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .cache import cached_stage

DISTINCT_SHARE = 0.25
"""Largest share of pixels with colours of their own (distinct colours / pixels) at which
:func:`palette` gives a table: above it, gathering costs about what computing per pixel does."""


class Palette(NamedTuple):
    """A picture's distinct colours and each pixel's among them (see :func:`palette`)."""

    colours: np.ndarray
    """(U, C) float64: the distinct rows of the working image, exactly (the same bits)."""
    index: np.ndarray
    """(H * W,) int32: each pixel's row in ``colours``, pixels in row-major order."""
    counts: np.ndarray
    """(U,) int64: how many pixels have each colour."""


def distinct_rows(pixels: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The distinct rows of (N, C) 8-bit colours, when at most ``share`` of the rows are distinct.

    Parameters
    ----------
    pixels : ndarray, (N, C)
        Colours in [0, 1], ``C`` at most 3.
    share : float
        Largest ratio of distinct rows to rows for which a table is worth it.

    Returns
    -------
    (first, index, counts) or None
        ``first``: the row where each distinct colour first occurs; ``index``: each row's colour
        among them (int32); ``counts``: how many rows have it. None when more rows are distinct, when ``C``
        is over 3, or when the rows are not 8-bit colours (two rows rounding to the same levels of
        1/255 must be equal: checked, so the answer is exact whatever the input).
    """
    if pixels.shape[1] > 3 or len(pixels) == 0:
        return None
    levels = np.rint(pixels * 255.0)
    if not (levels.min() >= 0 and levels.max() <= 255):  # NaN fails both
        return None
    codes = np.zeros(len(levels), dtype=np.int32)
    for channel in levels.T:  # 8 bits a channel
        codes <<= 8
        codes |= channel.astype(np.int32)
    order = _stable_order(codes)
    ordered = codes.take(order)
    new = np.empty(len(codes), dtype=bool)  # where a colour starts in the sorted codes
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    if len(starts) > share * len(codes):
        return None
    first = order.take(starts)
    index = np.empty(len(codes), dtype=np.int32)
    index[order] = np.cumsum(new, dtype=np.int32) - 1
    if not np.array_equal(pixels.take(first, axis=0).take(index, axis=0), pixels):
        return None
    return first, index, np.diff(starts, append=len(codes))


def _stable_order(codes: np.ndarray) -> np.ndarray:
    """The stable sorting order of 24-bit colour codes (what ``np.unique`` sorts by, same ties).

    numpy sorts 8 and 16-bit keys stably by radix, in linear time: the low 16 bits, then the high 8 in
    that order, take a third of the comparison sort of the int32 codes (a million pixels: 12 against
    58 ms; the whole table 20 against 60 ms).
    """
    order = np.argsort((codes & 0xFFFF).astype(np.uint16), kind="stable")
    if codes.max() <= 0xFFFF:  # the low 16 bits are the whole code (a gray picture's fit in 8)
        return order
    return order.take(np.argsort((codes >> 16).astype(np.uint8).take(order), kind="stable"))


@cached_stage
def palette(image: np.ndarray) -> Palette | None:
    """The distinct colours of an 8-bit picture's working image, and each pixel's among them.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, C)
        Float working image in [0, 1], ``C`` at most 3.

    Returns
    -------
    Palette or None
        None when more than :data:`DISTINCT_SHARE` of the pixels have colours of their own, or the
        picture is not made of 8-bit colours (see :func:`distinct_rows`).
    """
    h, w = image.shape[:2]
    pixels = image.reshape(h * w, -1)
    rows = distinct_rows(pixels, DISTINCT_SHARE)
    if rows is None:
        return None
    first, index, counts = rows
    return Palette(pixels.take(first, axis=0).astype(np.float64, copy=False), index, counts)

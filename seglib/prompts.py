"""Prompts for interactive segmentation: clicked points and boxes, and their coordinates.

A prompt is what a person gives an interactive method: points ``(x, y,
label)`` (label 1 = "this is the object", 0 = "this is not") and an
optional box ``(x0, y0, x1, y1)``. Coordinates are in the pixels of the
image the caller holds (the ORIGINAL image, before :func:`seglib.segment`
shrinks it to the working resolution), with ``x`` the column and ``y`` the
row.

Coordinates are continuous: pixel ``(i, j)`` (row ``i``, column ``j``)
covers ``j <= x < j + 1`` and ``i <= y < i + 1``, so an integer point names
a pixel and a box ``(0, 0, W, H)`` covers the whole image. Changing the
resolution is a plain scaling, ``x' = x * W' / W`` (:func:`scale_points`),
which is also the convention of Segment Anything's ``ResizeLongestSide``.
A click on a picture displayed at another size maps to the image with
:func:`display_to_image` (the centre of the clicked display pixel).

>>> p = parse_prompts([(10, 5, 1), (2, 3, 0)], box=(0, 0, 20, 10), shape=(10, 20))
>>> p.rescale((20, 40)).points.tolist()
[[20.0, 10.0], [4.0, 6.0]]
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from skimage import draw

POSITIVE, NEGATIVE = 1, 0
"""Point labels: 1 marks the object, 0 marks what is not the object."""

SEED_OBJECT, SEED_BACKGROUND = 1, 2
"""Values of a :meth:`Prompts.seed_map`: 0 = unknown."""

_POSITIVE_COLOUR = np.array([0.1, 0.85, 0.2])
_NEGATIVE_COLOUR = np.array([0.95, 0.15, 0.15])
_BOX_COLOUR = np.array([1.0, 0.85, 0.0])


@dataclass(frozen=True)
class Prompts:
    """Validated prompts in the pixel coordinates of an image of shape ``shape``.

    Attributes
    ----------
    points : ndarray of float, (N, 2)
        ``(x, y)`` of each point.
    labels : ndarray of int, (N,)
        1 (object) or 0 (not the object) per point.
    box : ndarray of float, (4,), or None
        ``(x0, y0, x1, y1)`` with ``x0 < x1`` and ``y0 < y1``.
    shape : tuple of int
        ``(H, W)`` of the image the coordinates refer to.
    """

    points: np.ndarray
    labels: np.ndarray
    box: np.ndarray | None
    shape: tuple[int, int]

    @property
    def positive(self) -> np.ndarray:
        """``(x, y)`` of the object points, (K, 2)."""
        return self.points[self.labels == POSITIVE]

    @property
    def negative(self) -> np.ndarray:
        """``(x, y)`` of the not-the-object points, (K, 2)."""
        return self.points[self.labels == NEGATIVE]

    @property
    def is_empty(self) -> bool:
        return len(self.points) == 0 and self.box is None

    def rescale(self, shape: tuple[int, int]) -> "Prompts":
        """The same prompts in the pixels of an image of ``shape`` (H, W)."""
        shape = (int(shape[0]), int(shape[1]))
        box = None if self.box is None else scale_box(self.box, self.shape, shape)
        return replace(self, points=scale_points(self.points, self.shape, shape), box=box, shape=shape)

    def crop(self, rows: slice, cols: slice) -> "Prompts":
        """The prompts in the frame of the sub-image ``image[rows, cols]``.

        Points outside the crop are dropped; the box is clipped to it.
        """
        offset = np.array([cols.start, rows.start], dtype=np.float64)
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        xy = self.points - offset
        keep = (xy[:, 0] >= 0) & (xy[:, 0] < shape[1]) & (xy[:, 1] >= 0) & (xy[:, 1] < shape[0])
        box = None
        if self.box is not None:
            box = np.clip(self.box - np.tile(offset, 2), 0, [shape[1], shape[0]] * 2)
        return Prompts(points=xy[keep], labels=self.labels[keep], box=box, shape=shape)

    def pixels(self, which: str = "all") -> tuple[np.ndarray, np.ndarray]:
        """``(rows, cols)`` integer indices of the pixels under the points.

        ``which`` is ``"all"``, ``"positive"`` or ``"negative"``.
        """
        points = {"all": self.points, "positive": self.positive, "negative": self.negative}[which]
        return point_pixels(points, self.shape)

    def box_mask(self) -> np.ndarray | None:
        """Boolean (H, W) map of the pixels inside the box (None without a box)."""
        if self.box is None:
            return None
        mask = np.zeros(self.shape, dtype=bool)
        mask[box_slices(self.box, self.shape)] = True
        return mask

    def seed_map(self, radius: int = 0, *, background: str = "negatives") -> np.ndarray:
        """Seeds for seeded methods: 1 = object, 2 = background, 0 = unknown (int32, (H, W)).

        Parameters
        ----------
        radius : int
            Each point marks a disk of this radius (0: the one pixel).
        background : {"negatives", "auto"}
            ``"negatives"``: only the negative points are background seeds.
            ``"auto"``: also everything outside the box; and when that
            leaves no background seed at all, the image border.
        """
        seeds = np.zeros(self.shape, dtype=np.int32)
        if background == "auto":
            inside = self.box_mask()
            if inside is not None:
                seeds[~inside] = SEED_BACKGROUND
            if len(self.negative) == 0 and not seeds.any():
                seeds[[0, -1], :] = SEED_BACKGROUND
                seeds[:, [0, -1]] = SEED_BACKGROUND
        for points, value in ((self.negative, SEED_BACKGROUND), (self.positive, SEED_OBJECT)):
            rows, cols = point_pixels(points, self.shape)
            for r, c in zip(rows, cols):
                rr, cc = draw.disk((r, c), radius + 0.5, shape=self.shape)
                seeds[rr, cc] = value
        return seeds

    def describe(self) -> list[str]:
        """One line per prompt, e.g. ``"object point at (12, 40)"``."""
        lines = [f"{'object' if lab == POSITIVE else 'background'} point at ({x:g}, {y:g})"
                 for (x, y), lab in zip(self.points.tolist(), self.labels.tolist())]
        if self.box is not None:
            x0, y0, x1, y1 = self.box.tolist()
            lines.append(f"box from ({x0:g}, {y0:g}) to ({x1:g}, {y1:g})")
        return lines


def _number_tuple(value, name: str, size: int, what: str) -> tuple[float, ...]:
    try:
        numbers = tuple(float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not allowed: expected {what}") from None
    if len(numbers) != size or not all(np.isfinite(numbers)):
        raise ValueError(f"{name}={value!r} is not allowed: expected {what} (finite numbers)")
    return numbers


def _check_inside(name: str, value, x: float, y: float, shape: tuple[int, int], closed: bool) -> None:
    h, w = shape
    inside_x = 0 <= x <= w if closed else 0 <= x < w
    inside_y = 0 <= y <= h if closed else 0 <= y < h
    if not (inside_x and inside_y):
        bracket = "]" if closed else ")"
        raise ValueError(f"{name}={value!r} lies outside the image ({w} x {h} pixels): x must be in [0, {w}{bracket} "
                         f"and y in [0, {h}{bracket}")


MAX_POINTS = 32
"""Most prompt points one call takes. Clicks are few; a share link or a script with thousands would
cost a pass over the image each (flood fill), so more are refused rather than slowly obeyed."""


def _parse_points(points, shape) -> tuple[np.ndarray, np.ndarray]:
    if points is None:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int32)
    if isinstance(points, (str, bytes)) or not hasattr(points, "__len__"):
        raise ValueError(f"points={points!r} is not allowed: expected a list of (x, y, label) triples")
    if len(points) > MAX_POINTS:
        raise ValueError(f"points has {len(points)} entries: at most {MAX_POINTS} prompt points are allowed "
                         "(a few clicks on the object and the background are enough)")
    xy, labels = [], []
    for i, point in enumerate(points):
        x, y, label = _number_tuple(point, f"points[{i}]", 3, "(x, y, label) with label 1 (object) or 0 (not)")
        if label not in (POSITIVE, NEGATIVE):
            raise ValueError(f"points[{i}]={point!r} has label {label:g}: expected 1 (object) or 0 (not the object)")
        _check_inside(f"points[{i}]", point, x, y, shape, closed=False)
        xy.append((x, y))
        labels.append(int(label))
    return np.asarray(xy, dtype=np.float64).reshape(-1, 2), np.asarray(labels, dtype=np.int32)


def _parse_box(box, shape) -> np.ndarray | None:
    if box is None:
        return None
    x0, y0, x1, y1 = _number_tuple(box, "box", 4, "(x0, y0, x1, y1)")
    _check_inside("box", box, x0, y0, shape, closed=True)
    _check_inside("box", box, x1, y1, shape, closed=True)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    if x0 == x1 or y0 == y1:
        raise ValueError(f"box={box!r} has zero area ({x1 - x0:g} x {y1 - y0:g} pixels): drag a box "
                         "with a width and a height")
    return np.array([x0, y0, x1, y1])


def parse_prompts(points=None, box=None, *, shape: tuple[int, int]) -> Prompts:
    """Check prompts given in the pixels of an image of ``shape`` and return them as :class:`Prompts`.

    Parameters
    ----------
    points : sequence of (x, y, label), optional
        ``x`` (column) and ``y`` (row) with ``0 <= x < W`` and ``0 <= y < H``;
        ``label`` 1 for the object, 0 for not the object. An (N, 3) array works too.
    box : (x0, y0, x1, y1), optional
        Corners in ``[0, W] x [0, H]``, in either order; width and height
        must be positive.
    shape : (H, W)
        Size of the image the coordinates refer to.

    Raises
    ------
    ValueError
        Naming the point or box that is malformed, outside the image, has a
        label other than 0 or 1, or (a box) has zero area.
    """
    shape = (int(shape[0]), int(shape[1]))
    xy, labels = _parse_points(points, shape)
    return Prompts(points=xy, labels=labels, box=_parse_box(box, shape), shape=shape)


def scale_points(points, from_shape: tuple[int, int], to_shape: tuple[int, int]) -> np.ndarray:
    """Map ``(x, y)`` coordinates from an image of ``from_shape`` (H, W) to one of ``to_shape``.

    Parameters
    ----------
    points : array_like, (N, 2)
        ``(x, y)`` pairs (extra columns, such as labels, are kept unchanged).

    Returns
    -------
    ndarray of float, (N, 2) or (N, C)
        ``x * W' / W`` and ``y * H' / H``: the point keeps its relative
        position, so a pixel maps onto the pixels that cover it.
    """
    array = np.array(points, dtype=np.float64, ndmin=2, copy=True)
    array[:, 0] *= to_shape[1] / from_shape[1]
    array[:, 1] *= to_shape[0] / from_shape[0]
    return array


def scale_box(box, from_shape: tuple[int, int], to_shape: tuple[int, int]) -> np.ndarray:
    """Map a box ``(x0, y0, x1, y1)`` between image sizes (see :func:`scale_points`)."""
    return scale_points(np.asarray(box, dtype=np.float64).reshape(2, 2), from_shape, to_shape).reshape(4)


def display_to_image(x: float, y: float, display_size: tuple[float, float], shape: tuple[int, int]) -> tuple[int, int]:
    """The image pixel ``(x, y)`` under a click on a picture shown at ``display_size``.

    Parameters
    ----------
    x, y : float
        Click position in display pixels from the picture's top-left corner.
    display_size : (width, height)
        Size at which the picture is shown.
    shape : (H, W)
        Size of the image.

    Returns
    -------
    (int, int)
        Column and row of the image pixel under the centre of the clicked
        display pixel, clipped to the image.
    """
    width, height = display_size
    if width <= 0 or height <= 0:
        raise ValueError(f"display_size={display_size!r} is not allowed: expected a positive width and height")
    col = int(np.floor((x + 0.5) * shape[1] / width))
    row = int(np.floor((y + 0.5) * shape[0] / height))
    return min(max(col, 0), shape[1] - 1), min(max(row, 0), shape[0] - 1)


def point_pixels(points, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of the pixels under ``(x, y)`` points, clipped to ``shape``."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    cols = np.clip(np.floor(points[:, 0]).astype(np.intp), 0, shape[1] - 1)
    rows = np.clip(np.floor(points[:, 1]).astype(np.intp), 0, shape[0] - 1)
    return rows, cols


def box_slices(box, shape: tuple[int, int]) -> tuple[slice, slice]:
    """Row and column slices of the pixels a box covers (at least one pixel each way)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    c0 = min(int(np.floor(x0)), shape[1] - 1)
    r0 = min(int(np.floor(y0)), shape[0] - 1)
    c1 = max(int(np.ceil(x1)), c0 + 1)
    r1 = max(int(np.ceil(y1)), r0 + 1)
    return slice(r0, min(r1, shape[0])), slice(c0, min(c1, shape[1]))


def default_prompts(shape: tuple[int, int], *, box: bool = False) -> Prompts:
    """A stand-in prompt for a call without any: a click at the centre (or a box over the middle).

    The box leaves an eighth of the image free on every side.
    """
    h, w = shape
    if box:
        return parse_prompts(None, (w / 8, h / 8, w - w / 8, h - h / 8), shape=shape)
    return parse_prompts([(w / 2, h / 2, POSITIVE)], None, shape=shape)


def draw_prompts(image: np.ndarray, prompts: Prompts, radius: int | None = None) -> np.ndarray:
    """An RGB float copy of ``image`` with the prompts drawn on it.

    Object points are green disks, background points red disks, the box a
    yellow outline. ``radius`` defaults to about 1% of the longest side.
    """
    rgb = np.array(image, dtype=np.float64, copy=True)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=-1)
    shape = rgb.shape[:2]
    prompts = prompts.rescale(shape) if tuple(prompts.shape) != shape else prompts
    radius = max(1, round(max(shape) / 100)) if radius is None else radius
    if prompts.box is not None:
        rows, cols = box_slices(prompts.box, shape)
        for r in (rows.start, rows.stop - 1):
            rgb[r, cols] = _BOX_COLOUR
        for c in (cols.start, cols.stop - 1):
            rgb[rows, c] = _BOX_COLOUR
    for points, colour in ((prompts.positive, _POSITIVE_COLOUR), (prompts.negative, _NEGATIVE_COLOUR)):
        for r, c in zip(*point_pixels(points, shape)):
            rr, cc = draw.disk((r, c), radius + 1.5, shape=shape)
            rgb[rr, cc] = 1.0  # white ring keeps the marker visible on any colour
            rr, cc = draw.disk((r, c), radius + 0.5, shape=shape)
            rgb[rr, cc] = colour
    return rgb

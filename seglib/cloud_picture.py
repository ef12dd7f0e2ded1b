"""A still picture of a 3-D point cloud, for pages that redraw it on every slider move.

plotly draws a 3-D scatter as a WebGL scene, and a changed figure is a new
scene: in Chromium without a graphics card, each move of k-means' ``k`` spent
about 2.5 s of the page's main thread drawing the 3,000-point pixel cloud after
the overlay had been repainted (``benchmarks/profile_browser.py``), and the
next key press waited for it. The same cloud drawn here is one small picture,
seen from where the interactive figure's camera starts
(:data:`CAMERA_EYE`), with the cube's edges and the centres as white diamonds.

>>> picture, axis_places = cloud_picture(xyz, colours, centres)  # doctest: +SKIP
"""

from __future__ import annotations

import functools

import numpy as np

CAMERA_EYE = (1.2, 1.2, 0.75)
"""Where the camera looks from, the cube's centre at the origin and its sides 1 long (up is +z): the
start of :func:`seglib.viz.points_figure`'s 3-D scene."""
EDGE_COLOUR = (190, 199, 211)
POINT_RADIUS = 2
CENTRE_RADIUS = 6
_MARGIN = 0.08  # of the picture's side, around the cube
_LABEL_OFFSET = 14  # pixels from an edge's middle to its axis name, away from the cube's centre
_CORNERS = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if np.abs(_CORNERS[a] - _CORNERS[b]).sum() == 1]


def _camera(eye) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eye position and the unit vectors it looks along, to its right and up."""
    eye = np.asarray(eye, dtype=np.float64)
    forward = -eye / np.linalg.norm(eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    return eye, forward, right, np.cross(right, forward)


_CAMERA = _camera(CAMERA_EYE)


def _project(xyz: np.ndarray, camera) -> tuple[np.ndarray, np.ndarray]:
    """Perspective view of (N, 3) cube coordinates: (N, 2) plane coordinates (x right, y up) and depths."""
    eye, forward, right, up = camera
    offset = xyz - eye
    depth = offset @ forward
    return np.column_stack([offset @ right, offset @ up]) / depth[:, None], depth


def _disc(radius: int, diamond: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of a filled disc (or diamond) of ``radius`` pixels."""
    dy, dx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    inside = (np.abs(dy) + np.abs(dx) <= radius) if diamond else (dy ** 2 + dx ** 2 <= radius ** 2 + radius // 2)
    return dy[inside], dx[inside]


def _stamp(canvas: np.ndarray, rows: np.ndarray, cols: np.ndarray, colours: np.ndarray, shape) -> None:
    """Paint a shape (offsets ``shape``) at each place in turn, later ones over earlier ones."""
    side = canvas.shape[0]
    dy, dx = shape
    y = (rows[:, None] + dy[None, :]).ravel()
    x = (cols[:, None] + dx[None, :]).ravel()
    paint = np.repeat(colours, len(dy), axis=0)
    inside = (y >= 0) & (y < side) & (x >= 0) & (x < side)
    flat = (y * side + x)[inside][::-1]  # last painted first, so np.unique's first index is the one on top
    flat, first = np.unique(flat, return_index=True)
    canvas.reshape(-1, 3)[flat] = paint[inside][::-1][first]


def cloud_picture(points: np.ndarray, colours: np.ndarray, centres: np.ndarray | None = None,
                  side: int = 360) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Draw a 3-D point cloud in perspective, nearer points over farther ones.

    Each axis is stretched over the cube's side from the smallest to the
    largest value of the points and centres, as plotly's ``aspectmode="cube"``
    does. Points and centres with a NaN or infinite coordinate are left out.

    Parameters
    ----------
    points : ndarray, (N, 3)
    colours : ndarray, (N, 3) uint8
        Colour of each point.
    centres : ndarray, (K, 3), optional
        Drawn over the points as white diamonds outlined in black.
    side : int, default 360
        Width and height of the picture in pixels.

    Returns
    -------
    picture : ndarray, (side, side, 3) uint8
        White background, the cube's edges in :data:`EDGE_COLOUR`.
    axis_places : list of 3 (x, y)
        Pixel positions (column, row) for the names of the x, y and z axes:
        beside the middle of the cube's edge along that axis that is nearest
        the viewer at the bottom (x, y) or on the outline (z).

    Raises
    ------
    ValueError
        If ``points`` is not (N, 3), ``colours`` not (N, 3) or ``centres`` not (K, 3).
    """
    xyz = np.asarray(points, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ValueError(f"`points` has shape {xyz.shape}; expected (N, 3)")
    colours = np.asarray(colours, dtype=np.uint8)
    if colours.shape != xyz.shape:
        raise ValueError(f"`colours` has shape {colours.shape}; expected {xyz.shape}, one RGB colour per point")
    centres = np.zeros((0, 3)) if centres is None else np.asarray(centres, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != 3:
        raise ValueError(f"`centres` has shape {centres.shape}; expected (K, 3)")
    drawn = np.isfinite(xyz).all(axis=1)  # like plotly, which leaves out points with a missing coordinate
    xyz, colours = xyz[drawn], colours[drawn]
    centres = centres[np.isfinite(centres).all(axis=1)]
    every = np.vstack([xyz, centres])
    low, high = (every.min(axis=0), every.max(axis=0)) if len(every) else (np.zeros(3), np.ones(3))
    span = np.where(high > low, high - low, 1.0)

    canvas, scale, middle, places = _empty_cube(side)
    canvas = canvas.copy()

    def far_first(cloud: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Order from the farthest to the nearest, and the pixel rows and columns in that order."""
        plane, depth = _project((cloud - low) / span - 0.5, _CAMERA)
        order = np.argsort(-depth, kind="stable")
        return (order, *_to_pixels(plane[order], side, scale, middle))

    if len(xyz):
        order, rows, cols = far_first(xyz)
        _stamp(canvas, rows, cols, colours[order], _disc(POINT_RADIUS))
    if len(centres):
        _, rows, cols = far_first(centres)
        outline, inside = _disc(CENTRE_RADIUS, diamond=True), _disc(CENTRE_RADIUS - 2, diamond=True)
        for row, col in zip(rows, cols):  # each centre whole (outline, then inside) over the farther ones
            _stamp(canvas, row[None], col[None], np.array([[0, 0, 0]], np.uint8), outline)
            _stamp(canvas, row[None], col[None], np.array([[255, 255, 255]], np.uint8), inside)

    return canvas, list(places)


def _to_pixels(plane: np.ndarray, side: int, scale: float, middle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of plane coordinates (x right, y up), the cube's view centred in the picture."""
    cols = side / 2 + (plane[:, 0] - middle[0]) * scale
    rows = side / 2 - (plane[:, 1] - middle[1]) * scale
    return np.round(rows).astype(np.int64), np.round(cols).astype(np.int64)


@functools.lru_cache(maxsize=4)
def _empty_cube(side: int) -> tuple[np.ndarray, float, np.ndarray, tuple[tuple[float, float], ...]]:
    """What every cloud of this size shares: the picture of the empty cube (read-only), the scale and
    middle of the plane-to-pixel mapping, and where the axis names go (see :func:`cloud_picture`)."""
    corners, _ = _project(_CORNERS, _CAMERA)
    lowest, highest = corners.min(axis=0), corners.max(axis=0)
    scale = side * (1 - 2 * _MARGIN) / float((highest - lowest).max())
    middle = (lowest + highest) / 2
    canvas = np.full((side, side, 3), 255, dtype=np.uint8)
    steps = np.linspace(0.0, 1.0, 2 * side)[:, None]
    for a, b in _EDGES:
        rows, cols = _to_pixels(_project(_CORNERS[a] + steps * (_CORNERS[b] - _CORNERS[a]), _CAMERA)[0],
                                side, scale, middle)
        canvas[np.clip(rows, 0, side - 1), np.clip(cols, 0, side - 1)] = EDGE_COLOUR
    canvas.setflags(write=False)
    near_x, near_y = 0.5 * np.sign(CAMERA_EYE[0]), 0.5 * np.sign(CAMERA_EYE[1])
    middles = np.array([[0.0, near_y, -0.5],  # x: the bottom edge along x on the viewer's side
                        [near_x, 0.0, -0.5],  # y: the bottom edge along y on the viewer's side
                        [near_x, -near_y, 0.0]])  # z: a vertical edge on the cube's outline
    rows, cols = _to_pixels(_project(middles, _CAMERA)[0], side, scale, middle)
    places = []
    for row, col in zip(rows, cols):  # a little away from the cube's centre, clear of the edge
        away = np.array([col - side / 2, row - side / 2], dtype=np.float64)
        away /= max(float(np.linalg.norm(away)), 1e-9)
        places.append((float(col + _LABEL_OFFSET * away[0]), float(row + _LABEL_OFFSET * away[1])))
    return canvas, scale, middle, tuple(places)

"""ShapeScenes: synthetic pictures of simple shapes with exact ground truth.

Every scene is drawn from a seed, so it is free, endless and reproducible,
and it comes with semantic, instance and panoptic masks that are right to
the pixel. Options make it hard in the ways that break classical methods:
low contrast, noise, blur, uneven lighting, texture, touching and
overlapping objects, mixed polarity and JPEG artefacts.

>>> scene = make_scene(0, size=64)
>>> scene.image.shape, scene.image.dtype.name, scene.class_names[:3]
((64, 64, 3), 'uint8', ['background', 'disk', 'square'])
>>> bool(((scene.panoptic // 1000) == scene.semantic).all())
True

Class 0 is ``"background"``. In the panoptic map it becomes label 0, which
is **void** (``class_index * 1000 + instance_number`` with 0 = void), so
panoptic quality scores the objects only and a spurious segment lying on the
background is not a false positive. Score the background as a "stuff" class
with ``seglib.metrics.panoptic_quality(..., void=None)``, and use the
semantic map (``mean_iou``) to see errors on the background.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Iterable, Iterator, NoReturn

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage as ndi
from scipy import special
from skimage import draw

from ..checks import is_int, is_number
from ..degradations import jpeg as _jpeg_strength
from ..metrics import PANOPTIC_DIVISOR

__all__ = ["CLASS_NAMES", "DIFFICULTIES", "PRESET", "SHAPE_TYPES", "Scene", "make_scene", "make_scenes"]

SHAPE_TYPES = ("disk", "square", "triangle", "ellipse", "hexagon", "star")
"""The shapes a scene can hold; their class index is their position + 1."""

CLASS_NAMES = ["background", *SHAPE_TYPES]
"""Names of the semantic classes, the same in every scene."""

POLARITIES = ("bright", "dark", "random", "mixed")


class _Preset:
    """Marker for "take this option from the difficulty preset"."""

    def __repr__(self) -> str:
        return "PRESET"


PRESET = _Preset()

DIFFICULTIES: dict[str, dict[str, Any]] = {
    "easy": dict(contrast=0.5, noise=0.02, blur=0.0, illumination=0.0, background_texture=0.0,
                 object_texture=0.0, polarity="random", allow_touching=False, allow_overlap=False,
                 jpeg_quality=None),
    "medium": dict(contrast=0.35, noise=0.06, blur=1.0, illumination=0.2, background_texture=0.1,
                   object_texture=0.1, polarity="random", allow_touching=True, allow_overlap=False,
                   jpeg_quality=75),
    "hard": dict(contrast=0.15, noise=0.12, blur=2.0, illumination=0.6, background_texture=0.3,
                 object_texture=0.25, polarity="mixed", allow_touching=True, allow_overlap=True,
                 jpeg_quality=30),
}
"""Preset option values; ``make_scene(difficulty=...)`` starts from one of these."""

_RANGES = {  # option -> (low, high), inclusive
    "contrast": (0.0, 0.8), "noise": (0.0, 0.5), "blur": (0.0, 10.0), "illumination": (0.0, 1.0),
    "background_texture": (0.0, 1.0), "object_texture": (0.0, 1.0),
}
_LUMA = np.array([0.2125, 0.7154, 0.0721])  # ITU-R 709, as skimage.color.rgb2gray
_GAP = 2                # pixels kept free around each object when objects may not touch
_ATTEMPTS = 40          # placements tried per object before giving up on it
_MIN_VISIBLE = 0.5      # an occluded object keeps at least this fraction of its area
_MIN_SIDE, _MAX_SIDE = 16, 8192


@dataclass
class Scene:
    """A synthetic image with its ground truth.

    Attributes
    ----------
    image : ndarray of uint8, (H, W, 3)
        The RGB picture.
    semantic : ndarray of int32, (H, W)
        Class index per pixel (0 = background; see :data:`CLASS_NAMES`).
    instances : ndarray of int32, (H, W)
        0 on the background, objects numbered 1..n in drawing order (a later
        object covers an earlier one).
    panoptic : ndarray of int32, (H, W)
        ``semantic * 1000 + instances``: 0 (void) on the background.
    class_names : list of str
        :data:`CLASS_NAMES`, indexed by the semantic labels.
    params : dict
        The seed, the resolved options and what was drawn: ``objects`` (one
        dict per instance: class, centre, radius, angle, ``area`` as drawn,
        ``visible_area`` after occlusion, RGB colour before texture, light
        and noise) and the ``background_colour``.
    """

    image: np.ndarray
    semantic: np.ndarray
    instances: np.ndarray
    panoptic: np.ndarray
    class_names: list[str]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def foreground(self) -> np.ndarray:
        """Boolean mask of the objects (the ground truth of a binary method)."""
        return self.semantic > 0

    @property
    def n_objects(self) -> int:
        """Number of objects drawn."""
        return len(self.params.get("objects", ()))


@dataclass(frozen=True)
class _Shape:
    kind: str
    centre: tuple[float, float]
    radius: float
    angle: float  # radians


# ----------------------------------------------------------------------------- options

def _reject(name: str, value, allowed: str) -> NoReturn:
    raise ValueError(f"{name}={value!r} is not allowed: expected {allowed}")


def _number(name: str, value) -> float:
    low, high = _RANGES[name]
    if not is_number(value) or not low <= value <= high:
        _reject(name, value, f"a number in [{low:g}, {high:g}]")
    return float(value)


def _bounds(name: str, value, low: float, high: float, *, integer: bool = True) -> tuple:
    """A number or (low, high) pair within [low, high], returned as a pair."""
    kind = is_int if integer else is_number
    pair = (value, value) if isinstance(value, Real) else value
    try:
        lo, hi = pair
    except (TypeError, ValueError):
        _reject(name, value, f"a number or a (low, high) pair within [{low:g}, {high:g}]")
    ok = all(kind(v) for v in (lo, hi))
    if not ok or not low <= lo <= hi <= high:
        _reject(name, value, f"a number or a (low, high) pair with {low:g} <= low <= high <= {high:g}")
    return lo, hi


def _frame(size) -> tuple[int, int]:
    shape = (size, size) if isinstance(size, Integral) else size
    try:
        h, w = shape
    except (TypeError, ValueError):
        _reject("size", size, "an int or an (H, W) pair")
    if not all(is_int(v) and _MIN_SIDE <= v <= _MAX_SIDE for v in (h, w)):
        _reject("size", size, f"an int or (H, W) pair of ints in [{_MIN_SIDE}, {_MAX_SIDE}]")
    return int(h), int(w)


def _shape_types(value) -> tuple[str, ...]:
    kinds = (value,) if isinstance(value, str) else tuple(value)
    if not kinds or len(set(kinds)) != len(kinds) or not set(kinds) <= set(SHAPE_TYPES):
        _reject("shape_types", value, f"a non-empty selection without repeats from {SHAPE_TYPES}")
    return kinds


def _choice(name: str, value, allowed) -> Any:
    if value not in allowed:
        _reject(name, value, f"one of {', '.join(map(repr, allowed))}")
    return value


def _resolve(difficulty, frame, given: dict) -> dict:
    """Fill the PRESET options from the difficulty and validate every option."""
    preset = DIFFICULTIES[_choice("difficulty", "easy" if difficulty is None else difficulty, DIFFICULTIES)]
    opts = {name: preset[name] if value is PRESET else value for name, value in given.items()}
    for name in _RANGES:
        opts[name] = _number(name, opts[name])
    opts["polarity"] = _choice("polarity", opts["polarity"], POLARITIES)
    for name in ("rotation", "allow_touching", "allow_overlap"):
        opts[name] = bool(_choice(name, opts[name], (True, False)))
    if opts["allow_overlap"] and not opts["allow_touching"]:
        raise ValueError("allow_overlap=True with allow_touching=False is not allowed: overlapping objects touch")
    quality = opts["jpeg_quality"]
    if quality is not None and (not is_int(quality) or not 5 <= quality <= 95):
        _reject("jpeg_quality", quality, "None (no JPEG) or an integer in [5, 95]")
    opts["n_objects"] = _bounds("n_objects", opts["n_objects"], 0, PANOPTIC_DIVISOR - 1)
    side = min(frame)
    default_radius = (max(2.0, 0.06 * side), max(2.0, 0.18 * side))  # 15-46 px at 256
    radius = default_radius if opts["radius"] is None else opts["radius"]
    opts["radius"] = tuple(float(r) for r in _bounds("radius", radius, 2, side / 2 - 1, integer=False))
    opts["shape_types"] = _shape_types(opts["shape_types"])
    return opts


# ----------------------------------------------------------------------------- geometry

def _polygon(n_corners: int, radius: float, angle: float, inner: float | None = None) -> np.ndarray:
    """(row, col) offsets of a regular polygon (or star, with ``inner`` radius) around 0."""
    steps = 2 * n_corners if inner else n_corners
    theta = angle - np.pi / 2 + np.arange(steps) * 2 * np.pi / steps
    radii = np.where(np.arange(steps) % 2, inner, radius) if inner else np.full(steps, radius)
    return np.stack([radii * np.sin(theta), radii * np.cos(theta)], axis=1)


_CORNERS = {"square": (4, np.pi / 4, None), "triangle": (3, 0.0, None), "hexagon": (6, 0.0, None),
            "star": (5, 0.0, 0.45)}


def _pixels(shape: _Shape, frame: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the pixels covered by ``shape``."""
    r, c = shape.centre
    if shape.kind == "disk":
        return draw.disk((r, c), shape.radius, shape=frame)
    if shape.kind == "ellipse":
        return draw.ellipse(r, c, shape.radius, 0.55 * shape.radius, shape=frame, rotation=shape.angle)
    corners, offset, inner = _CORNERS[shape.kind]
    inner_radius = inner * shape.radius if inner else None
    vertices = _polygon(corners, shape.radius, shape.angle + offset, inner_radius)
    return draw.polygon(r + vertices[:, 0], c + vertices[:, 1], shape=frame)


class _Layout:
    """Objects placed so far, with the bookkeeping that the placement rules need."""

    def __init__(self, frame: tuple[int, int], opts: dict):
        self.frame, self.opts = frame, opts
        self.instances = np.zeros(frame, dtype=np.int32)
        self.halo = np.zeros(frame, dtype=bool)  # objects grown by _GAP: "no touching" zone
        self.shapes: list[_Shape] = []
        self.pixels: list[tuple[np.ndarray, np.ndarray]] = []
        self.area: list[int] = []
        self.visible = np.zeros(1, dtype=np.int64)  # visible pixels per instance (index 0: background)

    def fits(self, pixels) -> bool:
        rr, cc = pixels
        if rr.size == 0:
            return False
        if not self.opts["allow_touching"] and self.halo[rr, cc].any():
            return False
        under = self.instances[rr, cc]
        if not self.opts["allow_overlap"]:
            return not under.any()
        left = self.visible - np.bincount(under, minlength=len(self.visible))
        return bool(np.all(left[1:] >= _MIN_VISIBLE * np.asarray(self.area, dtype=float)))

    def add(self, shape: _Shape, pixels) -> None:
        rr, cc = pixels
        self.shapes.append(shape)
        self.pixels.append(pixels)
        self.area.append(rr.size)
        self.visible -= np.bincount(self.instances[rr, cc], minlength=len(self.visible))
        self.visible = np.append(self.visible, rr.size)
        self.instances[rr, cc] = len(self.shapes)
        if not self.opts["allow_touching"]:
            self._grow_halo(rr, cc)

    def _grow_halo(self, rr: np.ndarray, cc: np.ndarray) -> None:
        top, left = max(rr.min() - _GAP, 0), max(cc.min() - _GAP, 0)
        local = np.zeros((rr.max() - top + _GAP + 1, cc.max() - left + _GAP + 1), dtype=bool)
        local[rr - top, cc - left] = True
        grown = ndi.binary_dilation(local, iterations=_GAP)
        window = self.halo[top:top + local.shape[0], left:left + local.shape[1]]
        window |= grown[:window.shape[0], :window.shape[1]]


def _random_shape(rng: np.random.Generator, frame, opts) -> _Shape:
    radius = rng.uniform(*opts["radius"])
    centre = (rng.uniform(radius, frame[0] - radius), rng.uniform(radius, frame[1] - radius))
    angle = rng.uniform(0, 2 * np.pi) if opts["rotation"] else 0.0
    return _Shape(str(rng.choice(opts["shape_types"])), centre, radius, angle)


def _against(shape: _Shape, neighbour: _Shape, direction: float, distance: float) -> _Shape:
    r, c = neighbour.centre
    centre = (r + distance * np.sin(direction), c + distance * np.cos(direction))
    return _Shape(shape.kind, centre, shape.radius, shape.angle)


def _snap(shape: _Shape, layout: _Layout, rng: np.random.Generator) -> _Shape:
    """Slide ``shape`` towards a random placed object until the two (nearly) touch."""
    neighbour = layout.shapes[rng.integers(len(layout.shapes))]
    direction = rng.uniform(0, 2 * np.pi)
    near, far = 0.0, neighbour.radius + shape.radius + 1.0
    if not layout.fits(_pixels(_against(shape, neighbour, direction, far), layout.frame)):
        return shape
    while far - near > 1.0:  # bisect for the closest distance that still fits
        middle = (near + far) / 2
        fits = layout.fits(_pixels(_against(shape, neighbour, direction, middle), layout.frame))
        near, far = (near, middle) if fits else (middle, far)
    return _against(shape, neighbour, direction, far)


def _inside(shape: _Shape, frame) -> bool:
    r, c = shape.centre
    return shape.radius <= r <= frame[0] - shape.radius and shape.radius <= c <= frame[1] - shape.radius


def _place(rng: np.random.Generator, frame, opts) -> _Layout:
    """Draw shapes one by one, keeping those that satisfy the touching/overlap rules."""
    layout = _Layout(frame, opts)
    for _ in range(rng.integers(opts["n_objects"][0], opts["n_objects"][1] + 1)):
        for _attempt in range(_ATTEMPTS):
            shape = _random_shape(rng, frame, opts)
            if opts["allow_touching"] and layout.shapes and rng.random() < 0.5:
                shape = _snap(shape, layout, rng)
            pixels = _pixels(shape, frame)
            if _inside(shape, frame) and layout.fits(pixels):
                layout.add(shape, pixels)
                break
    return layout


# ----------------------------------------------------------------------------- appearance

def _chroma(rng: np.random.Generator, strength: float) -> np.ndarray:
    """A random colour offset of zero luminance (changes hue, not brightness)."""
    v = rng.normal(size=3)
    v -= _LUMA @ v
    return strength * v / max(np.linalg.norm(v), 1e-9)


def _luminances(rng: np.random.Generator, n: int, opts) -> tuple[float, np.ndarray]:
    """Background luminance and one object luminance each, ``contrast`` apart."""
    contrast, polarity = opts["contrast"], opts["polarity"]
    if polarity == "random":
        polarity = "bright" if rng.random() < 0.5 else "dark"
    spread = contrast * rng.uniform(0.85, 1.15, n)
    if polarity == "mixed":
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        background = rng.uniform(0.4, 0.6)
    else:
        sign = np.full(n, 1.0 if polarity == "bright" else -1.0)
        room = max(0.0, 0.8 - 1.15 * contrast)  # keeps objects inside [0.1, 0.9]
        background = 0.1 + rng.uniform(0, room) if polarity == "bright" else 0.9 - rng.uniform(0, room)
    return background, np.clip(background + sign * spread, 0.0, 1.0)


def _smooth_noise(rng: np.random.Generator, frame, cell: int) -> np.ndarray:
    """Random field with features about ``cell`` pixels across (standard deviation about 0.7)."""
    coarse = rng.standard_normal((max(2, frame[0] // cell), max(2, frame[1] // cell))).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, mode="F").resize(frame[::-1], Image.BILINEAR))


def _stripes(rng: np.random.Generator, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """A sinusoidal grating of random period and direction at the given pixels, in [-1, 1]."""
    period, direction, phase = rng.uniform(4, 12), rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
    return np.sin(2 * np.pi * (rr * np.sin(direction) + cc * np.cos(direction)) / period + phase)


def _ramp(rng: np.random.Generator, frame) -> np.ndarray:
    """A linear lighting gradient in a random direction, from -0.5 to 0.5 corner to corner."""
    direction = rng.uniform(0, 2 * np.pi)
    rows = (np.arange(frame[0]) - (frame[0] - 1) / 2) * np.sin(direction)
    cols = (np.arange(frame[1]) - (frame[1] - 1) / 2) * np.cos(direction)
    ramp = rows[:, None] + cols[None, :]
    return (ramp / max(2 * float(np.abs(ramp).max()), 1e-9)).astype(np.float32)


def _quantise(values) -> np.ndarray:
    """Float32 intensities in [0, 1] to uint8, rounded (also clips out-of-range light)."""
    return np.clip(np.asarray(values, dtype=np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)


def _rgb8(colour: np.ndarray) -> tuple[int, int, int]:
    """An RGB colour in [0, 1] as the uint8 triple it is drawn with."""
    return tuple(int(v) for v in _quantise(colour))


def _paint(rng: np.random.Generator, layout: _Layout, opts) -> tuple[np.ndarray, dict]:
    """The noise-free float image, and the colours that were chosen."""
    frame = layout.frame
    background, object_lum = _luminances(rng, len(layout.shapes), opts)
    bg_colour = np.clip(background + _chroma(rng, 0.1), 0, 1)
    canvas = np.empty((*frame, 3), dtype=np.float32)
    if opts["background_texture"]:
        texture = _smooth_noise(rng, frame, 24) + 0.5 * _smooth_noise(rng, frame, 6)
        texture *= 0.35 * opts["background_texture"]
        np.add(texture[..., None], bg_colour.astype(np.float32), out=canvas)
    else:
        canvas[:] = bg_colour
    colours = []
    for (rr, cc), lum in zip(layout.pixels, object_lum):
        colour = np.clip(lum + _chroma(rng, rng.uniform(0.05, 0.3)), 0, 1)
        colours.append(colour)
        value = np.broadcast_to(colour, (rr.size, 3)).astype(np.float32)
        if opts["object_texture"]:
            value = value + (0.5 * opts["object_texture"] * _stripes(rng, rr, cc))[:, None]
        canvas[rr, cc] = value
    if opts["illumination"]:
        canvas += (opts["illumination"] * _ramp(rng, frame))[..., None]
    return canvas, {"background_colour": _rgb8(bg_colour), "colours": [_rgb8(c) for c in colours]}


@functools.cache
def _normal_quantiles() -> np.ndarray:
    levels = (np.arange(2 ** 16) + 0.5) / 2 ** 16
    return special.ndtri(levels).astype(np.float32)


def _standard_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """Standard normal float32 samples, four times faster than ``rng.standard_normal``.

    Inverse-CDF sampling from 16-bit uniform integers: 65536 equally likely
    levels, tails cut at 4.3 sigma, which image noise never shows.
    """
    uniform = np.frombuffer(rng.bytes(2 * int(np.prod(shape))), dtype=np.uint16).reshape(shape)
    return _normal_quantiles()[uniform]


def _degrade(rng: np.random.Generator, canvas: np.ndarray, opts) -> np.ndarray:
    """Optics and sensor: blur, Gaussian noise, 8-bit quantisation, JPEG."""
    image = _quantise(canvas)
    if opts["blur"]:
        image = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(opts["blur"])))
    if opts["noise"]:
        noisy = _standard_normal(rng, image.shape)
        noisy *= 255 * opts["noise"]
        noisy += image
        noisy += 0.5
        image = np.clip(noisy, 0, 255, out=noisy).astype(np.uint8)
    if opts["jpeg_quality"] is not None:
        image = _jpeg_strength(image, (95 - opts["jpeg_quality"]) / 90)  # strength 0..1 <-> quality 95..5
    return image


# ----------------------------------------------------------------------------- public API

def _truth(layout: _Layout) -> tuple[np.ndarray, np.ndarray]:
    classes = np.array([0] + [CLASS_NAMES.index(s.kind) for s in layout.shapes], dtype=np.int32)
    semantic = classes[layout.instances]
    panoptic = np.where(layout.instances > 0, semantic * PANOPTIC_DIVISOR + layout.instances, 0)
    return semantic, panoptic.astype(np.int32)


def _describe(layout: _Layout, colours: list) -> list[dict]:
    return [{"instance": i + 1, "class": s.kind, "class_index": CLASS_NAMES.index(s.kind),
             "centre": (round(float(s.centre[0]), 2), round(float(s.centre[1]), 2)),
             "radius": round(float(s.radius), 2), "angle_deg": round(float(np.degrees(s.angle)) % 360, 2),
             "area": int(layout.area[i]), "visible_area": int(layout.visible[i + 1]), "colour": colour}
            for i, (s, colour) in enumerate(zip(layout.shapes, colours))]


def make_scene(seed: int, *, size=256, difficulty: str | None = None, n_objects=(2, 6), radius=None,
               contrast=PRESET, noise=PRESET, blur=PRESET, illumination=PRESET,
               background_texture=PRESET, object_texture=PRESET, polarity=PRESET, rotation=True,
               allow_touching=PRESET, allow_overlap=PRESET, jpeg_quality=PRESET,
               shape_types=SHAPE_TYPES) -> Scene:
    """Draw a scene of shapes on a background, with its exact ground truth.

    Parameters
    ----------
    seed : int
        Same seed and options, same scene. The layout, the colours and the
        noise come from separate streams, so changing ``noise`` or
        ``contrast`` keeps the objects where they were.
    size : int or (H, W), optional
        Image size in pixels (16 to 8192 a side; 256 by default).
    difficulty : {"easy", "medium", "hard"}, optional
        Preset for every option left at ``PRESET`` (see :data:`DIFFICULTIES`);
        None means "easy". Options given explicitly override the preset.
    n_objects : int or (low, high), optional
        How many objects to draw (inclusive range, at most 999). Fewer are
        drawn when they do not fit under the touching/overlap rules.
    radius : float or (low, high), optional
        Circumradius of the shapes in pixels. Default: 6 % to 18 % of the
        shorter side (15 to 46 px at 256).
    contrast : float in [0, 0.8]
        Luminance difference between each object and the background (each
        object varies by +-15 %). 0.5 is easy; below 0.15 global thresholds
        start to fail, especially with noise.
    noise : float in [0, 0.5]
        Standard deviation of added Gaussian noise, in [0, 1] intensity units.
    blur : float in [0, 10]
        Gaussian blur sigma in pixels: soft edges that edge detectors and
        boundary scores feel.
    illumination : float in [0, 1]
        Strength of a linear lighting gradient: the brightness changes by
        this much from one corner to the opposite one. Defeats global
        thresholds; local (adaptive) ones cope.
    background_texture, object_texture : float in [0, 1]
        Amplitude of a smooth random texture on the background, and of
        stripes inside the objects. Break methods that assume flat regions.
    polarity : {"bright", "dark", "random", "mixed"}
        Objects brighter or darker than the background, one of the two per
        scene ("random"), or each object either way ("mixed", which no single
        global threshold can separate).
    rotation : bool, optional
        Rotate each shape by a random angle (default True).
    allow_touching : bool
        Let objects touch (some are pushed against a neighbour on purpose);
        otherwise at least 2 pixels separate them.
    allow_overlap : bool
        Let later objects cover earlier ones (each keeps at least half its
        area visible). Needs ``allow_touching``.
    jpeg_quality : int in [5, 95] or None
        Save and reload as JPEG at this quality (None: no JPEG).
    shape_types : sequence of str, optional
        Which of :data:`SHAPE_TYPES` to draw.

    Returns
    -------
    Scene
        ``image``, ``semantic``, ``instances``, ``panoptic``, ``class_names``
        and ``params``.

    Raises
    ------
    ValueError
        Naming the option, its value and what is allowed.

    Examples
    --------
    >>> hard = make_scene(3, size=(48, 64), difficulty="hard", noise=0.0)
    >>> hard.image.shape, hard.params["blur"], hard.params["noise"]
    ((48, 64, 3), 2.0, 0.0)
    """
    if not is_int(seed) or seed < 0:
        _reject("seed", seed, "an integer >= 0")
    frame = _frame(size)
    opts = _resolve(difficulty, frame, dict(
        n_objects=n_objects, radius=radius, contrast=contrast, noise=noise, blur=blur,
        illumination=illumination, background_texture=background_texture, object_texture=object_texture,
        polarity=polarity, rotation=rotation, allow_touching=allow_touching, allow_overlap=allow_overlap,
        jpeg_quality=jpeg_quality, shape_types=shape_types))
    geometry, colour, sensor = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))
    layout = _place(geometry, frame, opts)
    canvas, drawn = _paint(colour, layout, opts)
    semantic, panoptic = _truth(layout)
    params = {"seed": int(seed), "size": frame, "difficulty": difficulty, **opts,
              "background_colour": drawn["background_colour"], "objects": _describe(layout, drawn["colours"])}
    return Scene(image=_degrade(sensor, canvas, opts), semantic=semantic, instances=layout.instances,
                 panoptic=panoptic, class_names=list(CLASS_NAMES), params=params)


def make_scenes(seeds: int | Iterable[int], **options) -> Iterator[Scene]:
    """Yield one :func:`make_scene` per seed.

    Parameters
    ----------
    seeds : int or iterable of int
        The seeds, or a count ``n`` meaning seeds ``0 .. n - 1``.
    **options
        Passed to :func:`make_scene` (all keyword-only there).

    Examples
    --------
    >>> [scene.params["seed"] for scene in make_scenes(3, size=32)]
    [0, 1, 2]
    """
    for seed in range(seeds) if is_int(seeds) else seeds:
        yield make_scene(seed, **options)

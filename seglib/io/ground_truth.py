"""Ground truth: masks, Pascal VOC, COCO (instances and panoptic) and BSDS500.

:func:`load_ground_truth` reads annotations from a path, ``bytes`` or a
binary file object and recognises the format by CONTENT, never by the file
name: an image (PNG, BMP, TIFF, ...) is a mask, text starting with ``{`` is
COCO JSON, a ``MATLAB 5.0`` header is a BSDS500 ``.mat`` file. Every format
becomes one :class:`GroundTruth` with the label maps the metrics need.

Conventions
-----------
- ``semantic`` holds class indices into ``class_names``; index 0 is
  ``"background"``. Pixels equal to ``ignore_index`` (255 in Pascal VOC's
  void border and in COCO panoptic's unlabelled area) are ignored by metrics.
- ``instances`` holds 0 for background and ``1..n`` for object instances.
- ``panoptic`` is ``class_index * 1000 + instance_number`` (0 = void); stuff
  and crowd regions have instance number 0, so ``panoptic % 1000 ==
  instances`` everywhere.
- ``regions`` holds unsupervised segment ids starting at 1 (BSDS).
"""

from __future__ import annotations

import io
import operator
import os
import reprlib
from itertools import islice
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..checks import check_int, is_int, is_number, parse_json
from . import matfile
from .coco_masks import Patch, check_runs, compressed_runs, polygon_patch, rle_patch
from .images import (DEFAULT_MAX_PIXELS, check_header_segments, chunk_bomb_message, describe_content, frame_count,
                     read_bytes)
from .paths import inside_root

__all__ = [
    "GroundTruth",
    "load_ground_truth",
    "resize_ground_truth",
    "voc_colormap",
    "VOC_CLASSES",
    "MAX_BYTES",
    "MAX_PIXELS",
    "PANOPTIC_DIVISOR",
    "MAX_ANNOTATIONS",
    "MAX_JSON_BYTES",
    "MAX_DRAWN_PIXELS",
    "MAX_OUTLINE_PIXELS",
    "MAX_BSDS_BYTES",
]

MAX_BYTES = 100 * 2**20
"""Default cap on the size of an annotation file (100 MiB)."""

MAX_PIXELS = DEFAULT_MAX_PIXELS
"""Largest ground truth accepted (40 megapixels)."""

PANOPTIC_DIVISOR = 1000
"""Panoptic labels are ``class_index * PANOPTIC_DIVISOR + instance_number``."""

MAX_JSON_BYTES = 32 * 2**20
"""Largest COCO JSON parsed (32 MiB; all of COCO val2017 is 25 MB): parsed JSON takes up to 8x its size."""

MAX_ANNOTATIONS = 5_000
"""Most COCO annotations (or panoptic segments) drawn for one image (COCO has at most about 100)."""

MAX_DRAWN_PIXELS = 400_000_000
"""Most pixels visited while drawing one image's COCO annotations: each polygon
costs its bounding box, each RLE the columns it spans."""

MAX_OUTLINE_PIXELS = 4_000_000
"""Most polygon outline drawn for one image, in pixels along the longer axis of each edge (pycocotools
rasterises five points per pixel of outline; COCO outlines are a few hundred pixels long)."""

MAX_BSDS_BYTES = matfile.MAX_DECOMPRESSED
"""Most bytes the ``groundTruth`` variable of a BSDS ``.mat`` file may inflate to."""

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
"""The 21 Pascal VOC 2012 segmentation classes, in index order."""

VOC_IGNORE = 255
_BINARY_CLASSES = ["background", "foreground"]
_MAX_COLOURS = 1024
_POLYGON_TOLERANCE = 1.0
_MASK_FORMATS = ("PNG", "TIFF", "BMP", "GIF", "WEBP")


@dataclass
class GroundTruth:
    """Reference labels for one image, whatever format they came from.

    Attributes
    ----------
    semantic : ndarray of int32, shape (H, W), optional
        Class index per pixel, indexing ``class_names``; ``ignore_index``
        marks void pixels. None for BSDS (regions only).
    instances : ndarray of int32, shape (H, W), optional
        0 = background (or stuff, or crowd), ``1..n`` = object instances.
    panoptic : ndarray of int32, shape (H, W), optional
        ``class_index * 1000 + instance_number``; 0 = void.
    regions : ndarray of int32, shape (H, W), optional
        Unsupervised segment ids from 1 (BSDS: the first annotator).
    boundaries : ndarray of bool, shape (H, W), optional
        Union of the annotators' boundary maps (BSDS).
    annotators : list of ndarray
        Every annotator's segmentation (BSDS); empty for other formats.
    annotator_boundaries : list of ndarray
        Every annotator's boundary map (BSDS), aligned with ``annotators``.
    class_names : list of str, optional
        Names of the semantic classes; None when the file does not say
        (a gray label image, BSDS).
    category_ids : list of int, optional
        COCO category id of each class index (0 for background).
    palette : ndarray of uint8, shape (K, 3), optional
        Display colour of each class index where the file defines one.
    segments : list of dict
        COCO annotations for this image, in drawing order: ``id``,
        ``category_id``, ``class_index``, ``instance`` (0 when not an
        instance), ``iscrowd``, ``area`` (visible pixels).
    crowd : ndarray of bool, shape (H, W), optional
        Pixels covered by COCO crowd annotations.
    ignore_index : int, optional
        Label value to ignore in metrics (255) or None.
    source_format : str
        ``"mask"``, ``"voc"``, ``"coco"``, ``"coco-panoptic"`` or ``"bsds"``.
    image_id : int, optional
        The COCO image id the annotations belong to.
    notes : list of str
        Human-readable remarks about how the file was interpreted.
    """

    semantic: np.ndarray | None = None
    instances: np.ndarray | None = None
    panoptic: np.ndarray | None = None
    regions: np.ndarray | None = None
    boundaries: np.ndarray | None = None
    annotators: list[np.ndarray] = field(default_factory=list)
    annotator_boundaries: list[np.ndarray] = field(default_factory=list)
    class_names: list[str] | None = None
    category_ids: list[int] | None = None
    palette: np.ndarray | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    crowd: np.ndarray | None = None
    ignore_index: int | None = None
    source_format: str = "mask"
    image_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the label maps."""
        for array in (self.semantic, self.instances, self.panoptic, self.regions):
            if array is not None:
                return tuple(array.shape[:2])
        raise ValueError("GroundTruth holds no label map")


# --------------------------------------------------------------------------- public API


def load_ground_truth(source, *, image_id=None, image_shape=None, max_bytes: int = MAX_BYTES,
                      panoptic_png=None) -> GroundTruth:
    """Read ground truth from a mask image, COCO JSON or BSDS500 ``.mat`` file.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        The annotation file. The format is recognised from the content:

        - an image: a binary mask (0/255 or 0/1 -> ``semantic`` {0, 1}), a
          gray or 16-bit label image (values are class indices), a Pascal
          VOC ``SegmentationClass`` palette PNG (palette indices are class
          indices, 255 = void) or an RGB colour mask (each colour a class;
          the VOC colour map gives VOC indices);
        - COCO instances JSON (polygons, uncompressed or compressed RLE);
        - COCO panoptic JSON, with its PNG given as ``panoptic_png`` or found
          next to a JSON path in the folder named like the JSON file
          (``panoptic.json`` -> ``panoptic/<file_name>``) or beside it;
        - a BSDS500 ground-truth ``.mat`` (MATLAB 5 format).
    image_id : int, optional
        Which image of a COCO file to read. May be omitted when the file
        describes exactly one image.
    image_shape : tuple of int, optional
        (H, W) or (H, W, C) of the image the labels belong to. A ground truth
        of another size raises a ValueError; see :func:`resize_ground_truth`.
    max_bytes : int, optional
        Refuse files larger than this many bytes (default 100 MiB).
    panoptic_png : str, os.PathLike, bytes or binary file object, optional
        The segment-id PNG of a COCO panoptic JSON.

    Returns
    -------
    GroundTruth
        With ``source_format`` saying which reader was used and ``notes``
        saying how the file was interpreted.

    Raises
    ------
    ValueError
        With what was wrong: unreadable or oversized file, unknown format,
        malformed JSON or COCO structure, unknown image or category ids,
        degenerate or out-of-image polygons, inconsistent RLE, a mask larger
        than 40 megapixels or whose size differs from ``image_shape``.

    Notes
    -----
    COCO annotations are drawn in file order, later ones over earlier ones.
    Crowd annotations (``iscrowd=1``) are drawn in ``semantic`` and
    ``crowd`` but are not instances (instance number 0); non-crowd
    annotations are numbered ``1..n`` in file order.

    Examples
    --------
    >>> gt = load_ground_truth("voc/SegmentationClass/2007_000032.png")  # doctest: +SKIP
    >>> gt.class_names[1], gt.ignore_index                                # doctest: +SKIP
    ('aeroplane', 255)
    """
    check_int(max_bytes, "max_bytes", low=1)
    expected = _check_image_shape(image_shape)
    data, path = _read_source(source, "source", max_bytes)
    kind = _sniff(data)
    if kind == "json":
        gt = _load_coco(data, path, image_id, max_bytes, panoptic_png)
    else:
        gt = _load_mask(data) if kind == "image" else _load_bsds(data)
        if image_id is not None:
            gt.notes.append(f"`image_id`={short(image_id)} ignored: it only applies to COCO JSON")
    if expected is not None and gt.shape != expected:
        raise ValueError(f"ground truth has shape {gt.shape} but `image_shape` is {expected}; "
                         "use resize_ground_truth(gt, shape) when their aspect ratios agree")
    return gt


def resize_ground_truth(gt: GroundTruth, shape) -> GroundTruth:
    """Resize every label map of ``gt`` to ``shape`` (nearest neighbour).

    Labels are never interpolated. Boundary maps keep every boundary pixel
    when shrinking (a target pixel is on a boundary when any source pixel it
    covers is).

    Parameters
    ----------
    gt : GroundTruth
        The ground truth to resize (not modified).
    shape : tuple of int
        Target (H, W) or (H, W, C), e.g. ``image.shape``.

    Returns
    -------
    GroundTruth
        A new ground truth of size ``shape[:2]``.

    Raises
    ------
    ValueError
        If the aspect ratios of ``gt.shape`` and ``shape`` differ by more than
        1 %: the labels would no longer line up with the image.
    """
    target = _check_image_shape(shape, name="shape")
    if target is None:
        raise ValueError("`shape` is None; expected (H, W) or (H, W, C)")
    source = gt.shape
    if source == target:
        return gt
    ratio = (target[1] / target[0]) / (source[1] / source[0])
    if abs(ratio - 1.0) > 0.01:
        raise ValueError(f"cannot resize ground truth of shape {source} to {target}: aspect ratios "
                         f"{source[1] / source[0]:.4g} and {target[1] / target[0]:.4g} differ by more than 1%")
    rows, cols = _nearest_indices(source[0], target[0]), _nearest_indices(source[1], target[1])

    def nearest(array):
        return None if array is None else array[np.ix_(rows, cols)]

    def any_covered(array):
        return None if array is None else _block_any(array, target)

    return replace(
        gt,
        semantic=nearest(gt.semantic), instances=nearest(gt.instances), panoptic=nearest(gt.panoptic),
        regions=nearest(gt.regions), crowd=nearest(gt.crowd), boundaries=any_covered(gt.boundaries),
        annotators=[nearest(a) for a in gt.annotators],
        annotator_boundaries=[any_covered(b) for b in gt.annotator_boundaries],
        notes=gt.notes + [f"resized from {source} to {target} (nearest neighbour); "
                          "`segments` areas still count pixels at the original size"],
    )


def voc_colormap(n: int = 256) -> np.ndarray:
    """The Pascal VOC colour map: (n, 3) uint8, index -> RGB.

    Each index's bits are spread over the channels, most significant first
    (index 1 is dark red (128, 0, 0), 255 is the void colour (224, 224, 192)).
    """
    index = np.arange(n)
    colours = np.zeros((n, 3), dtype=np.uint8)
    for shift in range(8):
        for channel in range(3):
            bit = (index >> (3 * shift + channel)) & 1
            colours[:, channel] |= (bit << (7 - shift)).astype(np.uint8)
    return colours


# --------------------------------------------------------------------------- sources


def _read_source(source, name: str, max_bytes: int) -> tuple[bytes, Path | None]:
    """Bytes of a path, bytes-like or binary file object (via :func:`read_bytes`), and the path if any."""
    try:
        data = read_bytes(source, max_bytes=max_bytes)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}`: {error}") from None
    return data, Path(source) if isinstance(source, (str, os.PathLike)) else None


def _sniff(data: bytes) -> str:
    """'json', 'mat' or 'image' from the first bytes; ValueError otherwise."""
    head = data[:128]
    if head.startswith(b"\x89HDF") or (head.startswith(b"MATLAB") and head[124:126] in (b"\x00\x02", b"\x02\x00")):
        raise ValueError("the source is a MATLAB v7.3 (HDF5) file, which cannot be read; "
                         "re-save it in MATLAB with save(..., '-v7')")
    if head.startswith(b"MATLAB"):
        return "mat"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return "json"
    return "image"


def _check_image_shape(image_shape, name: str = "image_shape") -> tuple[int, int] | None:
    if image_shape is None:
        return None
    try:
        dims = tuple(operator.index(d) if not isinstance(d, float) else int(d) for d in islice(image_shape, 4))
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"`{name}` is {short(image_shape)}; expected (H, W) or (H, W, C)") from None
    if len(dims) not in (2, 3) or min(dims[:2]) < 1:
        raise ValueError(f"`{name}` is {short(image_shape)}; expected (H, W) or (H, W, C) with positive sizes")
    return dims[:2]


def _check_pixels(height: int, width: int, what: str) -> None:
    if height * width > MAX_PIXELS:
        raise ValueError(f"{what} is {width} x {height} = {height * width / 1e6:.1f} megapixels; "
                         f"at most {MAX_PIXELS / 1e6:.0f} megapixels are accepted")


# --------------------------------------------------------------------------- mask images


def _open_image(data: bytes, name: str = "source"):
    """Open a lossless image with Pillow, refusing huge images before decoding."""
    try:
        check_header_segments(data)
    except ValueError as error:
        raise ValueError(f"`{name}`: {error}") from None
    try:
        image = Image.open(io.BytesIO(data), formats=_MASK_FORMATS + ("JPEG", "MPO"))  # JPEG: to say why not
    except Image.DecompressionBombError as error:
        raise ValueError(f"`{name}` is an image too large to decode safely ({error}); at most "
                         f"{MAX_PIXELS / 1e6:.0f} megapixels are accepted") from None
    except Exception as error:  # noqa: BLE001 - any failure to identify: say what the bytes look like
        bomb = chunk_bomb_message(error)
        if bomb:
            raise ValueError(f"`{name}`: {bomb}") from None
        raise ValueError(f"`{name}` is {describe_content(data)}; expected a mask image "
                         "(PNG, TIFF, BMP, GIF, WebP), COCO JSON or a BSDS500 .mat file") from None
    if image.format not in _MASK_FORMATS:
        lossy = " (lossy compression corrupts labels at edges; save masks as PNG)" if image.format in (
            "JPEG", "MPO") else ""
        raise ValueError(f"`{name}` is a {image.format} image{lossy}; masks are accepted as "
                         "PNG, TIFF, BMP, GIF or WebP")
    _check_pixels(image.height, image.width, f"`{name}` image")
    return image


def _decode(image, name: str = "source") -> np.ndarray:
    try:
        image.load()
    except Image.DecompressionBombError as error:
        raise ValueError(f"`{name}` is an image too large to decode safely ({error})") from None
    except Exception as error:  # noqa: BLE001 - decoders raise OSError, SyntaxError, zlib.error...
        bomb = chunk_bomb_message(error)
        if bomb:
            raise ValueError(f"`{name}`: {bomb}") from None
        raise ValueError(f"`{name}` image could not be decoded, the file is truncated or corrupt "
                         f"({type(error).__name__}: {error})") from None
    return np.asarray(image)


def _load_mask(data: bytes) -> GroundTruth:
    image = _open_image(data)
    notes = []
    if frame_count(image) > 1:
        notes.append("the file has several frames; the first one was used")
    mode = image.mode
    if mode == "P":
        return _palette_mask(_decode(image), image.getpalette() or [], notes)
    if mode in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F"):
        return _gray_mask(_decode(image), notes)
    if mode in ("RGB", "RGBA", "RGBa", "LA", "La", "PA"):
        _decode(image)
        return _colour_mask(image if mode in ("RGB", "RGBA") else image.convert("RGBA"), notes)
    raise ValueError(f"the mask image has mode {mode!r}; accepted: binary, gray, 16-bit, palette or RGB(A)")


def _palette_mask(indices: np.ndarray, palette: list[int], notes: list[str]) -> GroundTruth:
    colours = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    used = np.unique(indices)
    voc = voc_colormap()
    if len(colours) > used.max() and np.array_equal(colours[used], voc[used]):
        notes.append("Pascal VOC palette: palette indices are class indices, 255 is the void border; "
                     "a VOC SegmentationObject PNG looks the same and holds instance numbers instead")
        return GroundTruth(semantic=indices.astype(np.int32), class_names=list(VOC_CLASSES),
                           palette=voc[:len(VOC_CLASSES)].copy(), ignore_index=VOC_IGNORE,
                           source_format="voc", notes=notes)
    gt = _gray_mask(indices, notes + ["palette image: palette indices are used as labels"])
    if gt.class_names is None and len(colours):
        gt.palette = colours[: int(used.max()) + 1].copy() if len(colours) > used.max() else None
    return gt


def _gray_mask(values: np.ndarray, notes: list[str]) -> GroundTruth:
    if values.dtype == bool:
        values = values.astype(np.uint8)
    if np.issubdtype(values.dtype, np.floating):
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)) or values.min() < 0:
            raise ValueError("the mask image holds non-integer or negative float values; labels must be integers >= 0")
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:  # 8/16-bit: count, never sort 40 M values
        used = np.flatnonzero(np.bincount(values.ravel(), minlength=1))
    else:
        used = np.unique(values).astype(np.int64)
    if used.min() < 0:
        raise ValueError(f"the mask image holds negative values (min {used.min()}); labels must be >= 0")
    top = int(used.max())
    if set(used.tolist()) <= {0, 1} or (top in (255, 65535) and set(used.tolist()) <= {0, top}):
        notes.append(f"binary mask: 0 is background, {max(top, 1)} is foreground")
        return GroundTruth(semantic=(values > 0).astype(np.int32), class_names=list(_BINARY_CLASSES),
                           palette=np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8),
                           source_format="mask", notes=notes)
    if top >= 2**31:
        raise ValueError(f"the mask image holds label {top}; labels must be below 2**31")
    notes.append(f"label image: pixel values are class indices ({len(used)} distinct, max {top}); "
                 "the file does not name the classes")
    return GroundTruth(semantic=values.astype(np.int32), source_format="mask", notes=notes)


def _colour_mask(image: Image.Image, notes: list[str]) -> GroundTruth:
    """Each colour of a decoded RGB or RGBA mask a class, in O(pixels) time and memory.

    Channels are read one at a time and the picture is closed once they are
    packed, so a 40-megapixel mask never holds more than one full copy.
    """
    red, green, blue = (np.asarray(image.getchannel(band)) for band in "RGB")
    gray = np.array_equal(red, green) and np.array_equal(red, blue)
    packed = _pack((red, green, blue))  # uint32 R << 16 | G << 8 | B
    del green, blue
    if "A" in image.getbands():
        transparent = np.asarray(image.getchannel("A")) == 0
        if transparent.any() and not transparent.all():
            packed[transparent] = 0
            notes.append("fully transparent pixels were read as background (black)")
            gray = np.array_equal(packed, (packed >> 16) * 0x010101)
        del transparent
    image.close()
    if gray:  # R == G == B everywhere: a gray label image
        red = (packed >> 16).astype(np.uint8)
        del packed
        return _gray_mask(red, notes)
    del red
    present = np.bincount(packed.ravel(), minlength=1 << 24) > 0  # counting 2^24 colours beats sorting 40 M
    colours = np.flatnonzero(present).astype(np.int64)
    del present
    if len(colours) > _MAX_COLOURS:
        raise ValueError(f"the RGB mask has {len(colours)} distinct colours; a colour mask has at most "
                         f"{_MAX_COLOURS} (one per class). Is this a photograph rather than a mask?")
    lut = np.zeros(1 << 24, dtype=np.int32)

    def classes(table: np.ndarray) -> np.ndarray:
        lut[colours] = table
        return lut[packed]

    unpacked = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1).astype(np.uint8)
    voc = voc_colormap()
    voc_packed = _pack(voc)
    known = np.concatenate([voc_packed[: len(VOC_CLASSES)], voc_packed[VOC_IGNORE:]])
    if np.isin(colours, known).all():
        lookup = {int(c): i for i, c in enumerate(voc_packed) if i < len(VOC_CLASSES) or i == VOC_IGNORE}
        table = np.array([lookup[int(c)] for c in colours], dtype=np.int32)
        notes.append("colours match the Pascal VOC colour map; (224, 224, 192) is the void border")
        return GroundTruth(semantic=classes(table), class_names=list(VOC_CLASSES),
                           palette=voc[: len(VOC_CLASSES)].copy(), ignore_index=VOC_IGNORE,
                           source_format="voc", notes=notes)
    # black is background (index 0); other colours get 1.. in sorted colour order
    has_black = colours[0] == 0
    table = np.arange(len(colours), dtype=np.int32) + (0 if has_black else 1)
    palette = np.concatenate([np.zeros((0 if has_black else 1, 3), np.uint8), unpacked])
    names = ["background"] + [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in palette[1:].tolist()]
    notes.append(f"colour mask: {len(colours)} colours mapped to class indices (black = background 0); "
                 "`palette` gives each index's colour")
    return GroundTruth(semantic=classes(table), class_names=names, palette=palette, source_format="mask",
                       notes=notes)


def _pack(rgb) -> np.ndarray:
    """One uint32 per colour: ``R << 16 | G << 8 | B``, from (..., 3) values or a (red, green, blue) triple."""
    red, green, blue = rgb if isinstance(rgb, tuple) else (rgb[..., 0], rgb[..., 1], rgb[..., 2])
    packed = np.asarray(red).astype(np.uint32)
    packed <<= 8
    packed |= green
    packed <<= 8
    packed |= blue
    return packed


# --------------------------------------------------------------------------- COCO


def _load_coco(data: bytes, path: Path | None, image_id, max_bytes: int, panoptic_png) -> GroundTruth:
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"the COCO JSON is {len(data) / 2**20:.1f} MiB; at most {MAX_JSON_BYTES / 2**20:g} MiB are "
                         "parsed (all of COCO val2017 is 25 MB): keep the images you need")
    doc = _parse_json(data)
    images = _require(doc, "images", list, "the COCO JSON")
    annotations = _require(doc, "annotations", list, "the COCO JSON")
    categories = _require(doc, "categories", list, "the COCO JSON")
    image = _select_image(images, image_id)
    height, width = image["height"], image["width"]
    _check_pixels(height, width, f"COCO image {image['id']}")
    classes = _Categories(categories)
    panoptic = any(isinstance(a, dict) and "segments_info" in a for a in annotations)
    if panoptic:
        segments, notes, owner = _panoptic_segments(annotations, image, classes, path, max_bytes, panoptic_png)
        overlaps = 0
    else:
        segments, notes = _instance_segments(annotations, image, classes)
        owner, overlaps = _paint((height, width), segments)
    gt = _compose(owner, segments, classes, notes, overlaps)
    del owner
    gt.image_id = image["id"]
    if panoptic:
        gt.source_format = "coco-panoptic"
        _mark_void(gt)
    return gt


def _parse_json(data: bytes):
    return parse_json(data, "the JSON file")


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxdict = 6
_SHORT.maxlevel = 3


def short(value) -> str:
    """A bounded ``repr`` of a JSON value for messages (deep or huge values are cut)."""
    return _SHORT.repr(value)


def _require(obj, key: str, kind, where: str):
    """``obj[key]`` checked to be of ``kind``; ValueError naming the key otherwise."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be a JSON object, got {type(obj).__name__}")
    if key not in obj:
        present = ", ".join(sorted(map(str, obj))[:8]) or "none"
        raise ValueError(f'{where} has no "{key}" key (keys present: {present})')
    value = obj[key]
    if not _is_kind(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ValueError(f'"{key}" in {where} must be a {_json_name(names)}, got {type(value).__name__} {short(value)}')
    return value


def _is_kind(value, kind) -> bool:
    """isinstance, except that JSON booleans are not integers."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and int in kinds:
        return False
    return isinstance(value, kinds)


def _json_name(names: str) -> str:
    return names.replace("list", "list (JSON array)").replace("dict", "JSON object").replace("str", "string")


def _select_image(images: list, image_id) -> dict:
    for index, entry in enumerate(images):
        where = f"images[{index}]"
        _require(entry, "id", int, where)
        for key in ("height", "width"):
            if _require(entry, key, int, where) < 1:
                raise ValueError(f'"{key}" in {where} is {entry[key]}; it must be a positive integer')
    if image_id is not None:
        if not is_int(image_id):
            raise ValueError(f"`image_id` is {short(image_id)}; expected an integer COCO image id")
        image_id = int(image_id)
    ids = [entry["id"] for entry in images]
    listed = ", ".join(map(str, ids[:5])) + (f", ... ({len(ids)} images)" if len(ids) > 5 else "")
    if image_id is None:
        if len(images) == 1:
            return images[0]
        if not images:
            raise ValueError('the COCO JSON lists no images ("images" is empty)')
        raise ValueError(f"the COCO JSON describes {len(images)} images; pass `image_id`, one of {listed}")
    matches = [entry for entry in images if entry["id"] == image_id]
    if not matches:
        raise ValueError(f"`image_id` {short(image_id)} is not in the COCO JSON; available ids: {listed}")
    return matches[0]


class _Categories:
    """COCO categories sorted by id: class index i+1 is the i-th category."""

    def __init__(self, categories: list):
        seen = {}
        for index, entry in enumerate(categories):
            where = f"categories[{index}]"
            cat_id = _require(entry, "id", int, where)
            name = _require(entry, "name", str, where)
            if cat_id in seen:
                raise ValueError(f"category id {cat_id} appears twice in \"categories\"")
            seen[cat_id] = (name, bool(entry.get("isthing", 1)), _check_colour(entry.get("color"), where))
        self.ids = sorted(seen)
        if len(self.ids) >= VOC_IGNORE:
            raise ValueError(f"the COCO JSON has {len(self.ids)} categories; at most {VOC_IGNORE - 1} are supported")
        self.index = {cat_id: i + 1 for i, cat_id in enumerate(self.ids)}
        self.names = ["background"] + [seen[i][0] for i in self.ids]
        self.isthing = {i: seen[i][1] for i in self.ids}
        self.colours = [seen[i][2] for i in self.ids]

    def class_index(self, category_id, where: str) -> int:
        if category_id not in self.index:
            known = ", ".join(map(str, self.ids[:8])) + (", ..." if len(self.ids) > 8 else "")
            raise ValueError(f"{where} has unknown category_id {short(category_id)}; categories in the file: {known}")
        return self.index[category_id]

    def palette(self) -> np.ndarray | None:
        valid = all(isinstance(c, list) and len(c) == 3 for c in self.colours)
        if not valid:
            return None
        return np.array([[0, 0, 0]] + self.colours, dtype=np.uint8)


def _check_colour(colour, where: str):
    """A category's ``color``: None, or [r, g, b] of integers 0..255; ValueError otherwise."""
    if colour is None:
        return None
    if not (isinstance(colour, list) and len(colour) == 3 and all(_is_kind(c, int) and 0 <= c <= 255 for c in colour)):
        raise ValueError(f'"color" in {where} is {short(colour)}; expected [r, g, b] with integers 0 to 255')
    return colour


@dataclass
class _Segment:
    """One annotation: where it lies (a patch, or a panoptic segment id) and what it is."""

    class_index: int
    is_instance: bool
    info: dict
    patch: Patch | None = None


def _instance_segments(annotations: list, image: dict, classes: _Categories):
    height, width = image["height"], image["width"]
    mine = [(index, ann) for index, ann in enumerate(annotations)
            if _require(ann, "image_id", int, f"annotations[{index}]") == image["id"]]
    if len(mine) > MAX_ANNOTATIONS:
        raise ValueError(f"image {image['id']} has {len(mine):,} annotations; at most {MAX_ANNOTATIONS:,} are "
                         "drawn for one image")
    segments, notes, drawn, instances = [], [], 0, 0
    outline = [0.0]
    for index, ann in mine:
        where = f"annotations[{index}]"
        category = _require(ann, "category_id", int, where)
        class_index = classes.class_index(category, where)
        crowd = bool(ann.get("iscrowd", 0))
        patch = _annotation_patch(_require(ann, "segmentation", (list, dict), where), height, width, where, outline)
        if outline[0] > MAX_OUTLINE_PIXELS:
            raise ValueError(f"the polygons of image {image['id']} up to {where} have {outline[0]:,.0f} pixels of "
                             f"outline; at most {MAX_OUTLINE_PIXELS:,} are drawn for one image (is a polygon "
                             "zig-zagging across the picture?)")
        drawn += patch.area
        if drawn > MAX_DRAWN_PIXELS:
            raise ValueError(f"the annotations of image {image['id']} up to {where} cover {drawn:,} pixels of "
                             f"bounding boxes (RLE: column bands); at most {MAX_DRAWN_PIXELS:,} are drawn for one "
                             "image")
        is_instance = not crowd and classes.isthing[category]
        instances += is_instance
        _check_instance_count(instances)
        info = {"id": ann.get("id") if _is_kind(ann.get("id"), int) else None, "category_id": category,
                "class_index": class_index, "iscrowd": crowd}
        segments.append(_Segment(class_index, is_instance, info, patch))
    return segments, notes


def _check_instance_count(number: int) -> None:
    if number >= PANOPTIC_DIVISOR:
        raise ValueError(f"the image has more than {PANOPTIC_DIVISOR - 1} instances; panoptic labels "
                         f"(class * {PANOPTIC_DIVISOR} + instance) hold at most {PANOPTIC_DIVISOR - 1}")


def _annotation_patch(segmentation, height: int, width: int, where: str, outline: list[float]) -> Patch:
    """The patch of one annotation; adds its polygons' outline length (pixels) to ``outline[0]``."""
    if isinstance(segmentation, list):
        polygons = _check_polygons(segmentation, height, width, where)
        outline[0] += sum(_outline_length(p) for p in polygons)
        if not polygons:
            return Patch(slice(0, 0), slice(0, 0), 0, lambda: np.zeros((0, 0), dtype=bool))
        return polygon_patch(polygons, height, width)
    return rle_patch(_check_rle(segmentation, height, width, where), height, width)


def _check_polygons(polygons: list, height: int, width: int, where: str) -> list[list[float]]:
    checked = []
    for k, polygon in enumerate(polygons):
        name = f"{where} polygon {k}"
        if not isinstance(polygon, list) or not all(_is_number(v) for v in polygon):
            raise ValueError(f"{name} must be a list of numbers [x1, y1, x2, y2, ...], got {short(polygon)}")
        if len(polygon) < 6 or len(polygon) % 2:
            raise ValueError(f"{name} has {len(polygon)} numbers; a polygon needs an even count of at least 6 "
                             "(3 points)")
        try:
            coords = np.asarray(polygon, dtype=np.float64)
        except OverflowError:
            coords = np.array([np.inf])
        if not np.all(np.isfinite(coords)):
            raise ValueError(f"{name} has non-finite or huge coordinates (NaN, infinity or beyond float range)")
        xs, ys = coords[0::2], coords[1::2]
        tol = _POLYGON_TOLERANCE
        if xs.min() < -tol or ys.min() < -tol or xs.max() > width + tol or ys.max() > height + tol:
            raise ValueError(f"{name} reaches x in [{xs.min():.4g}, {xs.max():.4g}], y in [{ys.min():.4g}, "
                             f"{ys.max():.4g}], outside the {width} x {height} image (tolerance {tol:g} px)")
        checked.append(coords.tolist())
    return checked


def _outline_length(polygon: list[float]) -> float:
    """Sum over the closed polygon's edges of max(|dx|, |dy|): what pycocotools walks to rasterise it."""
    coords = np.asarray(polygon, dtype=np.float64)
    xs, ys = coords[0::2], coords[1::2]
    return float(np.maximum(np.abs(xs - np.roll(xs, 1)), np.abs(ys - np.roll(ys, 1))).sum())


def _is_number(value) -> bool:
    return is_number(value)


def _check_rle(rle: dict, height: int, width: int, where: str) -> np.ndarray:
    """Validate an RLE dict and return its run lengths (column-major, background first)."""
    size = _require(rle, "size", list, f"{where} segmentation")
    if len(size) != 2 or not all(_is_kind(v, int) for v in size):
        raise ValueError(f'{where} RLE "size" is {short(size)}; expected [height, width]')
    if tuple(size) != (height, width):
        raise ValueError(f"{where} RLE size {short(size)} differs from the image size [{height}, {width}]")
    counts = _require(rle, "counts", (list, str), f"{where} segmentation")
    if isinstance(counts, str):
        return check_runs(compressed_runs(counts, where), height, width, f"{where} compressed")
    if len(counts) > height * width + 1:
        raise ValueError(f"{where} RLE has {len(counts):,} runs; an image of {height * width:,} pixels has at most "
                         f"{height * width + 1:,}")
    if not all(_is_kind(c, int) and 0 <= c <= height * width for c in counts):
        raise ValueError(f"{where} RLE counts must be non-negative integers, at most height * width = "
                         f"{height * width}")
    return check_runs(np.asarray(counts, dtype=np.int64), height, width, where)


def _panoptic_segments(annotations: list, image: dict, classes: _Categories, path: Path | None,
                       max_bytes: int, panoptic_png):
    """Segments of the image's panoptic annotation and the map of their drawing order (0 = unlabelled)."""
    entry = None
    for index, ann in enumerate(annotations):
        where = f"annotations[{index}]"
        if _require(ann, "image_id", int, where) == image["id"]:
            entry, entry_where = ann, where
            break
    if entry is None:
        raise ValueError(f"the COCO panoptic JSON has no annotation for image id {image['id']}")
    infos = _require(entry, "segments_info", list, entry_where)
    if len(infos) > MAX_ANNOTATIONS:
        raise ValueError(f"{entry_where} lists {len(infos):,} segments; at most {MAX_ANNOTATIONS:,} are read")
    file_name = _require(entry, "file_name", str, entry_where)
    ids = _panoptic_ids(_panoptic_png_source(panoptic_png, path, file_name), max_bytes)
    if ids.shape != (image["height"], image["width"]):
        raise ValueError(f"the panoptic PNG has shape {ids.shape} but image {image['id']} is "
                         f"{(image['height'], image['width'])}")
    seen = np.zeros(_PANOPTIC_IDS, dtype=bool)
    seen[ids] = True
    order_of = np.zeros(_PANOPTIC_IDS, dtype=np.int32)  # segment id -> 1 + drawing order
    segments, notes, instances = [], [], 0
    for k, info in enumerate(infos):
        where = f"{entry_where} segments_info[{k}]"
        seg_id = _require(info, "id", int, where)
        category = _require(info, "category_id", int, where)
        if not 0 < seg_id < _PANOPTIC_IDS:
            raise ValueError(f"{where} has id {seg_id}; panoptic segment ids are 1 .. {_PANOPTIC_IDS - 1} "
                             "(R + 256 G + 256^2 B of the PNG)")
        if order_of[seg_id]:
            raise ValueError(f"{where} repeats segment id {seg_id}")
        if not seen[seg_id]:
            notes.append(f"segment {seg_id} of the JSON is absent from the PNG")
            continue
        crowd = bool(info.get("iscrowd", 0))
        class_index = classes.class_index(category, where)
        is_instance = not crowd and classes.isthing[category]
        instances += is_instance
        _check_instance_count(instances)
        segments.append(_Segment(class_index, is_instance,
                                 {"id": seg_id, "category_id": category, "class_index": class_index, "iscrowd": crowd}))
        order_of[seg_id] = len(segments)
    unknown = np.flatnonzero(seen & (order_of == 0))
    unknown = unknown[unknown != 0]
    if unknown.size:
        raise ValueError(f"the panoptic PNG holds segment ids {unknown[:5].tolist()} that segments_info does not list")
    return segments, notes, order_of[ids]


_PANOPTIC_IDS = 256 ** 3


def _panoptic_png_source(panoptic_png, path: Path | None, file_name: str):
    if panoptic_png is not None:
        return panoptic_png
    if path is not None:
        for candidate in (path.parent / path.stem / file_name, path.parent / file_name):
            checked = inside_root(path.parent, candidate, f"the panoptic PNG {short(file_name)}")
            if checked.is_file():
                return checked
    raise ValueError(f"COCO panoptic JSON needs its PNG {short(file_name)}: pass `panoptic_png`, or give the JSON "
                     "as a path with the PNG in the folder named after the JSON file")


def _panoptic_ids(source, max_bytes: int) -> np.ndarray:
    data, _ = _read_source(source, "panoptic_png", max_bytes)
    image = _open_image(data, "panoptic_png")
    if image.mode not in ("RGB", "RGBA"):
        raise ValueError(f"`panoptic_png` has mode {image.mode!r}; a COCO panoptic PNG is RGB")
    _decode(image, "panoptic_png")
    red, green, blue = (np.asarray(image.getchannel(band)) for band in "RGB")  # one channel at a time
    image.close()
    return _pack((blue, green, red)).view(np.int32)  # R + 256 G + 256^2 B < 2^24


def _paint(shape: tuple[int, int], segments: list[_Segment]) -> tuple[np.ndarray, int]:
    """Map of 1 + the drawing order of the visible segment (0 = none), later over earlier; and the overlaps."""
    owner = np.zeros(shape, dtype=np.int32)
    overlaps = 0
    for order, segment in enumerate(segments, start=1):
        patch = segment.patch
        if patch.area == 0:
            continue
        mask = patch.rasterise()
        box = owner[patch.rows, patch.cols]
        overlaps += bool(np.any(box[mask]))
        box[mask] = order
    return owner, overlaps


def _compose(owner: np.ndarray, segments: list[_Segment], classes: _Categories, notes: list[str],
             overlaps: int = 0) -> GroundTruth:
    """Semantic, instance and panoptic maps from the drawing-order map, through per-segment tables."""
    n = len(segments)
    class_of = np.zeros(n + 1, dtype=np.int32)
    instance_of = np.zeros(n + 1, dtype=np.int32)
    crowd_of = np.zeros(n + 1, dtype=bool)
    infos, number = [], 0
    for order, segment in enumerate(segments, start=1):
        instance = 0
        if segment.is_instance:
            number += 1
            instance = number
        class_of[order], instance_of[order] = segment.class_index, instance
        crowd_of[order] = segment.info["iscrowd"]
        infos.append({**segment.info, "instance": instance})
    if number >= PANOPTIC_DIVISOR:
        raise ValueError(f"the image has {number} instances; panoptic labels hold at most {PANOPTIC_DIVISOR - 1}")
    visible = np.bincount(owner.ravel(), minlength=n + 1)
    for order, info in enumerate(infos, start=1):
        info["area"] = int(visible[order])
    panoptic_of = np.where(np.arange(n + 1) > 0, class_of * PANOPTIC_DIVISOR + instance_of, 0).astype(np.int32)
    n_crowd = sum(info["iscrowd"] for info in infos)
    if n_crowd:
        notes.append(f"{n_crowd} crowd annotation(s) drawn in `semantic` and `crowd`, not numbered as instances")
    if overlaps:
        notes.append(f"{overlaps} annotation(s) overlap earlier ones; later annotations are drawn on top")
    return GroundTruth(
        semantic=class_of[owner], instances=instance_of[owner], panoptic=panoptic_of[owner], crowd=crowd_of[owner],
        class_names=list(classes.names), category_ids=[0] + list(classes.ids), palette=classes.palette(),
        segments=infos, source_format="coco", notes=notes,
    )


def _mark_void(gt: GroundTruth) -> None:
    """COCO panoptic: unlabelled pixels (panoptic 0) are void, not background."""
    void = gt.panoptic == 0
    if void.any():
        gt.semantic[void] = VOC_IGNORE
        gt.ignore_index = VOC_IGNORE
        gt.notes.append(f"{int(void.sum())} unlabelled (void) pixels have semantic label 255 = `ignore_index`")


# --------------------------------------------------------------------------- BSDS500


def _load_bsds(data: bytes) -> GroundTruth:
    cells = np.asarray(matfile.read_variable(data, "groundTruth"))
    if cells.dtype != object or cells.size == 0:
        raise ValueError("`groundTruth` in the .mat file must be a non-empty cell array of structs")
    segmentations, boundaries, notes = [], [], []
    for k, cell in enumerate(cells.ravel()):
        seg, bnd = _bsds_annotator(cell, k, notes)
        if segmentations and seg.shape != segmentations[0].shape:
            raise ValueError(f"groundTruth{{{k + 1}}} has shape {seg.shape}, annotator 1 has {segmentations[0].shape}")
        segmentations.append(seg)
        boundaries.append(bnd)
    union = np.logical_or.reduce(boundaries)
    notes.insert(0, f"BSDS500: {len(segmentations)} annotators; `regions` is the first, `boundaries` the union")
    return GroundTruth(regions=segmentations[0], boundaries=union, annotators=segmentations,
                       annotator_boundaries=boundaries, source_format="bsds", notes=notes)


def _bsds_annotator(cell, k: int, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(Segmentation, Boundaries) of one cell: a (1, 1) struct array with those fields."""
    where = f"groundTruth{{{k + 1}}}"
    record = np.asarray(cell)
    fields = record.dtype.names or ()
    if "Segmentation" not in fields:
        raise ValueError(f"{where} has no Segmentation field (fields: {', '.join(fields[:10]) or 'none'})")
    seg = _bsds_field(record, "Segmentation", where)
    _check_pixels(seg.shape[0], seg.shape[1], where)
    if not np.issubdtype(seg.dtype, np.integer) or seg.min() < 0:
        raise ValueError(f"{where}.Segmentation must hold non-negative integer labels, got dtype {seg.dtype}")
    if seg.max() >= 2**31:  # int32 would wrap: renumber the segments 1..n in the order of their ids
        ids, inverse = np.unique(seg, return_inverse=True)
        seg = (inverse.reshape(seg.shape) + (0 if ids[0] == 0 else 1)).astype(np.int32)
        notes.append(f"{where}: segment ids up to {int(ids[-1])} were renumbered 1..{len(ids)} (they do not fit int32)")
    if "Boundaries" in fields:
        bnd = _bsds_field(record, "Boundaries", where).astype(bool)
        if bnd.shape != seg.shape:
            raise ValueError(f"{where}.Boundaries has shape {bnd.shape}, Segmentation has {seg.shape}")
    else:
        from skimage.segmentation import find_boundaries

        bnd = find_boundaries(seg, mode="inner")
        notes.append(f"{where} has no Boundaries field; boundaries computed from its Segmentation")
    return seg.astype(np.int32), bnd


def _bsds_field(record: np.ndarray, name: str, where: str) -> np.ndarray:
    value = record[name]
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.ravel()[0]
    value = np.asarray(value)
    if value.ndim != 2 or min(value.shape) < 1:
        raise ValueError(f"{where}.{name} must be a 2-D array, got shape {value.shape}")
    return value


# --------------------------------------------------------------------------- resizing helpers


def _nearest_indices(source: int, target: int) -> np.ndarray:
    """Source index of each target pixel centre."""
    return np.minimum(((np.arange(target) + 0.5) * source / target).astype(np.intp), source - 1)


def _block_any(mask: np.ndarray, target: tuple[int, int]) -> np.ndarray:
    """True where any source pixel under the target pixel is True (integral image)."""
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
    table[1:, 1:] = np.cumsum(np.cumsum(mask.astype(np.int64), axis=0), axis=1)
    r0, r1 = _block_edges(mask.shape[0], target[0])
    c0, c1 = _block_edges(mask.shape[1], target[1])
    total = table[np.ix_(r1, c1)] - table[np.ix_(r0, c1)] - table[np.ix_(r1, c0)] + table[np.ix_(r0, c0)]
    return total > 0


def _block_edges(source: int, target: int) -> tuple[np.ndarray, np.ndarray]:
    index = np.arange(target)
    start = np.minimum(np.floor(index * source / target).astype(np.intp), source - 1)
    stop = np.maximum(np.ceil((index + 1) * source / target).astype(np.intp), start + 1)
    return start, np.minimum(stop, source)

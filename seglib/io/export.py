"""Export segmentation results: lossless label PNGs, overlay PNGs and COCO JSON.

Everything returns bytes or plain dicts (never writes files), so the same
calls serve a download button, a notebook or a batch script::

    png = label_png_bytes(result.labels)        # exact label values, 8 or 16 bit
    coco = coco_json(result.labels, kind=result.kind, class_names=result.class_names)
    json.dumps(coco)                            # plain Python types only
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

__all__ = ["coco_json", "image_png_bytes", "label_png_bytes", "overlay_png_bytes"]

_KINDS = ("binary", "semantic", "instance", "panoptic", "regions", "edges")
# One COCO category for the kinds whose labels carry no class.
_SINGLE_CATEGORY = {"binary": "foreground", "edges": "edge", "regions": "segment", "instance": "object"}
_PANOPTIC_DIVISOR = 1000
_IGNORE_INDEX = 255  # Pascal VOC "void" value in semantic label maps: never exported
_PNG_COMPRESSION = 3  # zlib level: files about 10% larger than the default 6, encoded about twice as fast


# --------------------------------------------------------------------------- PNG


def image_png_bytes(image, *, name: str = "image") -> bytes:
    """Encode an array as a lossless PNG.

    Parameters
    ----------
    image : ndarray
        (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA ``uint8``; (H, W)
        ``uint16`` (written as a 16-bit gray PNG); (H, W) ``bool`` (written
        as 0/255); or float (H, W) / (H, W, 3) with values in [0, 1]
        (scaled by 255 and rounded).
    name : str, optional
        Argument name used in error messages.

    Returns
    -------
    bytes
        The PNG file content; Pillow reads it back to the same values.

    Raises
    ------
    ValueError
        For other shapes or dtypes, empty arrays, or floats outside [0, 1].
    """
    array = np.asarray(image)
    _check_shape(array, name)
    pixels = _png_pixels(array, name)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG", compress_level=_PNG_COMPRESSION)
    return buffer.getvalue()


def _check_shape(array: np.ndarray, name: str) -> None:
    channels_ok = array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))
    if not channels_ok or array.size == 0:
        raise ValueError(f"`{name}` has shape {array.shape}; expected a non-empty (H, W), (H, W, 3) "
                         "or (H, W, 4) array")


def _png_pixels(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool and array.ndim == 2:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16 and array.ndim == 2:
        return array
    if np.issubdtype(array.dtype, np.floating) and array.shape[-1:] != (4,):
        finite = np.isfinite(array).all()
        if finite and array.min() >= 0 and array.max() <= 1:
            return np.round(array * 255.0).astype(np.uint8)
        raise ValueError(f"`{name}` is float with values outside [0, 1] (or NaN); scale it to [0, 1] "
                         "or pass uint8")
    raise ValueError(f"`{name}` has dtype {array.dtype} and shape {array.shape}; expected uint8 "
                     "(gray/RGB/RGBA), 2-D uint16 or bool, or float in [0, 1] (gray/RGB)")


def overlay_png_bytes(rgb_uint8) -> bytes:
    """Encode a coloured overlay, an (H, W, 3) ``uint8`` RGB array, as PNG.

    Raises
    ------
    ValueError
        If the array is not (H, W, 3) ``uint8``.
    """
    array = np.asarray(rgb_uint8)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"`rgb_uint8` has shape {array.shape} and dtype {array.dtype}; "
                         "expected an (H, W, 3) uint8 RGB array")
    return image_png_bytes(array, name="rgb_uint8")


def label_png_bytes(labels) -> bytes:
    """Encode a label map as a lossless PNG whose pixel values are the labels.

    Parameters
    ----------
    labels : ndarray of int or bool, shape (H, W)
        Non-negative labels, at most 65535.

    Returns
    -------
    bytes
        An 8-bit gray PNG when the largest label is at most 255, else a
        16-bit gray PNG (Pillow mode ``I;16``). Reading it back gives the
        labels exactly (``np.asarray(Image.open(...))``). Such files look
        almost black in a viewer: they are data, not pictures.

    Raises
    ------
    ValueError
        If ``labels`` is not a 2-D integer array, or has negative values or
        values above 65535.
    """
    array = _check_labels(labels)
    low, high = (int(array.min()), int(array.max()))
    if low < 0 or high > 65535:
        raise ValueError(f"`labels` range from {low} to {high}; a label PNG holds integers 0..65535")
    dtype = np.uint8 if high <= 255 else np.uint16
    return image_png_bytes(array.astype(dtype), name="labels")


def _check_labels(labels) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"`labels` has shape {array.shape}; expected a non-empty 2-D (H, W) label map")
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise ValueError(f"`labels` has dtype {array.dtype}; expected integer (or bool) labels")
    return array


# --------------------------------------------------------------------------- COCO


def coco_json(labels, *, kind: str, class_names=None, image_id: int = 1, file_name: str | None = None,
              scores=None) -> dict:
    """Export a label map as a COCO dataset dict with RLE-compressed masks.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        A :class:`~seglib.result.Segmentation`'s labels (non-negative).
    kind : str
        How to read the labels:

        - ``binary`` / ``edges``: non-zero pixels form one annotation of
          category ``foreground`` / ``edge``.
        - ``regions`` / ``instance``: one annotation per label > 0, of
          category ``segment`` / ``object``.
        - ``semantic``: one annotation per class present (class 0 too, as
          it may be a real class such as a multi-Otsu level); the value 255
          (Pascal VOC ``void``) is skipped when ``class_names`` has fewer
          than 256 entries.
        - ``panoptic``: one annotation per label > 0, of class
          ``label // 1000``.
    class_names : sequence of str, optional
        Names of the classes for ``semantic`` and ``panoptic``. Category
        ``i + 1`` is ``class_names[i]`` (COCO ids start at 1), and all of
        them are listed. Without names, the classes present are called
        ``"class {i}"``. Ignored by the other kinds.
    image_id : int, optional
        ``id`` of the single image entry and ``image_id`` of each annotation.
    file_name : str, optional
        Stored in the image entry when given.
    scores : ndarray of float, shape (H, W), optional
        Per-pixel confidence; each annotation gets ``score``, its mean over
        the segment's pixels.

    Returns
    -------
    dict
        ``{"info", "images", "annotations", "categories"}`` made of plain
        Python types (``json.dumps`` works). Each annotation has ``id``
        (from 1), ``image_id``, ``category_id``, ``segmentation`` (compressed
        RLE ``{"size": [H, W], "counts": str}``), ``area`` and ``bbox``
        (``[x, y, width, height]``, from pycocotools), ``iscrowd`` 0,
        ``label`` (the label value it came from) and, with ``scores``,
        ``score``.

    Raises
    ------
    ValueError
        For an unknown ``kind``, negative labels, a class without a name,
        or ``scores`` of another shape.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((4, 4), int); labels[:2, :2] = 1
    >>> coco = coco_json(labels, kind="binary")
    >>> coco["annotations"][0]["area"], coco["annotations"][0]["bbox"]
    (4, [0.0, 0.0, 2.0, 2.0])
    """
    array = _check_labels(labels).astype(np.int64, copy=False)
    if kind not in _KINDS:
        raise ValueError(f"`kind`={kind!r} is not allowed: expected one of {', '.join(_KINDS)}")
    if array.min() < 0:
        raise ValueError(f"`labels` contain negative values (down to {int(array.min())}); "
                         "expected labels >= 0")
    if kind in ("binary", "edges"):
        array = (array != 0).astype(np.int64)  # every non-zero pixel is foreground
    mean_scores = _mean_scores(array, scores)
    segments, categories = _segments(array, kind, class_names)
    rles = segment_rles(array, [value for value, _ in segments])
    annotations = [_annotation(number, rle, value, category, image_id, mean_scores)
                   for number, (rle, (value, category)) in enumerate(zip(rles, segments), start=1)]
    height, width = array.shape
    image = {"id": image_id, "width": width, "height": height}
    if file_name is not None:
        image["file_name"] = str(file_name)
    return {"info": {"description": f"seglib {kind} segmentation"}, "images": [image],
            "annotations": annotations, "categories": categories}


def _segments(labels: np.ndarray, kind: str, class_names) -> tuple[list, list[dict]]:
    """The (label value, category id) of each annotation, and the categories."""
    if kind in ("binary", "edges"):
        present = [(1, 1)] if labels.any() else []
        return present, [_category(1, _SINGLE_CATEGORY[kind])]
    values = [int(v) for v in np.unique(labels)]
    if kind in ("regions", "instance"):
        return [(v, 1) for v in values if v > 0], [_category(1, _SINGLE_CATEGORY[kind])]
    names = None if class_names is None else [str(name) for name in class_names]
    if kind == "semantic":
        classes = [v for v in values if not (v == _IGNORE_INDEX and names is not None and len(names) <= v)]
        return [(v, v + 1) for v in classes], _class_categories(classes, names)
    instances = [v for v in values if v > 0]
    classes = sorted({v // _PANOPTIC_DIVISOR for v in instances})
    return [(v, v // _PANOPTIC_DIVISOR + 1) for v in instances], _class_categories(classes, names)


def _class_categories(classes: list[int], names: list[str] | None) -> list[dict]:
    if names is None:
        return [_category(c + 1, f"class {c}") for c in classes]
    unnamed = [c for c in classes if c >= len(names)]
    if unnamed:
        raise ValueError(f"class indices {unnamed} have no name in `class_names` "
                         f"({len(names)} names, indices 0..{len(names) - 1})")
    return [_category(i + 1, name) for i, name in enumerate(names)]


def _category(category_id: int, name: str) -> dict:
    return {"id": category_id, "name": name, "supercategory": ""}


def _mean_scores(labels: np.ndarray, scores) -> dict | None:
    """Mean score per label value, or None without scores."""
    if scores is None:
        return None
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != labels.shape:
        raise ValueError(f"`scores` has shape {values.shape}; expected the labels' shape {labels.shape}")
    present, index = np.unique(labels.ravel(), return_inverse=True)
    sums = np.bincount(index, weights=values.ravel())
    counts = np.bincount(index)
    return {int(v): float(total / count) for v, total, count in zip(present, sums, counts)}


def segment_rles(labels: np.ndarray, values) -> list[dict]:
    """Compressed COCO RLE of ``labels == v`` for each ``v`` in ``values``, in one pass.

    Equivalent to ``pycocotools.mask.encode(np.asfortranarray(labels == v))``
    for each value, but the image is
    scanned once: the column-major runs of equal labels are found together,
    then each value's runs become an uncompressed RLE that pycocotools
    compresses. Exporting a thousand regions therefore costs about as much
    as exporting one.
    """
    height, width = labels.shape
    flat = np.ascontiguousarray(labels.T).ravel()  # COCO RLE runs down the columns
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [flat.size]))
    run_values = flat[starts]
    order = np.argsort(run_values, kind="stable")  # each value's runs, still in image order
    sorted_values = run_values[order]
    rles = []
    for value in values:
        low = np.searchsorted(sorted_values, value, side="left")
        high = np.searchsorted(sorted_values, value, side="right")
        chosen = order[low:high]
        counts = _uncompressed_counts(starts[chosen], ends[chosen], flat.size)
        rles.append(coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width))
    return rles


def _uncompressed_counts(starts: np.ndarray, ends: np.ndarray, total: int) -> list[int]:
    """Alternating background/foreground run lengths (COCO's uncompressed RLE)."""
    gaps = starts - np.concatenate(([0], ends[:-1]))
    counts = np.empty(2 * len(starts) + 1, dtype=np.int64)
    counts[0:-1:2] = gaps
    counts[1::2] = ends - starts
    counts[-1] = total - (ends[-1] if len(ends) else 0)
    trailing_empty = len(ends) > 0 and counts[-1] == 0  # pycocotools omits a final empty run
    return counts[:-1].tolist() if trailing_empty else counts.tolist()


def _annotation(number: int, rle: dict, value, category: int, image_id: int,
                mean_scores: dict | None) -> dict:
    annotation = {
        "id": number,
        "image_id": image_id,
        "category_id": category,
        "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
        "area": int(coco_mask.area(rle)),
        "bbox": [float(b) for b in coco_mask.toBbox(rle)],
        "iscrowd": 0,
        "label": value,
    }
    if mean_scores is not None:
        annotation["score"] = mean_scores[value]
    return annotation

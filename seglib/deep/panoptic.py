"""Panoptic segmentation: every pixel gets a class, and every object its own number.

Registered as method ``panoptic`` (kind ``panoptic``; labels are
``class_index * 1000 + instance_number``, 0 = void). Two backends:

- ``mask-rcnn``: Mask R-CNN's detections (COCO categories), each mask one
  instance, higher scores winning where masks overlap.
- ``bundled+watershed`` (the offline default): a bundled semantic network
  (``unet`` unless chosen otherwise) labels the classes, then, class by class,
  a distance-transform watershed splits touching objects of the same class:
  the guide's "deep plus traditional" hybrid. The network knows *what* is
  where; the distance transform knows that two disks touching at a neck are
  two disks.

``auto`` takes Mask R-CNN when its pretrained weights are already in torch's
cache (and no custom ``weights`` are given), else the hybrid.

>>> import seglib
>>> from seglib.datasets.shapes import make_scene
>>> from seglib.scoring import from_scene, score
>>> scene = make_scene(3, difficulty="medium")
>>> score(seglib.segment(scene.image, "panoptic"), from_scene(scene))["PQ"]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from ..cache import cached_stage
from ..metrics import PANOPTIC_DIVISOR
from ..registry import Param, register
from ..result import Segmentation
from . import bundled

BACKENDS = ("auto", "bundled+watershed", "mask-rcnn")
SEMANTIC_MODELS = tuple(bundled.MODELS)
_SMOOTH_SIGMA = 1.0  # smoothing of the distance transform: merges twin maxima of one discrete shape
_EIGHT = np.ones((3, 3), dtype=bool)


def split_class(mask: np.ndarray, *, split_depth: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split one class's mask into objects with a distance-transform watershed.

    Each object is a basin around a maximum of the (smoothed) distance to
    the background. Maxima are kept only if they rise at least
    ``split_depth`` pixels above the saddle to any higher maximum
    (h-maxima), so the neck between two touching objects splits them while
    the small bumps of one object's ridge do not. A connected piece
    without such a maximum still becomes one object.

    Parameters
    ----------
    mask : ndarray of bool, (H, W)
    split_depth : float
        The ``h`` of the h-maxima transform, in pixels.

    Returns
    -------
    objects : ndarray of int32, (H, W)
        0 outside ``mask``, objects numbered from 1.
    distance : ndarray of float64, (H, W)
        The smoothed distance transform.
    markers : ndarray of int32, (H, W)
        The watershed's seeds.
    """
    mask = np.asarray(mask, dtype=bool)
    distance = ndi.gaussian_filter(ndi.distance_transform_edt(mask), _SMOOTH_SIGMA) * mask
    pieces, n_pieces = ndi.label(mask, _EIGHT)
    peaks = h_maxima(distance, split_depth).astype(bool) & mask if mask.any() else mask
    markers, n_markers = ndi.label(peaks, _EIGHT)
    seeded = np.zeros(n_pieces + 1, dtype=bool)
    seeded[pieces[markers > 0]] = True
    unseeded = mask & ~seeded[pieces]
    markers = np.where(unseeded, pieces + n_markers, markers).astype(np.int32)
    objects = watershed(-distance, markers, mask=mask, connectivity=2)
    return _renumber(objects), distance, markers


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 1..n in order of value (0 stays 0)."""
    values, inverse = np.unique(labels, return_inverse=True)
    ranks = np.arange(len(values)) + (0 if values[0] == 0 else 1)
    return ranks[inverse.reshape(labels.shape)].astype(np.int32)


def drop_small(panoptic: np.ndarray, min_area: int) -> np.ndarray:
    """Segments smaller than ``min_area`` pixels become void (0); the rest keep their ids."""
    values, inverse, counts = np.unique(panoptic, return_inverse=True, return_counts=True)
    keep = np.where(counts >= min_area, values, 0)
    return keep[inverse.reshape(panoptic.shape)].astype(np.int32)


def panoptic_from_semantic(semantic: np.ndarray, *, split_depth: float = 2.0,
                           min_area: int = 20) -> tuple[np.ndarray, dict]:
    """Panoptic labels from a semantic map: each class (> 0) split into objects by :func:`split_class`.

    Class 0 (background) is void. Objects smaller than ``min_area`` pixels
    (specks of a wrong class, slivers) become void too.

    Returns
    -------
    panoptic : ndarray of int32, (H, W)
        ``class * 1000 + instance``, instances numbered 1.. per class.
    stages : dict
        ``distance transform`` (per pixel of its own class) and
        ``watershed markers`` (class * 1000 + seed).
    """
    semantic = np.asarray(semantic)
    panoptic = np.zeros(semantic.shape, dtype=np.int32)
    distance = np.zeros(semantic.shape, dtype=np.float64)
    markers = np.zeros(semantic.shape, dtype=np.int32)
    for c in np.unique(semantic):
        if c <= 0:
            continue
        mask = semantic == c
        objects, dist, seeds = split_class(mask, split_depth=split_depth)
        panoptic[mask] = c * PANOPTIC_DIVISOR + objects[mask]
        distance[mask] = dist[mask]
        markers[seeds > 0] = c * PANOPTIC_DIVISOR + seeds[seeds > 0]
    panoptic = _number_per_class(drop_small(panoptic, min_area))
    return panoptic, {"distance transform": distance, "watershed markers": markers}


def _number_per_class(panoptic: np.ndarray) -> np.ndarray:
    """Instance numbers made 1..n within each class (0 stays void)."""
    values, inverse = np.unique(panoptic, return_inverse=True)
    classes = values // PANOPTIC_DIVISOR
    numbers = np.zeros(len(values), dtype=np.int64)
    for c in np.unique(classes[values > 0]):
        members = np.flatnonzero((classes == c) & (values > 0))
        numbers[members] = c * PANOPTIC_DIVISOR + np.arange(1, len(members) + 1)
    return numbers[inverse.reshape(panoptic.shape)].astype(np.int32)


def panoptic_from_detections(instances: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Panoptic labels from an instance map (0 none, i = detection i) and each detection's class index."""
    numbers = np.zeros(len(classes) + 1, dtype=np.int64)
    for c in np.unique(classes):
        members = np.flatnonzero(classes == c)
        numbers[members + 1] = c * PANOPTIC_DIVISOR + np.arange(1, len(members) + 1)
    return numbers[instances].astype(np.int32)


# ---------------------------------------------------------------- backends

@cached_stage
def _semantic(image: np.ndarray, model: str, weights) -> dict:
    """The bundled network's semantic result (cached: the watershed sliders do not rerun it)."""
    _, info = bundled.load_model_info(model, weights)
    result = bundled._run(model, image, input_size=info["input_size"], weights=weights)
    return {"labels": result.labels, "scores": result.scores, "class_names": tuple(result.class_names),
            "stages": dict(result.stages), "input_size": info["input_size"]}


def _hybrid(image, *, model: str, split_depth: float, min_area: int, weights) -> Segmentation:
    found = _semantic(image, model, weights)
    panoptic, split_stages = panoptic_from_semantic(found["labels"], split_depth=split_depth, min_area=min_area)
    stages = {k: v for k, v in found["stages"].items() if k.startswith(("input", "probability", "class prob"))}
    stages["semantic classes (network)"] = found["labels"]
    stages.update(split_stages)
    n = len(np.unique(panoptic)) - (1 if (panoptic == 0).any() else 0)
    notes = [f"Backend: the bundled {model!r} network (at {found['input_size']} px) for the classes, then a "
             f"distance-transform watershed per class splits touching objects: {n} objects.",
             bundled.WARNING + "."]
    return Segmentation(labels=panoptic, class_names=list(found["class_names"]), scores=found["scores"],
                        stages=stages, notes=notes)


def _mask_rcnn(image, *, score_threshold: float, min_area: int, weights) -> Segmentation:
    from . import zoo

    instances, found = zoo.segment_instances(image, score_threshold=score_threshold, weights=weights)
    panoptic = _number_per_class(drop_small(panoptic_from_detections(found["instances"], found["labels"]),
                                            min_area))
    notes = ["Backend: Mask R-CNN (COCO): each detection is one instance of its class; where masks overlap the "
             "higher score wins. Pixels no detection claims are void.", *instances.notes]
    return Segmentation(labels=panoptic, class_names=list(found["class_names"]), stages=instances.stages,
                        notes=notes)


def choose_backend(backend: str, weights=None) -> str:
    """The backend ``auto`` stands for: Mask R-CNN if its weights are cached (and no custom weights given)."""
    if backend != "auto":
        return backend
    from . import zoo

    return "mask-rcnn" if weights is None and zoo.is_cached("mask-rcnn") else "bundled+watershed"


PARAMS = (
    Param("backend", "auto", choices=BACKENDS,
          help="Where instances come from: Mask R-CNN (photos, COCO classes; needs its downloaded weights) or a "
               "bundled network plus watershed (offline; shapes). Auto uses Mask R-CNN when its weights are cached."),
    Param("semantic_model", "unet", choices=SEMANTIC_MODELS,
          help="The bundled network that labels the classes for the watershed backend."),
    Param("split_depth", 2.0, low=0.5, high=10.0, step=0.5,
          help="How deep (pixels) the valley of the distance transform between two touching objects must be to "
               "split them. Lower splits more (even one long object); higher keeps touching objects together."),
    Param("min_area", 20, low=0, high=2000, step=10,
          help="Objects smaller than this many pixels become void: removes specks of a wrong class."),
    Param("score_threshold", 0.5, low=0.05, high=1.0, step=0.05,
          help="Mask R-CNN backend: keep detections at least this confident."),
)


@register("panoptic", title="Panoptic (deep + watershed, or Mask R-CNN)", family="deep", kind="panoptic",
          params=PARAMS, inputs=("weights",),
          description="Panoptic segmentation names the class of every pixel and tells objects of the same class "
                      "apart. Offline it fuses a bundled semantic network with a distance-transform watershed "
                      "that splits touching objects (deep plus traditional); with Mask R-CNN's weights it uses "
                      "the detector's instance masks.",
          references=("A. Kirillov, K. He, R. Girshick, C. Rother & P. Dollar, Panoptic segmentation, CVPR 2019.",
                      "L. Vincent & P. Soille, Watersheds in digital spaces: an efficient algorithm based on "
                      "immersion simulations, IEEE TPAMI 13(6), 1991.",
                      "K. He, G. Gkioxari, P. Dollar & R. Girshick, Mask R-CNN, ICCV 2017."))
def panoptic(image, *, backend="auto", semantic_model="unet", split_depth=2.0, min_area=20, score_threshold=0.5,
             weights=None) -> Segmentation:
    """Panoptic labels (``class * 1000 + instance``) from the chosen backend; ``weights`` replace its model's."""
    chosen = choose_backend(backend, weights)
    if chosen == "mask-rcnn":
        result = _mask_rcnn(image, score_threshold=score_threshold, min_area=min_area, weights=weights)
    else:
        result = _hybrid(image, model=semantic_model, split_depth=split_depth, min_area=min_area, weights=weights)
    if backend == "auto":
        result.notes.insert(0, f"Auto chose the {chosen} backend.")
    return result

"""Results against ground truth, pixel by pixel: class views, error maps and tidy score tables.

Pure functions of :class:`~seglib.result.Segmentation` and
:class:`~seglib.io.ground_truth.GroundTruth` (no Streamlit) behind the
dashboard's Compare and Evaluate pages:

- :func:`class_view` puts a result and the truth in the same class ids
  (foreground/background for binary masks, the truth's classes for
  semantic outputs; region outputs are first paired one-to-one with the
  true segments by :func:`~seglib.metrics.match_segments`, and leftover
  pieces form an "unmatched segment" class);
- :func:`error_map` marks every pixel as a true positive, false positive,
  false negative or wrong class; for region outputs as a matched segment,
  an extra piece (over-segmentation), a merge, or a background/object mix-up;
  for edge maps every boundary pixel as matched, spurious or missed within
  a tolerance. :func:`render_errors` paints it over the picture;
- :func:`scores_table`, :func:`class_iou_table` and :func:`confusion` give
  the numbers as tables and matrices.

>>> from seglib.datasets.shapes import make_scene
>>> from seglib.scoring import from_scene
>>> scene = make_scene(3, size=64)
>>> result = seglib.segment(scene.image, "otsu")                 # doctest: +SKIP
>>> errors = error_map(result, from_scene(scene))                  # doctest: +SKIP
>>> errors.counts["true positive"] > 0                             # doctest: +SKIP
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage as ndi

from . import metrics
from .imaging import as_float, resize_labels
from .io.ground_truth import GroundTruth
from .metrics import resolve_tolerance
from .result import Segmentation
# The private helpers keep these maps identical to the ones seglib.scoring scores.
from .scoring import (MANY_TO_ONE, METRIC_NAMES, ONE_TO_ONE, check_shapes, is_unsupervised, partitions, score, segment_match,
                      to_gt_classes)
from .viz import thicken

if TYPE_CHECKING:
    import pandas as pd

NOTHING, HIT, FALSE_POSITIVE, FALSE_NEGATIVE, WRONG_CLASS, IGNORED, SPLIT = range(7)
"""Codes of :attr:`ErrorMap.codes`: untouched background, then the error categories."""

# Okabe-Ito colours: told apart by colour-blind readers too.
ERROR_COLOURS = {
    HIT: (0, 158, 115),            # bluish green
    FALSE_POSITIVE: (213, 94, 0),  # vermillion
    FALSE_NEGATIVE: (0, 114, 178),  # blue
    WRONG_CLASS: (230, 159, 0),    # orange
    IGNORED: (150, 150, 150),
    SPLIT: (204, 121, 167),        # reddish purple
}
UNMATCHED = "unmatched segment"
"""Class name :func:`class_view` gives the pieces of a region output left over after one-to-one pairing."""
BAND_COLOUR = (240, 228, 66)  # yellow
_NAMES = {
    "pixels": {HIT: "true positive", FALSE_POSITIVE: "false positive", FALSE_NEGATIVE: "false negative",
               WRONG_CLASS: "wrong class", IGNORED: "ignored"},
    "boundaries": {HIT: "matched boundary", FALSE_POSITIVE: "spurious boundary",
                   FALSE_NEGATIVE: "missed boundary"},
    "segments": {HIT: "matched segment", SPLIT: "over-segmented", WRONG_CLASS: "merged",
                 FALSE_POSITIVE: "false positive", FALSE_NEGATIVE: "false negative", IGNORED: "ignored"},
}
_PIXEL_HELP = {
    HIT: "object pixel given its true class",
    FALSE_POSITIVE: "background called object",
    FALSE_NEGATIVE: "object called background",
    WRONG_CLASS: "object given another object's class",
    IGNORED: "void in the truth, not scored",
}
_BOUNDARY_HELP = {
    HIT: "predicted boundary within the tolerance of a true one",
    FALSE_POSITIVE: "predicted boundary far from every true one",
    FALSE_NEGATIVE: "true boundary far from every predicted one",
}
_SEGMENT_HELP = {
    HIT: "an object's pixels in the one segment paired with it",
    SPLIT: "an extra piece: a true segment cut into several (each true segment keeps one partner)",
    WRONG_CLASS: "an object's pixels inside another object's segment (merged)",
    FALSE_POSITIVE: "background pixels inside an object's segment",
    FALSE_NEGATIVE: "an object's pixels inside the background's segment",
    IGNORED: "void in the truth, not scored",
}
_HELPS = {"pixels": _PIXEL_HELP, "boundaries": _BOUNDARY_HELP, "segments": _SEGMENT_HELP}
_DIM = 0.45  # brightness of the gray picture under the error colours
_MAX_DIRECT_CLASSES = 1024  # class ids up to this are kept as they are; larger ones are renumbered


@dataclass(frozen=True)
class ClassView:
    """A result and its truth in the same class ids.

    Attributes
    ----------
    pred, truth : ndarray of int, (H, W)
        Class per pixel (``truth`` may hold ``ignore_index``).
    class_names : list of str
        Name of every class id that occurs in either map.
    ignore_index : int or None
        Truth value not scored.
    """

    pred: np.ndarray
    truth: np.ndarray
    class_names: list[str]
    ignore_index: int | None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class ErrorMap:
    """Where a result agrees with the truth and where it does not.

    Attributes
    ----------
    codes : ndarray of uint8, (H, W)
        :data:`NOTHING`, :data:`HIT`, :data:`FALSE_POSITIVE`,
        :data:`FALSE_NEGATIVE`, :data:`WRONG_CLASS`, :data:`IGNORED` or
        :data:`SPLIT` per pixel.
    style : {"pixels", "segments", "boundaries"}
        Pixel classes (masks and semantic outputs), segments paired
        one-to-one with the true segments (region outputs, see
        :func:`~seglib.scoring.is_unsupervised`), or boundary pixels (edge maps).
    band : ndarray of bool, (H, W)
        Pixels within ``tolerance`` of a true boundary.
    tolerance : float
        Boundary tolerance in pixels.
    """

    codes: np.ndarray
    style: str
    band: np.ndarray
    tolerance: float

    @property
    def legend(self) -> dict[str, tuple[int, int, int]]:
        """Name -> RGB colour of the categories this map can hold."""
        return {name: ERROR_COLOURS[code] for code, name in _NAMES[self.style].items()}

    @property
    def counts(self) -> dict[str, int]:
        """Name -> number of pixels of each category."""
        tally = np.bincount(self.codes.ravel(), minlength=len(ERROR_COLOURS) + 1)
        return {name: int(tally[code]) for code, name in _NAMES[self.style].items()}

    def resized(self, shape: tuple[int, int]) -> "ErrorMap":
        """The map at another size (nearest neighbour), e.g. for display.

        Boundary-style maps are thickened first when shrinking, so that no
        boundary pixel vanishes between the sampled ones.
        """
        shape = tuple(shape[:2])
        if shape == self.codes.shape:
            return self
        codes = self.codes
        factor = int(np.ceil(max(codes.shape[0] / shape[0], codes.shape[1] / shape[1])))
        if self.style == "boundaries" and factor > 1:
            codes = thicken(codes, factor)
        return replace(self, codes=resize_labels(codes, shape), band=resize_labels(self.band, shape))

    def describe(self) -> dict[str, str]:
        """Name -> what the category means, for a legend."""
        helps = _HELPS[self.style]
        return {name: helps[code] for code, name in _NAMES[self.style].items()}


def _names(names, n: int) -> list[str]:
    names = list(names or [])
    return names[:n] + [f"class {i}" for i in range(len(names), n)]


def class_view(result: Segmentation, gt: GroundTruth) -> ClassView | None:
    """The result and the truth in the same class ids, or None where classes do not apply.

    Binary masks and instance maps become background (0) / foreground (1)
    against ``gt.semantic != 0``. Semantic and panoptic outputs take the
    truth's class ids by class name. Region and cluster ids (any
    :func:`~seglib.scoring.is_unsupervised` result) are paired one-to-one
    with the true segments (:func:`~seglib.metrics.match_segments`) and take
    the class of their partner; pieces left without a partner get one more
    class, :data:`UNMATCHED`, so splitting an object shows as error.
    Edge maps, and truths without a semantic map (BSDS), give None.

    Raises
    ------
    ValueError
        When the truth's size differs from the result's.
    """
    check_shapes(result, gt)
    if result.kind == "edges" or gt.semantic is None:
        return None
    ignore = gt.ignore_index
    if result.kind in ("binary", "instance"):
        truth = (gt.semantic != 0).astype(np.int32)
        if ignore is not None:
            truth[gt.semantic == ignore] = ignore
        return ClassView((result.labels > 0).astype(np.int32), truth, ["background", "foreground"], ignore)
    valid = gt.semantic if ignore is None else gt.semantic[gt.semantic != ignore]
    if is_unsupervised(result, gt):
        pred = _paired_classes(result.labels, gt)
        n = max(int(pred.max(initial=0)), int(valid.max(initial=0))) + 1
        if n > _MAX_DIRECT_CLASSES:
            return _compacted_view(pred, gt, ignore, leftover=pred < 0)
        pred = np.where(pred < 0, n, pred)  # the leftover pieces: one more class
        return ClassView(pred.astype(np.int32), gt.semantic, _names(gt.class_names, n) + [UNMATCHED], ignore)
    labels = result.labels // metrics.PANOPTIC_DIVISOR if result.kind == "panoptic" else result.labels
    pred = to_gt_classes(Segmentation(labels, kind="semantic", class_names=result.class_names), gt)
    n = max(int(pred.max(initial=0)), int(valid.max(initial=0))) + 1
    if n > _MAX_DIRECT_CLASSES:
        return _compacted_view(pred, gt, ignore)
    return ClassView(pred.astype(np.int32), gt.semantic, _names(gt.class_names, n), ignore)


def _compacted_view(pred: np.ndarray, gt: GroundTruth, ignore, leftover: np.ndarray | None = None) -> ClassView:
    """Large class ids (a 16-bit label image) renumbered 0..k-1, so no table is sized by an id.

    Leftover pieces (``leftover``) get class k (:data:`UNMATCHED`) and ignored truth pixels k + 1.
    """
    compact = metrics.compact_labels(pred if leftover is None else np.where(leftover, 0, pred), gt.semantic,
                                     ignore_index=ignore)
    known = list(gt.class_names or [])
    names = [known[i] if i < len(known) else f"class {i}" for i in compact.ids.tolist()]
    new_pred, new_truth, new_ignore = compact.pred, compact.gt, compact.ignore_index
    if leftover is not None:
        k = len(names)
        new_pred[leftover] = k
        names.append(UNMATCHED)
        if new_ignore is not None:
            new_truth[new_truth == k] = k + 1
            new_ignore = k + 1
    return ClassView(new_pred, new_truth, names, new_ignore)


def _majority(segments: np.ndarray, classes: np.ndarray) -> dict[int, int]:
    """The class most pixels of each segment have (``segments`` -1 = left out)."""
    keep = segments >= 0
    seg = segments[keep].astype(np.int64)
    values, cls = np.unique(classes[keep], return_inverse=True)  # 1-D: far cheaper than unique(axis=1)
    keys, counts = np.unique(seg * len(values) + cls.ravel(), return_counts=True)
    pair_seg, pair_cls = np.divmod(keys, len(values))
    order = np.lexsort((pair_cls, -counts, pair_seg))  # per segment, the largest count first (ties: smaller class)
    first = np.unique(pair_seg[order], return_index=True)[1]
    return {int(pair_seg[order][i]): int(values[pair_cls[order][i]]) for i in first}


def _paired_classes(labels: np.ndarray, gt: GroundTruth) -> np.ndarray:
    """Class of each pixel's one-to-one partner segment; -1 for pieces without a partner."""
    match, truth = segment_match(labels, gt)
    partner = match.pred_to_true(labels)
    classes = _majority(truth, np.asarray(gt.semantic))
    lookup = np.array([classes.get(int(t), 0) for t in match.true_ids] + [-1])
    index = np.searchsorted(match.true_ids, partner)
    return np.where(partner >= 0, lookup[np.minimum(index, len(match.true_ids) - 1)], -1)


def _true_boundaries(gt: GroundTruth) -> np.ndarray | None:
    if gt.boundaries is not None:
        return np.asarray(gt.boundaries, dtype=bool)
    truths = partitions(gt)
    return metrics.boundaries(truths[0]) if truths else None


def _near(mask: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels within ``tolerance`` of a set pixel of ``mask`` (all False when it has none)."""
    if not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    return ndi.distance_transform_edt(~mask) <= tolerance


def _pixel_codes(view: ClassView) -> np.ndarray:
    pred, truth = view.pred, view.truth
    codes = np.full(pred.shape, NOTHING, dtype=np.uint8)
    object_truth, object_pred = truth != 0, pred != 0
    codes[object_truth & (pred == truth)] = HIT
    codes[object_truth & object_pred & (pred != truth)] = WRONG_CLASS
    codes[~object_truth & object_pred] = FALSE_POSITIVE
    codes[object_truth & ~object_pred] = FALSE_NEGATIVE
    if view.ignore_index is not None:
        codes[truth == view.ignore_index] = IGNORED
    return codes


def _segment_codes(labels: np.ndarray, gt: GroundTruth) -> np.ndarray:
    """Per pixel: matched, extra piece, merged, or background/object mix-up (see :data:`_SEGMENT_HELP`)."""
    match, truth = segment_match(labels, gt)
    partner = match.pred_to_true(labels)
    codes = np.full(labels.shape, WRONG_CLASS, dtype=np.uint8)
    background = gt.semantic is not None and 0 in match.true_ids
    if background:
        codes[(truth == 0) & (partner != 0)] = FALSE_POSITIVE
        codes[(truth > 0) & (partner == 0)] = FALSE_NEGATIVE
    codes[partner == truth] = HIT
    if background:
        codes[(truth == 0) & (partner == 0)] = NOTHING
    codes[partner < 0] = SPLIT
    codes[truth < 0] = IGNORED
    return codes


def _boundary_codes(pred_edges: np.ndarray, true_edges: np.ndarray, tolerance: float) -> np.ndarray:
    codes = np.full(pred_edges.shape, NOTHING, dtype=np.uint8)
    near_truth, near_pred = _near(true_edges, tolerance), _near(pred_edges, tolerance)
    codes[true_edges & ~near_pred] = FALSE_NEGATIVE
    codes[pred_edges & near_truth] = HIT
    codes[pred_edges & ~near_truth] = FALSE_POSITIVE
    return codes


def error_map(result: Segmentation, gt: GroundTruth, *, tolerance=None) -> ErrorMap:
    """Mark where ``result`` is right and wrong against ``gt``.

    Parameters
    ----------
    result : Segmentation
    gt : GroundTruth
        Same (H, W) as the result.
    tolerance : float, optional
        Boundary tolerance in pixels for edge maps and for the tolerance
        band; default 0.0075 x the image diagonal, as in the BSDS benchmark
        and :func:`~seglib.metrics.boundary_f1`.

    Returns
    -------
    ErrorMap
        Pixel style for results with classes (see :func:`class_view`):
        true positive (object pixel with its true class), false positive
        (background called object), false negative (object called
        background), wrong class, ignored. Segment style for region outputs
        (:func:`~seglib.scoring.is_unsupervised`), after pairing their
        segments one-to-one with the true ones: matched, over-segmented
        (a piece left without a partner), merged, false positive, false
        negative, ignored. Boundary style for edge maps and for truths
        holding only boundaries: matched, spurious and missed boundary pixels.

    Raises
    ------
    ValueError
        When the sizes differ, the truth holds no label map, or
        ``tolerance`` is negative.
    """
    check_shapes(result, gt)
    shape = result.labels.shape
    tol = resolve_tolerance(tolerance, shape)
    true_edges = _true_boundaries(gt)
    if true_edges is None:
        raise ValueError("the ground truth holds no label map or boundaries to compare with")
    band = _near(true_edges, tol)
    if result.kind != "edges" and is_unsupervised(result, gt) and partitions(gt):
        return ErrorMap(_segment_codes(result.labels, gt), "segments", band, tol)
    view = class_view(result, gt)
    if view is not None:
        return ErrorMap(_pixel_codes(view), "pixels", band, tol)
    pred_edges = result.labels != 0 if result.kind == "edges" else metrics.boundaries(result.labels)
    return ErrorMap(_boundary_codes(pred_edges, true_edges, tol), "boundaries", band, tol)


def render_errors(image, errors: ErrorMap, *, show_band: bool = False, line_width: int = 1) -> np.ndarray:
    """Paint an :class:`ErrorMap` over a dimmed gray copy of ``image``.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, 3)
        uint8 or float in [0, 1], the size of the error map.
    errors : ErrorMap
    show_band : bool
        Tint the boundary tolerance band yellow (errors inside it are within
        the tolerance boundary scores forgive).
    line_width : int
        Thicken boundary-style maps to this width so thin lines stay visible
        when the picture is shown smaller.

    Returns
    -------
    ndarray of uint8, (H, W, 3)
    """
    gray = as_float(np.asarray(image))
    if gray.ndim == 3:
        gray = gray @ np.array([0.2125, 0.7154, 0.0721])
    if gray.shape != errors.codes.shape:
        raise ValueError(f"`image` (shape {np.shape(image)}) must have the same (H, W) as the error map "
                         f"(shape {errors.codes.shape})")
    out = np.repeat((gray * _DIM * 255)[..., None], 3, axis=-1)
    if show_band:
        out[errors.band] = 0.6 * out[errors.band] + 0.4 * np.array(BAND_COLOUR)
    codes = thicken(errors.codes, line_width) if errors.style == "boundaries" else errors.codes
    lut = np.zeros((len(ERROR_COLOURS) + 1, 3))
    for code, colour in ERROR_COLOURS.items():
        lut[code] = colour
    painted = codes != NOTHING
    out[painted] = 0.2 * out[painted] + 0.8 * lut[codes[painted]]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def score_row(result: Segmentation, gt: GroundTruth) -> dict:
    """The scores of one result as a table row: ``kind``, its metrics, ``time (s)`` and ``error``.

    A result that cannot be scored (e.g. the sizes differ) gets no metrics
    and the reason in ``error``; otherwise ``error`` is "".
    """
    try:
        scores, error = score(result, gt), ""
    except ValueError as exc:
        scores, error = {}, str(exc)
    return {"kind": result.kind, **scores, "time (s)": result.elapsed_s, "error": error}


def scores_frame(rows) -> pd.DataFrame:
    """A table of :func:`score_row` rows (each with a ``method`` name), metrics in their usual order.

    Columns: ``method``, ``kind``, the metrics of :data:`~seglib.scoring.METRIC_NAMES`
    that at least one row has (NaN where a metric does not fit), ``time (s)``, ``error``.
    """
    import pandas as pd  # here: a server that only draws results never pays its 70 MB

    table = pd.DataFrame(list(rows))
    present = [m for m in METRIC_NAMES if m in table]
    return table.reindex(columns=["method", "kind", *present, "time (s)", "error"])


def scores_table(results, gt: GroundTruth) -> pd.DataFrame:
    """One row of scores per result (see :func:`scores_frame`).

    Parameters
    ----------
    results : iterable of (str, Segmentation)
        A display name and a result (None for a method that failed: it is left out).
    gt : GroundTruth
    """
    return scores_frame({"method": name, **score_row(result, gt)} for name, result in results if result is not None)


def class_iou(result: Segmentation, gt: GroundTruth) -> list[dict]:
    """``{"class", "IoU"}`` of every class present in the truth or the prediction; [] for edge maps.

    The :data:`UNMATCHED` pseudo-class of region outputs is left out (its IoU is 0 by definition).
    """
    view = class_view(result, gt)
    if view is None:
        return []
    scores = metrics.mean_iou(view.pred, view.truth, num_classes=view.num_classes, ignore_index=view.ignore_index)
    return [{"class": view.class_names[i], "IoU": float(scores.per_class[i])} for i in np.flatnonzero(scores.present)
            if view.class_names[i] != UNMATCHED]


def class_iou_table(results, gt: GroundTruth) -> pd.DataFrame:
    """Per-class IoU of several results in long format: columns ``method``, ``class``, ``IoU``.

    ``results`` is as for :func:`scores_table`; edge maps and failed results are left out.
    """
    import pandas as pd  # here, as in scores_frame

    rows = [{"method": name, **row} for name, result in results if result is not None
            for row in class_iou(result, gt)]
    return pd.DataFrame(rows, columns=["method", "class", "IoU"])


def confusion(result: Segmentation, gt: GroundTruth) -> tuple[np.ndarray, list[str]] | None:
    """Confusion matrix (rows: truth, columns: prediction) and class names; None for edge maps.

    Only classes that occur in the truth or the prediction are kept.
    """
    view = class_view(result, gt)
    if view is None:
        return None
    cm = metrics.confusion_matrix(view.pred, view.truth, num_classes=view.num_classes,
                                  ignore_index=view.ignore_index)
    keep = np.flatnonzero(cm.sum(axis=0) + cm.sum(axis=1))
    return cm[np.ix_(keep, keep)], [view.class_names[i] for i in keep]


SHORT_NAMES = {ONE_TO_ONE: "IoU (1-to-1)", MANY_TO_ONE: "IoU (many-to-1)"}
"""Names that fit a panel title; the tables and their help use the full ones."""


def short_name(metric: str) -> str:
    """``metric`` as a panel title shows it (``"IoU (1-to-1)"`` for the one-to-one mean IoU)."""
    return SHORT_NAMES.get(metric, metric)


DEFAULT_METRICS = {"binary": "IoU", "instance": "PQ", "panoptic": "PQ", "semantic": "mean IoU",
                   "regions": ONE_TO_ONE, "edges": "boundary F1"}


def default_metric(kind: str, available=METRIC_NAMES) -> str | None:
    """The headline metric of a result kind, if it is among ``available``; else the first available.

    The first available in :data:`~seglib.scoring.METRIC_NAMES` order, so an
    unsupervised semantic output (no plain mean IoU) gets the one-to-one score.
    """
    available = list(available)
    preferred = DEFAULT_METRICS.get(kind)
    if preferred in available:
        return preferred
    return available[0] if available else None

"""Score a :class:`~seglib.result.Segmentation` against ground truth with the metrics that fit.

Which metrics apply depends on what the method returns and what the ground
truth holds:

========== ==================================================================
kind       scores
========== ==================================================================
binary     pixel accuracy, Dice, IoU of the foreground (gt class != 0), boundary F1
semantic   pixel accuracy, mean IoU, Dice, boundary F1 (class ids matched to
           the truth's classes by name)
regions    mean IoU (one-to-one) against the true segments, mean IoU
           (many-to-one), boundary F1, adapted Rand error and variation of
           information (also for semantic outputs whose class names are not
           the truth's, e.g. multi-Otsu levels: see :func:`is_unsupervised`)
instance   foreground scores, boundary F1 and class-agnostic PQ
panoptic   PQ against the panoptic truth, plus the semantic scores
edges      boundary F1 of the edge map against the true boundaries
========== ==================================================================

Unsupervised outputs number their segments arbitrarily. Mapping every
segment to the class it overlaps most (``mean IoU (many-to-one)``, via
:func:`~seglib.metrics.match_labels`) forgives any split: cut an ellipse
into ten pieces and every piece still "is" the ellipse. The headline score
``mean IoU (one-to-one)`` pairs each true segment (an instance, with the
background as one segment) with at most one predicted segment
(:func:`~seglib.metrics.match_segments`); extra pieces and merged objects
count as errors, so more clusters cannot buy a better score.

For BSDS-style truth (several annotators, no classes) region and boundary
scores take the best annotator, as the BSDS benchmark's "best" column does.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import metrics
from .io.ground_truth import GroundTruth
from .result import Segmentation

ONE_TO_ONE = "mean IoU (one-to-one)"
MANY_TO_ONE = "mean IoU (many-to-one)"
METRIC_NAMES = ("pixel accuracy", "mean IoU", ONE_TO_ONE, MANY_TO_ONE, "Dice", "IoU", "boundary F1", "PQ",
                "adapted Rand error", "VI")
HIGHER_IS_BETTER = {name: name not in ("adapted Rand error", "VI") for name in METRIC_NAMES}
GAMEABLE = frozenset({MANY_TO_ONE})
"""Scores that more segments can raise without a better result: never used to pick a "best" setting."""
_DIVISOR = metrics.PANOPTIC_DIVISOR


def from_scene(scene) -> GroundTruth:
    """Wrap a :class:`~seglib.datasets.shapes.Scene`'s truth as a :class:`GroundTruth`."""
    return GroundTruth(semantic=scene.semantic, instances=scene.instances, panoptic=scene.panoptic,
                       class_names=list(scene.class_names), source_format="shapes")


# ----------------------------------------------------------------------------- what counts as foreground

STUFF_SUFFIXES = ("-merged", "-other", "-stuff")
"""Endings of COCO stuff category names (``grass-merged``, ``sky-other-merged``, ``wall-stuff``)."""
COCO_LAST_THING_ID = 91
"""COCO's thing categories have ids 1..90; COCO-Stuff and panoptic stuff categories 92..200."""
FOREGROUND_CHOICES = ("things", "stuff", "everything", "picked")
"""What :func:`select_foreground` can keep: things only, stuff only, every class, or picked classes."""


def stuff_classes(gt: GroundTruth) -> set[int]:
    """Class indices of the "stuff" (grass, sky, wall...) among the truth's COCO segments; empty otherwise.

    A COCO panoptic file says it per category (``isthing``): its stuff
    segments are the non-crowd ones without an instance number. A COCO
    instances file carries stuff only in the panoptic style ("-merged"
    classes, ids above 91); then those are stuff.
    """
    if not gt.segments:
        return set()
    if gt.source_format == "coco-panoptic":
        return {int(s["class_index"]) for s in gt.segments if not s.get("instance") and not s.get("iscrowd")}
    names = gt.class_names or []

    def stuff_named(index: int) -> bool:
        return 0 <= index < len(names) and names[index].endswith(STUFF_SUFFIXES)

    if not any(stuff_named(i) for i in range(len(names))):
        return set()
    return {int(s["class_index"]) for s in gt.segments
            if stuff_named(int(s["class_index"])) or int(s.get("category_id", 0)) > COCO_LAST_THING_ID}


def present_classes(gt: GroundTruth) -> list[int]:
    """Class indices (not background, not void) that occur in the truth's semantic map."""
    if gt.semantic is None:
        return []
    present = np.unique(gt.semantic)
    return [int(c) for c in present if c != 0 and c != gt.ignore_index]


def foreground_classes(gt: GroundTruth, choice: str, picked=()) -> set[int]:
    """The class indices that ``choice`` (one of :data:`FOREGROUND_CHOICES`) counts as foreground."""
    if choice not in FOREGROUND_CHOICES:
        raise ValueError(f"choice={choice!r} is not allowed: expected one of {', '.join(FOREGROUND_CHOICES)}")
    present = set(present_classes(gt))
    stuff = stuff_classes(gt) & present
    return {"things": present - stuff, "stuff": stuff, "everything": present,
            "picked": present & {int(c) for c in picked}}[choice]


def select_foreground(gt: GroundTruth, keep) -> GroundTruth:
    """The truth with only the classes ``keep`` as objects; every other class becomes background (0).

    ``semantic``, ``instances`` and ``panoptic`` all change (void pixels
    stay void); class names and ids do not, so scores still name classes.
    E.g. keep only "person" on a COCO photo to score a threshold on people,
    not on the grass and sky the file also annotates.
    """
    if gt.semantic is None:
        return gt
    keep = {int(c) for c in keep}
    semantic = np.asarray(gt.semantic)
    void = semantic == gt.ignore_index if gt.ignore_index is not None else np.zeros(semantic.shape, bool)
    dropped = ~np.isin(semantic, sorted(keep)) & ~void & (semantic != 0)

    def cleared(array):
        return None if array is None else np.where(dropped, 0, array).astype(np.int32)

    names = gt.class_names or []
    kept = [names[c] if c < len(names) else f"class {c}" for c in sorted(keep)]
    note = (f"foreground: {', '.join(kept[:6])}{', ...' if len(kept) > 6 else ''}; other classes count as background"
            if kept else "foreground: none of the classes; everything counts as background")
    return replace(gt, semantic=cleared(gt.semantic), instances=cleared(gt.instances),
                   panoptic=cleared(gt.panoptic), notes=[*gt.notes, note])


def check_shapes(result: Segmentation, gt: GroundTruth) -> None:
    """Raise ``ValueError`` when the truth's size differs from the result's."""
    shape = gt_shape(gt)
    if shape is not None and tuple(shape) != result.labels.shape:
        raise ValueError(f"ground truth is {shape[1]} x {shape[0]} pixels but the image is "
                         f"{result.labels.shape[1]} x {result.labels.shape[0]}; load the matching image "
                         "or resize the truth (seglib.io.ground_truth.resize_ground_truth)")


def gt_shape(gt: GroundTruth) -> tuple[int, int] | None:
    """(H, W) of the first label map the truth holds."""
    for array in (gt.semantic, gt.instances, gt.panoptic, gt.regions, gt.boundaries, *gt.annotators):
        if array is not None:
            return tuple(np.shape(array)[:2])
    return None


def _foreground(gt: GroundTruth) -> np.ndarray | None:
    if gt.semantic is None:
        return None
    fg = (gt.semantic != 0).astype(np.int32)
    if gt.ignore_index is not None:
        fg[gt.semantic == gt.ignore_index] = metrics.IGNORE_INDEX
    return fg


def partitions(gt: GroundTruth) -> list[np.ndarray]:
    """The truth's partitions into regions (instances, else annotators, else semantic)."""
    if gt.annotators:
        return list(gt.annotators)
    for array in (gt.instances, gt.regions, gt.semantic):
        if array is not None:
            return [array]
    return []


def _boundary_f1(pred: np.ndarray, gt: GroundTruth, *, pred_is_edges: bool = False) -> float | None:
    """Best boundary F1 over the truth's partitions; BSDS truths match pixels one-to-one as BSDS does."""
    matching = "one-to-one" if gt.source_format == "bsds" else "distance"
    if gt.annotator_boundaries:
        truths = [(b, True) for b in gt.annotator_boundaries]
    elif gt.boundaries is not None:
        truths = [(gt.boundaries, True)]
    else:
        truths = [(p, False) for p in partitions(gt)]
    if not truths:
        return None
    def f1(truth, is_edges):
        try:
            return metrics.boundary_f1(pred, truth, pred_is_edges=pred_is_edges, gt_is_edges=is_edges,
                                       matching=matching).f1
        except ValueError:  # one-to-one over its pair budget (a big picture): distance matching instead
            if matching != "one-to-one":
                raise
            return metrics.boundary_f1(pred, truth, pred_is_edges=pred_is_edges, gt_is_edges=is_edges).f1

    return max(float(f1(t, is_edges)) for t, is_edges in truths)


def _class_scores(pred: np.ndarray, gt: GroundTruth) -> dict[str, float]:
    ignore = gt.ignore_index if gt.ignore_index is not None else metrics.IGNORE_INDEX
    # renumbered to the labels present: scores are the same, tables as small as the classes that occur
    compact = metrics.compact_labels(pred, gt.semantic, ignore_index=ignore)
    pred, semantic, ignore, num_classes = compact.pred, compact.gt, compact.ignore_index, compact.num_classes
    miou = metrics.mean_iou(pred, semantic, num_classes=num_classes, ignore_index=ignore)
    dice = metrics.dice(pred, semantic, num_classes=num_classes, ignore_index=ignore)
    return {
        "pixel accuracy": float(metrics.pixel_accuracy(pred, semantic, num_classes=num_classes, ignore_index=ignore)),
        "mean IoU": float(miou.mean),
        "Dice": float(np.mean(np.asarray(dice)[miou.present])) if miou.present.any() else 1.0,
    }


def _binary_scores(mask: np.ndarray, fg: np.ndarray) -> dict[str, float]:
    mask = (mask > 0).astype(np.int32)
    return {
        "pixel accuracy": float(metrics.pixel_accuracy(mask, fg)),
        "Dice": float(metrics.dice(mask, fg)),
        "IoU": float(metrics.iou(mask, fg)),
    }


def _names_match(result: Segmentation, gt: GroundTruth) -> bool:
    names, truth_names = result.class_names, gt.class_names
    return bool(names and truth_names and set(names) <= set(truth_names))


def is_unsupervised(result: Segmentation, gt: GroundTruth) -> bool:
    """Whether ``result``'s ids are arbitrary for this truth, so it is scored by matching segments.

    True for region outputs (regions, clusters, superpixels) and for
    semantic outputs whose class names are not among the truth's (e.g.
    multi-Otsu's intensity levels, or a model trained on other classes).
    """
    return result.kind == "regions" or (result.kind == "semantic" and not _names_match(result, gt))


def to_gt_classes(result: Segmentation, gt: GroundTruth) -> np.ndarray:
    """Semantic prediction with ids of the truth's classes (by name, else by overlap, many-to-one)."""
    pred = result.labels
    names, truth_names = result.class_names, gt.class_names
    if _names_match(result, gt):
        lookup = np.array([truth_names.index(n) for n in names])
        return lookup[np.clip(pred, 0, len(names) - 1)]
    return metrics.match_labels(pred, gt.semantic, ignore_index=gt.ignore_index)


def _ignored(gt: GroundTruth) -> np.ndarray | None:
    """Pixels the truth marks void (``ignore_index`` in its semantic map), or None."""
    if gt.semantic is None or gt.ignore_index is None:
        return None
    void = np.asarray(gt.semantic) == gt.ignore_index
    return void if void.any() else None


def segment_match(pred: np.ndarray, gt: GroundTruth) -> tuple[metrics.SegmentMatch, np.ndarray] | None:
    """The one-to-one pairing of ``pred``'s segments with the truth's (best annotator), and that partition.

    Void pixels of the truth are left out (their partition value is -1 in
    the returned map). None when the truth holds no partition.
    """
    void = _ignored(gt)
    best = None
    for partition in partitions(gt):
        truth = np.asarray(partition, dtype=np.int64)
        if void is not None:
            truth = np.where(void, -1, truth)
        match = metrics.match_segments(pred, truth, ignore_labels=(-1,) if void is not None else ())
        if best is None or match.mean > best[0].mean:
            best = (match, truth)
    return best


def _region_scores(pred: np.ndarray, gt: GroundTruth) -> dict[str, float]:
    truths = partitions(gt)
    if not truths:
        return {}
    are = min(float(metrics.adapted_rand_error(pred, p).error) for p in truths)
    vi = min(float(sum(metrics.variation_of_information(pred, p))) for p in truths)
    return {"adapted Rand error": are, "VI": vi}


def _agnostic_panoptic(labels: np.ndarray) -> np.ndarray:
    """Every segment as an instance of one class (class 1), 0 stays void."""
    return np.where(labels > 0, _DIVISOR + labels % _DIVISOR, 0)


def score(result: Segmentation, gt: GroundTruth) -> dict[str, float]:
    """The metrics that fit ``result.kind`` and what ``gt`` holds.

    Parameters
    ----------
    result : Segmentation
    gt : GroundTruth
        From :func:`seglib.io.load_ground_truth` or :func:`from_scene`.

    Returns
    -------
    dict of str to float
        Keys from :data:`METRIC_NAMES`, in that order; only those that
        apply. Lower is better for adapted Rand error and VI, higher for the
        rest. Unsupervised outputs (:func:`is_unsupervised`) get
        :data:`ONE_TO_ONE` and :data:`MANY_TO_ONE` instead of pixel accuracy,
        mean IoU and Dice, which would all forgive splits.

    Raises
    ------
    ValueError
        When the truth's size differs from the result's.
    """
    check_shapes(result, gt)
    pred = result.labels
    kind = result.kind
    fg = _foreground(gt)
    out: dict[str, float] = {}
    unsupervised = is_unsupervised(result, gt)
    if kind == "edges":
        f1 = _boundary_f1(pred, gt, pred_is_edges=True)
        return {} if f1 is None else {"boundary F1": f1}
    if kind == "binary" and fg is not None:
        out.update(_binary_scores(pred, fg))
    elif kind == "instance" and fg is not None:
        out.update(_binary_scores(pred, fg))
    elif unsupervised:
        out.update(_unsupervised_scores(pred, gt))
    elif kind in ("semantic", "panoptic") and gt.semantic is not None:
        source = result if kind != "panoptic" else Segmentation(pred // _DIVISOR, kind="semantic",
                                                                class_names=result.class_names)
        out.update(_class_scores(to_gt_classes(source, gt), gt))
    f1 = _boundary_f1(pred, gt)
    if f1 is not None:
        out["boundary F1"] = f1
    if kind == "panoptic" and gt.panoptic is not None:
        out["PQ"] = float(metrics.panoptic_quality(pred, gt.panoptic).pq)
    elif kind == "instance" and gt.instances is not None:
        out["PQ"] = float(metrics.panoptic_quality(_agnostic_panoptic(pred), _agnostic_panoptic(gt.instances)).pq)
    if kind in ("regions", "instance") or unsupervised:
        out.update(_region_scores(pred, gt))
    return {name: out[name] for name in METRIC_NAMES if name in out}


def _unsupervised_scores(pred: np.ndarray, gt: GroundTruth) -> dict[str, float]:
    """One-to-one mean IoU against the true segments, and the many-to-one class score labelled as such."""
    out = {}
    matched = segment_match(pred, gt)
    if matched is not None:
        out[ONE_TO_ONE] = matched[0].mean
    if gt.semantic is not None:
        classes = metrics.match_labels(pred, gt.semantic, ignore_index=gt.ignore_index)
        out[MANY_TO_ONE] = _class_scores(classes, gt)["mean IoU"]
    return out

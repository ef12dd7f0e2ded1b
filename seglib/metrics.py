"""Scores that compare a predicted label map with the ground truth.

Every function takes ``(pred, gt, ...)``: the prediction first, the ground
truth second, both integer label arrays of the same shape (boolean masks are
accepted; float arrays are accepted when every value is a whole number).

Four families share a few private helpers:

- **Confusion-based** (:func:`confusion_matrix`, :func:`pixel_accuracy`,
  :func:`iou`, :func:`dice`, :func:`mean_iou`): one confusion matrix is
  counted, then each score is one line over its true positives, false
  positives and false negatives. Pixels whose ``gt`` equals ``ignore_index``
  (255, the Pascal VOC "void" border) are left out.
- **Boundary** (:func:`boundary_f1`): precision and recall of boundary pixels
  matched within a distance tolerance, as in the BSDS benchmark.
- **Panoptic** (:func:`panoptic_quality`): PQ, SQ and RQ of Kirillov et al.
  (2019) over labels ``class_index * 1000 + instance_number``, 0 = void.
- **Region** (:func:`adapted_rand_error`, :func:`variation_of_information`,
  :func:`match_segments`, :func:`match_labels`): for unsupervised outputs
  whose ids are arbitrary. :func:`match_segments` pairs segments one-to-one,
  so splitting a true segment into pieces costs score; :func:`match_labels`
  maps many segments onto one class, which forgives splits.

Zero division
-------------
One policy everywhere, set by the ``zero_division`` keyword (default 1.0):
when a ratio has a zero denominator because there is nothing to find *and*
nothing was predicted (two empty masks, a class absent from both maps, two
maps without a boundary), the ratio is ``zero_division``. A ratio whose
denominator is not zero is computed as usual, so an empty prediction against
a non-empty truth scores 0. No function here returns NaN.

>>> import numpy as np
>>> gt = np.array([[0, 0, 1, 1]])
>>> float(dice(np.array([[0, 1, 1, 1]]), gt))
0.8
>>> float(dice(np.zeros((2, 2), int), np.zeros((2, 2), int)))   # both empty
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
from scipy import ndimage as ndi
from scipy.optimize import linear_sum_assignment

from .checks import check_int, check_number, is_number
from .labels import boundaries, distinct

__all__ = [
    "BoundaryScore", "ClassScores", "PanopticScore", "RandError", "SegmentMatch", "VariationOfInformation",
    "adapted_rand_error", "boundaries", "boundary_f1", "confusion_matrix", "dice", "iou",
    "match_labels", "match_segments", "mean_iou", "panoptic_quality", "pixel_accuracy", "variation_of_information",
    "CompactLabels", "compact_labels", "MAX_CLASSES", "MAX_CONFUSION_CLASSES",
]

IGNORE_INDEX = 255
"""Ground-truth label left out of confusion-based scores (Pascal VOC void)."""

PANOPTIC_DIVISOR = 1000
"""Panoptic labels are ``class_index * PANOPTIC_DIVISOR + instance_number``."""

BSDS_TOLERANCE = 0.0075
"""Default boundary tolerance as a fraction of the image diagonal (BSDS ``maxDist``)."""

MAX_CLASSES = 65536
"""Most classes a per-class score is computed for (class ids 0 .. 65535): larger ids are regions or
instances, not classes; :func:`compact_labels` renumbers them first."""

MAX_CONFUSION_CLASSES = 4096
"""Largest confusion matrix :func:`confusion_matrix` builds (4096 x 4096 counts, 128 MiB)."""

MAX_MATCH_PAIRS = 2 ** 24
"""Most (region id, class) cells :func:`match_labels` assigns with the Hungarian algorithm at once."""

MAX_ONE_TO_ONE_CHECKS = 2 ** 24
"""Most (boundary pixel, offset) pairs ``boundary_f1(matching="one-to-one")`` tests (about 2 s)."""

_DENSE_PAIR_LIMIT = 2 ** 22


# ----------------------------------------------------------------------------- validation

def _as_labels(array, name: str) -> np.ndarray:
    """Return ``array`` as an int64 label array, or raise naming ``name``."""
    values = np.asarray(array)
    if values.dtype == bool or np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64, copy=False)
    if np.issubdtype(values.dtype, np.floating):
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise ValueError(f"`{name}` has dtype {values.dtype} with non-integer values; "
                             "expected an integer label array or a boolean mask")
        return values.astype(np.int64)
    raise ValueError(f"`{name}` has dtype {values.dtype}; expected an integer label array or a boolean mask")


def _check_pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``pred`` and ``gt`` together and return them as int64 arrays."""
    p, g = _as_labels(pred, "pred"), _as_labels(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"`pred` (shape {p.shape}) must have the same shape as `gt` (shape {g.shape})")
    return p, g


def _check_zero_division(value) -> float:
    return check_number(value, "zero_division", low=0, high=1)


def _check_count(value, name: str, low: int = 1) -> int:
    return check_int(value, name, low=low)


def _check_non_negative(labels: np.ndarray, name: str) -> None:
    if labels.size and labels.min() < 0:
        raise ValueError(f"`{name}` contains the negative label {int(labels.min())}; labels must be >= 0")


def _divide(numerator, denominator, zero_division: float):
    """``numerator / denominator``, with ``zero_division`` where the denominator is 0."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, zero_division, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out if out.ndim else float(out)


def _harmonic(precision: float, recall: float) -> float:
    """F1 of a precision and a recall; 0 when both are 0 (found things, all wrong)."""
    total = precision + recall
    return 2.0 * precision * recall / total if total > 0 else 0.0


# ----------------------------------------------------------------------------- confusion core

def _valid(p: np.ndarray, g: np.ndarray, ignore_index) -> tuple[np.ndarray, np.ndarray]:
    """Flatten and drop the pixels whose ``gt`` is ``ignore_index``."""
    p, g = p.ravel(), g.ravel()
    if ignore_index is None:
        return p, g
    keep = g != ignore_index
    return p[keep], g[keep]


def _resolve_num_classes(p: np.ndarray, g: np.ndarray, num_classes, cap: int = MAX_CLASSES) -> int:
    _check_non_negative(p, "pred")
    _check_non_negative(g, "gt")
    top = int(max(p.max(initial=0), g.max(initial=0)))
    if num_classes is None:
        n = top + 1
        if n > cap:
            raise ValueError(f"labels go up to {top}: too many classes (at most {cap} here; {_TOO_MANY_HINT})")
        return n
    n = _check_count(num_classes, "num_classes")
    if n > cap:
        raise ValueError(f"num_classes={n} is too many classes (at most {cap} here; {_TOO_MANY_HINT})")
    for labels, name in ((p, "pred"), (g, "gt")):
        if labels.size and labels.max() >= n:
            raise ValueError(f"`{name}` contains the label {int(labels.max())} but num_classes={n} "
                             f"allows 0..{n - 1}")
    return n


_TOO_MANY_HINT = ("ids this large are regions or instances, not classes: renumber them with compact_labels, "
                  "or score region ids with match_labels, adapted_rand_error or variation_of_information")


def _confusion(p: np.ndarray, g: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(g * n + p, minlength=n * n).reshape(n, n)


def _per_class_counts(p: np.ndarray, g: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tp, fp, fn of each class 0..n-1 from flat label arrays, in O(pixels + n) memory (no n x n matrix)."""
    tp = np.bincount(g[p == g], minlength=n)
    return tp, np.bincount(p, minlength=n) - tp, np.bincount(g, minlength=n) - tp


@dataclass(frozen=True)
class CompactLabels:
    """Two label maps renumbered together by :func:`compact_labels`.

    Attributes
    ----------
    pred, gt : ndarray of int32
        The maps with labels ``0 .. len(ids) - 1`` (0 stays 0); ignored ``gt``
        pixels hold ``ignore_index``.
    ids : ndarray of int64
        ``ids[i]`` is the original label now numbered ``i`` (``ids[0] == 0``).
    ignore_index : int or None
        ``len(ids)`` when ``gt`` had ignored pixels to keep apart, else None.
    """

    pred: np.ndarray
    gt: np.ndarray
    ids: np.ndarray
    ignore_index: int | None

    @property
    def num_classes(self) -> int:
        return len(self.ids)


def compact_labels(pred, gt, ignore_index=IGNORE_INDEX) -> CompactLabels:
    """Renumber the labels of ``pred`` and ``gt`` together to 0 .. k-1, in order, 0 staying 0.

    Class scores do not depend on the numbers of the classes, only on which
    pixels share one, so scoring the renumbered maps gives the same IoU,
    Dice and accuracy while every table is as small as the number of labels
    present (a 16-bit instance mask with labels 3, 12345 and 40000 needs 4
    classes, not 40001).

    Parameters
    ----------
    pred, gt : array of int, same shape
        Non-negative labels.
    ignore_index : int or None, optional
        ``gt`` value whose pixels are set apart (default 255); it gets the
        number ``k`` in the result.

    Returns
    -------
    CompactLabels

    Examples
    --------
    >>> c = compact_labels([[0, 40000]], [[3, 40000]])
    >>> c.pred.tolist(), c.gt.tolist(), c.ids.tolist()
    ([[0, 2]], [[1, 2]], [0, 3, 40000])
    """
    p, g = _check_pair(pred, gt)
    _check_non_negative(p, "pred")
    _check_non_negative(g, "gt")
    ignored = None if ignore_index is None else g == ignore_index
    counted = g if ignored is None else g[~ignored]
    ids = np.union1d(np.union1d(distinct(p), distinct(counted)), [0]).astype(np.int64)
    new_p = np.searchsorted(ids, p).astype(np.int32)
    new_g = np.searchsorted(ids, g).astype(np.int32)
    new_ignore = None
    if ignored is not None and ignored.any():
        new_ignore = len(ids)
        new_g[ignored] = new_ignore
    return CompactLabels(new_p, new_g, ids, new_ignore)


def confusion_matrix(pred, gt, num_classes=None, ignore_index=IGNORE_INDEX) -> np.ndarray:
    """Count pixels by (true class, predicted class).

    Parameters
    ----------
    pred, gt : array of int, same shape
        Predicted and true class index per pixel (0 .. num_classes - 1).
    num_classes : int, optional
        Size of the matrix. By default the largest label in either map + 1.
    ignore_index : int or None, optional
        Pixels whose ``gt`` has this value are not counted (255: the Pascal
        VOC void border). None counts every pixel.

    Returns
    -------
    ndarray of int64, shape (num_classes, num_classes)
        ``cm[i, j]`` is the number of pixels of true class ``i`` predicted as
        class ``j``: **rows are ground truth, columns are prediction** (the
        scikit-learn convention). The diagonal holds the true positives, a
        column's off-diagonal sum the false positives of that class, a row's
        the false negatives.

    Raises
    ------
    ValueError
        If the shapes differ, a label is negative or not below ``num_classes``.

    Examples
    --------
    >>> confusion_matrix([[0, 1], [1, 1]], [[0, 0], [1, 1]]).tolist()
    [[1, 1], [0, 2]]
    """
    p, g = _valid(*_check_pair(pred, gt), ignore_index)
    return _confusion(p, g, _resolve_num_classes(p, g, num_classes, MAX_CONFUSION_CLASSES))


def _class_counts(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diag(cm).astype(np.int64)
    return tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp


def _looks_like_0_255_mask(g: np.ndarray, ignore_index) -> bool:
    if ignore_index in (None, 0) or not np.any(g == ignore_index):
        return False
    return not np.any((g != 0) & (g != ignore_index))


def _binary_counts(pred, gt, ignore_index) -> tuple[int, int, int]:
    """tp, fp, fn of the foreground (nonzero) of two masks."""
    p, g = _check_pair(pred, gt)
    if _looks_like_0_255_mask(g, ignore_index):
        raise ValueError(f"`gt` holds only 0 and {ignore_index} (= ignore_index): a 0/{ignore_index} mask would have "
                         "all of its foreground ignored; pass `gt > 0`, or ignore_index=None")
    p, g = _valid(p, g, ignore_index)
    tp, fp, fn = _class_counts(_confusion((p != 0).astype(np.int64), (g != 0).astype(np.int64), 2))
    return int(tp[1]), int(fp[1]), int(fn[1])


def _overlap_counts(pred, gt, num_classes, ignore_index):
    """tp, fp, fn: scalars of the foreground if ``num_classes`` is None, else per class."""
    if num_classes is None:
        return _binary_counts(pred, gt, ignore_index)
    return _counts_by_class(pred, gt, num_classes, ignore_index)


def _counts_by_class(pred, gt, num_classes, ignore_index):
    """tp, fp, fn of each class, checked as :func:`confusion_matrix` checks its labels."""
    p, g = _valid(*_check_pair(pred, gt), ignore_index)
    return _per_class_counts(p, g, _resolve_num_classes(p, g, num_classes))


def pixel_accuracy(pred, gt, num_classes=None, ignore_index=IGNORE_INDEX, *, zero_division=1.0) -> float:
    """Fraction of (non-ignored) pixels whose predicted class is right.

    Parameters
    ----------
    pred, gt : array of int, same shape
    num_classes : int, optional
        Checked as in :func:`confusion_matrix`; does not change the score.
    ignore_index : int or None, optional
        ``gt`` value left out (default 255).
    zero_division : float, optional
        The score when no pixel is left to count (see the module notes).

    Returns
    -------
    float in [0, 1]
        ``trace(cm) / cm.sum()`` of :func:`confusion_matrix`.
    """
    zd = _check_zero_division(zero_division)
    p, g = _valid(*_check_pair(pred, gt), ignore_index)
    _resolve_num_classes(p, g, num_classes)
    return _divide(np.count_nonzero(p == g), p.size, zd)


_OVERLAP_DOC = """

    Parameters
    ----------
    pred, gt : array of int or bool, same shape
        Binary masks (foreground = nonzero) or, with ``num_classes``, class maps.
    num_classes : int, optional
        None (default) scores the foreground of two masks and returns a float.
        An integer scores each class 0 .. num_classes - 1 one-vs-rest and
        returns an array (see :func:`mean_iou` for the mean over classes).
    ignore_index : int or None, optional
        Pixels whose ``gt`` has this value are left out (default 255). A
        ``gt`` holding only 0 and 255 is refused in binary mode: it is a
        0/255 mask, not a mask with a void border; pass ``gt > 0``.
    zero_division : float, optional
        The score of two empty masks, or of a class absent from both maps
        (default 1.0). One empty mask against a non-empty one scores 0.

    Returns
    -------
    float, or ndarray of float64 of shape (num_classes,), in [0, 1]
    """


def iou(pred, gt, num_classes=None, ignore_index=IGNORE_INDEX, *, zero_division=1.0):
    """Intersection over union (Jaccard index): ``tp / (tp + fp + fn)``."""
    zd = _check_zero_division(zero_division)
    tp, fp, fn = (np.asarray(c) for c in _overlap_counts(pred, gt, num_classes, ignore_index))
    return _divide(tp, tp + fp + fn, zd)


def dice(pred, gt, num_classes=None, ignore_index=IGNORE_INDEX, *, zero_division=1.0):
    """Dice coefficient (F1 of the pixels): ``2 tp / (2 tp + fp + fn)`` = ``2 iou / (1 + iou)``."""
    zd = _check_zero_division(zero_division)
    tp, fp, fn = (np.asarray(c) for c in _overlap_counts(pred, gt, num_classes, ignore_index))
    return _divide(2 * tp, 2 * tp + fp + fn, zd)


iou.__doc__ += _OVERLAP_DOC + """
    Examples
    --------
    >>> float(iou([[0, 1, 1, 1]], [[0, 0, 1, 1]]))
    0.6666666666666666
"""
dice.__doc__ += _OVERLAP_DOC + """
    Examples
    --------
    >>> float(dice([[0, 1, 1, 1]], [[0, 0, 1, 1]]))
    0.8
"""


@dataclass(frozen=True)
class ClassScores:
    """A score per class and their mean over the classes that occur.

    Attributes
    ----------
    per_class : ndarray of float64, (C,)
        The score of each class; ``zero_division`` for classes absent from
        both maps.
    present : ndarray of bool, (C,)
        Whether the class occurs in ``pred`` or ``gt`` (non-ignored pixels).
    mean : float
        Mean of ``per_class`` over the present classes (``zero_division``
        when no class is present).
    """

    per_class: np.ndarray
    present: np.ndarray
    mean: float

    def __float__(self) -> float:
        return float(self.mean)


def mean_iou(pred, gt, num_classes=None, ignore_index=IGNORE_INDEX, *, zero_division=1.0) -> ClassScores:
    """IoU of every class and their mean (mIoU, the Pascal VOC score).

    Parameters
    ----------
    pred, gt : array of int, same shape
        Class index per pixel.
    num_classes : int, optional
        Number of classes; by default the largest label + 1.
    ignore_index : int or None, optional
        ``gt`` value left out (default 255).
    zero_division : float, optional
        IoU reported for a class absent from both maps, and the mean when no
        class is present at all.

    Returns
    -------
    ClassScores
        ``per_class``, ``present`` and ``mean``. Classes absent from both
        ``pred`` and ``gt`` are **excluded from the mean** (otherwise a
        20-class mIoU of an image showing 2 classes would be mostly made up).
        ``float(result)`` is the mean.

    Examples
    --------
    >>> scores = mean_iou([[0, 1], [1, 1]], [[0, 0], [1, 1]], num_classes=3)
    >>> scores.per_class.round(3).tolist(), scores.present.tolist(), round(scores.mean, 3)
    ([0.5, 0.667, 1.0], [True, True, False], 0.583)
    """
    zd = _check_zero_division(zero_division)
    tp, fp, fn = _counts_by_class(pred, gt, num_classes, ignore_index)
    union = tp + fp + fn
    per_class = _divide(tp, union, zd)
    present = union > 0
    mean = float(per_class[present].mean()) if present.any() else zd
    return ClassScores(per_class=per_class, present=present, mean=mean)


# ----------------------------------------------------------------------------- boundaries

@dataclass(frozen=True)
class BoundaryScore:
    """Boundary precision, recall and F-measure.

    Attributes
    ----------
    precision : float
        Fraction of predicted boundary pixels within ``tolerance`` of a true one.
    recall : float
        Fraction of true boundary pixels within ``tolerance`` of a predicted one.
    f1 : float
        Their harmonic mean.
    tolerance : float
        The distance used, in pixels.
    """

    precision: float
    recall: float
    f1: float
    tolerance: float


def resolve_tolerance(tolerance, shape: tuple[int, int]) -> float:
    """The boundary tolerance in pixels: ``tolerance``, or 0.0075 x the diagonal of ``shape`` when None."""
    if tolerance is None:
        return BSDS_TOLERANCE * float(np.hypot(*shape))
    if not is_number(tolerance) or not 0 <= tolerance < np.inf:
        raise ValueError(f"tolerance={tolerance!r} is not allowed: expected None (0.0075 x the image "
                         "diagonal, as in BSDS) or a distance in pixels >= 0")
    return float(tolerance)


def _matched(edges: np.ndarray, other: np.ndarray, tolerance: float) -> int:
    """How many ``edges`` pixels lie within ``tolerance`` of an ``other`` pixel."""
    if not other.any() or not edges.any():
        return 0
    distance = ndi.distance_transform_edt(~other)
    return int(np.count_nonzero(edges & (distance <= tolerance)))


def _matched_one_to_one(a: np.ndarray, b: np.ndarray, tolerance: float) -> int:
    """The most pairs (``a`` pixel, ``b`` pixel) within ``tolerance`` of each other, each pixel in one pair at most.

    A maximum bipartite matching (Hopcroft-Karp) on the graph joining every ``a`` pixel to the
    ``b`` pixels within the tolerance.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    if not a.any() or not b.any():
        return 0
    reach = int(np.floor(min(tolerance, float(np.hypot(*a.shape)))))
    checks = np.count_nonzero(a) * (2 * reach + 1) ** 2
    if checks > MAX_ONE_TO_ONE_CHECKS:
        raise ValueError(f"one-to-one boundary matching would test {checks:,} pixel pairs "
                         f"({np.count_nonzero(a):,} boundary pixels within {tolerance:.4g} px); at most "
                         f"{MAX_ONE_TO_ONE_CHECKS:,}: use matching='distance' or a smaller tolerance")
    dy, dx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    near = dy ** 2 + dx ** 2 <= tolerance ** 2
    index_b = np.full(b.shape, -1, dtype=np.int64)
    index_b[b] = np.arange(np.count_nonzero(b))
    ya, xa = np.nonzero(a)
    rows, cols = [], []
    for oy, ox in zip(dy[near], dx[near]):
        y, x = ya + oy, xa + ox
        inside = (y >= 0) & (y < b.shape[0]) & (x >= 0) & (x < b.shape[1])
        j = np.full(len(ya), -1, dtype=np.int64)
        j[inside] = index_b[y[inside], x[inside]]
        hit = j >= 0
        rows.append(np.flatnonzero(hit))
        cols.append(j[hit])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(len(ya), int(index_b.max()) + 1))
    return int(np.count_nonzero(maximum_bipartite_matching(graph, perm_type="column") >= 0))


MATCHINGS = ("distance", "one-to-one")


def boundary_f1(pred, gt, tolerance=None, *, pred_is_edges=False, gt_is_edges=False,
                zero_division=1.0, matching: str = "distance") -> BoundaryScore:
    """Boundary F-measure: how well the predicted region borders follow the true ones.

    Parameters
    ----------
    pred, gt : array of int, (H, W)
        Label maps (any ids: only where the label changes matters), or edge
        maps when ``pred_is_edges`` / ``gt_is_edges`` is set.
    tolerance : float, optional
        How far, in pixels, a boundary pixel may be from the other map's
        boundary and still count as matched. None (default) uses 0.0075 x the
        image diagonal, the BSDS benchmark's ``maxDist`` (4.3 px at 481 x 321).
        Use 0 to demand exact pixels; raise it for blurry or resized truths.
    pred_is_edges, gt_is_edges : bool, optional
        The map is already a boundary map (nonzero = edge pixel, e.g. the
        output of Canny) rather than a segmentation.
    zero_division : float, optional
        Precision when ``pred`` has no boundary, recall when ``gt`` has none
        (default 1.0): two maps without any boundary score 1.
    matching : {"distance", "one-to-one"}, optional
        ``"distance"`` (default): a pixel is matched when the other map has a
        boundary pixel within the tolerance, as in the DAVIS benchmark.
        ``"one-to-one"``: each boundary pixel matches at most one pixel of the
        other map (a maximum bipartite matching), as the BSDS benchmark's
        ``correspondPixels`` does, so a thick or doubled edge is not counted twice.

    Returns
    -------
    BoundaryScore
        ``precision``, ``recall``, ``f1`` and the ``tolerance`` in pixels.

    Notes
    -----
    Boundaries are those of :func:`boundaries`. With ``matching="distance"``
    a pixel is matched when the Euclidean distance transform of the other
    boundary map is within the tolerance, as in the DAVIS benchmark's F
    measure. The BSDS code matches pixels one-to-one; ``matching="one-to-one"``
    does too, with a maximum-cardinality matching (the BSDS code also prefers
    the shorter of equally many pairs, which changes no count), so a thick
    predicted edge scores lower with it than with ``"distance"``.

    References
    ----------
    .. [1] D. Martin, C. Fowlkes and J. Malik, "Learning to detect natural
       image boundaries using local brightness, color, and texture cues",
       IEEE TPAMI 26(5), 2004.
    .. [2] F. Perazzi et al., "A Benchmark Dataset and Evaluation Methodology
       for Video Object Segmentation", CVPR 2016.

    Examples
    --------
    >>> gt = np.zeros((10, 10), int); gt[:, 5:] = 1
    >>> pred = np.zeros((10, 10), int); pred[:, 6:] = 1
    >>> boundary_f1(pred, gt, tolerance=0).f1, boundary_f1(pred, gt, tolerance=1).f1
    (0.0, 1.0)
    """
    zd = _check_zero_division(zero_division)
    p, g = _check_pair(pred, gt)
    if p.ndim != 2:
        raise ValueError(f"`pred` and `gt` have shape {p.shape}; boundary_f1 expects 2-D (H, W) maps")
    if matching not in MATCHINGS:
        raise ValueError(f"matching={matching!r} is not allowed: expected one of {', '.join(map(repr, MATCHINGS))}")
    tol = resolve_tolerance(tolerance, p.shape)
    pb = p != 0 if pred_is_edges else boundaries(p)
    gb = g != 0 if gt_is_edges else boundaries(g)
    if matching == "one-to-one":
        pairs = _matched_one_to_one(pb, gb, tol)
        matched_pred = matched_gt = pairs
    else:
        matched_pred, matched_gt = _matched(pb, gb, tol), _matched(gb, pb, tol)
    precision = _divide(matched_pred, np.count_nonzero(pb), zd)
    recall = _divide(matched_gt, np.count_nonzero(gb), zd)
    return BoundaryScore(precision, recall, _harmonic(precision, recall), tol)


# ----------------------------------------------------------------------------- segments and pairs

def _segments(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ids, index of each pixel's id, and the area of each id."""
    flat = labels.ravel()
    if flat.size and 0 <= flat.min() and flat.max() <= max(_DENSE_PAIR_LIMIT, flat.size):
        counts = np.bincount(flat)  # small non-negative ids: count instead of sorting
        ids = np.flatnonzero(counts)
        lookup = np.zeros(len(counts), dtype=np.int64)
        lookup[ids] = np.arange(len(ids))
        return ids, lookup[flat], counts[ids]
    ids, inverse, area = np.unique(flat, return_inverse=True, return_counts=True)
    return ids, inverse.ravel(), area


def _pairs(rows: np.ndarray, cols: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse contingency table of two index arrays: (row, col, count) of each occurring pair."""
    key = rows.astype(np.int64) * n_cols + cols
    n_cells = (int(rows.max(initial=-1)) + 1) * n_cols
    if n_cells <= _DENSE_PAIR_LIMIT:
        counts = np.bincount(key, minlength=n_cells)
        key = np.flatnonzero(counts)
        counts = counts[key]
    else:
        key, counts = np.unique(key, return_counts=True)
    r, c = np.divmod(key, n_cols)
    return r, c, counts


# ----------------------------------------------------------------------------- panoptic quality

@dataclass(frozen=True)
class PanopticScore:
    """Panoptic quality and its two factors, overall and per class.

    Attributes
    ----------
    pq, sq, rq : float
        Means over the present classes of the per-class values (as the
        reference ``panopticapi`` reports them). Per class ``pq = sq * rq``;
        the means need not multiply exactly.
    per_class_pq, per_class_sq, per_class_rq : ndarray of float64, (C,)
    tp, fp, fn : ndarray of int64, (C,)
        Matched pairs, unmatched predictions and unmatched true segments.
    present : ndarray of bool, (C,)
        Classes with at least one segment in either map (``tp + fp + fn > 0``).
    class_names : list of str or None
    """

    pq: float
    sq: float
    rq: float
    per_class_pq: np.ndarray
    per_class_sq: np.ndarray
    per_class_rq: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    present: np.ndarray
    class_names: list[str] | None = None

    def __iter__(self):
        """Unpack as ``pq, sq, rq = panoptic_quality(pred, gt)``."""
        return iter((self.pq, self.sq, self.rq))


def _panoptic_classes(num_classes, class_names) -> int | None:
    if class_names is None:
        if num_classes is None:
            return None
        n = _check_count(num_classes, "num_classes")
        if n > MAX_CLASSES:
            raise ValueError(f"num_classes={n} is too many classes (at most {MAX_CLASSES})")
        return n
    if num_classes is not None and num_classes != len(class_names):
        raise ValueError(f"num_classes={num_classes!r} disagrees with class_names, which has {len(class_names)} names")
    return len(class_names)


def _segment_classes(ids: np.ndarray, real: np.ndarray, divisor: int, n, name: str) -> np.ndarray:
    classes = ids // divisor
    if n is not None and np.any(classes[real] >= n):
        bad = int(ids[real][classes[real] >= n][0])
        raise ValueError(f"`{name}` contains the label {bad} of class {bad // divisor}, but there are "
                         f"only {n} classes (0..{n - 1})")
    return classes


def _panoptic_counts(p: np.ndarray, g: np.ndarray, void, divisor: int, n):
    """Match segments as panopticapi does; return n, tp, fp, fn and the summed IoU, per class."""
    g_ids, g_index, g_area = _segments(g)
    p_ids, p_index, p_area = _segments(p)
    g_real, p_real = g_ids != void, p_ids != void
    if n is None:
        n = int(max((g_ids[g_real] // divisor).max(initial=0), (p_ids[p_real] // divisor).max(initial=0))) + 1
        if n > MAX_CLASSES:
            raise ValueError(f"the labels reach class index {n - 1} (label // label_divisor={divisor}); at most "
                             f"{MAX_CLASSES} classes are scored: is label_divisor right for these maps?")
    g_cls = _segment_classes(g_ids, g_real, divisor, n, "gt")
    p_cls = _segment_classes(p_ids, p_real, divisor, n, "pred")

    rows, cols, inter = _pairs(g_index, p_index, len(p_ids))
    on_void = np.zeros(len(p_ids))  # area of each predicted segment lying on true void
    on_void[cols[~g_real[rows]]] = inter[~g_real[rows]]
    union = g_area[rows] + p_area[cols] - inter - on_void[cols]
    iou_pairs = inter / np.maximum(union, 1)
    match = g_real[rows] & p_real[cols] & (g_cls[rows] == p_cls[cols]) & (iou_pairs > 0.5)

    unmatched_g = g_real.copy()
    unmatched_g[rows[match]] = False
    unmatched_p = p_real & (on_void <= 0.5 * p_area)
    unmatched_p[cols[match]] = False

    def per_class(classes, weights=None):
        return np.bincount(classes, weights=weights, minlength=n)[:n]

    matched_cls = g_cls[rows[match]]
    return (n, per_class(matched_cls), per_class(p_cls[unmatched_p]), per_class(g_cls[unmatched_g]),
            per_class(matched_cls, iou_pairs[match]))


def panoptic_quality(pred, gt, *, num_classes=None, class_names=None, void=0,
                     label_divisor=PANOPTIC_DIVISOR, zero_division=1.0) -> PanopticScore:
    """Panoptic quality (PQ) = segmentation quality (SQ) x recognition quality (RQ).

    Parameters
    ----------
    pred, gt : array of int, same shape
        Panoptic maps: ``class_index * label_divisor + instance_number``, one
        id per segment (a "stuff" region is one segment, e.g. instance 0).
        ``void`` marks unlabelled pixels.
    num_classes : int, optional
        Number of classes; by default the largest class index + 1.
    class_names : sequence of str, optional
        Names of the classes (sets ``num_classes``), kept in the result.
    void : int or None, optional
        The void label (default 0). With None every id is a segment, so
        class 0 / instance 0 can be scored as a stuff class.
    label_divisor : int, optional
        1000 (default): class ``i``'s instance ``k`` is ``i * 1000 + k``.
    zero_division : float, optional
        Reported for classes absent from both maps, and for pq, sq, rq when
        neither map has a segment.

    Returns
    -------
    PanopticScore

    Notes
    -----
    As defined by Kirillov et al. and computed by their ``panopticapi``:

    - A predicted and a true segment of the **same class** match when their
      IoU > 0.5 (so each segment matches at most one other). Predicted
      pixels lying on true void are left out of the union.
    - Per class: ``SQ = sum(IoU of matches) / TP``, ``RQ = TP / (TP + FP/2 +
      FN/2)``, ``PQ = SQ * RQ``.
    - An unmatched prediction lying more than half on true void is not a
      false positive; every unmatched true segment is a false negative.
    - A class with errors but no match has SQ = RQ = PQ = 0.

    Crowd regions (COCO ``iscrowd``) are not modelled.

    References
    ----------
    .. [1] A. Kirillov, K. He, R. Girshick, C. Rother and P. Dollar,
       "Panoptic Segmentation", CVPR 2019.

    Examples
    --------
    >>> gt = np.array([[1001, 1001, 0, 2001]])
    >>> pred = np.array([[1001, 1001, 1001, 1002]])
    >>> score = panoptic_quality(pred, gt)
    >>> round(score.pq, 3), score.tp.tolist(), score.fp.tolist(), score.fn.tolist()
    (0.333, [0, 1, 0], [0, 1, 0], [0, 0, 1])
    """
    zd = _check_zero_division(zero_division)
    divisor = _check_count(label_divisor, "label_divisor", low=2)
    n = _panoptic_classes(num_classes, class_names)
    p, g = _check_pair(pred, gt)
    _check_non_negative(p, "pred")
    _check_non_negative(g, "gt")
    n, tp, fp, fn, iou_sum = _panoptic_counts(p, g, void, divisor, n)
    present = (tp + fp + fn) > 0
    sq = np.where(present, _divide(iou_sum, tp, 0.0), zd)
    rq = _divide(tp, tp + 0.5 * fp + 0.5 * fn, zd)
    pq = _divide(iou_sum, tp + 0.5 * fp + 0.5 * fn, zd)

    def mean(values):
        return float(values[present].mean()) if present.any() else zd

    return PanopticScore(
        pq=mean(pq), sq=mean(sq), rq=mean(rq),
        per_class_pq=pq, per_class_sq=sq, per_class_rq=rq,
        tp=tp, fp=fp, fn=fn, present=present,
        class_names=list(class_names) if class_names is not None else None,
    )


# ----------------------------------------------------------------------------- region metrics

def _flat_pair(pred, gt, ignore_labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Both maps validated and flattened, without the pixels whose ``gt`` label is in ``ignore_labels``."""
    p, g = _check_pair(pred, gt)
    p, g = p.ravel(), g.ravel()
    ignore = tuple(ignore_labels)
    if ignore:
        keep = ~np.isin(g, ignore)
        p, g = p[keep], g[keep]
    return p, g


def _region_table(pred, gt, ignore_labels: Sequence[int]):
    """Contingency table of (gt region, pred region) pixel counts.

    Returns the count, gt-region area and pred-region area of every
    occurring pair, and the areas of all gt and all pred regions.
    """
    p, g = _flat_pair(pred, gt, ignore_labels)
    _, g_index, g_area = _segments(g)
    _, p_index, p_area = _segments(p)
    rows, cols, counts = _pairs(g_index, p_index, len(p_area))
    as_float = (np.asarray(a, dtype=np.float64) for a in (counts, g_area[rows], p_area[cols], g_area, p_area))
    return tuple(as_float)


class RandError(NamedTuple):
    """Adapted Rand error with its pair precision and recall (unpacks like scikit-image's tuple)."""

    error: float
    precision: float
    recall: float


def adapted_rand_error(pred, gt, *, ignore_labels=(), alpha=0.5, zero_division=1.0) -> RandError:
    """Adapted Rand error: 1 - F-score of "these two pixels are in the same region".

    Parameters
    ----------
    pred, gt : array of int, same shape
        Region maps; ids are arbitrary (relabelling either map changes nothing).
    ignore_labels : sequence of int, optional
        ``gt`` labels whose pixels are left out. Default: none. (scikit-image
        ignores ``gt == 0`` by default, the SNEMI3D convention where 0 marks
        membrane; pass ``ignore_labels=(0,)`` to do the same.)
    alpha : float in [0, 1], optional
        Weight in ``1 / F = alpha / recall + (1 - alpha) / precision``;
        0.5 (default) is the plain F1, as in scikit-image.
    zero_division : float, optional
        Precision (recall) when ``pred`` (``gt``) puts no two pixels together.

    Returns
    -------
    RandError
        ``error`` in [0, 1] (0 = same partition), ``precision`` = pairs joined
        in both maps / pairs joined in ``pred`` (low when regions are merged),
        ``recall`` = the same over pairs joined in ``gt`` (low when regions are
        split). The error equals ``skimage.metrics.adapted_rand_error(gt,
        pred)[0]``; scikit-image returns precision and recall swapped
        (scikit-image issue #6485).

    References
    ----------
    .. [1] I. Arganda-Carreras, S. C. Turaga, D. R. Berger et al.,
       "Crowdsourcing the creation of image segmentation algorithms for
       connectomics", Frontiers in Neuroanatomy 9:142, 2015.
    """
    zd = _check_zero_division(zero_division)
    check_number(alpha, "alpha", low=0, high=1)
    counts, _, _, g_area, p_area = _region_table(pred, gt, ignore_labels)
    n = counts.sum()
    joined_both = counts @ counts - n
    joined_gt = g_area @ g_area - n
    joined_pred = p_area @ p_area - n
    precision = _divide(joined_both, joined_pred, zd)
    recall = _divide(joined_both, joined_gt, zd)
    fscore = _divide(joined_both, alpha * joined_gt + (1 - alpha) * joined_pred, zd)
    return RandError(1.0 - fscore, precision, recall)


class VariationOfInformation(NamedTuple):
    """The two conditional entropies (bits) whose sum is the variation of information."""

    split: float
    merge: float

    @property
    def total(self) -> float:
        """VI = split + merge."""
        return self.split + self.merge


def _conditional_entropy(counts: np.ndarray, given_area: np.ndarray) -> float:
    """H(A | B) in bits, from the pixel count of each (a, b) pair and the area of its b."""
    n = counts.sum()
    return float(-(counts / n * np.log2(counts / given_area)).sum()) if n else 0.0


def variation_of_information(pred, gt, *, ignore_labels=()) -> VariationOfInformation:
    """Variation of information between two partitions, split into its two parts.

    Parameters
    ----------
    pred, gt : array of int, same shape
        Region maps; ids are arbitrary.
    ignore_labels : sequence of int, optional
        ``gt`` labels whose pixels are left out (default: none, as in
        scikit-image).

    Returns
    -------
    VariationOfInformation
        ``split`` = H(pred | gt), the over-segmentation (true regions cut into
        pieces), ``merge`` = H(gt | pred), the under-segmentation (true regions
        fused), both in bits, and ``total`` = their sum (0 = same partition).
        Equals ``skimage.metrics.variation_of_information(gt, pred)``.

    References
    ----------
    .. [1] M. Meila, "Comparing clusterings - an information based distance",
       Journal of Multivariate Analysis 98(5), 2007.
    """
    counts, pair_g_area, pair_p_area, _, _ = _region_table(pred, gt, ignore_labels)
    return VariationOfInformation(split=_conditional_entropy(counts, pair_g_area),
                                  merge=_conditional_entropy(counts, pair_p_area))


@dataclass(frozen=True)
class SegmentMatch:
    """A one-to-one pairing of predicted segments with true segments.

    Attributes
    ----------
    true_ids : ndarray of int64, (T,)
        Ids of the true segments, sorted.
    iou : ndarray of float64, (T,)
        IoU of each true segment with its partner; 0 for a true segment left
        without one.
    true_area : ndarray of int64, (T,)
        Pixels of each true segment.
    partner : ndarray of int64, (T,)
        Predicted id paired with each true segment (-1: none).
    pred_ids : ndarray of int64, (P,)
        Ids of the predicted segments, sorted.
    matched_to : ndarray of int64, (P,)
        Index into ``true_ids`` of each predicted segment's partner; -1 for
        a predicted segment left over (an extra piece: over-segmentation).
    zero_division : float
        :attr:`mean` and :attr:`covering` when there is no true segment.
    """

    true_ids: np.ndarray
    iou: np.ndarray
    true_area: np.ndarray
    partner: np.ndarray
    pred_ids: np.ndarray
    matched_to: np.ndarray
    zero_division: float = 1.0

    @property
    def mean(self) -> float:
        """Mean IoU over the true segments, each counting once (unmatched ones as 0)."""
        return float(self.iou.mean()) if self.iou.size else self.zero_division

    @property
    def covering(self) -> float:
        """The same mean weighted by the true segments' areas."""
        total = self.true_area.sum()
        return float(self.iou @ self.true_area / total) if total else self.zero_division

    @property
    def unmatched_pred(self) -> int:
        """Predicted segments without a partner."""
        return int(np.count_nonzero(self.matched_to < 0))

    def pred_to_true(self, pred) -> np.ndarray:
        """The true id each pixel's predicted segment is paired with, -1 where it has none.

        ``pred`` must only hold ids of :attr:`pred_ids`.
        """
        pred = np.asarray(pred)
        index = np.searchsorted(self.pred_ids, pred)
        index = np.clip(index, 0, max(len(self.pred_ids) - 1, 0))
        if not self.pred_ids.size or np.any(self.pred_ids[index] != pred):
            raise ValueError("`pred` holds ids that this SegmentMatch was not made from")
        lookup = np.where(self.matched_to >= 0, self.true_ids[np.maximum(self.matched_to, 0)], -1)
        return lookup[index]


def _greedy_pairs(rows: np.ndarray, cols: np.ndarray, iou: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs by falling IoU, each row and column used once (for tables too large to solve exactly)."""
    used_rows, used_cols, keep = set(), set(), []
    for k in np.argsort(-iou, kind="stable"):
        r, c = int(rows[k]), int(cols[k])
        if r not in used_rows and c not in used_cols:
            used_rows.add(r)
            used_cols.add(c)
            keep.append(k)
    keep = np.asarray(keep, dtype=np.int64)
    return rows[keep], cols[keep]


def match_segments(pred, gt, *, ignore_labels=(), zero_division=1.0) -> SegmentMatch:
    """Pair predicted segments with true segments one-to-one, to score region outputs honestly.

    Each true segment gets at most one predicted segment and each predicted
    segment at most one true segment, chosen so that the summed IoU is
    largest. The pieces left over count as errors: a true segment split in
    three keeps only its largest piece's IoU, and two true segments merged
    into one predicted segment leave one of them unmatched. So, unlike
    :func:`match_labels`, more segments do not buy a better score.

    Parameters
    ----------
    pred, gt : array of int, same shape
        Segment ids (arbitrary; ``gt`` usually holds instances with 0 as the
        background segment).
    ignore_labels : sequence of int, optional
        ``gt`` labels whose pixels are left out (default: none).
    zero_division : float, optional
        The mean when ``gt`` has no counted pixel.

    Returns
    -------
    SegmentMatch
        ``mean`` is the mean IoU over true segments (one-to-one), ``covering``
        the area-weighted mean (segmentation covering with a one-to-one
        partner instead of the best overlap).

    Notes
    -----
    The pairing maximises the summed IoU with the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``) over the overlapping pairs.
    When the table of true x predicted segments exceeds about four million
    cells, pairs are taken greedily by falling IoU instead. Pairs of IoU
    above 0.5 are the same either way (each segment has at most one such
    partner), as in panoptic quality's matching.

    Examples
    --------
    >>> gt = [[1, 1, 1, 1, 2, 2]]
    >>> round(match_segments([[7, 7, 7, 7, 5, 5]], gt).mean, 3)      # right
    1.0
    >>> round(match_segments([[7, 7, 8, 8, 5, 5]], gt).mean, 3)      # segment 1 split in two
    0.75
    """
    zd = _check_zero_division(zero_division)
    p, g = _flat_pair(pred, gt, ignore_labels)
    g_ids, g_index, g_area = _segments(g)
    p_ids, p_index, p_area = _segments(p)
    rows, cols, inter = _pairs(g_index, p_index, len(p_ids))
    iou_pairs = inter / (g_area[rows] + p_area[cols] - inter)
    if len(g_ids) * len(p_ids) <= _DENSE_PAIR_LIMIT:
        table = np.zeros((len(g_ids), len(p_ids)))
        table[rows, cols] = iou_pairs
        r, c = linear_sum_assignment(table, maximize=True)
        keep = table[r, c] > 0
        r, c = r[keep], c[keep]
    else:
        r, c = _greedy_pairs(rows, cols, iou_pairs)
    lookup = dict(zip(zip(rows.tolist(), cols.tolist()), iou_pairs.tolist()))
    iou = np.zeros(len(g_ids))
    iou[r] = [lookup[(int(a), int(b))] for a, b in zip(r, c)]
    partner = np.full(len(g_ids), -1, dtype=np.int64)
    partner[r] = p_ids[c]
    matched_to = np.full(len(p_ids), -1, dtype=np.int64)
    matched_to[c] = r
    return SegmentMatch(g_ids.astype(np.int64), iou, g_area.astype(np.int64), partner,
                        p_ids.astype(np.int64), matched_to, zd)


def _first_seen_order(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number distinct ids by first appearance in raster order.

    Returns the sorted ids, the number of each id and the number of each
    pixel's id. Numbering by position rather than by value makes
    :func:`match_labels` independent of how the ids were chosen.
    """
    ids, index, _ = _segments(labels)
    first = np.full(len(ids), index.size)
    np.minimum.at(first, index, np.arange(index.size))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(ids))
    return ids, rank, index


def _assign(rows, cols, counts, n_ids: int, n_classes: int) -> np.ndarray:
    """Class of each id: one-to-one by the Hungarian algorithm, the rest by largest overlap.

    When ids x classes is over :data:`MAX_MATCH_PAIRS`, only each class's
    ``n_classes`` most-overlapping ids enter the assignment: an optimal
    one-to-one assignment never needs another id (a class given an id outside
    its top ``n_classes`` has one of those left free, overlapping at least as
    much), so the result is still optimal while the table stays small.
    """
    order = np.lexsort((cols, -counts, rows))  # per id: largest overlap first, ties to the smaller class
    first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]] if len(order) else order
    best = np.zeros(n_ids, dtype=np.int64)
    best[rows[first]] = cols[first]
    candidates = np.arange(n_ids)
    if n_ids * n_classes > MAX_MATCH_PAIRS:
        if n_classes ** 3 > MAX_MATCH_PAIRS:
            raise ValueError(f"`gt` has {n_classes} classes and `pred` {n_ids} region ids: too many to match one "
                             f"to one (at most {round(MAX_MATCH_PAIRS ** (1 / 3))} classes when there are this many "
                             "ids); is `gt` a class map rather than an instance map?")
        by_class = np.lexsort((rows, -counts, cols))
        rank = np.arange(len(by_class)) - np.searchsorted(cols[by_class], cols[by_class])
        candidates = np.unique(rows[by_class[rank < n_classes]])
    position = np.full(n_ids, -1, dtype=np.int64)
    position[candidates] = np.arange(len(candidates))
    overlap = np.zeros((len(candidates), n_classes), dtype=np.int64)
    keep = position[rows] >= 0
    overlap[position[rows[keep]], cols[keep]] = counts[keep]
    matched_rows, matched_cols = linear_sum_assignment(overlap, maximize=True)
    best[candidates[matched_rows]] = matched_cols
    return best


def match_labels(pred, gt, *, ignore_index=IGNORE_INDEX, return_mapping=False):
    """Rename arbitrary region or cluster ids to the ground-truth classes they cover.

    Clustering and region methods number their segments arbitrarily (k-means
    cluster 2 may be the sky); this maps them onto ``gt``'s classes so that
    :func:`pixel_accuracy`, :func:`mean_iou` or a confusion matrix can score
    them.

    Parameters
    ----------
    pred : array of int
        Region / cluster ids.
    gt : array of int, same shape
        Class per pixel.
    ignore_index : int or None, optional
        ``gt`` value whose pixels do not vote (default 255).
    return_mapping : bool, optional
        Also return the ``{pred id: gt class}`` dictionary.

    Returns
    -------
    remapped : ndarray of int64, same shape as ``pred``
    mapping : dict of int to int
        Only with ``return_mapping``.

    Notes
    -----
    First the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``)
    pairs ids with classes one-to-one so that the total overlap is largest.
    Ids left over (more ids than classes) map to the class they overlap most,
    so several segments can form one class; ties, and ids that overlap no
    counted pixel, go to the smallest class. Ids are ranked by first
    appearance before matching, so renaming the ids of ``pred`` never changes
    the result. When ``gt`` has no counted pixel, ``pred`` is returned as is.

    Examples
    --------
    >>> match_labels([[7, 7, 3, 3, 5]], [[0, 0, 1, 1, 1]]).tolist()
    [[0, 0, 1, 1, 1]]
    """
    p, g = _check_pair(pred, gt)
    ids, id_rank, pixel_index = _first_seen_order(p)
    g = g.ravel()
    valid = slice(None) if ignore_index is None else g != ignore_index
    classes, class_index, _ = _segments(g[valid])
    if classes.size == 0:
        target = ids
    else:
        rows, cols, counts = _pairs(id_rank[pixel_index[valid]], class_index, len(classes))
        target = classes[_assign(rows, cols, counts, len(ids), len(classes))[id_rank]]
    remapped = target[pixel_index].reshape(p.shape)
    if not return_mapping:
        return remapped
    return remapped, {int(i): int(t) for i, t in zip(ids, target)}

"""Tests for seglib.metrics: references (scikit-learn, scikit-image), hand-computed cases, properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage import metrics as skm
from sklearn import metrics as skl

from seglib import metrics as M

FAST = settings(max_examples=60, deadline=None)


def label_maps(max_label=3, shape=(6, 7)):
    return arrays(np.int64, shape, elements=st.integers(0, max_label))


masks = arrays(bool, (6, 7))


def permuted(labels, seed):
    """Rename the ids of ``labels`` by a random permutation onto other numbers."""
    ids = np.unique(labels)
    new = np.random.default_rng(seed).permutation(1000)[: len(ids)] + 7
    return new[np.searchsorted(ids, labels)]


# ----------------------------------------------------------------------------- references


@pytest.fixture
def class_maps():
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 4, (20, 30))
    gt[:2] = 255  # a void band
    pred = np.where(rng.random(gt.shape) < 0.7, np.where(gt == 255, 0, gt), rng.integers(0, 4, gt.shape))
    return pred, gt


def test_confusion_matrix_rows_are_gt_like_scikit_learn(class_maps):
    pred, gt = class_maps
    keep = gt != 255
    expected = skl.confusion_matrix(gt[keep], pred[keep], labels=range(4))
    np.testing.assert_array_equal(M.confusion_matrix(pred, gt), expected)
    np.testing.assert_array_equal(M.confusion_matrix(pred, gt, num_classes=5)[:4, :4], expected)


def test_ignore_index_none_counts_every_pixel():
    gt = np.array([[0, 255], [1, 1]])
    pred = np.array([[0, 1], [1, 1]])
    assert M.confusion_matrix(pred, gt, ignore_index=None).sum() == 4
    assert M.confusion_matrix(pred, gt).sum() == 3
    assert M.pixel_accuracy(pred, gt) == 1.0


def test_pixel_accuracy_agrees_with_scikit_learn(class_maps):
    pred, gt = class_maps
    keep = gt != 255
    assert M.pixel_accuracy(pred, gt) == pytest.approx(skl.accuracy_score(gt[keep], pred[keep]))


@pytest.mark.parametrize("ours, theirs", [(M.iou, skl.jaccard_score), (M.dice, skl.f1_score)])
def test_per_class_scores_agree_with_scikit_learn(class_maps, ours, theirs):
    pred, gt = class_maps
    keep = gt != 255
    expected = theirs(gt[keep], pred[keep], labels=range(6), average=None, zero_division=1.0)
    np.testing.assert_allclose(ours(pred, gt, num_classes=6), expected)


@pytest.mark.parametrize("ours, theirs", [(M.iou, skl.jaccard_score), (M.dice, skl.f1_score)])
def test_binary_scores_agree_with_scikit_learn(ours, theirs):
    rng = np.random.default_rng(2)
    gt = rng.integers(0, 3, (15, 15))  # foreground = nonzero, whatever the id
    pred = rng.random((15, 15)) < 0.5
    assert ours(pred, gt) == pytest.approx(theirs(gt.ravel() > 0, pred.ravel()))


def test_mean_iou_excludes_classes_absent_from_both_maps():
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    scores = M.mean_iou(pred, gt, num_classes=4)
    np.testing.assert_allclose(scores.per_class, [0.5, 2 / 3, 1.0, 1.0])
    np.testing.assert_array_equal(scores.present, [True, True, False, False])
    assert scores.mean == pytest.approx((0.5 + 2 / 3) / 2)
    assert float(scores) == scores.mean
    assert scores.mean == pytest.approx(M.mean_iou(pred, gt).mean)


def test_mean_iou_of_a_fully_ignored_map_is_zero_division():
    gt = np.full((3, 3), 255)
    assert M.mean_iou(np.zeros((3, 3), int), gt, zero_division=0.0).mean == 0.0
    assert M.mean_iou(np.zeros((3, 3), int), gt).mean == 1.0


# ----------------------------------------------------------------------------- empty masks, zero division


def test_empty_masks_follow_the_zero_division_policy():
    empty, full = np.zeros((4, 4), bool), np.ones((4, 4), bool)
    for score in (M.dice, M.iou):
        assert score(empty, empty) == 1.0
        assert score(empty, empty, zero_division=0.0) == 0.0
        assert score(empty, full) == 0.0
        assert score(full, empty) == 0.0
    assert M.pixel_accuracy(np.zeros((2, 2), int), np.full((2, 2), 255)) == 1.0


def test_absent_class_gets_zero_division_not_nan():
    per_class = M.iou(np.zeros((3, 3), int), np.zeros((3, 3), int), num_classes=3, zero_division=0.5)
    np.testing.assert_array_equal(per_class, [1.0, 0.5, 0.5])


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("func", [M.confusion_matrix, M.pixel_accuracy, M.dice, M.iou, M.mean_iou,
                                  M.boundary_f1, M.panoptic_quality, M.adapted_rand_error,
                                  M.variation_of_information, M.match_labels])
def test_mismatched_shapes_name_both_shapes(func):
    with pytest.raises(ValueError, match=r"`pred` \(shape \(2, 3\)\).*`gt` \(shape \(3, 2\)\)"):
        func(np.zeros((2, 3), int), np.zeros((3, 2), int))


def test_bad_labels_and_options_are_refused_by_name():
    ones = np.ones((2, 2), int)
    with pytest.raises(ValueError, match=r"`pred` contains the label 5 but num_classes=3"):
        M.mean_iou(ones * 5, ones, num_classes=3)
    with pytest.raises(ValueError, match=r"`gt` contains the negative label -1"):
        M.confusion_matrix(ones, -ones)
    with pytest.raises(ValueError, match=r"`pred` has dtype float64 with non-integer values"):
        M.dice(ones * 0.5, ones)
    with pytest.raises(ValueError, match=r"`gt` has dtype <U1"):
        M.dice(ones, np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match=r"zero_division=2 is not allowed"):
        M.iou(ones, ones, zero_division=2)
    with pytest.raises(ValueError, match=r"num_classes=0 is not allowed"):
        M.confusion_matrix(ones, ones, num_classes=0)
    with pytest.raises(ValueError, match=r"too many classes"):
        M.confusion_matrix(ones * 100_000, ones)
    with pytest.raises(ValueError, match=r"alpha=1.5 is not allowed"):
        M.adapted_rand_error(ones, ones, alpha=1.5)


def test_whole_float_labels_are_accepted():
    assert M.dice(np.array([[0.0, 1.0]]), np.array([[0, 1]])) == 1.0


def test_a_0_255_mask_is_refused_in_binary_mode_with_the_fix():
    gt = np.array([[0, 255], [255, 0]], np.uint8)
    with pytest.raises(ValueError, match=r"`gt` holds only 0 and 255.*gt > 0"):
        M.dice(gt > 0, gt)
    assert M.dice(gt > 0, gt > 0) == 1.0
    assert M.dice(gt > 0, gt, ignore_index=None) == 1.0


# ----------------------------------------------------------------------------- properties


@FAST
@given(masks, masks)
def test_overlap_scores_are_bounded_symmetric_and_related(a, b):
    d, j = M.dice(a, b), M.iou(a, b)
    assert 0.0 <= j <= d <= 1.0
    assert d == pytest.approx(M.dice(b, a)) and j == pytest.approx(M.iou(b, a))
    assert d == pytest.approx(2 * j / (1 + j))
    assert M.dice(a, a) == M.iou(a, a) == 1.0
    assert 0.0 <= M.pixel_accuracy(a, b) <= 1.0


@FAST
@given(label_maps(), label_maps())
def test_per_class_dice_iou_relation_and_miou_bounds(pred, gt):
    d, j = M.dice(pred, gt, num_classes=4), M.iou(pred, gt, num_classes=4)
    np.testing.assert_allclose(d, 2 * j / (1 + j))
    scores = M.mean_iou(pred, gt, num_classes=4)
    assert 0.0 <= scores.mean <= 1.0
    assert M.mean_iou(gt, gt).mean == 1.0


@FAST
@given(label_maps(5), label_maps(5), st.integers(0, 100))
def test_region_metrics_ignore_how_ids_are_named(pred, gt, seed):
    are = M.adapted_rand_error(pred, gt)
    vi = M.variation_of_information(pred, gt)
    assert 0.0 <= are.error <= 1.0 and vi.split >= 0 and vi.merge >= 0
    assert are == pytest.approx(M.adapted_rand_error(permuted(pred, seed), permuted(gt, seed + 1)))
    assert vi == pytest.approx(M.variation_of_information(permuted(pred, seed), permuted(gt, seed + 1)))
    assert M.adapted_rand_error(gt, gt).error == pytest.approx(0.0)
    assert M.variation_of_information(gt, gt).total == pytest.approx(0.0, abs=1e-12)


@FAST
@given(label_maps(5), label_maps(3), st.integers(0, 100))
def test_match_labels_ignores_how_pred_ids_are_named(pred, gt, seed):
    expected = M.match_labels(pred, gt)
    np.testing.assert_array_equal(M.match_labels(permuted(pred, seed), gt), expected)
    assert set(np.unique(expected)) <= set(np.unique(gt))
    np.testing.assert_array_equal(M.match_labels(permuted(gt, seed), gt), gt)


# ----------------------------------------------------------------------------- region metrics


@pytest.mark.parametrize("ignore", [(), (0,)])
def test_region_metrics_agree_with_scikit_image(ignore):
    rng = np.random.default_rng(3)
    gt = np.repeat(np.repeat(rng.integers(0, 6, (6, 8)), 5, axis=0), 5, axis=1)
    pred = np.where(rng.random(gt.shape) < 0.8, gt * 3 + 1, rng.integers(0, 20, gt.shape))
    error, sk_swapped_precision, sk_swapped_recall = skm.adapted_rand_error(gt, pred, ignore_labels=ignore)
    ours = M.adapted_rand_error(pred, gt, ignore_labels=ignore)
    assert ours.error == pytest.approx(error)
    # scikit-image issue #6485: its precision and recall come out swapped
    assert (ours.recall, ours.precision) == pytest.approx((sk_swapped_precision, sk_swapped_recall))
    for alpha in (0.0, 0.3, 1.0):
        assert M.adapted_rand_error(pred, gt, ignore_labels=ignore, alpha=alpha).error == pytest.approx(
            skm.adapted_rand_error(gt, pred, ignore_labels=ignore, alpha=alpha)[0])
    vi = M.variation_of_information(pred, gt, ignore_labels=ignore)
    np.testing.assert_allclose([vi.split, vi.merge], skm.variation_of_information(gt, pred, ignore_labels=ignore))


def test_rand_precision_drops_when_merging_and_recall_when_splitting():
    gt = np.repeat([[1, 1, 2, 2]], 4, axis=0)
    split = np.repeat([[1, 3, 2, 4]], 4, axis=0)
    merged = np.ones_like(gt)
    assert M.adapted_rand_error(split, gt).precision == 1.0 > M.adapted_rand_error(split, gt).recall
    assert M.adapted_rand_error(merged, gt).recall == 1.0 > M.adapted_rand_error(merged, gt).precision
    vi_split, vi_merged = M.variation_of_information(split, gt), M.variation_of_information(merged, gt)
    assert vi_split.merge == 0 and vi_split.split == pytest.approx(1.0)  # each region cut in 2 halves: 1 bit
    assert vi_merged.split == 0 and vi_merged.merge == pytest.approx(1.0)


def test_rand_error_of_single_pixel_regions_uses_zero_division():
    labels = np.arange(6).reshape(2, 3)
    assert M.adapted_rand_error(labels, labels) == (0.0, 1.0, 1.0)
    assert M.variation_of_information(labels[:0], labels[:0]) == (0.0, 0.0)


# ----------------------------------------------------------------------------- match_labels


def test_match_labels_assigns_one_to_one_then_by_largest_overlap():
    gt = np.array([[0, 0, 0, 1, 1, 1, 2, 2, 2]])
    pred = np.array([[9, 9, 4, 4, 4, 6, 6, 6, 7]])
    remapped, mapping = M.match_labels(pred, gt, return_mapping=True)
    # Hungarian: 9 -> 0, 4 -> 1, 6 -> 2 (overlap 2 + 2 + 2); 7 is left over and overlaps class 2 only
    assert mapping == {4: 1, 6: 2, 7: 2, 9: 0}
    np.testing.assert_array_equal(remapped, [[0, 0, 1, 1, 1, 2, 2, 2, 2]])
    assert M.pixel_accuracy(remapped, gt) == pytest.approx(7 / 9)


def test_match_labels_prefers_the_best_one_to_one_assignment_over_majority_votes():
    gt = np.array([[0, 0, 0, 0, 0, 1, 1]])
    pred = np.array([[3, 3, 8, 8, 8, 8, 8]])  # 8 lies mostly on class 0, but 3 covers class 0 alone
    np.testing.assert_array_equal(M.match_labels(pred, gt), [[0, 0, 1, 1, 1, 1, 1]])


def test_match_labels_ignores_void_pixels_and_handles_an_all_void_truth():
    gt = np.array([[1, 1, 255, 255, 2]])
    pred = np.array([[5, 5, 8, 8, 8]])
    np.testing.assert_array_equal(M.match_labels(pred, gt), [[1, 1, 2, 2, 2]])
    np.testing.assert_array_equal(M.match_labels(pred, np.full_like(gt, 255)), pred)


# ----------------------------------------------------------------------------- boundary F1


def split_at(column, shape=(10, 10), more=()):
    labels = np.zeros(shape, int)
    labels[:, column:] = 1
    for c in more:
        labels[:, c:] += 1
    return labels


def test_boundaries_are_thin_and_one_sided():
    edges = M.boundaries(split_at(5))
    assert edges[:, 4].all() and edges.sum() == 10


def test_boundary_f1_hand_computed_shift():
    gt, pred = split_at(5), split_at(6)
    assert M.boundary_f1(pred, gt, tolerance=0) == M.BoundaryScore(0.0, 0.0, 0.0, 0.0)
    assert M.boundary_f1(pred, gt, tolerance=1) == M.BoundaryScore(1.0, 1.0, 1.0, 1.0)


def test_boundary_f1_hand_computed_extra_boundary():
    gt, pred = split_at(5), split_at(5, more=(8,))  # two boundaries, one of them true
    score = M.boundary_f1(pred, gt, tolerance=0)
    assert (score.precision, score.recall, score.f1) == pytest.approx((0.5, 1.0, 2 / 3))
    swapped = M.boundary_f1(gt, pred, tolerance=0)
    assert (swapped.precision, swapped.recall) == pytest.approx((1.0, 0.5))


def test_boundary_f1_default_tolerance_is_bsds_fraction_of_diagonal():
    gt = split_at(100, shape=(300, 400))
    assert M.boundary_f1(gt, gt).tolerance == pytest.approx(0.0075 * 500)
    assert M.boundary_f1(split_at(103, (300, 400)), gt).f1 == 1.0  # 3 px < 3.75 px
    assert M.boundary_f1(split_at(104, (300, 400)), gt).f1 == 0.0


def test_boundary_f1_accepts_edge_maps_and_handles_missing_boundaries():
    gt = split_at(5)
    edges = np.zeros((10, 10), bool)
    edges[:5, 4] = True  # half of the true boundary, drawn as an edge map
    score = M.boundary_f1(edges, gt, tolerance=0, pred_is_edges=True)
    assert (score.precision, score.recall) == pytest.approx((1.0, 0.5))
    assert M.boundary_f1(edges, M.boundaries(gt), tolerance=0, pred_is_edges=True, gt_is_edges=True) == score
    flat = np.zeros((10, 10), int)
    assert M.boundary_f1(flat, flat).f1 == 1.0
    assert M.boundary_f1(flat, gt) == M.BoundaryScore(1.0, 0.0, 0.0, pytest.approx(0.0075 * np.hypot(10, 10)))
    with pytest.raises(ValueError, match=r"tolerance=-1 is not allowed"):
        M.boundary_f1(gt, gt, tolerance=-1)
    with pytest.raises(ValueError, match=r"expects 2-D"):
        M.boundary_f1(np.zeros(4, int), np.zeros(4, int))


def test_one_to_one_matching_does_not_count_a_doubled_edge_twice():
    gt = np.zeros((12, 12), bool)
    gt[:, 5] = True
    thick = gt.copy()
    thick[:, 6] = True  # a two-pixel-wide prediction of a one-pixel boundary
    by_distance = M.boundary_f1(thick, gt, tolerance=1, pred_is_edges=True, gt_is_edges=True)
    assert (by_distance.precision, by_distance.recall) == (1.0, 1.0)
    paired = M.boundary_f1(thick, gt, tolerance=1, pred_is_edges=True, gt_is_edges=True, matching="one-to-one")
    assert (paired.precision, paired.recall) == pytest.approx((0.5, 1.0))  # 12 pairs for 24 predicted pixels
    with pytest.raises(ValueError, match=r"matching='closest' is not allowed: expected one of 'distance', "
                                         r"'one-to-one'"):
        M.boundary_f1(gt, gt, matching="closest")


@settings(max_examples=25, deadline=None)
@given(arrays(np.bool_, (9, 11)), arrays(np.bool_, (9, 11)), st.sampled_from([0.0, 1.0, 1.5, 2.0]))
def test_one_to_one_matching_is_a_maximum_assignment(pred, gt, tolerance):
    from scipy.optimize import linear_sum_assignment

    score = M.boundary_f1(pred, gt, tolerance, pred_is_edges=True, gt_is_edges=True, matching="one-to-one")
    a, b = np.argwhere(pred), np.argwhere(gt)
    if len(a) and len(b):  # the reference: an assignment maximising the pairs closer than the tolerance
        close = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1)) <= tolerance
        rows, cols = linear_sum_assignment(close, maximize=True)
        pairs = int(close[rows, cols].sum())
        assert score.precision == pytest.approx(pairs / len(a)) and score.recall == pytest.approx(pairs / len(b))
    loose = M.boundary_f1(pred, gt, tolerance, pred_is_edges=True, gt_is_edges=True)
    assert score.precision <= loose.precision + 1e-12 and score.recall <= loose.recall + 1e-12


# ----------------------------------------------------------------------------- panoptic quality


def box(canvas, label, rows, cols):
    canvas[rows[0]:rows[1], cols[0]:cols[1]] = label
    return canvas


def test_panoptic_quality_hand_computed():
    gt = np.full((10, 20), 2000)        # class 2 "stuff" everywhere else
    box(gt, 1001, (0, 4), (0, 4))       # A, 16 px
    box(gt, 1002, (5, 9), (0, 4))       # B, 16 px, missed
    pred = np.full((10, 20), 2000)
    box(pred, 1007, (0, 4), (1, 5))     # A shifted by one: IoU 12 / 20 = 0.6
    box(pred, 1003, (0, 3), (10, 13))   # 9 px on the stuff: a false positive
    score = M.panoptic_quality(pred, gt)
    assert score.tp.tolist() == [0, 1, 1] and score.fp.tolist() == [0, 1, 0] and score.fn.tolist() == [0, 1, 0]
    stuff_iou = (200 - 20 - 16 - 9) / (168 + 175 - 155)
    np.testing.assert_allclose(score.per_class_sq[1:], [0.6, stuff_iou])
    np.testing.assert_allclose(score.per_class_rq[1:], [0.5, 1.0])
    np.testing.assert_allclose(score.per_class_pq[1:], [0.3, stuff_iou])
    assert score.pq == pytest.approx((0.3 + stuff_iou) / 2)
    assert score.present.tolist() == [False, True, True]
    assert score.per_class_pq[0] == 1.0  # absent class: zero_division, left out of the mean


def test_panoptic_prediction_on_void_background_is_not_a_false_positive():
    gt = box(np.zeros((10, 20), int), 1001, (0, 4), (0, 4))
    pred = box(gt.copy(), 1003, (0, 3), (10, 13))
    score = M.panoptic_quality(pred, gt)
    assert (score.tp[1], score.fp[1], score.fn[1], score.pq) == (1, 0, 0, 1.0)


def test_panoptic_predicted_pixels_on_void_leave_the_union():
    gt = np.zeros((4, 5), int)
    gt[:2] = 1001             # 10 px of the object, the rest is void
    pred = np.full_like(gt, 1001)  # 10 px right + 10 px on void
    pred[3] = 0
    score = M.panoptic_quality(pred, gt)  # IoU = 10 / (10 + 15 - 10 - 5) = 1 (0.67 if void counted)
    assert (score.tp[1], score.sq, score.pq) == (1, 1.0, 1.0)


@pytest.mark.parametrize("void_rows, false_positives", [(3, 0), (2, 1)])
def test_panoptic_unmatched_prediction_mostly_on_void_is_not_a_false_positive(void_rows, false_positives):
    gt = np.full((5, 4), 2001)   # one stuff-like segment of class 2
    gt[:void_rows] = 0           # void rows on top
    pred = np.full_like(gt, 2005)
    pred[:, :] = 1001            # wrong class everywhere: no match is possible
    score = M.panoptic_quality(pred, gt)
    assert score.fp[1] == false_positives
    assert score.fn[2] == 1 and score.pq == 0.0


def test_panoptic_needs_the_same_class_and_handles_nothing_to_score():
    gt = box(np.zeros((6, 6), int), 1001, (0, 3), (0, 3))
    pred = box(np.zeros((6, 6), int), 2001, (0, 3), (0, 3))
    score = M.panoptic_quality(pred, gt, class_names=["void", "disk", "square"])
    assert score.tp.sum() == 0 and score.fp[2] == 1 and score.fn[1] == 1
    assert (score.pq, score.sq, score.rq) == (0.0, 0.0, 0.0)
    assert score.class_names == ["void", "disk", "square"]
    empty = M.panoptic_quality(np.zeros((3, 3), int), np.zeros((3, 3), int))
    assert (empty.pq, empty.sq, empty.rq) == (1.0, 1.0, 1.0)
    assert M.panoptic_quality(np.zeros((3, 3), int), np.zeros((3, 3), int), zero_division=0).pq == 0.0


def test_panoptic_void_none_scores_label_zero_as_a_stuff_class():
    gt = box(np.zeros((6, 6), int), 1001, (0, 3), (0, 3))
    pred = box(np.zeros((6, 6), int), 1001, (0, 3), (0, 3))
    box(pred, 1002, (4, 6), (4, 6))  # a hallucinated object on the background
    assert M.panoptic_quality(pred, gt).fp[1] == 0  # background is void: not counted
    as_stuff = M.panoptic_quality(pred, gt, void=None)
    assert as_stuff.fp[1] == 1 and as_stuff.tp[0] == 1


def test_panoptic_options_are_validated():
    labels = np.full((2, 2), 3001)
    with pytest.raises(ValueError, match=r"`gt` contains the label 3001 of class 3, but there are only 2 classes"):
        M.panoptic_quality(labels, labels, num_classes=2)
    with pytest.raises(ValueError, match=r"num_classes=3 disagrees with class_names"):
        M.panoptic_quality(labels, labels, num_classes=3, class_names=["a", "b"])
    with pytest.raises(ValueError, match=r"label_divisor=1 is not allowed"):
        M.panoptic_quality(labels, labels, label_divisor=1)


def reference_pq(pred, gt, n, void=0, divisor=1000):
    """A direct transcription of the panopticapi loop (pq_compute_single_core), for comparison."""
    pairs = {}
    for g, p in zip(gt.ravel().tolist(), pred.ravel().tolist()):
        pairs[g, p] = pairs.get((g, p), 0) + 1
    g_area = {g: int((gt == g).sum()) for g in np.unique(gt).tolist() if g != void}
    p_area = {p: int((pred == p).sum()) for p in np.unique(pred).tolist() if p != void}
    tp, fp, fn, iou = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    g_hit, p_hit = set(), set()
    for (g, p), inter in pairs.items():
        if g == void or p == void or g // divisor != p // divisor:
            continue
        union = p_area[p] + g_area[g] - inter - pairs.get((void, p), 0)
        if inter / union > 0.5:
            tp[g // divisor] += 1
            iou[g // divisor] += inter / union
            g_hit.add(g)
            p_hit.add(p)
    for g in set(g_area) - g_hit:
        fn[g // divisor] += 1
    for p in set(p_area) - p_hit:
        if pairs.get((void, p), 0) / p_area[p] <= 0.5:
            fp[p // divisor] += 1
    return tp, fp, fn, iou


panoptic_maps = arrays(np.int64, (6, 6), elements=st.sampled_from([0, 1001, 1002, 1003, 2001, 2002, 3000]))


@settings(max_examples=80, deadline=None)
@given(panoptic_maps, panoptic_maps, arrays(bool, (6, 6)))
def test_panoptic_quality_agrees_with_the_reference_loop_and_pq_is_sq_times_rq(other, gt, changed):
    pred = np.where(changed, other, gt)  # a perturbed truth, so that segments do match
    score = M.panoptic_quality(pred, gt, num_classes=4)
    tp, fp, fn, iou_sum = reference_pq(pred, gt, 4)
    np.testing.assert_array_equal(score.tp, tp)
    np.testing.assert_array_equal(score.fp, fp)
    np.testing.assert_array_equal(score.fn, fn)
    np.testing.assert_allclose(score.per_class_sq * score.tp, iou_sum)
    np.testing.assert_allclose(score.per_class_pq, score.per_class_sq * score.per_class_rq)
    for value in (score.pq, score.sq, score.rq):
        assert 0.0 <= value <= 1.0
    assert M.panoptic_quality(gt, gt).pq == 1.0


# ----------------------------------------------------------------------------- match_segments


def test_match_segments_scores_a_split_by_its_largest_piece():
    gt = np.array([[1, 1, 1, 1, 2, 2, 2, 2]])
    whole = M.match_segments([[5, 5, 5, 5, 9, 9, 9, 9]], gt)
    split = M.match_segments([[5, 5, 6, 7, 9, 9, 9, 9]], gt)
    assert whole.mean == 1.0 and whole.unmatched_pred == 0
    assert split.mean == pytest.approx((0.5 + 1.0) / 2) and split.unmatched_pred == 2
    np.testing.assert_array_equal(split.partner, [5, 9])
    np.testing.assert_array_equal(split.pred_to_true([[5, 6, 7, 9]]), [[1, -1, -1, 2]])


def test_match_segments_leaves_one_of_two_merged_segments_unmatched():
    match = M.match_segments([[3, 3, 3, 3, 3, 3]], [[1, 1, 1, 2, 2, 2]])
    assert sorted(match.iou.tolist()) == [0.0, 0.5] and match.mean == pytest.approx(0.25)
    assert match.covering == pytest.approx(0.25)


def test_match_segments_ignores_void_and_refuses_foreign_ids():
    match = M.match_segments([[1, 1, 2, 2]], [[4, 4, 255, 255]], ignore_labels=(255,))
    assert match.mean == 1.0 and match.true_ids.tolist() == [4]
    with pytest.raises(ValueError, match="not made from"):
        match.pred_to_true([[3]])


def test_match_segments_greedy_fallback_agrees_on_clear_pairs(monkeypatch):
    gt = np.repeat(np.arange(40), 5)[None]
    pred = gt * 3 + 1
    exact = M.match_segments(pred, gt)
    monkeypatch.setattr(M, "_DENSE_PAIR_LIMIT", 10)
    assert M.match_segments(pred, gt).mean == exact.mean == 1.0


@FAST
@given(label_maps(5), label_maps(4), st.integers(0, 100))
def test_match_segments_cannot_be_gamed_by_splitting(pred, gt, seed):
    match = M.match_segments(pred, gt)
    assert 0.0 <= match.mean <= 1.0 and 0.0 <= match.covering <= 1.0
    assert match.mean == pytest.approx(M.match_segments(permuted(pred, seed), gt).mean)
    assert M.match_segments(gt, gt).mean == 1.0
    # Cutting every segment of a perfect answer in two (by column parity) never scores better than the answer.
    halves = gt * 2 + (np.arange(gt.shape[1]) % 2)[None, :]
    assert M.match_segments(halves, gt).mean < 1.0

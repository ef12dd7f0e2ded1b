"""Error maps, class views and score tables of seglib.comparison on tiny hand-made truths."""

import numpy as np
import pytest

from seglib import comparison as cmp
from seglib.datasets.shapes import make_scene
from seglib.io.ground_truth import GroundTruth
from seglib.result import Segmentation
from seglib.scoring import from_scene


def truth(semantic, **extra):
    return GroundTruth(semantic=np.asarray(semantic, np.int32), class_names=["background", "a", "b"], **extra)


@pytest.fixture
def two_squares():
    """8 x 8: class 1 in the top-left 4 x 4 block, class 2 in the bottom-right one."""
    semantic = np.zeros((8, 8), np.int32)
    semantic[:4, :4] = 1
    semantic[4:, 4:] = 2
    return truth(semantic)


def test_binary_error_map_counts_every_category(two_squares):
    pred = np.zeros((8, 8), np.int32)
    pred[:4, :2] = 1   # half of the first square: 8 true positives, 8 false negatives
    pred[4:, 4:] = 1   # the second square: 16 true positives
    pred[0, 7] = 1     # one false positive
    errors = cmp.error_map(Segmentation(pred, kind="binary"), two_squares)
    assert errors.style == "pixels"
    assert errors.counts == {"true positive": 24, "false positive": 1, "false negative": 8, "wrong class": 0,
                             "ignored": 0}
    assert errors.codes[0, 7] == cmp.FALSE_POSITIVE and errors.codes[0, 3] == cmp.FALSE_NEGATIVE


def test_semantic_error_map_marks_the_wrong_class(two_squares):
    pred = two_squares.semantic.copy()
    pred[4:, 4:] = 1  # the second square called class "a"
    result = Segmentation(pred, kind="semantic", class_names=["background", "a", "b"])
    errors = cmp.error_map(result, two_squares)
    assert errors.counts["wrong class"] == 16 and errors.counts["true positive"] == 16


def test_region_ids_are_paired_with_segments_before_marking(two_squares):
    regions = np.where(two_squares.semantic == 0, 7, np.where(two_squares.semantic == 1, 3, 9))
    errors = cmp.error_map(Segmentation(regions, kind="regions"), two_squares)
    assert errors.style == "segments"
    assert errors.counts["matched segment"] == 32
    assert sum(errors.counts.values()) == 32  # nothing wrong, background untouched


def test_a_split_object_shows_as_over_segmented_not_as_right(two_squares):
    regions = np.where(two_squares.semantic == 0, 7, np.where(two_squares.semantic == 1, 3, 9))
    regions[:4, :1] = 5  # a quarter of the first square cut off as its own segment
    errors = cmp.error_map(Segmentation(regions, kind="regions"), two_squares)
    assert errors.counts["over-segmented"] == 4 and errors.counts["matched segment"] == 28
    assert np.all(errors.codes[:4, 0] == cmp.SPLIT)
    assert "over-segmented" in errors.legend and errors.legend["over-segmented"] == cmp.ERROR_COLOURS[cmp.SPLIT]
    view = cmp.class_view(Segmentation(regions, kind="regions"), two_squares)
    assert view.class_names[-1] == cmp.UNMATCHED and np.all(view.pred[:4, 0] == len(view.class_names) - 1)
    assert {row["class"] for row in cmp.class_iou(Segmentation(regions, kind="regions"), two_squares)} == {
        "background", "a", "b"}


def test_two_objects_in_one_segment_show_as_merged(two_squares):
    regions = np.where(two_squares.semantic == 0, 7, 3)  # both squares one segment
    errors = cmp.error_map(Segmentation(regions, kind="regions"), two_squares)
    assert errors.counts["merged"] == 16 and errors.counts["matched segment"] == 16


def test_void_pixels_are_ignored(two_squares):
    semantic = two_squares.semantic.copy()
    semantic[7, :] = 255
    gt = truth(semantic, ignore_index=255)
    errors = cmp.error_map(Segmentation(np.ones((8, 8), np.int32), kind="binary"), gt)
    assert errors.counts["ignored"] == 8
    assert np.all(errors.codes[7] == cmp.IGNORED)


def test_edge_maps_are_matched_within_the_tolerance():
    semantic = np.zeros((12, 12), np.int32)
    semantic[:, 6:] = 1
    gt = truth(semantic)
    edges = np.zeros((12, 12), np.int32)
    edges[:, 7] = 1  # one pixel right of the true boundary (column 5, upper/left side)
    exact = cmp.error_map(Segmentation(edges, kind="edges"), gt, tolerance=0)
    assert exact.style == "boundaries"
    assert exact.counts == {"matched boundary": 0, "spurious boundary": 12, "missed boundary": 12}
    loose = cmp.error_map(Segmentation(edges, kind="edges"), gt, tolerance=2)
    assert loose.counts == {"matched boundary": 12, "spurious boundary": 0, "missed boundary": 0}
    assert loose.band[:, 5].all() and not loose.band[:, 0].any()


def test_truth_without_classes_pairs_segments_without_a_background():
    regions = np.ones((10, 10), np.int32)
    regions[5:] = 2
    bsds = GroundTruth(regions=regions, boundaries=regions != np.roll(regions, -1, axis=0), source_format="bsds")
    pred = regions.copy()
    pred[5:, :3] = 9  # one piece split off the lower region
    errors = cmp.error_map(Segmentation(pred, kind="regions"), bsds, tolerance=1)
    assert errors.style == "segments"
    assert errors.counts["matched segment"] == 85 and errors.counts["over-segmented"] == 15
    assert errors.counts["false positive"] == errors.counts["false negative"] == 0  # no background here
    assert cmp.class_view(Segmentation(regions, kind="regions"), bsds) is None


def test_truth_with_only_boundaries_gives_a_boundary_map():
    edges = np.zeros((10, 10), bool)
    edges[4] = True
    only_edges = GroundTruth(boundaries=edges, source_format="bsds")
    regions = np.ones((10, 10), np.int32)
    regions[5:] = 2
    errors = cmp.error_map(Segmentation(regions, kind="regions"), only_edges, tolerance=1)
    assert errors.style == "boundaries" and errors.counts["matched boundary"] > 0


def test_sizes_must_agree(two_squares):
    with pytest.raises(ValueError, match="ground truth is 8 x 8"):
        cmp.error_map(Segmentation(np.zeros((4, 4), np.int32), kind="binary"), two_squares)
    with pytest.raises(ValueError, match="tolerance=-1"):
        cmp.error_map(Segmentation(np.zeros((8, 8), np.int32), kind="binary"), two_squares, tolerance=-1)


def test_render_paints_errors_over_a_dimmed_picture(two_squares):
    pred = np.zeros((8, 8), np.int32)
    pred[0, 7] = 1
    errors = cmp.error_map(Segmentation(pred, kind="binary"), two_squares)
    image = np.full((8, 8, 3), 200, np.uint8)
    out = cmp.render_errors(image, errors)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert np.all(out[7, 0] == out[7, 1]) and out[7, 0, 0] < 200  # untouched background is dimmed gray
    assert tuple(out[0, 7]) != tuple(out[7, 0]) and out[0, 7, 0] > out[0, 7, 2]  # false positive: vermillion
    with pytest.raises(ValueError, match="same"):
        cmp.render_errors(np.zeros((4, 4)), errors)


def test_render_band_and_thick_lines_change_the_picture():
    semantic = np.zeros((12, 12), np.int32)
    semantic[:, 6:] = 1
    edges = np.zeros((12, 12), np.int32)
    edges[:, 5] = 1
    errors = cmp.error_map(Segmentation(edges, kind="edges"), truth(semantic), tolerance=1)
    image = np.zeros((12, 12), np.uint8)
    plain = cmp.render_errors(image, errors)
    assert not np.array_equal(plain, cmp.render_errors(image, errors, show_band=True))
    thick = cmp.render_errors(image, errors, line_width=3)
    assert (thick.sum(-1) > 0).sum() > (plain.sum(-1) > 0).sum()


def test_scores_table_has_a_row_per_result_and_nan_where_a_metric_does_not_fit(two_squares):
    binary = Segmentation((two_squares.semantic > 0).astype(np.int32), kind="binary")
    edges = Segmentation(np.zeros((8, 8), np.int32), kind="edges")
    table = cmp.scores_table([("mask", binary), ("failed", None), ("edges", edges)], two_squares)
    assert list(table["method"]) == ["mask", "edges"]
    assert table.loc[0, "IoU"] == pytest.approx(1.0)
    assert np.isnan(table.loc[1, "IoU"]) and table.loc[1, "boundary F1"] == pytest.approx(0.0)
    assert list(table.columns[:2]) == ["method", "kind"] and list(table.columns[-2:]) == ["time (s)", "error"]


def test_score_row_reports_why_a_result_cannot_be_scored(two_squares):
    row = cmp.score_row(Segmentation(np.zeros((3, 3), np.int32), kind="binary"), two_squares)
    assert "ground truth is 8 x 8" in row["error"]


def test_class_iou_and_confusion(two_squares):
    pred = two_squares.semantic.copy()
    pred[4:, 4:6] = 1  # half of class b called a
    result = Segmentation(pred, kind="semantic", class_names=["background", "a", "b"])
    rows = {r["class"]: r["IoU"] for r in cmp.class_iou(result, two_squares)}
    assert rows == pytest.approx({"background": 1.0, "a": 16 / 24, "b": 0.5})
    cm, names = cmp.confusion(result, two_squares)
    assert names == ["background", "a", "b"]
    assert cm.tolist() == [[32, 0, 0], [0, 16, 0], [0, 8, 8]]
    table = cmp.class_iou_table([("x", result), ("edges", Segmentation(pred * 0, kind="edges"))], two_squares)
    assert set(table["method"]) == {"x"} and len(table) == 3
    assert cmp.confusion(Segmentation(pred * 0, kind="edges"), two_squares) is None


def test_binary_results_are_viewed_as_background_and_foreground(two_squares):
    view = cmp.class_view(Segmentation(np.ones((8, 8), np.int32), kind="binary"), two_squares)
    assert view.class_names == ["background", "foreground"]
    assert set(np.unique(view.truth)) == {0, 1}


def test_a_scene_scores_end_to_end():
    scene = make_scene(3, size=48)
    gt = from_scene(scene)
    perfect = Segmentation(scene.semantic, kind="semantic", class_names=scene.class_names)
    errors = cmp.error_map(perfect, gt)
    assert errors.counts["true positive"] == np.count_nonzero(scene.semantic)
    assert errors.counts["false positive"] == errors.counts["false negative"] == errors.counts["wrong class"] == 0


@pytest.mark.parametrize("kind, available, expected", [
    ("binary", ["pixel accuracy", "IoU", "boundary F1"], "IoU"),
    ("regions", ["mean IoU", "VI"], "mean IoU"),
    ("edges", ["boundary F1"], "boundary F1"),
    ("instance", ["IoU"], "IoU"),
    ("binary", [], None),
])
def test_default_metric(kind, available, expected):
    assert cmp.default_metric(kind, available) == expected


def test_resized_error_maps_keep_thin_boundaries():
    semantic = np.zeros((40, 40), np.int32)
    semantic[:, 20:] = 1
    edges = np.zeros((40, 40), np.int32)
    edges[:, 19] = 1
    errors = cmp.error_map(Segmentation(edges, kind="edges"), truth(semantic), tolerance=1)
    small = errors.resized((10, 10))
    assert small.codes.shape == small.band.shape == (10, 10)
    assert (small.codes == cmp.HIT).any(axis=1).all(), "the one-pixel line survives a 4x shrink"
    assert errors.resized((40, 40)) is errors

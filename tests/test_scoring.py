import numpy as np
from skimage.segmentation import find_boundaries
import pytest

from seglib import scoring
from seglib.datasets.shapes import make_scene
from seglib.io.ground_truth import GroundTruth
from seglib.result import Segmentation


@pytest.fixture(scope="module")
def scene():
    return make_scene(3, size=96, difficulty="easy")


@pytest.fixture(scope="module")
def truth(scene):
    return scoring.from_scene(scene)


def test_perfect_predictions_score_perfectly(scene, truth):
    checks = {
        "binary": Segmentation(scene.semantic > 0, kind="binary"),
        "semantic": Segmentation(scene.semantic, kind="semantic", class_names=list(scene.class_names)),
        "regions": Segmentation(scene.instances + 1, kind="regions"),
        "instance": Segmentation(scene.instances, kind="instance"),
        "panoptic": Segmentation(scene.panoptic, kind="panoptic", class_names=list(scene.class_names)),
    }
    for kind, result in checks.items():
        scores = scoring.score(result, truth)
        assert scores, kind
        for name, value in scores.items():
            best = 1.0 if scoring.HIGHER_IS_BETTER[name] else 0.0
            assert value == pytest.approx(best, abs=1e-9), (kind, name)
    assert "PQ" in scoring.score(checks["panoptic"], truth)
    assert {"adapted Rand error", "VI"} <= set(scoring.score(checks["regions"], truth))


def test_semantic_classes_are_matched_by_name(scene, truth):
    # A model whose class list is in another order still scores perfectly.
    names = list(scene.class_names)
    order = names[::-1]
    relabelled = np.array([order.index(n) for n in names])[scene.semantic]
    result = Segmentation(relabelled, kind="semantic", class_names=order)
    assert scoring.score(result, truth)["mean IoU"] == pytest.approx(1.0)


def test_empty_prediction_scores_badly_without_nan(scene, truth):
    scores = scoring.score(Segmentation(np.zeros_like(scene.semantic), kind="binary"), truth)
    assert scores["Dice"] == 0.0 and scores["IoU"] == 0.0
    assert all(np.isfinite(v) for v in scores.values())


def test_edges_are_scored_on_boundaries(scene, truth):
    from seglib.metrics import boundaries
    edges = Segmentation(boundaries(scene.instances).astype(int), kind="edges")
    assert scoring.score(edges, truth) == {"boundary F1": pytest.approx(1.0)}


def test_bsds_style_truth_takes_best_annotator():
    a = np.ones((20, 20), int)
    a[:, 10:] = 2
    b = np.ones((20, 20), int)
    b[10:, :] = 2
    gt = GroundTruth(annotators=[a, b], source_format="bsds")
    scores = scoring.score(Segmentation(b.copy(), kind="regions"), gt)
    assert scores["adapted Rand error"] == pytest.approx(0.0) and scores["boundary F1"] == pytest.approx(1.0)
    assert "pixel accuracy" not in scores


def test_bsds_truths_match_boundary_pixels_one_to_one():
    a = np.ones((200, 200), int)  # the default tolerance, 0.0075 x the diagonal, is 2.1 px
    a[:, 100:] = 2
    edges = find_boundaries(a, mode="thick")
    doubled = edges | np.roll(edges, 2, axis=1)  # every true boundary drawn twice, 2 px apart
    pred = Segmentation(doubled.astype(int), kind="edges")
    davis = scoring.score(pred, GroundTruth(annotators=[a], annotator_boundaries=[edges]))["boundary F1"]
    bsds = scoring.score(pred, GroundTruth(annotators=[a], annotator_boundaries=[edges], source_format="bsds"))
    assert davis == pytest.approx(1.0) and bsds["boundary F1"] == pytest.approx(2 / 3)  # precision 1/2, recall 1


def test_mismatched_sizes_name_both(truth):
    with pytest.raises(ValueError, match="ground truth is 96 x 96 pixels but the image is 10 x 5"):
        scoring.score(Segmentation(np.zeros((5, 10), int), kind="binary"), truth)


def test_splitting_objects_costs_the_one_to_one_score_but_not_the_many_to_one(scene, truth):
    # Each object cut along a vertical line into two segments: every piece still "is" its class.
    columns = np.arange(scene.instances.shape[1])[None, :]
    split = np.where(scene.instances > 0, scene.instances * 2 + (columns % 8 < 4), 0)
    scores = scoring.score(Segmentation(split, kind="regions"), truth)
    assert scores[scoring.MANY_TO_ONE] == pytest.approx(1.0)
    assert scores[scoring.ONE_TO_ONE] < 0.8
    assert not {"pixel accuracy", "Dice", "mean IoU"} & set(scores)  # the forgiving scores are not offered
    perfect = scoring.score(Segmentation(scene.instances + 7, kind="regions"), truth)
    assert perfect[scoring.ONE_TO_ONE] == pytest.approx(1.0)


def test_semantic_output_without_the_truths_class_names_is_scored_as_regions(scene, truth):
    levels = Segmentation(scene.semantic.copy(), kind="semantic", class_names=["low", "mid", "high"] * 3)
    assert scoring.is_unsupervised(levels, truth)
    assert scoring.ONE_TO_ONE in scoring.score(levels, truth)
    named = Segmentation(scene.semantic.copy(), kind="semantic", class_names=list(scene.class_names))
    assert not scoring.is_unsupervised(named, truth) and "mean IoU" in scoring.score(named, truth)


def test_select_foreground_keeps_only_the_chosen_classes_and_void():
    semantic = np.array([[0, 1, 2, 3, 255]])
    truth = GroundTruth(semantic=semantic, instances=np.array([[0, 1, 2, 3, 0]]),
                        class_names=["background", "person", "grass-merged", "dog"], ignore_index=255,
                        category_ids=[0, 1, 125, 18], source_format="coco",
                        segments=[{"class_index": 1, "category_id": 1, "instance": 1, "iscrowd": False},
                                  {"class_index": 2, "category_id": 125, "instance": 2, "iscrowd": False},
                                  {"class_index": 3, "category_id": 18, "instance": 3, "iscrowd": False}])
    assert scoring.stuff_classes(truth) == {2}
    assert scoring.foreground_classes(truth, "things") == {1, 3}
    assert scoring.foreground_classes(truth, "picked", [3, 9]) == {3}
    kept = scoring.select_foreground(truth, {1})
    assert kept.semantic.tolist() == [[0, 1, 0, 0, 255]] and kept.instances.tolist() == [[0, 1, 0, 0, 0]]
    assert truth.semantic.tolist() == [[0, 1, 2, 3, 255]]  # the input is not changed
    assert "foreground: person" in kept.notes[-1]
    with pytest.raises(ValueError, match="choice='all'"):
        scoring.foreground_classes(truth, "all")


def test_a_truth_without_stuff_names_has_no_stuff(truth):
    assert scoring.stuff_classes(truth) == set()

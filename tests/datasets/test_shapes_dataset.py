"""ShapeScenes as a dataset: seeds by split, options, ground truth from the scene."""

import numpy as np
import pytest

from seglib.datasets import open_dataset
from seglib.datasets.shapes import make_scene
from seglib.datasets.shapes_dataset import DEFAULT_N, SPLIT_SEEDS


def test_shapes_by_default():
    data = open_dataset()
    assert data.kind == "shapes" and len(data) == DEFAULT_N
    assert data.name(0) == f"scene-{SPLIT_SEEDS['test']}"


def test_samples_are_the_scenes_with_their_truth():
    data = open_dataset("shapes", n=3, split="val", difficulty="hard", size=48)
    sample = data[2]
    scene = make_scene(SPLIT_SEEDS["val"] + 2, size=48, difficulty="hard")
    np.testing.assert_array_equal(sample.image, scene.image)
    np.testing.assert_array_equal(sample.ground_truth.panoptic, scene.panoptic)
    assert sample.meta == {"seed": SPLIT_SEEDS["val"] + 2, "difficulty": "hard", "size": 48}
    assert len({data.key(i) for i in range(3)}) == 3


def test_keys_depend_on_the_options():
    easy = open_dataset("shapes", n=1, size=32)
    assert easy.key(0) != open_dataset("shapes", n=1, size=32, difficulty="medium").key(0)
    assert easy.key(0) != open_dataset("shapes", n=1, size=48).key(0)
    assert easy.key(0) == open_dataset("shapes", n=5, size=32).key(0)  # more scenes reuse earlier results


def test_test_split_never_overlaps_the_deep_models_training_seeds():
    data = pytest.importorskip("seglib.deep.data")
    assert SPLIT_SEEDS["test"] == data.HELDOUT_SEED and SPLIT_SEEDS["val"] == data.VALIDATION_SEED


@pytest.mark.parametrize("options, match", [
    ({"split": "dev"}, "split='dev' is not allowed for ShapeScenes"),
    ({"difficulty": "extreme"}, "difficulty='extreme' is not allowed"),
    ({"size": 4}, "size"),
    ({"first_seed": -1}, "first_seed=-1 is not allowed"),
])
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        open_dataset("shapes", n=2, **options)

"""The ground-truth picker's plain functions and the ShapeScene image source, driven with a dict as state."""

import json

import numpy as np
import pytest
from truth_files import mask_png

from ui import ground_truth as gt
from ui import image_picker as picker


@pytest.fixture
def state():
    state = {}
    picker.select_sample("coins", state)  # 384 x 303
    return state


def mask(h=303, w=384):
    return mask_png((h, w), (h // 4, h // 2, w // 4, w // 2))


def coco(*images):
    return json.dumps({
        "images": [{"id": i, "file_name": name, "height": 303, "width": 384} for i, name in images],
        "annotations": [{"id": 1, "image_id": images[-1][0], "category_id": 1, "iscrowd": 0, "area": 100,
                         "bbox": [10, 10, 10, 10], "segmentation": [[10, 10, 20, 10, 20, 20, 10, 20]]}],
        "categories": [{"id": 1, "name": "coin"}],
    }).encode()


def test_a_mask_of_the_image_size_becomes_its_truth(state):
    picked = picker.current_image(state)
    assert gt.load_truth_file(mask(), "mask.png", picked, state)
    loaded = gt.current_truth(picked, state)
    assert loaded.name == "mask.png" and loaded.image_key == picked.key and not loaded.from_scene
    assert loaded.truth.shape == (303, 384) and loaded.truth.semantic.max() == 1
    assert "2 classes" in gt.describe(loaded)


def test_a_bad_file_keeps_the_previous_truth(state):
    picked = picker.current_image(state)
    gt.load_truth_file(mask(), "mask.png", picked, state)
    assert not gt.load_truth_file(b"not a mask at all", "notes.txt", picked, state)
    assert "notes.txt" in state[gt.ERROR_KEY]
    assert gt.current_truth(picked, state).name == "mask.png"


def test_same_aspect_ratio_waits_for_the_resize(state):
    picked = picker.current_image(state)
    big = mask(606, 768)  # twice the size, same aspect ratio
    assert not gt.load_truth_file(big, "big.png", picked, state)
    assert "768 x 606" in state[gt.ERROR_KEY] and state[gt.PENDING_KEY] is not None
    assert gt.current_truth(picked, state) is None
    assert gt.accept_resize(state)
    loaded = gt.current_truth(picked, state)
    assert loaded.truth.shape == (303, 384) and gt.ERROR_KEY not in state
    assert not gt.accept_resize(state)


def test_another_aspect_ratio_is_refused(state):
    picked = picker.current_image(state)
    assert not gt.load_truth_file(mask(100, 100), "square.png", picked, state)
    assert "aspect ratio" in state[gt.ERROR_KEY] and gt.PENDING_KEY not in state


def test_truth_is_forgotten_when_the_image_changes(state):
    picked = picker.current_image(state)
    gt.load_truth_file(mask(), "mask.png", picked, state)
    other = picker.select_sample("camera", state)
    assert gt.current_truth(other, state) is None
    assert gt.TRUTH_KEY not in state and state[gt.ROUND_KEY] == 1  # the uploader gets a fresh key


def test_coco_with_several_images_picks_the_one_named_like_the_picture(state):
    picked = picker.current_image(state)
    data = coco((1, "other.jpg"), (7, f"{picked.name}.png"))
    assert gt.coco_images(data) == [(1, "other.jpg"), (7, f"{picked.name}.png")]
    assert gt.load_truth_file(data, "instances.json", picked, state)
    assert state[gt.IMAGE_ID_KEY] == 7 and len(state[gt.IMAGE_IDS_KEY]) == 2
    assert gt.current_truth(picked, state).truth.class_names == ["background", "coin"]
    assert gt.load_truth_file(data, "instances.json", picked, state, image_id=1)
    assert gt.current_truth(picked, state).truth.image_id == 1


def test_coco_image_list_of_other_files_is_empty():
    assert gt.coco_images(b"\x89PNG") == [] and gt.coco_images(b"{not json") == []


def test_a_scene_brings_its_own_truth():
    state = {}
    picked = picker.select_scene(5, "easy", 64, state)
    assert picked.origin == "scene" and picked.image.shape == (64, 64, 3)
    assert state[picker.SCENE_SEED_KEY] == 5 and state[picker.SCENE_DIFFICULTY_KEY] == "easy"
    loaded = gt.current_truth(picked, state)
    assert loaded.from_scene and loaded.truth.shape == (64, 64)
    assert np.array_equal(loaded.truth.semantic, picker.scene_of(picked).semantic)
    again = picker.select_scene(5, "easy", 64, state)
    assert again.key == picked.key  # same seed, same scene


def test_default_to_scene_only_when_nothing_was_picked():
    state = {}
    picker.default_to_scene(state)
    assert picker.current_image(state).scene == picker.DEFAULT_SCENE
    picker.select_sample("coins", state)
    picker.default_to_scene(state)
    assert picker.current_image(state).origin == "sample"


def test_forget_truth_clears_everything(state):
    picked = picker.current_image(state)
    gt.load_truth_file(mask(), "mask.png", picked, state)
    gt.forget_truth(state)
    assert gt.current_truth(picked, state) is None and gt.FILE_KEY not in state

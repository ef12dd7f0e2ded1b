"""The ground-truth picker's plain functions and the ShapeScene image source, driven with a dict as state."""

import io
import json
from pathlib import Path

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
    assert "their shapes differ" in state[gt.ERROR_KEY] and gt.PENDING_KEY not in state


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


# ---------------------------------------------------------------- files that do not fit, and COCO's stuff

COCO_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "coco-sample"
needs_coco = pytest.mark.skipif(not COCO_SAMPLE.is_dir(), reason=f"the shared COCO sample is not at {COCO_SAMPLE}")


class Named(io.BytesIO):
    def __init__(self, data, name):
        super().__init__(data)
        self.name = name


def coco_photo(state, stem="000000439180"):
    picker.accept_upload(Named((COCO_SAMPLE / "images" / f"{stem}.jpg").read_bytes(), f"{stem}.jpg"), state)
    return picker.current_image(state)


def test_a_wrong_size_mask_says_both_sizes_in_words(state):
    picked = picker.current_image(state)
    assert not gt.load_truth_file(mask(100, 150), "small.png", picked, state)
    assert "the mask is 150 x 100, the picture 384 x 303" in state[gt.ERROR_KEY]
    assert "made for another picture" in state[gt.ERROR_KEY] and gt.PENDING_KEY not in state


def test_coco_without_an_entry_for_the_picture_says_so_and_lists_what_it_has(state):
    picked = picker.current_image(state)
    gt.load_truth_file(mask(), "mask.png", picked, state)
    data = coco((1, "beach.jpg"), (2, "street.jpg"))
    assert not gt.load_truth_file(data, "instances.json", picked, state)
    error = state[gt.ERROR_KEY]
    assert "has no annotation for this picture" in error and "beach.jpg (384 x 303), street.jpg" in error
    assert gt.current_truth(picked, state).name == "mask.png"  # the previous truth stays
    assert state[gt.IMAGE_IDS_KEY] == [(1, "beach.jpg"), (2, "street.jpg")] and state[gt.IMAGE_ID_KEY] is None
    assert gt.load_truth_file(data, "instances.json", picked, state, image_id=2)  # the user's explicit choice


def test_a_one_image_coco_file_of_the_pictures_size_is_taken_under_another_name(state):
    picked = picker.current_image(state)
    assert gt.load_truth_file(coco((5, "renamed.jpg")), "one.json", picked, state)
    assert gt.current_truth(picked, state).truth.image_id == 5


@needs_coco
def test_coco_stuff_counts_as_background_by_default_and_the_choice_is_remembered_per_file():
    state = {}
    picked = coco_photo(state)
    data = (COCO_SAMPLE / "instances.json").read_bytes()
    assert gt.load_truth_file(data, "instances.json", picked, state)
    loaded = gt.current_truth(picked, state)
    assert gt.foreground_of(loaded, state) == ("things", ())
    everything = loaded.truth.semantic > 0
    things = gt.with_foreground(loaded, state)
    assert everything.mean() > 0.95 and 0.1 < (things.truth.semantic > 0).mean() < 0.5  # grass and sky dropped
    assert things.key != loaded.key
    person = loaded.truth.class_names.index("person")
    gt.set_foreground(loaded, "picked", [person], state)
    people = gt.with_foreground(loaded, state).truth
    assert set(np.unique(people.semantic)) == {0, person}
    other = coco_photo(state, "000000142238")
    assert gt.load_truth_file(data, "instances.json", other, state)
    assert gt.foreground_of(gt.current_truth(other, state), state) == ("things", ())  # per file and image
    assert gt.foreground_of(loaded, state) == ("picked", (person,))
    with pytest.raises(ValueError, match="choice='grass'"):
        gt.set_foreground(loaded, "grass", (), state)


@needs_coco
@pytest.mark.parametrize("png_first", [True, False])
def test_a_panoptic_png_and_its_json_load_together_in_either_order(png_first):
    state = {}
    picked = coco_photo(state)
    png = ((COCO_SAMPLE / "panoptic" / "000000439180.png").read_bytes(), "000000439180.png")
    js = ((COCO_SAMPLE / "panoptic.json").read_bytes(), "panoptic.json")
    first, second = (png, js) if png_first else (js, png)
    assert not gt.load_truth_file(*first, picked, state)
    expected = "looks like a COCO panoptic PNG" if png_first else "Upload that PNG too"
    assert expected in state[gt.ERROR_KEY] and gt.current_truth(picked, state) is None
    assert gt.load_truth_file(*second, picked, state)
    truth = gt.current_truth(picked, state).truth
    assert truth.source_format == "coco-panoptic" and "person" in truth.class_names


@needs_coco
def test_the_sidebar_offers_things_stuff_or_picked_classes_and_scores_follow():
    from streamlit.testing.v1 import AppTest

    state = {}
    picked = coco_photo(state)
    assert gt.load_truth_file((COCO_SAMPLE / "instances.json").read_bytes(), "instances.json", picked, state)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app_pages" / "evaluate.py"), default_timeout=300)
    for key, value in state.items():
        at.session_state[key] = value
    at.session_state["evaluate.methods"] = ["otsu"]
    at.run()
    assert not at.exception
    radio = at.radio(key=gt.FG_CHOICE_KEY)
    assert radio.value == "things" and radio.options == ["Things (objects)", "Stuff (grass, sky...)",
                                                          "Everything annotated", "Picked classes"]
    things_iou = at.dataframe[0].value["IoU"].iloc[0]
    radio.set_value("everything").run()
    everything_iou = at.dataframe[0].value["IoU"].iloc[0]
    assert everything_iou != pytest.approx(things_iou)
    at.radio(key=gt.FG_CHOICE_KEY).set_value("picked").run()
    person = state[gt.TRUTH_KEY].truth.class_names.index("person")
    at.multiselect(key=gt.FG_PICKED_KEY).set_value([person]).run()
    assert not at.exception
    assert at.session_state[gt.FOREGROUND_KEY][state[gt.TRUTH_KEY].key] == ("picked", (person,))
    assert any("Foreground: person." in c.value for c in at.caption)

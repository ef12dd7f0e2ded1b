"""The Prompt page through AppTest (prompts set in session state) and its canvas state functions."""

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi
from streamlit.testing.v1 import AppTest

from seglib.deep import sam
from seglib.deep.sam import sam2_model
from seglib.io.ground_truth import GroundTruth
from ui import prompt_canvas as canvas
from ui import prompt_sam
from ui.ground_truth import LoadedTruth
from ui.image_picker import DEFAULT_SCENE, _picked, scene_of, select_scene
from ui.params import widget_key

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120
SEED, DIFFICULTY, SIZE = 1, "easy", 128


def metrics(at):
    """label -> list of values (several panels show a "Time")."""
    out = {}
    for m in at.metric:
        out.setdefault(m.label, []).append(m.value)
    return out


def scene_click(label=None):
    """A click deep inside the scene's largest (or given) object, and the object."""
    scene = scene_of(select_scene(SEED, DIFFICULTY, SIZE, {}))
    counts = np.bincount(scene.instances.ravel())
    counts[0] = 0
    label = label or int(counts.argmax())
    obj = scene.instances == label
    distance = ndi.distance_transform_edt(obj)
    row, col = np.unravel_index(distance.argmax(), distance.shape)
    return int(col), int(row), obj


def page(items=None, methods=None):
    at = AppTest.from_file(str(ROOT / "app_pages" / "prompt.py"), default_timeout=TIMEOUT)
    chosen = {}
    picked = select_scene(SEED, DIFFICULTY, SIZE, chosen)
    for key, value in chosen.items():  # AppTest's session state has no pop(): copy what select_scene set
        at.session_state[key] = value
    if items is not None:
        at.session_state[canvas.IMAGE_KEY] = picked.key
        at.session_state[canvas.ITEMS_KEY] = items
    if methods is not None:
        at.session_state["prompt.methods"] = methods
    return at.run()


@pytest.fixture
def no_sam(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv(sam.WEIGHTS_ENV, raising=False)
    monkeypatch.delenv(sam2_model.WEIGHTS_ENV, raising=False)


def test_page_opens_with_a_scene_and_asks_for_a_click(no_sam):
    at = AppTest.from_file(str(ROOT / "app_pages" / "prompt.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.header[0].value == "Prompt"
    assert at.session_state["picker.image"].scene == DEFAULT_SCENE
    assert any("Click on the object" in i.value for i in at.info)
    assert at.session_state["prompt.methods"][0] == "sam2", "SAM 2.1 is the default Segment Anything"
    [warning] = at.warning
    assert "SAM 2.1 tiny (156 MB)" in warning.value, "says what will download and how big it is"
    assert "weights=" not in warning.value and "SEGDASH" not in warning.value, "no Python words up front"
    assert at.button(key="prompt.download_weights.sam2.1_hiera_tiny.pt").label == "Download SAM 2.1 tiny (156 MB)"
    details = at.expander[0]
    assert details.label == "Details for administrators and Python users"
    assert any("sam2.1_hiera_tiny.pt" in m.value and "SEGDASH_SAM2_WEIGHTS" in t.value
               for m in details.markdown for t in details.markdown)


def test_one_notice_however_many_methods_and_models_need_a_download(no_sam):
    x, y, _ = scene_click()
    at = page([["point", x, y, 1]], ["sam2", "sam", "flood-fill"])
    at.toggle(key=prompt_sam.AUTO_KEY).set_value(True).run()  # automatic masks share SAM 2.1 tiny's file
    assert not at.exception
    [warning] = at.warning
    assert "SAM 2.1 tiny (156 MB) and SAM vit_b (375 MB)" in warning.value
    assert sorted(b.label for b in at.button if b.label.startswith("Download")) == [
        "Download SAM 2.1 tiny (156 MB)", "Download SAM vit_b (375 MB)"]
    infos = [i.value for i in at.info]
    assert sum("waits for its trained model" in i for i in infos) == 2
    assert any("Automatic masks wait for the SAM 2.1 tiny model" in i for i in infos)


def test_one_click_runs_every_classical_method_and_scores_them(no_sam):
    x, y, _ = scene_click()
    at = page([["point", x, y, 1]], ["flood-fill", "random-walker", "marker-watershed", "grabcut", "sam"])
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    values = metrics(at)
    assert len(values["Time"]) == 3, "flood fill, random walker and watershed ran"
    assert all(float(v) >= 0.9 for v in values["IoU"]), values["IoU"]
    infos = [i.value for i in at.info]
    assert any("GrabCut" in i and "needs a box" in i for i in infos)
    assert any("Segment Anything (SAM) waits for its trained model: download it above" in i for i in infos)
    assert at.dataframe, "the scores table is shown"
    assert any("under your first object point" in c.value for c in at.caption)
    assert any(c.value.startswith("Flood fill") and "shown faintly" in c.value for c in at.caption)


def test_without_sam_weights_the_canvas_shows_the_first_method_that_ran(no_sam):
    x, y, _ = scene_click()
    at = page([["point", x, y, 1]], ["sam", "random-walker"])
    assert not at.exception
    assert any(c.value.startswith("Random walker") and "shown faintly" in c.value for c in at.caption)


def test_a_box_lets_grabcut_run(no_sam):
    x, y, obj = scene_click()
    rows, cols = np.nonzero(obj)
    box = ["box", int(cols.min()) - 4, int(rows.min()) - 4, int(cols.max()) + 5, int(rows.max()) + 5]
    at = page([["point", x, y, 1], box], ["grabcut"])
    assert not at.exception and not at.error
    assert float(metrics(at)["IoU"][0]) >= 0.9
    assert "box (" in at.markdown[-1].value or any("box (" in m.value for m in at.markdown)


def test_undo_and_clear_buttons(no_sam):
    x, y, _ = scene_click()
    at = page([["point", x, y, 1], ["point", 2, 2, 0]], ["flood-fill"])
    at.button(key="prompt.undo").click().run()
    assert at.session_state[canvas.ITEMS_KEY] == [["point", x, y, 1]]
    at.button(key="prompt.clear").click().run()
    assert at.session_state[canvas.ITEMS_KEY] == []
    assert any("Click on the object" in i.value for i in at.info)


def test_sam_with_tiny_weights_caches_the_embedding_and_refines(tiny_sam):
    x, y, _ = scene_click()
    at = page([["point", x, y, 1]], ["sam"])
    assert not at.exception and not at.error, [e.value for e in at.error]
    values = metrics(at)
    assert values["Encoder"][0] != "cached" and "Decoder" in values
    assert len(at.session_state[prompt_sam.HISTORY_KEY]) == 1
    at.session_state[canvas.ITEMS_KEY] = [["point", x, y, 1], ["point", 3, 3, 0]]
    at.run()
    assert not at.exception and not at.error
    assert metrics(at)["Encoder"][0] == "cached"
    assert len(at.session_state[prompt_sam.HISTORY_KEY]) == 2
    assert any("refined with mask_input" in c.value for c in at.caption)
    captions = [caption for image in at.get("image") for caption in image.captions]
    assert sum("stability" in c for c in captions) == 3 and any(c.startswith("chosen: IoU") for c in captions)


def test_sam_automatic_masks_refilter_without_decoding(tiny_sam):
    at = page([], ["flood-fill"])
    at.session_state[prompt_sam.AUTO_METHOD_KEY] = "sam-auto"
    at.toggle(key=prompt_sam.AUTO_KEY).set_value(True).run()
    at.slider(key=widget_key("sam-auto", "points_per_side")).set_value(4)
    at.slider(key=widget_key("sam-auto", "pred_iou_thresh")).set_value(0.0)
    at.slider(key=widget_key("sam-auto", "stability_score_thresh")).set_value(0.0).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert metrics(at)["Decoder"][0] != "cached"
    at.slider(key=widget_key("sam-auto", "box_nms_thresh")).set_value(0.5).run()
    assert not at.exception
    assert metrics(at)["Decoder"][0] == "cached" and "Filtering" in metrics(at)


def test_sam2_answers_a_click_and_reuses_the_embedding(small_sam2):
    x, y, _ = scene_click()
    at = page([["point", x, y, 1]], ["sam2"])
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not at.warning, "the model is there: no download notice"
    assert any("SAM 2.1 tiny model ready" in c.value for c in at.caption)
    assert metrics(at)["Encoder"][0] != "cached"
    at.session_state[canvas.ITEMS_KEY] = [["point", x, y, 1], ["point", 3, 3, 0]]
    at.run()
    assert not at.exception and not at.error
    assert metrics(at)["Encoder"][0] == "cached"
    assert any("refined with mask_input" in c.value for c in at.caption)


def test_sam2_automatic_masks_are_the_default_everything(small_sam2):
    at = page([], ["flood-fill"])
    at.toggle(key=prompt_sam.AUTO_KEY).set_value(True).run()
    assert at.session_state[prompt_sam.AUTO_METHOD_KEY] == "sam2-auto"
    at.slider(key=widget_key("sam2-auto", "points_per_side")).set_value(4)
    at.slider(key=widget_key("sam2-auto", "pred_iou_thresh")).set_value(0.0).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert metrics(at)["Decoder"][0] != "cached"
    at.slider(key=widget_key("sam2-auto", "box_nms_thresh")).set_value(0.5).run()
    assert metrics(at)["Decoder"][0] == "cached" and "Filtering" in metrics(at)


# ---------------------------------------------------------------- canvas state, without Streamlit


def picked_image(shape=(50, 100)):
    return _picked(np.zeros(shape + (3,), np.uint8), "test", "upload")


def test_clicks_map_from_display_to_image_pixels_and_are_handled_once():
    picked, state = picked_image(), {}
    canvas.prompt_items(picked, state)
    click = {"x": 37, "y": 12, "width": 200, "height": 100, "unix_time": 1}
    assert canvas.handle_event(click, canvas.MODES[0], picked, state)
    assert not canvas.handle_event(click, canvas.MODES[0], picked, state), "a rerun repeats the same event"
    assert canvas.handle_event({**click, "unix_time": 2, "x": 199, "y": 99}, canvas.MODES[1], picked, state)
    assert state[canvas.ITEMS_KEY] == [["point", 18, 6, 1], ["point", 99, 49, 0]]


def test_a_drag_in_box_mode_makes_a_box_and_a_plain_click_explains():
    picked, state = picked_image(), {}
    canvas.prompt_items(picked, state)
    assert not canvas.handle_event({"x": 5, "y": 5, "width": 100, "height": 50, "unix_time": 1}, canvas.MODES[2],
                                   picked, state)
    assert "drag" in state[canvas.NOTICE_KEY]
    drag = {"x1": 60, "y1": 40, "x2": 10, "y2": 5, "width": 100, "height": 50, "unix_time": 2}
    assert canvas.handle_event(drag, canvas.MODES[2], picked, state)
    assert state[canvas.ITEMS_KEY] == [["box", 10, 5, 61, 41]]
    canvas.handle_event({**drag, "x1": 0, "x2": 0, "unix_time": 3}, canvas.MODES[2], picked, state)
    assert "no width" in state[canvas.NOTICE_KEY]
    canvas.handle_event({**drag, "x1": 200, "y1": -30, "unix_time": 4}, canvas.MODES[2], picked, state)
    assert state[canvas.ITEMS_KEY] == [["box", 10, 0, 100, 6]], "a new box replaces the old, clipped to the image"


def test_items_belong_to_one_image_and_become_arguments():
    state = {}
    first, second = picked_image(), picked_image((20, 20))
    canvas.prompt_items(first, state)
    canvas.add_point(3, 4, 1, state)
    canvas.set_box(1, 1, 9, 9, state)
    canvas.add_point(5, 5, 0, state)
    assert canvas.prompt_args(state[canvas.ITEMS_KEY]) == {"points": [(3, 4, 1), (5, 5, 0)], "box": (1, 1, 9, 9)}
    canvas.undo(state)
    assert len(canvas.prompt_items(first, state)) == 2
    assert canvas.prompt_items(second, state) == [], "another image starts without prompts"
    assert canvas.missing("grabcut", [["point", 1, 1, 1]]).startswith("a box")
    assert canvas.missing("sam", [["box", 1, 1, 5, 5]]) is None
    assert canvas.missing("flood-fill", [["point", 1, 1, 0]]).startswith("an object point")


def test_object_truth_is_the_object_under_the_first_object_click():
    instances = np.zeros((20, 20), np.int32)
    instances[2:8, 2:8] = 1
    instances[10:18, 10:18] = 2
    loaded = LoadedTruth(GroundTruth(semantic=(instances > 0).astype(np.int32), instances=instances), "t", "t", "img")
    truth, about = canvas.object_truth(loaded, [["point", 0, 0, 0], ["point", 12, 12, 1]], (20, 20))
    np.testing.assert_array_equal(truth.truth.semantic, instances == 2)
    assert "object 2" in about and truth.key != loaded.key
    truth, about = canvas.object_truth(loaded, [["box", 0, 0, 9, 12]], (20, 20))
    np.testing.assert_array_equal(truth.truth.semantic, instances == 1)
    truth, about = canvas.object_truth(loaded, [["point", 0, 19, 1]], (20, 20))
    np.testing.assert_array_equal(truth.truth.semantic, instances > 0)
    assert "whole foreground" in about
    assert canvas.object_truth(None, [["point", 1, 1, 1]], (20, 20)) == (None, "")

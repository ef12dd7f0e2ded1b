"""The sidebar names the picture actually in use; a refused upload is said in the main area too."""

import io
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

import seglib
from seglib.samples import sample
from ui import image_picker as picker
from ui.share import encode_query, parse_query

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def explore(state=None):
    at = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=TIMEOUT)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def sidebar_text(at):
    return " ".join([m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption])


def png(shape):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros(shape, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


COINS = sample("coins")


def test_the_default_sample_is_named_with_its_description():
    at = explore()
    text = sidebar_text(at)
    assert f"In use:** the sample {COINS.title}" in text and COINS.hint in text


def test_a_scene_in_use_is_named_and_the_sample_box_says_it_is_not_in_use():
    state = {}
    picker.select_scene(*picker.DEFAULT_SCENE, state)
    at = explore(state)
    assert not at.exception
    text = sidebar_text(at)
    assert "In use:** the synthetic ShapeScene 3" in text
    assert COINS.hint not in text, "the coins' description must not describe a scene"
    assert "Not in use: the picture is the synthetic ShapeScene 3" in text


def test_an_upload_in_use_is_named():
    at = explore()
    at.file_uploader(key=picker.UPLOAD_KEY).set_value(("beach.png", png((40, 60)), "image/png")).run()
    assert not at.exception
    text = sidebar_text(at)
    assert "In use:** your upload 'beach.png'" in text and COINS.hint not in text


def test_a_refused_upload_is_said_in_the_main_area_too():
    at = explore()
    at.file_uploader(key=picker.UPLOAD_KEY).set_value(("huge.png", png((6000, 8000)), "image/png")).run()
    assert not at.exception
    assert any("huge.png" in e.value for e in at.sidebar.error)
    main = [e.value for e in at.main.error]
    assert any("huge.png" in e and f"Still showing the sample {COINS.title}" in e for e in main), main
    assert at.session_state[picker.IMAGE_KEY].sample == "coins"


def explore_link(query):
    at = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_a_link_made_on_an_upload_says_so_on_the_receivers_page():
    state = {}
    picker.accept_upload(io.BytesIO(png((40, 60))), state)
    query = encode_query(seglib.method("otsu"), {}, picked=state[picker.IMAGE_KEY])
    assert query == {"method": "otsu", "picture": "own"}
    at = explore_link(query)
    assert not at.exception
    assert any("sender's own picture" in w.value for w in at.main.warning)
    assert "not a setting" not in " ".join(w.value for w in at.warning)


def test_a_link_made_on_a_scene_draws_the_same_scene():
    picked = picker.select_scene(5, "easy", 128, {})
    query = encode_query(seglib.method("otsu"), {}, picked=picked)
    assert query["scene"] == "5,easy,128"
    at = explore_link(query)
    assert not at.exception and not at.warning
    assert at.session_state[picker.IMAGE_KEY].scene == (5, "easy", 128)
    bad = parse_query({"scene": "5,impossible,128"})
    assert bad.scene is None and "impossible" in bad.warnings[0]


def test_the_method_box_names_custom_weights_in_use():
    from seglib.deep import bundled
    from ui import weights

    at = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=TIMEOUT)
    at.session_state["explore.family"] = "deep"
    at.session_state["explore.method.deep"] = "unet"
    at.run()
    box = lambda: at.selectbox(key="explore.method.deep")  # noqa: E731
    assert box().format_func("unet") == "U-Net (bundled, ShapeScenes)"
    weights.set_custom_weights("unet", bundled.weights_path("unet"), "trained here (unet, 40 steps, 128 px)",
                               at.session_state)
    at.run()
    assert not at.exception
    assert "U-Net - custom weights: trained here (unet, 40 steps, 128 px)" in box().options
    assert "U-Net (bundled, ShapeScenes)" not in box().options

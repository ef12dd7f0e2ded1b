"""The plain functions behind the Streamlit glue: uploads, parameter text, share URLs."""

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import seglib
from seglib.pipeline import PREPROCESS_PARAMS
from seglib.registry import Param
from ui import image_picker as picker
from ui.params import format_value, log_grid, parse_value
from ui.share import encode_query, parse_query


def png(shape=(6, 9, 3), value=50):
    buffer = io.BytesIO()
    Image.fromarray(np.full(shape, value, np.uint8)).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "tiny.png"
    return buffer


# ---------------------------------------------------------------- image picker


def test_current_image_defaults_to_the_default_sample():
    state = {}
    picked = picker.current_image(state)
    assert picked.sample == seglib.samples.DEFAULT_SAMPLE
    assert state[picker.IMAGE_KEY] is picked
    assert not picked.image.flags.writeable
    assert picked.key == picker.image_hash(picked.image)


def test_accept_upload_replaces_the_image():
    state = {picker.ERROR_KEY: "old error"}
    assert picker.accept_upload(png(), state)
    picked = state[picker.IMAGE_KEY]
    assert picked.origin == "upload" and picked.name == "tiny.png" and picked.image.shape == (6, 9, 3)
    assert picker.ERROR_KEY not in state
    assert picked.file_stem == "tiny"


def test_corrupt_upload_reports_the_error_and_keeps_the_previous_image():
    state = {}
    previous = picker.select_sample("camera", state)
    bad = io.BytesIO(b"%PDF-1.4 definitely not a picture")
    bad.name = "scan.pdf"
    assert not picker.accept_upload(bad, state)
    assert state[picker.IMAGE_KEY] is previous
    assert "scan.pdf" in state[picker.ERROR_KEY] and "PDF" in state[picker.ERROR_KEY]


def test_removing_the_upload_changes_nothing():
    state = {}
    previous = picker.current_image(state)
    assert not picker.accept_upload(None, state)
    assert state[picker.IMAGE_KEY] is previous


def test_image_hash_depends_on_content_and_shape():
    a = np.zeros((4, 6, 3), np.uint8)
    assert picker.image_hash(a) == picker.image_hash(a.copy())
    assert picker.image_hash(a) != picker.image_hash(a.reshape(6, 4, 3))
    b = a.copy()
    b[0, 0, 0] = 1
    assert picker.image_hash(a) != picker.image_hash(b)


def test_working_size_option():
    assert picker.working_size_value(picker.FULL_SIZE) is None
    assert picker.working_size_value(512) == 512


# ---------------------------------------------------------------- parameter text


@pytest.mark.parametrize("spec, text, expected", [
    (Param("t", 0.5, low=0.0, high=1.0), "0.25", 0.25),
    (Param("n", 3, low=1, high=9), "7", 7),
    (Param("n", 3, low=1, high=9), "7.0", 7),
    (Param("flag", False), "true", True),
    (Param("flag", True), "0", False),
    (Param("c", 4, choices=(4, 8)), "8", 8),
    (Param("mode", "a", choices=("a", "b")), "b", "b"),
])
def test_parse_value_reads_text(spec, text, expected):
    value = parse_value(spec, text)
    assert value == expected and type(value) is type(expected)
    assert parse_value(spec, format_value(spec, value)) == value


@pytest.mark.parametrize("spec, text, match", [
    (Param("t", 0.5, low=0.0, high=1.0), "2", "t='2'|t=2"),
    (Param("t", 0.5, low=0.0, high=1.0), "abc", "t='abc'"),
    (Param("n", 3, low=1, high=9), "2.5", "n=2.5"),
    (Param("flag", False), "maybe", "flag='maybe'"),
    (Param("mode", "a", choices=("a", "b")), "c", "mode='c'"),
])
def test_parse_value_rejects_bad_text_naming_the_parameter(spec, text, match):
    with pytest.raises(ValueError, match=match):
        parse_value(spec, text)


def test_log_grid_spans_the_range_and_keeps_the_default():
    spec = Param("scale", 100.0, low=1.0, high=10000.0, log=True)
    grid = log_grid(spec)
    assert grid[0] == 1.0 and grid[-1] == 10000.0 and 100.0 in grid
    assert list(grid) == sorted(grid) and log_grid(spec) is grid  # computed once per spec
    ratios = np.diff(np.log10(grid))
    assert ratios.max() < 0.1  # fine enough to tune
    ints = log_grid(Param("size", 20, low=1, high=1000, log=True))
    assert all(isinstance(v, int) for v in ints) and 20 in ints


# ---------------------------------------------------------------- share URLs


def test_encode_then_parse_round_trips():
    canny = seglib.method("canny")
    params = canny.defaults() | {"sigma": 2.5}
    pre = {p.name: p.default for p in PREPROCESS_PARAMS} | {"colour_space": "gray"}
    picked = picker.select_sample("coins", {})
    query = encode_query(canny, params, pre, None, picked)
    assert query == {"method": "canny", "sample": "coins", "p.sigma": "2.5", "pre.colour_space": "gray"}
    view = parse_query(query)
    assert view.method is canny and view.sample == "coins" and not view.warnings
    assert {(scope, spec.name): value for scope, spec, value in view.values} == {
        ("canny", "sigma"): 2.5, ("pre", "colour_space"): "gray"}


def test_parse_query_warns_about_each_bad_entry():
    view = parse_query({"method": "otsu", "p.polarity": "sideways", "post.nothing": "1", "utm_source": "x",
                        "p.threshold": "0.3"})
    assert view.method.name == "otsu" and view.values == []
    text = " ".join(view.warnings)
    for fragment in ("p.polarity", "post.nothing", "utm_source", "threshold"):
        assert fragment in text


# ---------------------------------------------------------------- error panel


def _failing_page():
    from seglib.registry import Method
    from ui.image_picker import current_image
    from ui.run import run_method

    import streamlit as st

    broken = Method(name="not-registered", title="Broken method", family="threshold", kind="binary", params=(),
                    description="", references=(), func=lambda image: None)
    result = run_method(current_image(), broken, {})
    st.write("page still alive", result is None)


def test_a_failing_method_shows_its_error_and_the_page_goes_on():
    at = AppTest.from_function(_failing_page, default_timeout=60).run()
    assert not at.exception
    assert "Broken method failed" in at.error[0].value
    assert at.expander and "traceback" in at.expander[0].label
    assert "KeyError" in at.expander[0].code[0].value
    assert any("page still alive" in m.value for m in at.markdown)


def _card_page():
    from seglib.registry import Method
    from ui.views import model_card

    model = Method(name="toy", title="Toy", family="deep", kind="semantic", params=(), description="",
                   references=(), func=lambda image: None,
                   card={"trained_on": "ShapeScenes (synthetic)", "miou": 0.81, "classes": ["a", "b"]})
    model_card(model)


def test_model_card_lists_what_the_model_was_trained_on():
    at = AppTest.from_function(_card_page, default_timeout=60).run()
    assert not at.exception
    assert "ShapeScenes (synthetic)" in at.markdown[0].value and "0.81" in at.markdown[0].value
    assert at.json  # nested entries


# ---------------------------------------------------------------- overlay size


def test_an_overlay_is_drawn_at_the_size_its_labels_were_computed_at_within_bounds():
    from ui import views
    assert views.display_side((1024, 700)) == 1024
    assert views.display_side((256, 200)) == views.DISPLAY_MIN_SIDE, "a sharp photo under a small working size"
    assert views.display_side((3000, 2000)) == views.DISPLAY_MAX_SIDE
    image = np.zeros((1411, 1411, 3), np.uint8)  # the retina sample, run at the default 1024 px
    data, _ = views._overlay_picture("test-picture", "test-labels", "regions", 0.5, "filled",
                                     views.display_side((1024, 1024)), image, np.ones((1411, 1411), np.int32))
    assert Image.open(io.BytesIO(data)).size == (1024, 1024)
    original, _ = views._original_picture("test-picture", views.display_side((1024, 1024)), image)
    assert Image.open(io.BytesIO(original)).size == (1024, 1024), "the original beside it at the same size"

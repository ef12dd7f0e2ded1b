"""'Auto or a number' parameters (``Param(none=...)``): widget, share URL and copy-as-Python round trips."""

import numpy as np
from streamlit.testing.v1 import AppTest

import seglib
from seglib.pipeline import POSTPROCESS_PARAMS
from ui.params import format_value, parse_value, widget_key
from ui.share import encode_query, parse_query

KEY = widget_key("mean-shift", "bandwidth")


def _bandwidth_page():
    import streamlit as st

    import seglib
    from ui.params import method_widgets

    st.session_state["values"] = method_widgets(seglib.method("mean-shift"))


def test_auto_checkbox_switches_between_none_and_the_slider():
    at = AppTest.from_function(_bandwidth_page, default_timeout=60).run()
    assert not at.exception
    assert at.session_state["values"]["bandwidth"] == 0.15
    at.checkbox(key=KEY + ".none").check().run()
    assert at.session_state["values"]["bandwidth"] is None and at.session_state[KEY] is None
    assert at.slider(key=KEY + ".number").disabled
    at.checkbox(key=KEY + ".none").uncheck().run()
    assert at.session_state["values"]["bandwidth"] == 0.15
    at.slider(key=KEY + ".number").set_value(0.3).run()
    assert at.session_state["values"]["bandwidth"] == 0.3


def test_a_value_set_from_outside_moves_the_widgets():
    at = AppTest.from_function(_bandwidth_page, default_timeout=60)
    at.session_state[KEY] = None  # as a share link or a sweep's "use this value" does
    at.run()
    assert at.session_state["values"]["bandwidth"] is None and at.checkbox(key=KEY + ".none").value


def test_none_round_trips_through_share_urls_and_copy_as_python():
    method = seglib.method("mean-shift")
    spec = method.param("bandwidth")
    assert format_value(spec, None) == "auto" and parse_value(spec, "auto") is None
    assert parse_value(spec, format_value(spec, 0.2)) == 0.2
    query = encode_query(method, method.defaults() | {"bandwidth": None})
    assert query["p.bandwidth"] == "auto"
    view = parse_query(query)
    assert not view.warnings and [(s.name, v) for _, s, v in view.values] == [("bandwidth", None)]
    code = seglib.snippet(method, method.defaults() | {"bandwidth": None})
    assert "bandwidth=None" in code
    off = next(p for p in POSTPROCESS_PARAMS if p.name == "superpixels")
    assert off.default is None and format_value(off, None) == "off" and parse_value(off, "off") is None


def test_auto_bandwidth_is_estimated_and_a_number_is_used_as_given():
    image = np.zeros((16, 16, 3))
    image[:, 8:] = 1.0
    auto = seglib.segment(image, "mean-shift", bandwidth=None)
    assert any(note.startswith("Estimated bandwidth") for note in auto.notes)
    given = seglib.segment(image, "mean-shift", bandwidth=0.2)
    assert not any(note.startswith("Estimated bandwidth") for note in given.notes)

"""The Compare page driven through Streamlit's AppTest (no browser)."""

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from truth_files import mask_png

import seglib
from seglib import registry
from ui import ground_truth, panels, run
from ui import image_picker as picker
from ui.params import widget_key

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120
SMALL_SCENE = (3, "medium", 128)


def page(state=None):
    at = AppTest.from_file(str(ROOT / "app_pages" / "compare.py"), default_timeout=TIMEOUT)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def scene_page():
    state = {}
    picker.select_scene(*SMALL_SCENE, state)
    return page(state)


def table(at):
    return at.dataframe[0].value


def test_page_opened_directly_shows_a_scene_scored_in_every_panel():
    at = page()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[picker.IMAGE_KEY].scene == picker.DEFAULT_SCENE
    count = at.session_state[panels.COUNT_KEY]
    first = next(iter(panels.presets().values()))
    assert count == len(first)
    assert [at.selectbox(key=panels.method_key(i)).value for i in range(count)] == first
    assert len(table(at)) == count
    assert at.get("plotly_chart"), "linked figure and bar chart"


def open_parameters(at, index):
    """The user opens panel ``index``'s "Parameters" (closed, its sliders are not drawn)."""
    at.session_state[panels.params_open_key(index)] = True


def test_switching_a_panel_method_changes_its_row():
    at = scene_page()
    open_parameters(at, 0)
    at.selectbox(key=panels.method_key(0)).set_value("global-threshold").run()
    assert not at.exception
    assert table(at)["method"].iloc[0] == "1. Global threshold"
    slider = at.slider(key=widget_key(panels.panel_scope(0, "global-threshold"), "threshold"))
    slider.set_value(0.05).run()
    low = table(at)["IoU"].iloc[0]
    at.slider(key=widget_key(panels.panel_scope(0, "global-threshold"), "threshold")).set_value(0.5).run()
    assert table(at)["IoU"].iloc[0] != pytest.approx(low)


def test_a_closed_panel_draws_no_sliders_and_runs_with_its_last_values():
    at = scene_page()
    index = 2  # k-means in the first preset
    key = widget_key(panels.panel_scope(index, "kmeans"), "n_clusters")
    assert at.selectbox(key=panels.method_key(index)).value == "kmeans"
    with pytest.raises(KeyError):
        at.slider(key=key)  # closed: its sliders are not drawn
    before = table(at)["mean IoU (one-to-one)"].iloc[index]
    open_parameters(at, index)
    at.run().slider(key=key).set_value(2).run()
    assert not at.exception
    moved = table(at)["mean IoU (one-to-one)"].iloc[index]
    assert moved != pytest.approx(before)
    at.session_state[panels.params_open_key(index)] = False  # closed again
    at.run()
    assert not at.exception and key not in [s.key for s in at.slider]
    assert at.session_state[key] == 2
    assert table(at)["mean IoU (one-to-one)"].iloc[index] == pytest.approx(moved), "the panel keeps k = 2"


def test_two_panels_may_run_the_same_method_with_different_values():
    at = scene_page()
    for i in (0, 1):
        at.selectbox(key=panels.method_key(i)).set_value("kmeans")
    open_parameters(at, 1)
    at.run()
    at.slider(key=widget_key(panels.panel_scope(1, "kmeans"), "n_clusters")).set_value(2).run()
    assert not at.exception
    rows = table(at)
    assert list(rows["method"][:2]) == ["1. k-means clustering", "2. k-means clustering"]
    assert rows["mean IoU (one-to-one)"].iloc[0] != pytest.approx(rows["mean IoU (one-to-one)"].iloc[1])


def test_a_preset_fills_the_panels():
    at = scene_page()
    at.button(key="compare.preset.Edges").click().run()
    assert not at.exception
    assert at.session_state[panels.COUNT_KEY] == 3
    assert list(table(at)["kind"]) == ["edges"] * 3
    assert table(at)["boundary F1"].notna().all()


def test_panel_count_and_error_map_toggles():
    at = scene_page()
    at.button_group(key=panels.COUNT_KEY).set_value(2).run()
    assert len(table(at)) == 2
    at.toggle(key="compare.band").set_value(True).run()
    at.toggle(key="compare.errors").set_value(False).run()
    assert not at.exception and len(at.get("plotly_chart")) >= 1


def test_a_failing_method_stays_in_its_panel(monkeypatch):
    def broken(image, **params):
        raise RuntimeError("deliberately broken for this test")

    monkeypatch.setitem(registry._REGISTRY, "sobel", dataclasses.replace(seglib.method("sobel"), func=broken))
    run.clear()
    try:
        state = {panels.method_key(i): slug for i, slug in enumerate(["otsu", "sobel", "kmeans"])}
        state[panels.COUNT_KEY] = 3
        picker.select_scene(*SMALL_SCENE, state)
        at = page(state)
    finally:
        run.clear()
    assert not at.exception
    assert any("deliberately broken" in e.value for e in at.error)
    assert list(table(at)["method"]) == ["1. Otsu threshold", "3. k-means clustering"]


def button(at, label):
    return next(b for b in at.button if b.label == label)


def test_without_truth_there_is_a_hint_and_no_table():
    state = {}
    picker.select_sample("coins", state)
    at = page(state)
    assert not at.exception and not at.dataframe
    assert any("ground truth" in i.value for i in at.info)
    button(at, "Use a synthetic scene").click().run()
    assert at.session_state[picker.IMAGE_KEY].origin == "scene" and at.dataframe


def test_an_uploaded_truth_is_used_for_scores_and_a_bad_one_is_reported():
    state = {}
    picked = picker.select_sample("coins", state)
    assert ground_truth.load_truth_file(mask_png(picked.image.shape[:2], (100, 200, 100, 200)), "coin.png", picked,
                                        state)
    at = page(state)
    assert not at.exception and at.dataframe
    assert any("coin.png" in s.value for s in at.success)
    assert "IoU" in table(at)

    ground_truth.load_truth_file(b"%PDF-1.4", "scan.pdf", picked, state)
    at = page(state)
    assert any("scan.pdf" in e.value for e in at.error)
    assert at.dataframe, "the previous truth is kept"

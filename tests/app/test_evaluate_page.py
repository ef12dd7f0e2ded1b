"""The Evaluate page driven through Streamlit's AppTest (no browser)."""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from truth_files import mask_png

import seglib
from ui import ground_truth, panels, sweeps
from ui import image_picker as picker
from ui.params import widget_key

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180
SMALL_SCENE = (3, "medium", 128)
SENSITIVITY, ROBUSTNESS = "evaluate.sensitivity", "evaluate.robustness"


def page(state=None):
    at = AppTest.from_file(str(ROOT / "app_pages" / "evaluate.py"), default_timeout=TIMEOUT)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def scene_page(methods=("global-threshold", "kmeans", "canny")):
    state = {"evaluate.methods": list(methods)}
    picker.select_scene(*SMALL_SCENE, state)
    return page(state)


def charts(at):
    return at.get("plotly_chart")


def test_page_opened_directly_scores_the_default_methods_on_a_scene():
    at = page()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[picker.IMAGE_KEY].origin == "scene"
    scores = at.dataframe[0].value
    assert len(scores) == len(at.multiselect(key="evaluate.methods").value)
    assert len(charts(at)) >= 3, "score bars, per-class IoU bars, confusion matrix"


def test_choosing_methods_changes_the_table_and_the_confusion_matrix():
    at = scene_page()
    at.multiselect(key="evaluate.methods").set_value(["otsu", "slic"]).run()
    assert not at.exception
    assert list(at.dataframe[0].value["method"]) == ["Otsu threshold", "SLIC superpixels"]
    at.selectbox(key="evaluate.confusion_method").set_value("SLIC superpixels").run()
    assert not at.exception


def test_a_short_sensitivity_sweep_marks_the_best_value_and_applies_it():
    at = scene_page()
    at.selectbox(key="evaluate.sens.method").set_value("global-threshold").run()
    at.selectbox(key="evaluate.sens.param").set_value("threshold").run()
    at.number_input(key="evaluate.sens.points").set_value(3).run()
    before = len(charts(at))
    at.button(key="evaluate.sens.run").click().run()
    assert not at.exception
    record = at.session_state[SENSITIVITY]
    assert isinstance(record, sweeps.SweepRecord) and list(record.table["value"]) == [0.0, 0.5, 1.0]
    assert len(charts(at)) == before + 1

    at.selectbox(key="evaluate.sens.metric").set_value("boundary F1").run()
    assert at.session_state[SENSITIVITY] is record, "a rerun redraws the stored sweep without recomputing"

    best = seglib.sweeps.best_value(record.table, "boundary F1")
    at.slider(key=widget_key("global-threshold", "threshold")).set_value(0.2).run()
    assert at.session_state[SENSITIVITY] is record, "moving the swept slider keeps the curve"
    at.button(key="evaluate.sens.apply").click().run()
    assert not at.exception
    assert at.slider(key=widget_key("global-threshold", "threshold")).value == pytest.approx(best)
    compare_key = widget_key(panels.panel_scope(0, "global-threshold"), "threshold")
    assert at.session_state[compare_key] == pytest.approx(best), "Compare panels get the value too"


def test_the_sweep_names_parameters_by_their_labels():
    at = scene_page(methods=("kmeans",))
    at.selectbox(key="evaluate.sens.param").set_value("n_clusters").run()
    assert "N clusters" in at.selectbox(key="evaluate.sens.param").options
    assert "n_clusters" not in at.selectbox(key="evaluate.sens.param").options
    assert at.button(key="evaluate.sens.run").label == "Sweep N clusters of k-means clustering"


def test_the_sweep_offers_only_parameters_that_matter_in_the_current_mode():
    at = scene_page(methods=("watershed",))
    offered = lambda: at.selectbox(key="evaluate.sens.param").options  # noqa: E731
    assert "H" in offered() and "N markers" not in offered()  # offered by label, not by raw name
    at.selectbox(key=widget_key("watershed", "markers")).set_value("regular-grid").run()
    assert not at.exception
    assert "N markers" in offered() and "H" not in offered()


def test_a_short_robustness_sweep_draws_one_line_per_method():
    at = scene_page()
    at.selectbox(key="evaluate.rob.degradation").set_value("blur").run()
    at.number_input(key="evaluate.rob.steps").set_value(2).run()
    at.button(key="evaluate.rob.run").click().run()
    assert not at.exception
    table = at.session_state[ROBUSTNESS].table
    assert isinstance(table, pd.DataFrame) and len(table) == 2 * 3
    assert sorted(table["strength"].unique()) == [0.0, 1.0]
    figure = next(c for c in charts(at) if "under blur" in c.proto.spec)
    assert figure is not None


def test_without_truth_the_page_explains_what_it_needs():
    state = {}
    picker.select_sample("coins", state)
    at = page(state)
    assert not at.exception and not at.dataframe
    assert any("ground truth" in i.value for i in at.info)


def test_an_uploaded_truth_of_another_size_is_offered_a_resize():
    state = {}
    picked = picker.select_sample("coins", state)
    h, w = picked.image.shape[:2]
    ground_truth.load_truth_file(mask_png((2 * h, 2 * w), (200, 400, 200, 400)), "big.png", picked, state)
    at = page(state)
    assert not at.exception and not at.dataframe
    assert any("big.png" in w.value for w in at.warning)
    next(b for b in at.button if b.label.startswith("Resize to")).click().run()
    assert not at.exception and at.dataframe
    assert at.dataframe[0].value["IoU"].notna().any()

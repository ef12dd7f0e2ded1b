"""Pages do not forgive over-segmentation: watershed's split shapes and k-means' extra clusters cost score."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from seglib.scoring import MANY_TO_ONE, ONE_TO_ONE
from ui import panels

ROOT = Path(__file__).resolve().parents[2]


def test_compare_scores_watershed_splits_one_to_one_and_maps_them():
    at = AppTest.from_file(str(ROOT / "app_pages" / "compare.py"), default_timeout=300)
    at.session_state[panels.COUNT_KEY] = 2
    at.session_state[panels.method_key(0)] = "watershed"
    at.session_state[panels.method_key(1)] = "otsu"
    at.run()
    assert not at.exception
    row = at.dataframe[0].value.set_index("method").loc["1. Watershed"]
    assert row[MANY_TO_ONE] > 0.95            # what the page used to show as "mean IoU 0.99"
    assert row[ONE_TO_ONE] < 0.85             # the split ellipse and hexagon now cost score
    captions = " ".join(c.value for c in at.caption)
    assert "**over-segmented**" in captions and "**merged**" in captions
    figure = at.get("plotly_chart")[0].proto.spec
    assert "errors of 1: IoU (1-to-1)" in figure


def test_evaluate_sweep_of_kmeans_does_not_pick_the_most_clusters():
    at = AppTest.from_file(str(ROOT / "app_pages" / "evaluate.py"), default_timeout=300)
    at.session_state["evaluate.methods"] = ["kmeans"]
    at.run()
    at.selectbox(key="evaluate.sens.param").set_value("n_clusters")
    at.selectbox(key="evaluate.sens.metric").set_value(MANY_TO_ONE)
    at.number_input(key="evaluate.sens.points").set_value(4).run()
    at.button(key="evaluate.sens.run").click().run()
    assert not at.exception
    apply = at.button(key="evaluate.sens.apply")
    assert "n_clusters = 16" not in apply.label
    captions = " ".join(c.value for c in at.caption)
    assert f"chosen by **{ONE_TO_ONE}**" in captions and "never picks the best setting" in captions

"""The Explore page driven through Streamlit's AppTest (no browser)."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import seglib
from seglib import isolation
from seglib.samples import DEFAULT_SAMPLE
from ui import image_picker as picker
from ui import views
from ui.params import PIPELINE_OPEN_KEY, widget_key

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 90
FAMILY_KEY = "explore.family"
DOWNLOADS_KEY = "explore.downloads"  # open state of "Download and reuse"
TABS_KEY = "explore.tabs"  # the open tab below the stages
TRADITIONAL = [f for f in ("threshold", "region", "graph", "edge", "clustering") if seglib.methods(f)]


def method_key(family):
    return f"explore.method.{family}"


def metrics(at):
    return {m.label: m.value for m in at.metric}


def page(query=None):
    at = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def choose(at, slug):
    m = seglib.method(slug)
    at.button_group(key=FAMILY_KEY).set_value(m.family).run()
    return at.selectbox(key=method_key(m.family)).set_value(slug).run()


def test_app_entry_point_runs_the_explore_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert not at.error
    assert at.header[0].value == "Explore"
    assert "Time" in metrics(at)
    # Fits go to a helper process only in a served app (streamlit run): tests run them here.
    assert not isolation._offloading


def test_page_opened_directly_falls_back_to_the_default_sample():
    at = page()
    assert not at.exception
    picked = at.session_state[picker.IMAGE_KEY]
    assert picked.origin == "sample" and picked.sample == DEFAULT_SAMPLE
    assert at.query_params["sample"] == DEFAULT_SAMPLE
    assert at.query_params["method"] == seglib.methods(TRADITIONAL[0])[0].name


@pytest.mark.parametrize("family", TRADITIONAL)
def test_every_family_runs_without_error(family):
    at = page()
    at.button_group(key=FAMILY_KEY).set_value(family).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key=method_key(family)).value == seglib.methods(family)[0].name
    assert at.get("plotly_chart"), "stages are drawn"
    assert "Time" in metrics(at)


def test_moving_a_slider_changes_the_result():
    at = choose(page(), "global-threshold")
    slider = at.slider(key=widget_key("global-threshold", "threshold"))
    slider.set_value(0.2).run()
    low = metrics(at)["Foreground"]
    at.slider(key=widget_key("global-threshold", "threshold")).set_value(0.8).run()
    high = metrics(at)["Foreground"]
    assert float(low.rstrip("%")) > float(high.rstrip("%"))
    assert at.query_params["p.threshold"] == "0.8"


def test_choosing_a_sample_changes_the_image():
    at = page()
    at.selectbox(key=picker.SAMPLE_KEY).set_value("astronaut").run()
    assert not at.exception
    picked = at.session_state[picker.IMAGE_KEY]
    assert picked.sample == "astronaut" and picked.image.shape == (512, 512, 3)
    assert at.query_params["sample"] == "astronaut"


def test_parameter_values_survive_switching_methods():
    at = choose(page(), "global-threshold")
    at.slider(key=widget_key("global-threshold", "threshold")).set_value(0.3).run()
    choose(at, "otsu")
    choose(at, "global-threshold")
    assert at.slider(key=widget_key("global-threshold", "threshold")).value == pytest.approx(0.3)


def test_parameters_of_another_mode_are_hidden_and_keep_their_value():
    at = choose(page(), "watershed")
    sliders = lambda: {s.key for s in at.slider}  # noqa: E731
    key = lambda name: widget_key("watershed", name)  # noqa: E731
    assert key("h") in sliders() and not {key("min_distance"), key("n_markers")} & sliders()
    at.slider(key=key("h")).set_value(0.3).run()
    at.selectbox(key=key("markers")).set_value("regular-grid").run()
    assert not at.exception and not at.error
    assert key("n_markers") in sliders() and key("h") not in sliders()
    at.selectbox(key=key("markers")).set_value("local-minima").run()
    assert at.slider(key=key("h")).value == pytest.approx(0.3)


def test_pipeline_options_reach_the_method():
    at = choose(page(), "global-threshold")
    before = metrics(at)["Objects"]
    at.session_state[PIPELINE_OPEN_KEY] = True  # the user opens "Pre- and post-processing"
    at.run()
    at.slider(key=widget_key("post", "min_size")).set_value(500).run()
    assert not at.exception
    assert int(metrics(at)["Objects"]) < int(before)
    assert at.query_params["post.min_size"] == "500"
    at.session_state[PIPELINE_OPEN_KEY] = False  # closed again: its widgets are not drawn, their values last
    at.run()
    assert not at.exception
    assert widget_key("post", "min_size") not in [s.key for s in at.slider]
    assert at.query_params["post.min_size"] == "500"
    assert int(metrics(at)["Objects"]) < int(before)


def test_pipeline_widgets_are_not_drawn_while_closed():
    at = choose(page(), "global-threshold")
    keys = [w.key for w in [*at.slider, *at.selectbox, *at.toggle, *at.segmented_control]]
    assert not any(k and k.startswith(("param.pre.", "param.post.")) for k in keys)


def test_upload_of_a_good_image_replaces_the_picture(png_bytes):
    at = page()
    at.file_uploader(key=picker.UPLOAD_KEY).set_value(("photo.png", png_bytes, "image/png")).run()
    assert not at.exception and not at.error
    picked = at.session_state[picker.IMAGE_KEY]
    assert picked.origin == "upload" and picked.name == "photo.png" and picked.image.shape == (40, 60, 3)
    assert "sample" not in at.query_params


def test_corrupt_upload_shows_the_error_and_keeps_the_image():
    at = page()
    before = at.session_state[picker.IMAGE_KEY]
    at.file_uploader(key=picker.UPLOAD_KEY).set_value(("broken.png", b"\x89PNG\r\n\x1a\nnot really", "image/png")).run()
    assert not at.exception
    assert any("broken.png" in e.value for e in at.error)
    assert at.session_state[picker.IMAGE_KEY].key == before.key
    assert "Time" in metrics(at), "the page keeps working"


def test_query_parameters_restore_method_and_values():
    at = page({"method": "canny", "sample": "camera", "p.sigma": "2.5", "p.close_regions": "true",
               "pre.blur_sigma": "1"})
    assert not at.exception and not at.warning
    assert at.button_group(key=FAMILY_KEY).value == "edge"
    assert at.selectbox(key=method_key("edge")).value == "canny"
    assert at.slider(key=widget_key("canny", "sigma")).value == pytest.approx(2.5)
    assert at.toggle(key=widget_key("canny", "close_regions")).value is True
    assert at.slider(key=widget_key("pre", "blur_sigma")).value == pytest.approx(1.0)
    assert at.session_state[picker.IMAGE_KEY].sample == "camera"


def test_invalid_query_parameters_are_ignored_with_a_warning():
    at = page({"method": "canny", "p.sigma": "99", "p.nope": "1", "sample": "mars"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "p.sigma" in warnings and "nope" in warnings and "mars" in warnings
    assert at.slider(key=widget_key("canny", "sigma")).value == pytest.approx(seglib.method("canny").param("sigma").default)
    assert "p.sigma" not in at.query_params  # the URL is rewritten with valid values only


def test_unknown_method_in_the_url_falls_back():
    at = page({"method": "no-such-method"})
    assert not at.exception
    assert any("no-such-method" in w.value for w in at.warning)
    assert at.query_params["method"] == seglib.methods(TRADITIONAL[0])[0].name


def test_log_scale_parameter_is_snapped_to_its_grid():
    slug, name = next((m.name, p.name) for m in seglib.methods() for p in m.params
                      if p.log and m.family in TRADITIONAL)
    spec = seglib.method(slug).param(name)
    at = page({"method": slug, f"p.{name}": str(spec.high)})
    assert not at.exception
    assert at.select_slider(key=widget_key(slug, name)).value == pytest.approx(spec.high)


def test_view_controls_and_python_snippet():
    at = page()
    at.button_group(key="view.mode").set_value("contour").run()
    at.button_group(key="view.side").set_value("Label colours").run()
    assert not at.exception and not at.error
    assert at.session_state["view.mode"] == "contour"
    assert not [c for c in at.code if "seglib.segment(" in c.value], "the Python tab is closed: not drawn"
    at.session_state[TABS_KEY] = "Copy as Python"  # the user opens the tab
    snippet = next(c.value for c in at.run().code if "seglib.segment(" in c.value)
    assert "import seglib" in snippet
    assert f"load_sample({DEFAULT_SAMPLE!r})" in snippet and "your_image" not in snippet  # the shown sample's loader


def download_labels(at):
    """The download buttons, once "Download and reuse" is open."""
    at.session_state[DOWNLOADS_KEY] = True
    return [b.proto.label for b in at.run().get("download_button")]


def test_downloads_and_tabs_are_drawn_only_when_open():
    at = page()
    assert not at.get("download_button"), "closed: no buttons are built on every slider move"
    assert download_labels(at) == ["Label map (PNG)", "Overlay (PNG)", "COCO JSON"]
    panes = at.button_group(key=TABS_KEY)
    assert panes.value == "About this method" and not at.tabs  # a segmented control, not a tab bar
    about = " ".join(m.value for m in at.markdown)
    assert "**References**" in about and "Slug: `" in about
    assert not [c for c in at.code if "seglib.segment(" in c.value or "?method=" in c.value], "closed panes are empty"
    panes.set_value("Share").run()
    assert not at.exception and [c for c in at.code if "method=" in c.value]
    assert "**References**" not in " ".join(m.value for m in at.markdown)


def test_stages_beyond_two_rows_are_drawn_only_when_their_expander_is_open():
    at = choose(page(), "fuzzy-cmeans")
    assert not at.exception and not at.error
    charts = at.get("plotly_chart")
    assert len(charts) == views.STAGES_SHOWN  # fuzzy c-means has 9 stages: 6 drawn
    more = [e for e in at.expander if "more stages" in e.label]
    assert len(more) == 1 and more[0].label.startswith("3 more stages: ") and "objective" in more[0].label
    at.session_state["stages.fuzzy-cmeans.more"] = True  # the user opens it
    at.run()
    assert not at.exception and len(at.get("plotly_chart")) == 9


def test_a_local_method_below_full_size_offers_a_tiled_full_resolution_label_map():
    tiled = "Label map at full resolution (tiled)"
    at = choose(page(), "global-threshold")
    assert tiled not in download_labels(at), "the coins (384 px) already run at full size"
    at.select_slider(key=picker.WORKING_SIZE_KEY).set_value(256).run()
    assert not at.exception and tiled in download_labels(at)
    choose(at, "otsu")  # one threshold for the whole picture: not local
    assert tiled not in download_labels(at)


def test_full_resolution_params_only_for_local_methods_without_a_pipeline():
    from ui.image_picker import _picked
    from ui.views import full_resolution_params

    picked = _picked(np.random.default_rng(0).integers(0, 255, (300, 400, 3)), "noise", "upload")
    small = dict(working_size=128)
    sobel = seglib.segment(picked.image, "sobel", threshold=0.2, **small)
    assert full_resolution_params(picked, seglib.method("sobel"), sobel) == {"threshold": 0.2, "thin": False,
                                                                            "close_regions": False}
    full = seglib.segment(picked.image, "sobel", working_size=None)
    closed = seglib.segment(picked.image, "sobel", close_regions=True, **small)
    blurred = seglib.segment(picked.image, "sobel", preprocess_options={"blur_sigma": 1.0}, **small)
    for result in (full, closed, blurred):
        assert full_resolution_params(picked, seglib.method("sobel"), result) is None


@pytest.fixture
def png_bytes():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_interactive_methods_take_clicks_on_the_picture():
    from ui import prompt_canvas as canvas

    at = page({"method": "marker-watershed"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Click the object" in e.label for e in at.expander), "the Prompt page's canvas is on Explore"
    assert not any("points=" in text for text in (*[c.value for c in at.caption], *[i.value for i in at.info]))
    picked = at.session_state[picker.IMAGE_KEY]
    h, w = picked.image.shape[:2]
    at.session_state[canvas.IMAGE_KEY] = picked.key
    at.session_state[canvas.ITEMS_KEY] = [["point", w // 4, h // 4, 1], ["point", 3 * w // 4, 3 * h // 4, 0]]
    at.run()
    assert not at.exception and not at.error
    assert "points" in at.query_params, "the clicks drive the method and travel in its link"
    assert not any("stood in" in c.value for c in at.caption), "no default click once the user clicked"


def test_a_3d_pixel_cloud_is_a_still_picture_until_it_is_turned_in_3d():
    import json

    at = choose(page({"sample": "coffee"}), "kmeans")  # a colour picture: a cloud in RGB
    assert not at.exception and not at.error

    def cloud_traces():
        specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
        clouds = [spec for spec in specs if spec["layout"]["title"]["text"] == "pixel cloud"]
        assert len(clouds) == 1
        return {trace["type"] for trace in clouds[0]["data"]}

    assert cloud_traces() == {"image", "scatter"}  # the picture, and legend markers that draw no points
    turn = [t for t in at.toggle if t.label == "Turn in 3-D"]
    assert len(turn) == 1 and not turn[0].value and "WebGL" in turn[0].help
    turn[0].set_value(True).run()
    assert not at.exception and cloud_traces() == {"scatter3d"}
    # The choice holds while the slider moves.
    at.slider(key=widget_key("kmeans", "n_clusters")).set_value(5).run()
    assert not at.exception and cloud_traces() == {"scatter3d"}

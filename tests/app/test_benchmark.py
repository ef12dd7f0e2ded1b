"""The Benchmark page through AppTest, and its glue in ui/benchmark.py."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import seglib
from seglib.datasets import open_dataset
from seglib.evaluate import Run, evaluate
from ui import benchmark as bench
from ui import ground_truth, image_picker

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    # results go to a temporary folder, never to ~/.cache
    monkeypatch.setenv("SEGDASH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(bench.SCHEDULER_ENV, raising=False)
    return tmp_path / "cache"


def page(**state):
    at = AppTest.from_file(str(ROOT / "app_pages" / "benchmark.py"), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def small(**state):
    return page(**{bench.SHAPES_N_KEY: 4, bench.SHAPES_SIZE_KEY: 128, **state})


def button(at, text):
    return next(b for b in at.button if b.label == text)


def errors(at):
    return [e.value for e in at.error]


def make_folder(root: Path, n=3):
    for i in range(n):
        image = np.full((24, 32, 3), 40, np.uint8)
        image[4:16, 6 + i:20 + i] = 210
        mask = (image[..., 0] > 100).astype(np.uint8) * 255
        for sub, array in (("images", image), ("masks", mask)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(root / sub / f"im{i}.png")
    return root


# ---------------------------------------------------------------- the page


def test_page_opens_with_shapes_and_two_methods():
    at = page()
    assert not at.exception and not errors(at)
    assert {"Benchmark", "Dataset", "Where it runs"} <= {h.value for h in at.header}
    assert at.session_state[bench.METHODS_KEY] == ["otsu", "kmeans"]
    assert "2 method setting(s) x 20 images = 40 runs." in [c.value for c in at.caption]
    assert not button(at, "Start").disabled and button(at, "Stop").disabled


def test_a_small_run_fills_the_leaderboard_charts_and_downloads(cache_dir):
    at = small()
    button(at, "Start").click().run()
    assert not at.exception and not errors(at)
    run = at.session_state[bench.RUN_KEY]
    assert run.finished and not at.session_state[bench.RUNNING_KEY]
    board = at.dataframe[0].value
    assert sorted(board["label"]) == ["Otsu threshold", "k-means clustering"] and (board["images"] == 4).all()
    expected = evaluate(open_dataset("shapes", n=4, size=128), ["otsu", "kmeans"], cache=None)
    pd.testing.assert_frame_equal(run.table().drop(columns="elapsed_s"), expected.drop(columns="elapsed_s"))
    assert len(at.get("plotly_chart")) >= 1
    assert "4 of 4 images" in at.get("progress")[0].proto.text
    assert any(cache_dir.glob("*/*.json"))  # results kept for the next run
    assert len([b for b in at.button if b.label == "Open in Compare"]) == 4


def test_after_a_run_start_is_enabled_and_stop_disabled_without_touching_anything():
    at = small()
    button(at, "Start").click().run()
    assert at.session_state[bench.RUN_KEY].finished
    assert not button(at, "Start").disabled and button(at, "Stop").disabled


def test_worst_images_start_at_the_setting_ranked_last():
    at = small(**{bench.METHODS_KEY: ["otsu", "kmeans", "sauvola"]})
    button(at, "Start").click().run()
    board = at.dataframe[0].value
    assert at.selectbox(key="bench.drill").value == board["label"].iloc[-1] != board["label"].iloc[0]
    at.selectbox(key="bench.drill").set_value(board["label"].iloc[0]).run()
    at.selectbox(key="bench.metric").set_value("boundary F1").run()
    assert at.selectbox(key="bench.drill").value == board["label"].iloc[0]  # a chosen setting stays


def test_log_ticks_read_as_times():
    values, text = bench.log_ticks(0.007, 0.04)
    assert values == [0.005, 0.01, 0.02, 0.05] and text == ["5 ms", "10 ms", "20 ms", "50 ms"]
    assert bench.log_ticks(1.5, 1.5)[1] == ["1 s", "2 s"]
    assert bench.log_ticks(0.3, 30)[1] == ["200 ms", "500 ms", "1 s", "2 s", "5 s", "10 s", "20 s", "50 s"]


def test_a_rerun_after_adding_a_method_computes_only_that_method():
    at = small()
    button(at, "Start").click().run()
    at.multiselect(key=bench.METHODS_KEY).set_value(["otsu", "kmeans", "li"]).run()
    button(at, "Start").click().run()
    run = at.session_state[bench.RUN_KEY]
    assert run.stats == {"computed": 4, "cached": 8}
    assert len(at.dataframe[0].value) == 3


def test_a_parameter_grid_expands_into_settings():
    at = small(**{bench.METHODS_KEY: ["kmeans"]})
    at.text_input(key=bench.grid_key("kmeans", seglib.method("kmeans").param("n_clusters"))).set_value("2:4").run()
    assert "3 method setting(s) x 4 images = 12 runs." in [c.value for c in at.caption]
    button(at, "Start").click().run()
    labels = set(at.dataframe[0].value["label"])
    assert labels == {f"k-means clustering (n_clusters={k})" for k in (2, 3, 4)}


def test_a_bad_grid_value_is_explained_and_blocks_start():
    at = small(**{bench.METHODS_KEY: ["kmeans"]})
    at.text_input(key=bench.grid_key("kmeans", seglib.method("kmeans").param("n_clusters"))).set_value("3, 99").run()
    assert any("n_clusters=99 is not allowed" in e for e in errors(at))
    assert button(at, "Start").disabled


def test_a_stopped_run_shows_what_finished_and_continues():
    dataset = open_dataset("shapes", n=4, size=128)
    run = Run(dataset, ["otsu"], chunk_size=2, cache=None)
    run.step()
    at = page(**{bench.RUN_KEY: run, bench.RUNNING_KEY: False})
    assert not at.exception
    assert at.dataframe[0].value["images"].tolist() == [2]
    assert "2 of 4 images" in at.get("progress")[0].proto.text
    button(at, "Continue").click().run()
    assert at.session_state[bench.RUN_KEY].finished
    assert at.dataframe[0].value["images"].tolist() == [4]


def test_folder_dataset_from_a_path(tmp_path):
    make_folder(tmp_path / "data")
    at = page(**{bench.SOURCE_KEY: bench.FOLDER, bench.FOLDER_KEY: str(tmp_path / "data")})
    assert not at.exception and not errors(at)
    assert any("3 images" in s.value for s in at.success)
    at = page(**{bench.SOURCE_KEY: bench.FOLDER, bench.FOLDER_KEY: str(tmp_path / "nowhere")})
    assert any("is not a folder" in e for e in errors(at)) and button(at, "Start").disabled


def test_an_unreachable_scheduler_blocks_start():
    at = page(**{bench.SCHEDULER_KEY: "not-an-address"})
    assert any("Cannot reach a Dask scheduler at not-an-address" in e for e in errors(at))
    assert button(at, "Start").disabled


# ---------------------------------------------------------------- grids


def param(slug, name):
    return seglib.method(slug).param(name)


@pytest.mark.parametrize("slug, name, text, values", [
    ("kmeans", "n_clusters", "3, 4,5", [3, 4, 5]),
    ("kmeans", "n_clusters", "2:8:2", [2, 4, 6, 8]),
    ("kmeans", "n_clusters", "4, 4, 3", [4, 3]),
    ("global-threshold", "threshold", "0.1:0.3:0.1", [0.1, 0.2, 0.3]),
    ("global-threshold", "threshold", " 0.25 ", [0.25]),
    ("otsu", "polarity", "dark, bright", ["dark", "bright"]),
])
def test_parse_grid(slug, name, text, values):
    assert bench.parse_grid(param(slug, name), text) == values


@pytest.mark.parametrize("slug, name, text, match", [
    ("kmeans", "n_clusters", "", "give at least one value"),
    ("kmeans", "n_clusters", "3, x", r"n_clusters='x' is not allowed"),
    ("kmeans", "n_clusters", "2:40", r"n_clusters=40 is not allowed"),
    ("kmeans", "n_clusters", "2:8:0", "the step must be positive"),
    ("global-threshold", "threshold", "0:1:0.01", "gives 101 values; at most 50"),
    ("otsu", "polarity", "a:b", "is not a range"),
])
def test_parse_grid_errors(slug, name, text, match):
    with pytest.raises(ValueError, match=match):
        bench.parse_grid(param(slug, name), text)


def test_interactive_methods_are_not_offered():
    offered = {m.family for m in bench.benchmark_methods()}
    assert "interactive" not in offered and "threshold" in offered


# ---------------------------------------------------------------- state, charts, drill-down


def test_start_stop_resume_with_a_plain_mapping():
    state = {}
    run = bench.start(open_dataset("shapes", n=2, size=64), ["otsu"], state, cache=None)
    assert state[bench.RUNNING_KEY] and bench.current_run(state) is run
    bench.stop(state)
    assert not state[bench.RUNNING_KEY]
    bench.resume(state)
    assert state[bench.RUNNING_KEY]
    assert "0 of 2 images" == bench.status(run)


def test_figures_have_one_trace_per_setting():
    run = Run(open_dataset("shapes", n=3, size=64), ["otsu", ("kmeans", {"n_clusters": [2, 3]})], cache=None)
    run.step()
    table = run.table()
    assert [t.type for t in bench.box_figure(table, "boundary F1").data] == ["box"] * 3
    assert [t.type for t in bench.box_figure(table, "boundary F1", violin=True).data] == ["violin"] * 3
    assert len(bench.box_figure(table, "boundary F1").data[0].y) == 3  # every image a point
    from seglib.evaluate import leaderboard

    board = bench.titled(leaderboard(table, "boundary F1"))
    palette = bench.colours(table)
    figure = bench.tradeoff_figure(board, "boundary F1", palette)
    assert len(figure.data) == 3 and figure.layout.xaxis.type == "log"
    box = bench.box_figure(table, "boundary F1")
    assert {t.name: t.marker.color for t in figure.data} == {t.name: t.marker.color for t in box.data} == palette


def test_open_a_scene_in_compare():
    state = {}
    assert bench.open_in_compare(open_dataset("shapes", n=3, size=128), 2, state) is None
    picked = state[image_picker.IMAGE_KEY]
    assert picked.scene == (100_002, "easy", 128)
    assert ground_truth.current_truth(picked, state).from_scene


def test_open_a_file_sample_in_compare(tmp_path):
    dataset = open_dataset(make_folder(tmp_path))
    state = {}
    assert bench.open_in_compare(dataset, 1, state) is None
    picked = state[image_picker.IMAGE_KEY]
    assert picked.name == "im1.png"
    np.testing.assert_array_equal(picked.image, dataset[1].image)
    truth = ground_truth.current_truth(picked, state).truth
    np.testing.assert_array_equal(truth.semantic, dataset[1].ground_truth.semantic)


def test_drill_down_goes_to_compare():
    assert bench.target_page() == bench.COMPARE_PAGE


def test_the_time_axis_shows_its_tick_labels_inside_its_range():
    board = pd.DataFrame({"label": ["a", "b"], "IoU mean": [0.5, 0.9], "IoU std": [0.1, 0.1],
                          "elapsed_s mean": [0.012, 0.3]})
    axis = bench.tradeoff_figure(board, "IoU").layout.xaxis
    low, high = 10 ** axis.range[0], 10 ** axis.range[1]
    assert all(low <= t <= high for t in axis.tickvals) and len(axis.tickvals) >= 3
    assert list(axis.ticktext[:2]) == ["10 ms", "20 ms"]

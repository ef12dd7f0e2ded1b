"""Benchmark: which method, with which parameters, wins on a whole dataset, and where it fails.

Thin page: read widgets, call seglib.evaluate through ui/benchmark, draw.
The run advances a few images at a time and keeps every finished image, so
Stop (or any rerun) loses nothing and the leaderboard fills in as it goes.
"""

import pandas as pd
import streamlit as st

import seglib
from seglib.evaluate import default_metric, leaderboard, metric_columns, worst_images
from ui import benchmark as bench
from ui.image_picker import WORKING_SIZES, working_size_value
from ui.markdown import code, escape_markdown
from ui.persist import keep
from ui.views import PLOTLY_CONFIG

WORKING_SIZE_KEY = "bench.working_size"
METRIC_KEY, VIOLIN_KEY, DRILL_KEY = "bench.metric", "bench.violin", "bench.drill"
CHART = dict(config=PLOTLY_CONFIG, width="stretch")


def run_options():
    st.header("Where it runs", divider="gray")
    scheduler = bench.scheduler_control()
    keep(WORKING_SIZE_KEY, 1024)
    size = st.select_slider("Working resolution (longest side)", WORKING_SIZES, key=WORKING_SIZE_KEY,
                            persist_state="session", format_func=lambda v: "full size" if v == 0 else f"{v} px",
                            help="Methods run on each image shrunk to this side; scores are computed at full "
                                 "size. Smaller is faster.")
    keep(bench.CACHE_KEY, True)
    cache = st.toggle("Reuse earlier results", key=bench.CACHE_KEY, persist_state="session",
                      help="Results are kept on disk per image, method and parameters: rerunning after adding a "
                           "method computes only that method.")
    return scheduler, working_size_value(size), cache


def choose_methods() -> tuple[list, list[str]]:
    methods = bench.benchmark_methods()
    slugs = [m.name for m in methods]
    keep(bench.METHODS_KEY, [s for s in bench.DEFAULT_METHODS if s in slugs])
    chosen = st.multiselect("Methods", slugs, key=bench.METHODS_KEY, persist_state="session",
                            format_func=lambda s: f"{seglib.method(s).title} ({seglib.method(s).family})",
                            help="The methods to score on every image. Interactive methods are left out: they "
                                 "need your clicks.")
    plan, errors = [], []
    for slug in chosen:
        method = seglib.method(slug)
        with st.expander(f"{method.title}: parameters to try", icon=":material/tune:"):
            params, wrong = bench.grid_widgets(method)
            errors += [f"{method.title}: {e}" for e in wrong]
            st.caption(f"{bench.grid_size(params)} setting(s)." if method.params else "No parameters.")
        plan.append((slug, params))
    return plan, errors


def controls(dataset, plan, errors, scheduler, working_size, cache) -> None:
    settings = sum(bench.grid_size(p) for _, p in plan)
    for error in errors:
        st.error(escape_markdown(error), icon=":material/error:")
    images = len(dataset) if dataset is not None else 0
    st.caption(f"{settings} method setting(s) x {images} images = {settings * images} runs.")
    run, running = bench.current_run(), st.session_state.get(bench.RUNNING_KEY, False)
    row = st.container(horizontal=True)
    ready = dataset is not None and plan and not errors and scheduler is not False
    if row.button("Start", type="primary", icon=":material/play_arrow:", disabled=not ready or running,
                  help="Score every setting on every image. Starting again replaces the current results."):
        try:
            bench.start(dataset, plan, scheduler=scheduler, cache=cache, working_size=working_size)
        except (KeyError, ValueError) as error:
            st.error(escape_markdown(error), icon=":material/error:")
        else:
            st.rerun()  # redraw the buttons with Stop enabled; the run goes on in that rerun
    row.button("Stop", icon=":material/stop:", on_click=bench.stop, disabled=not running,
               help="Stop after the image in progress; everything finished stays.")
    if run is not None and not run.finished and not running:
        row.button("Continue", icon=":material/resume:", on_click=bench.resume,
                   help="Carry on with the images not scored yet.")


def leaderboard_view(table, metric) -> pd.DataFrame:
    board = bench.titled(leaderboard(table, metric))
    shown = ["label", "images", "errors", f"{metric} mean", f"{metric} std"]
    shown += [f"{m} mean" for m in metric_columns(table) if m != metric] + ["elapsed_s mean"]
    st.dataframe(board[[c for c in shown if c in board]], hide_index=True, width="stretch",
                 column_config={"label": "method (parameters)", "elapsed_s mean": st.column_config.NumberColumn(
                     "seconds per image", format="%.4f")})
    failed = table[table["error"] != ""]
    if not failed.empty:
        first = failed.iloc[0]
        st.warning(f"{len(failed)} run(s) failed, e.g. {escape_markdown(first['method'])} on "
                   f"{code(first['image'])}: {escape_markdown(first['error'])}",
                   icon=":material/warning:")
    return board


def worst_setting(board, metric) -> str:
    """Label of the lowest-ranked setting that has a score (the board lists the best first)."""
    scored = board[board[f"{metric} mean"].notna()] if f"{metric} mean" in board else board.iloc[0:0]
    return (scored if not scored.empty else board)["label"].iloc[-1]


def drill_down(run, table, board, metric) -> None:
    labels = dict(zip(board["label"], zip(board["method"], board["params"])))
    if st.session_state.get(DRILL_KEY) not in labels:
        st.session_state[DRILL_KEY] = worst_setting(board, metric)
    chosen = st.selectbox("Method setting", list(labels), key=DRILL_KEY,
                          help="Its worst images first (failed runs, then the lowest scores). Starts at the "
                               "setting ranked last, where failures are easiest to find.")
    worst = worst_images(table, *labels[chosen], metric, k=5)
    for _, row in worst.iterrows():
        line = st.container(horizontal=True, vertical_alignment="center")
        value = row["error"] or f"{metric} = {row[metric]:.3f}"
        line.markdown(f"**{escape_markdown(row['image'])}**: {escape_markdown(value)}")
        if line.button("Open in Compare", key=f"bench.open.{row['index']}", icon=":material/open_in_new:",
                       help="Make this image and its ground truth current, and open it side by side."):
            problem = bench.open_in_compare(run.dataset, int(row["index"]))
            if problem:
                st.error(escape_markdown(problem), icon=":material/error:")
            else:
                try:
                    st.switch_page(bench.target_page())
                except st.errors.StreamlitAPIException:  # a page run outside the app's navigation
                    st.info("Selected: open the Compare page to see it.", icon=":material/info:")


def results(run) -> None:
    table = run.table()
    if table.empty:
        return
    metrics = metric_columns(table)
    if not metrics:
        st.warning("No run produced a score yet.", icon=":material/warning:")
        return
    if st.session_state.get(METRIC_KEY) not in metrics:
        st.session_state[METRIC_KEY] = default_metric(table) or metrics[0]
    metric = st.selectbox("Rank by", metrics, key=METRIC_KEY, help=bench.metric_help(st.session_state[METRIC_KEY]))
    board = leaderboard_view(table, metric)
    spread, tradeoff, worst, files = st.tabs(["Spread per image", "Speed and quality", "Worst images", "Download"])
    with spread:
        violin = st.toggle("Violins", key=VIOLIN_KEY, help="Show the density of scores instead of boxes.")
        st.plotly_chart(bench.box_figure(table, metric, violin=violin), key="bench.box", **CHART)
    with tradeoff:
        st.plotly_chart(bench.tradeoff_figure(board, metric, bench.colours(table)), key="bench.tradeoff", **CHART)
    with worst:
        drill_down(run, table, board, metric)
    with files:
        bench.downloads(table)


with st.sidebar:
    dataset = bench.dataset_controls()
    scheduler, working_size, cache = run_options()

st.header("Benchmark", divider="gray",
          help="Score methods and parameter grids on a whole dataset: a leaderboard, the spread over images, "
               "speed against quality, and the images where each method fails.")
plan, errors = choose_methods()
controls(dataset, plan, errors, scheduler, working_size, cache)
bench.show_failure()
run = bench.current_run()
if run is not None:
    if st.session_state.get(bench.RUNNING_KEY):
        if bench.drive(run):
            st.rerun()  # the run ended: redraw Start enabled and Stop disabled
    else:
        st.progress(len(run.done) / max(run.total, 1), text=bench.status(run))
    results(run)

"""The Benchmark page's glue: dataset and grid widgets, a resumable run, charts, drill-down.

A benchmark is a :class:`seglib.evaluate.Run` kept in ``st.session_state``
and advanced a chunk of images per step while the page runs. Any rerun
(the Stop button, or touching a widget) interrupts the script between two
images; everything finished is kept, and unless Stop was pressed the next
rerun carries on where it left off.

The state changes (:func:`start`, :func:`stop`, :func:`resume`,
:func:`open_in_compare`) are plain functions of a mapping so tests can drive
them with a dict; :func:`parse_grid` and the figure builders are pure.
"""

from __future__ import annotations

import io
import os
from collections.abc import MutableMapping
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import seglib
from seglib.charts import series_colour
from seglib.datasets import Dataset, open_dataset
from seglib.datasets.shapes import DIFFICULTIES
from seglib.datasets.shapes_dataset import SPLIT_SEEDS
from seglib.evaluate import Run, config_label
from seglib.progress import report
from seglib.registry import Method, Param
from seglib.scoring import HIGHER_IS_BETTER

from . import heavy
from .ground_truth import load_truth_file
from .image_picker import SCENE_SIZES, accept_upload, current_image, select_scene
from .params import label, parse_value
from .persist import keep, session
from .run import show_error
from .views import format_seconds
from .markdown import escape_markdown

RUN_KEY = "bench.run"
RUNNING_KEY = "bench.running"
FAILURE_KEY = "bench.failure"  # the error that stopped the last run, shown once after the page redraws
SOURCE_KEY = "bench.source"
SHAPES_N_KEY, SHAPES_DIFFICULTY_KEY, SHAPES_SIZE_KEY, SHAPES_SPLIT_KEY = (
    "bench.shapes.n", "bench.shapes.difficulty", "bench.shapes.size", "bench.shapes.split")
FOLDER_KEY, FOLDER_SPLIT_KEY, FOLDER_N_KEY = "bench.folder.path", "bench.folder.split", "bench.folder.n"
SCHEDULER_KEY = "bench.scheduler"
CACHE_KEY = "bench.cache"
METHODS_KEY = "bench.methods"

SHAPES, FOLDER = "ShapeScenes", "A folder on this machine"
SCHEDULER_ENV = "SEGDASH_DASK_SCHEDULER"
CHUNK_SIZE = 4  # images per step: the page redraws its progress bar (and can stop) after each image anyway
MAX_GRID = 50  # values one parameter may take in a grid
DEFAULT_METHODS = ("otsu", "kmeans")
COMPARE_PAGE, EXPLORE_PAGE = "app_pages/compare.py", "app_pages/explore.py"
GRID_HELP = "Values to try: a list such as `3, 4, 5`, or a range `low:high:step` such as `2:8:2`."


def grid_key(slug: str, param: Param) -> str:
    return f"bench.grid.{slug}.{param.name}"


# ---------------------------------------------------------------- parameter grids


def _range(param: Param, text: str) -> list:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (2, 3) or param.kind not in ("int", "float"):
        raise ValueError(f"{param.name}={text!r} is not a range: expected low:high or low:high:step "
                         "(numbers only)")
    low, high = (parse_value(param, p) for p in parts[:2])
    step = float(parts[2]) if len(parts) == 3 else (param.step or 1)
    if not step > 0:
        raise ValueError(f"{param.name}={text!r}: the step must be positive")
    count = int(np.floor((high - low) / step + 1e-9)) + 1
    if count > MAX_GRID:
        raise ValueError(f"{param.name}={text!r} gives {count} values; at most {MAX_GRID} are allowed")
    return [parse_value(param, f"{low + i * step:.10g}") for i in range(max(count, 0))]


def parse_grid(param: Param, text: str) -> list:
    """The values a grid text gives a parameter: ``"3, 4, 5"`` or ``"low:high:step"``, each checked.

    Raises
    ------
    ValueError
        Naming the parameter and the text: a value outside the spec, a bad
        range, more than :data:`MAX_GRID` values, or nothing at all.
    """
    text = str(text).strip()
    values = _range(param, text) if ":" in text else [parse_value(param, part.strip()) for part in text.split(",")
                                                       if part.strip()]
    unique = list(dict.fromkeys(values))
    if not unique:
        raise ValueError(f"{param.name}: give at least one value ({GRID_HELP})")
    if len(unique) > MAX_GRID:
        raise ValueError(f"{param.name}: {len(unique)} values; at most {MAX_GRID} are allowed")
    return unique


def _grid_widget(method: Method, param: Param) -> list:
    key = grid_key(method.name, param)
    common = dict(key=key, persist_state="session")
    if param.kind in ("choice", "bool"):
        options = list(param.choices) if param.kind == "choice" else [False, True]
        keep(key, [param.default])
        chosen = st.multiselect(label(param), options, format_func=str, help=f"{param.help} Pick one or more.",
                                **common)
        if not chosen:
            raise ValueError(f"{param.name}: pick at least one value")
        return list(chosen)
    keep(key, f"{param.default:g}" if param.kind == "float" else str(param.default))
    text = st.text_input(label(param), help=f"{GRID_HELP} {param.help}", **common)
    return parse_grid(param, text)


def grid_widgets(method: Method) -> tuple[dict, list[str]]:
    """One widget per parameter (values to try); returns ``(params, errors)``.

    ``params`` maps each parameter to its list of values (a single default
    value is left out so the table shows only what varies).
    """
    params, errors = {}, []
    columns = st.columns(3) if method.params else []
    for i, param in enumerate(method.params):
        with columns[i % 3]:
            try:
                values = _grid_widget(method, param)
            except ValueError as error:
                errors.append(str(error))
                continue
        if values != [param.default]:
            params[param.name] = values
    return params, errors


def grid_size(params: dict) -> int:
    """How many settings a grid of lists expands to."""
    return int(np.prod([len(v) for v in params.values()])) if params else 1


def benchmark_methods() -> list[Method]:
    """Methods that run on a whole dataset unattended (interactive ones need clicks)."""
    return [m for m in seglib.methods() if m.family != "interactive"]


# ---------------------------------------------------------------- dataset and scheduler


@st.cache_resource(max_entries=16, show_spinner="Opening the dataset...")
def _open(source: str, split: str | None, n: int | None, options: tuple) -> Dataset:
    # Datasets hold file lists only, never pixels; sharing them between sessions is safe.
    return open_dataset(source, split=split, n=n, **dict(options))


def _shapes_controls() -> Dataset:
    keep(SHAPES_N_KEY, 20)
    keep(SHAPES_DIFFICULTY_KEY, "easy")
    keep(SHAPES_SIZE_KEY, 256)
    keep(SHAPES_SPLIT_KEY, "test")
    common = dict(persist_state="session")
    n = st.number_input("Scenes", 1, 5000, step=10, key=SHAPES_N_KEY, **common,
                        help="How many scenes to score. 20 give a first picture in seconds; a few hundred "
                             "make the spread trustworthy.")
    difficulty = st.segmented_control("Difficulty", list(DIFFICULTIES), required=True, key=SHAPES_DIFFICULTY_KEY,
                                      format_func=str.capitalize, **common,
                                      help="Easy: strong contrast, little noise. Medium adds blur, a light "
                                           "gradient, texture and JPEG. Hard: low contrast, mixed polarity, "
                                           "overlaps.")
    size = st.select_slider("Size (pixels a side)", SCENE_SIZES, key=SHAPES_SIZE_KEY, **common,
                            help="256 is what the bundled deep models were trained on.")
    split = st.segmented_control("Seeds", list(SPLIT_SEEDS), required=True, key=SHAPES_SPLIT_KEY, **common,
                                 help="Test scenes (seeds from 100 000) were never seen by the bundled deep "
                                      "models in training; train scenes were.")
    return _open("shapes", split or "test", int(n), (("difficulty", difficulty or "easy"), ("size", int(size))))


def _folder_controls() -> Dataset | None:
    keep(FOLDER_N_KEY, 0)
    path = st.text_input("Folder", key=FOLDER_KEY, placeholder="/data/VOCdevkit", persist_state="session",
                         help="A Pascal VOC, COCO, BSDS500 or images/ + masks/ folder on the machine running "
                              "this app, or a folder a few levels above it (as the archive unpacked).")
    split = st.text_input("Split", key=FOLDER_SPLIT_KEY, placeholder="default", persist_state="session",
                          help="train, val, test...; empty takes the layout's default (VOC: val, BSDS500: test).")
    n = st.number_input("Images (0 = all)", 0, 100_000, step=50, key=FOLDER_N_KEY, persist_state="session",
                        help="Score only the first images, for a quick first look.")
    if not (path or "").strip():
        st.caption("Give the path of a dataset folder.")
        return None
    return _open(path.strip(), (split or "").strip() or None, int(n) or None, ())


def dataset_controls() -> Dataset | None:
    """The dataset section of the sidebar; the opened dataset, or None (with its error shown)."""
    st.header("Dataset", divider="gray", help="Images with ground truth: synthetic scenes, or a public dataset "
                                              "or your own pictures and masks in a folder.")
    keep(SOURCE_KEY, SHAPES)
    source = st.segmented_control("Source", (SHAPES, FOLDER), required=True, key=SOURCE_KEY,
                                  persist_state="session",
                                  help="ShapeScenes need no files and have exact labels.")
    try:
        dataset = _shapes_controls() if source != FOLDER else _folder_controls()
    except ValueError as error:
        st.error(escape_markdown(error), icon=":material/folder_off:")
        return None
    if dataset is not None:
        st.success(escape_markdown(dataset.title), icon=":material/dataset:")
        for note in dataset.notes:
            st.caption(f":material/info: {escape_markdown(note)}")
    return dataset


@st.cache_resource(show_spinner="Connecting to the Dask scheduler...")
def _client(address: str):
    import distributed

    from seglib.evaluate import CONNECT_TIMEOUT_S

    return distributed.Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT_S)


def scheduler_control():
    """Where to run: ``None`` (threads here) or a connected ``distributed.Client`` (errors shown, then None)."""
    keep(SCHEDULER_KEY, os.environ.get(SCHEDULER_ENV, ""))
    address = st.text_input("Dask scheduler", key=SCHEDULER_KEY, placeholder="in this process",
                            persist_state="session",
                            help=f"Empty: threads in this process. An address such as tcp://10.0.0.5:8786 runs "
                                 f"the images on that Dask cluster (workers need seglib and, for folders, the "
                                 f"same path). Default from ${SCHEDULER_ENV}.").strip()
    if not address:
        return None
    try:
        client = _client(address)
    except Exception as error:  # noqa: BLE001 - any connection failure: say so, run nothing
        st.error(f"Cannot reach a Dask scheduler at {escape_markdown(address)}: {escape_markdown(error)}", icon=":material/cloud_off:")
        return False
    st.caption(f":material/hub: {len(client.nthreads())} workers, {sum(client.nthreads().values())} threads")
    return client


# ---------------------------------------------------------------- the run


def start(dataset: Dataset, methods: list, state: MutableMapping | None = None, **options) -> Run:
    """Begin a benchmark (replacing the previous one) and mark it running."""
    state = session(state)
    run = Run(dataset, methods, chunk_size=CHUNK_SIZE, **options)
    state[RUN_KEY] = run
    state[RUNNING_KEY] = True
    return run


def stop(state: MutableMapping | None = None) -> None:
    """Stop after the image in progress; finished images stay."""
    session(state)[RUNNING_KEY] = False


def resume(state: MutableMapping | None = None) -> None:
    """Carry on with a stopped benchmark."""
    state = session(state)
    if isinstance(state.get(RUN_KEY), Run):
        state[RUNNING_KEY] = True


def current_run(state: MutableMapping | None = None) -> Run | None:
    run = session(state).get(RUN_KEY)
    return run if isinstance(run, Run) else None


def status(run: Run) -> str:
    """``12 of 40 images, 3.1 images/s, about 9 s left``."""
    text = f"{len(run.done)} of {run.total} images"
    if run.throughput > 0:
        text += f", {run.throughput:.3g} images/s"
    if run.eta_s is not None and not run.finished:
        text += f", about {format_seconds(run.eta_s)} left"
    cached = run.stats.get("cached", 0)
    if cached:
        text += f" ({cached} results from the cache)"
    return text


def drive(run: Run, state: MutableMapping | None = None) -> bool:
    """Advance a running benchmark to its end under a progress bar (interruptible between images).

    Returns True when the run ended in this call (finished, or stopped by an
    error kept under :data:`FAILURE_KEY`): the caller then redraws the page
    so that Start and Stop show the new state.
    """
    state = session(state)
    bar = st.progress(len(run.done) / max(run.total, 1), text=status(run))

    def progress(done: int, total: int, name: str) -> None:  # on the heavy-job pool's thread
        report(done / max(total, 1), f"{status(run)}: {name}")

    def steps() -> None:
        while not run.finished:
            run.step(progress)

    try:
        with bar.container():  # waits its turn in the heavy-job pool; Stop (a rerun) cancels it between images
            heavy.run("benchmark", ("benchmark", id(run)), steps, title="Benchmark", block=True)
    except Exception as error:  # noqa: BLE001 - a lost worker or cluster: keep what finished
        stop(state)
        state[FAILURE_KEY] = error
        return True
    if run.finished:
        stop(state)
        return True
    bar.progress(len(run.done) / max(run.total, 1), text=status(run))
    return False


def show_failure(state: MutableMapping | None = None) -> None:
    """The error that stopped the last run, once."""
    error = session(state).pop(FAILURE_KEY, None)
    if error is not None:
        show_error("The benchmark stopped", error)


# ---------------------------------------------------------------- results


def metric_help(metric: str) -> str:
    better = "higher" if HIGHER_IS_BETTER.get(metric.removesuffix(" (mean)"), True) else "lower"
    return f"{metric}: {better} is better."


def setting_label(method: str, params) -> str:
    """``"k-means clustering (n_clusters=3)"``: a method setting under the method's title (its slug if unknown)."""
    try:
        title = seglib.method(method).title
    except KeyError:
        title = method
    return config_label(title, params)


def titled(board: pd.DataFrame) -> pd.DataFrame:
    """A leaderboard whose ``label`` column names methods by title instead of slug."""
    board = board.copy()
    board["label"] = [setting_label(m, p) for m, p in zip(board["method"], board["params"])]
    return board


def colours(table: pd.DataFrame) -> dict[str, str]:
    """One colour per method setting (by first appearance in the table), the same in every chart."""
    settings = table[["method", "params"]].drop_duplicates()
    pairs = zip(settings["method"], settings["params"])
    return {setting_label(m, p): series_colour(i) for i, (m, p) in enumerate(pairs)}


def box_figure(table: pd.DataFrame, metric: str, *, violin: bool = False) -> go.Figure:
    """One box (or violin) per method setting: the spread of ``metric`` over the images, every image a dot."""
    fig = go.Figure()
    palette = colours(table)
    scored = table[(table["error"] == "") & table[metric].notna()] if metric in table else table.iloc[0:0]
    for (method, params), rows in scored.groupby(["method", "params"], sort=False):
        name = setting_label(method, params)
        common = dict(y=rows[metric], name=name, text=rows["image"], marker_color=palette[name],
                      hoverinfo="y+text+name")
        if violin:
            fig.add_trace(go.Violin(points="all", box_visible=True, meanline_visible=True, **common))
        else:
            fig.add_trace(go.Box(boxpoints="all", jitter=0.4, pointpos=0, boxmean=True, **common))
    fig.update_layout(height=420, margin=dict(l=8, r=8, t=36, b=8), showlegend=False,
                      title=dict(text=f"{metric} per image", font=dict(size=14)), yaxis_title=metric)
    return fig


_TIME_PAD = 2.0  # the time axis spans from half the fastest to twice the slowest: room for the point labels


def log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Tick values 1, 2, 5 x 10^k spanning [low, high] and their labels in seconds or milliseconds.

    Plotly's own log ticks label the minor digits ("7 8 9 0.01 2 3"), which
    reads as nonsense; these read "5 ms  10 ms  20 ms  50 ms  0.1 s ...".
    """
    low, high = max(float(low), 1e-6), max(float(high), 1e-6)
    values = [m * 10.0 ** k for k in range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1)
              for m in (1, 2, 5)]
    inside = [v for v in values if low / _TIME_PAD <= v <= high * _TIME_PAD]
    if len(inside) < 2:  # everything at one time: the neighbours around it
        below = [v for v in values if v <= low] or values[:1]
        above = [v for v in values if v >= high] or values[-1:]
        inside = sorted({below[-1], above[0]})
    return inside, [f"{v * 1000:.3g} ms" if v < 1 else f"{v:.3g} s" for v in inside]


def tradeoff_figure(board: pd.DataFrame, metric: str, palette: dict[str, str] | None = None) -> go.Figure:
    """Mean ``metric`` against mean time per image, one point per method setting (error bars: spread).

    ``palette`` maps labels to colours (:func:`colours`); by default the board's order.
    """
    fig = go.Figure()
    column = f"{metric} mean"
    times = board["elapsed_s mean"].dropna() if "elapsed_s mean" in board else pd.Series(dtype=float)
    for i, row in board.reset_index(drop=True).iterrows():
        colour = (palette or {}).get(row["label"], series_colour(i))
        if pd.isna(row.get(column)) or pd.isna(row.get("elapsed_s mean")):
            continue
        fig.add_trace(go.Scatter(
            x=[row["elapsed_s mean"]], y=[row[column]], name=row["label"], mode="markers+text",
            text=[row["label"]], textposition="top center", marker=dict(size=12, color=colour),
            error_y=dict(type="data", array=[row.get(f"{metric} std", 0.0)], visible=True)))
    fig.update_layout(height=420, margin=dict(l=8, r=8, t=36, b=8), showlegend=False,
                      title=dict(text=f"Speed and quality: {metric} against time", font=dict(size=14)),
                      xaxis=dict(type="log", title="time per image (log scale)"), yaxis_title=metric)
    if len(times):
        low, high = max(float(times.min()), 1e-6), max(float(times.max()), 1e-6)
        ticks, text = log_ticks(low, high)
        fig.update_xaxes(tickmode="array", tickvals=ticks, ticktext=text,
                         range=[np.log10(min(low / _TIME_PAD, ticks[0])), np.log10(max(high * _TIME_PAD, ticks[-1]))])
    return fig


def downloads(table: pd.DataFrame, stem: str = "benchmark") -> None:
    """CSV and Parquet of the whole table, made when clicked."""
    row = st.container(horizontal=True)
    row.download_button("Table (CSV)", lambda: table.to_csv(index=False).encode(), file_name=f"{stem}.csv",
                        mime="text/csv", icon=":material/download:", on_click="ignore", key="bench.csv",
                        help="One row per image, method and parameters: scores, time and errors.")
    row.download_button("Table (Parquet)", lambda: _parquet(table), file_name=f"{stem}.parquet",
                        mime="application/vnd.apache.parquet", icon=":material/download:", on_click="ignore",
                        key="bench.parquet", help="The same table in Parquet, for pandas, polars or DuckDB.")


def _parquet(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


# ---------------------------------------------------------------- drill-down


class _NamedBytes(io.BytesIO):
    """Bytes with a file name, as an upload has."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name


def open_in_compare(dataset: Dataset, index: int, state: MutableMapping | None = None) -> str | None:
    """Make sample ``index`` (and its truth) the current image of the other pages.

    A ShapeScene is selected by seed; a file's picture goes through the
    image picker and its ground truth through the truth picker, as if
    uploaded. Returns an error message, or None when it worked.
    """
    state = session(state)
    image = dataset.image_file(index)
    if image is None:
        sample = dataset[index]
        select_scene(sample.meta["seed"], sample.meta["difficulty"], sample.meta["size"], state)
        return None
    if not accept_upload(_NamedBytes(Path(image).read_bytes(), Path(image).name), state):
        return f"could not open {image}"
    name, data, image_id = dataset.truth_file(index)
    if not load_truth_file(data, name, current_image(state), state, image_id=image_id):
        return f"the ground truth {name} did not load for {Path(image).name}"
    return None


def target_page() -> str:
    """Compare when the app has it, else Explore."""
    root = Path(__file__).resolve().parents[1]
    return COMPARE_PAGE if (root / COMPARE_PAGE).is_file() else EXPLORE_PAGE

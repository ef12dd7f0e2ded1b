"""The Compare page's panels: presets, a method and its parameters per panel, shared values and prompt.

Each panel ``i`` (0-based) has its own method box (``compare.method.<i>``)
and parameter widgets in the scope ``compare.<i>.<slug>``, so two panels
may run the same method with different values. A panel parameter that was
never set starts from the value the method has in Explore.
:func:`apply_everywhere` puts one value into Explore, Evaluate and every
panel (the Evaluate page's "apply best"). A share link's panels are
restored by :func:`restore_panels`; the prompt-taking panels share one
prompt (:func:`shared_prompt`, the Prompt page's canvas), each taking the
part its method accepts (:func:`panel_prompts`).

The state changes are plain functions of a mapping so tests can drive them.
"""

from __future__ import annotations

import textwrap
from collections.abc import MutableMapping
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import seglib
from seglib import charts, comparison, viz
from seglib.registry import Method
from seglib.result import Segmentation
from seglib.scoring import METRIC_NAMES

from . import prompt_canvas as canvas
from .ground_truth import LoadedTruth
from .image_picker import PickedImage
from .layout import lazy_expander
from .params import method_values, method_widgets, set_value, widget_key
from .persist import session
from .run import analyse
from .share import PROMPTS, SharedView
from .weights import method_title

COUNT_KEY = "compare.count"
COUNTS = (2, 3, 4)
MAX_PANELS = max(COUNTS)
_FIGURE_WIDTH = 1200  # pixels the linked figure is about as wide as, on a wide page
# Longest side of the pictures in the linked figure: about twice a panel's width on screen (room to zoom)
# while keeping the figure a few MB that every rerun sends.
_DISPLAY_BUDGET = 1600
_MAX_TRACES = 32  # cached panel pictures (PNG, a few hundred kB each)
_TITLE_CHARS = 64  # characters of panel titles across the figure at its narrowest
_DEEP_PRESET = "Classical vs deep"

PRESET_METHODS: dict[str, tuple[str, ...]] = {
    "Thresholds vs clustering": ("otsu", "adaptive-threshold", "kmeans", "mean-shift"),
    "Edges": ("canny", "sobel", "log"),
    "Graph vs clustering": ("felzenszwalb", "normalized-cut", "kmeans", "slic"),
    "Regions": ("split-merge", "region-growing", "watershed"),
    _DEEP_PRESET: ("otsu", "kmeans"),  # + the first registered deep models
}
PRESET_VALUES: dict[str, dict[str, dict]] = {
    # The local threshold's defaults suit a page of text (a window about a line high); on the shapes of the
    # default scene it needs a window larger than the objects and a margin, or it marks noise everywhere.
    "Thresholds vs clustering": {"adaptive-threshold": {"block_size": 151, "offset": -0.05}},
}
"""Values a preset sets in its panels (method -> parameter -> value); other parameters keep theirs."""
PRESET_FLOORS = {"binary": 0.25, "semantic": 0.5, "regions": 0.2, "edges": 0.3}
"""Headline score every preset method reaches on the default ShapeScene (checked by tests/app/test_presets.py)."""
PRESET_HELP = {
    "Thresholds vs clustering": "Global and local thresholds against colour clustering.",
    "Edges": "Three edge detectors: gradient with hysteresis, gradient magnitude, Laplacian of Gaussian.",
    "Graph vs clustering": "Graph cuts against clustering and superpixels.",
    "Regions": "Split and merge, region growing (seed placed on the most distinct object) and watershed.",
    _DEEP_PRESET: "Thresholds and clustering against trained networks.",
}


def method_key(index: int) -> str:
    """Session-state key of panel ``index``'s method box."""
    return f"compare.method.{index}"


def params_open_key(index: int) -> str:
    """Session-state key of whether panel ``index``'s "Parameters" expander is open (its widgets are
    drawn only while it is; closed, the panel keeps its values)."""
    return f"compare.params_open.{index}"


def panel_scope(index: int, slug: str) -> str:
    """Widget scope of panel ``index``'s parameters for method ``slug``."""
    return f"compare.{index}.{slug}"


def presets() -> dict[str, list[str]]:
    """Presets whose methods are registered (at least two each); deep models join "Classical vs deep"."""
    registered = {m.name for m in seglib.methods()}
    deep = [m.name for m in seglib.methods("deep")]
    out = {}
    for name, slugs in PRESET_METHODS.items():
        if name == _DEEP_PRESET:
            if not deep:
                continue
            slugs = slugs + tuple(deep[:MAX_PANELS - len(slugs)])
        chosen = [s for s in slugs if s in registered][:MAX_PANELS]
        if len(chosen) >= 2:
            out[name] = chosen
    return out


def apply_preset(name: str, state: MutableMapping | None = None) -> list[str]:
    """Fill the panels with a preset's methods and its :data:`PRESET_VALUES` (``KeyError`` naming the valid presets)."""
    state = session(state)
    available = presets()
    if name not in available:
        raise KeyError(f"no preset {name!r}; valid presets: {', '.join(available)}")
    slugs = available[name]
    state[COUNT_KEY] = max(len(slugs), min(COUNTS))
    for index, slug in enumerate(slugs):
        state[method_key(index)] = slug
        method = seglib.method(slug)
        for param, value in preset_values(name, slug).items():
            set_value(panel_scope(index, slug), method.param(param), value, state)
    return slugs


def preset_values(name: str, slug: str) -> dict:
    """The parameter values preset ``name`` gives method ``slug`` (empty: the method's own values)."""
    return dict(PRESET_VALUES.get(name, {}).get(slug, {}))


def ensure_panels(state: MutableMapping | None = None) -> None:
    """On the first visit, fill the panels from the first preset; later, repair unknown methods."""
    state = session(state)
    if COUNT_KEY not in state:
        first = next(iter(presets()), None)
        if first is not None:
            apply_preset(first, state)
        else:
            state[COUNT_KEY] = min(COUNTS)
    slugs = [m.name for m in seglib.methods()]
    for index in range(MAX_PANELS):
        if state.get(method_key(index)) not in slugs:
            state[method_key(index)] = slugs[index % len(slugs)]


def apply_everywhere(slug: str, name: str, value, state: MutableMapping | None = None) -> None:
    """Set parameter ``name`` of method ``slug`` in Explore/Evaluate and in every Compare panel.

    ``ValueError`` (naming the parameter) when ``value`` is outside the spec.
    """
    state = session(state)
    spec = seglib.method(slug).param(name)
    for scope in (slug, *(panel_scope(i, slug) for i in range(MAX_PANELS))):
        set_value(scope, spec, value, state)


def restore_panels(view: SharedView, state: MutableMapping | None = None) -> None:
    """Give the panels a link's methods and values (nothing when the link names no methods).

    The link's number of methods is the panel count (at least the smallest
    count). Every parameter of a linked panel's method is set: the link's
    value, else the default, since a link leaves defaults out. A panel whose
    slug the link got wrong keeps its method. The "Parameters" of a panel
    whose values the link tuned open, so the receiver sees them.
    """
    state = session(state)
    if not view.panels:
        return
    state[COUNT_KEY] = min(max(len(view.panels), min(COUNTS)), MAX_PANELS)
    linked = {(index, spec.name): value for index, spec, value in view.panel_values}
    for index, method in enumerate(view.panels):
        if method is None:
            continue
        state[method_key(index)] = method.name
        for spec in method.params:
            set_value(panel_scope(index, method.name), spec, linked.get((index, spec.name), spec.default), state)
    for index in {index for index, _, _ in view.panel_values}:
        state[params_open_key(index)] = True


def takes_prompt(method: Method) -> bool:
    """Whether ``method`` takes points or a box (the shared prompt)."""
    return bool(set(method.prompts) & set(PROMPTS))


def shared_prompt(picked: PickedImage, methods: list[Method]) -> list[list]:
    """The canvas (clicks and a box) of the panels whose method takes a prompt; its prompts (see
    :mod:`ui.prompt_canvas`). Nothing is drawn when no shown panel takes one."""
    takers = [str(index + 1) for index, method in enumerate(methods) if takes_prompt(method)]
    if not takers:
        return []
    title = f"Prompt for panel{'s' if len(takers) > 1 else ''} {', '.join(takers)}: click the object or draw a box"
    with st.expander(title, expanded=True, icon=":material/ads_click:"):
        st.caption("One prompt for every panel that takes one: each method uses the points and box it accepts. "
                   "Until you click, each runs on its own stand-in (a click at the centre or a box over the "
                   "middle). The prompt is part of this page's share link.")
        return canvas.prompt_canvas(picked)


def panel_prompts(method: Method, items: list[list]) -> tuple[dict, str | None]:
    """The part of the shared prompt ``method`` takes (``points=``/``box=``), and what it still lacks in words.

    The second value is None when the method can run: it takes no prompt,
    has what it needs, or was given none (it then uses its own stand-in).
    """
    taken = [item for item in items if {"point": "points", "box": "box"}[item[0]] in method.prompts]
    args = canvas.prompt_args(taken)
    return args, (canvas.missing(method, taken) if args else None)


def _seed_from_explore(index: int, method: Method, state: MutableMapping) -> None:
    for param in method.params:
        explore, panel = widget_key(method.name, param), widget_key(panel_scope(index, method.name), param)
        if panel not in state and explore in state:
            state[panel] = state[explore]


def method_labels() -> dict[str, str]:
    """The label of every method in a panel's method box: its title (see :func:`ui.weights.method_title`) and family.

    A box asks for the label of each of its ~40 options on every run; building them once a run for all
    panels spares three quarters of that (a few ms of every Compare move).
    """
    return {m.name: f"{method_title(m.name)} ({m.family})" for m in seglib.methods()}


def panel_controls(index: int, labels: dict[str, str] | None = None) -> tuple[Method, dict]:
    """Panel ``index``'s method box and parameter widgets; returns the method and its values.

    ``labels``: :func:`method_labels` of this run (built here when not given).
    """
    state = st.session_state
    labels = labels or method_labels()
    slug = st.selectbox(f"Method {index + 1}", list(labels), key=method_key(index),
                        format_func=labels.__getitem__, persist_state="session",
                        help="Any registered method. Its sliders below belong to this panel only; they start "
                             "from the values set in Explore.")
    method = seglib.method(slug)
    _seed_from_explore(index, method, state)
    scope = panel_scope(index, slug)
    # Closed, the sliders are not drawn: every element costs the browser on each slider move of any panel.
    box, is_open = lazy_expander("Parameters", params_open_key(index), icon=":material/tune:")
    if not is_open:
        return method, method_values(method, scope)
    with box:
        st.caption(method.description)
        params = method_widgets(method, scope)
    return method, params


# ---------------------------------------------------------------- the linked figure


@dataclass(frozen=True)
class PanelRun:
    """One panel's method and result (None when it failed or could not run), with the result's cache key.

    ``missing`` says why it could not run: ``"needs a prompt"`` (None when it ran or failed).
    """

    index: int
    method: Method
    result: Segmentation | None
    key: str
    missing: str | None = None

    @property
    def label(self) -> str:
        return f"{self.index + 1}. {self.method.title}"


def _line_width(width: int, columns: int) -> int:
    """Lines this wide stay visible once a panel is shrunk to its share of the figure."""
    return max(1, -(-int(width) * columns // _FIGURE_WIDTH))


def display_side(columns: int) -> int:
    """Longest side of each picture in a linked figure of ``columns`` panels a row."""
    return int(np.clip(_DISPLAY_BUDGET // max(columns, 1), 320, viz.FIGURE_MAX_SIDE))


def _display(picked: PickedImage, columns: int, labels: np.ndarray | None = None, kind: str = "regions"):
    """The picture (and labels) at display size; edge lines are thickened first so none vanish."""
    side = display_side(columns)
    factor = -(-max(picked.image.shape[:2]) // side)
    if labels is not None and kind == "edges" and factor > 1:
        labels = viz.thicken(labels, factor)
    return viz.fit(picked.image, labels, side)


@st.cache_data(max_entries=_MAX_TRACES, show_spinner=False)
def _overlay_trace(result_id: str, opacity: float, mode: str, columns: int, _picked: PickedImage,
                   _result: Segmentation) -> go.Image:
    image, labels = _display(_picked, columns, _result.labels, _result.kind)
    picture = viz.overlay(image, labels, _result.kind, opacity=opacity, mode=mode,
                          line_width=_line_width(image.shape[1], columns))
    return charts.image_trace(picture, _picked.image.shape[:2])


@st.cache_data(max_entries=_MAX_TRACES, show_spinner=False)
def _error_trace(result_id: str, truth_id: str, band: bool, columns: int, _picked: PickedImage,
                 _errors: comparison.ErrorMap) -> go.Image:
    image, _ = _display(_picked, columns)
    width = _line_width(image.shape[1], columns)
    picture = comparison.render_errors(image, _errors.resized(image.shape[:2]), show_band=band, line_width=width)
    return charts.image_trace(picture, _picked.image.shape[:2])


@st.cache_data(max_entries=8, show_spinner=False)
def _plain_trace(image_key: str, columns: int, _picked: PickedImage) -> go.Image:
    # What a failed panel shows: the picture alone.
    return charts.image_trace(_display(_picked, columns)[0], _picked.image.shape[:2])


def headline(run: PanelRun, truth: LoadedTruth) -> str:
    """``"IoU 0.97"``: the result kind's main score, or "" when it has none."""
    scores = {k: v for k, v in analyse("scores", run.result, run.key, truth).items()
              if k in METRIC_NAMES and v == v}
    metric = comparison.default_metric(run.result.kind, scores)
    return "" if metric is None else f"{comparison.short_name(metric)} {scores[metric]:.2f}"


def _overlay_panel(picked: PickedImage, run: PanelRun, opacity: float, mode: str, columns: int):
    if run.result is None:
        return _plain_trace(picked.key, columns, picked), f"{run.label} ({run.missing or 'failed'})"
    return _overlay_trace(run.key, opacity, mode, columns, picked, run.result), run.label


def _error_panel(picked: PickedImage, run: PanelRun, truth: LoadedTruth, band: bool, columns: int):
    """The panel's error trace, its title and its error map (None when the method failed)."""
    if run.result is None:
        return _plain_trace(picked.key, columns, picked), f"{run.index + 1}: {run.missing or 'failed'}", None
    errors = analyse("errors", run.result, run.key, truth)
    trace = _error_trace(run.key, truth.key, band, columns, picked, errors)
    score = headline(run, truth)
    return trace, f"errors of {run.index + 1}" + (f": {score}" if score else ""), errors


def wrap_title(title: str, columns: int) -> str:
    """A panel title broken into lines (``<br>``) that fit a panel of a 470 px wide figure (a projector
    with the sidebar open), so neighbouring titles never run into each other."""
    return "<br>".join(textwrap.wrap(title, max(_TITLE_CHARS // max(columns, 1), 10)) or [title])


def linked_figure(picked: PickedImage, runs: list[PanelRun], truth: LoadedTruth | None, *, opacity: float,
                  mode: str, errors: bool = True, band: bool = False) -> tuple[go.Figure, dict[str, str]]:
    """Every panel's overlay and, with a truth, its error map below, all zooming together.

    Pictures are drawn at most :func:`display_side` pixels a side and cached
    per panel, so changing one panel redraws only that panel's pictures.
    Returns the figure and what each error colour means (empty without error maps).
    """
    columns = len(runs)
    traces, titles = map(list, zip(*(_overlay_panel(picked, run, opacity, mode, columns) for run in runs)))
    legend, meanings = {}, {}
    if truth is not None and errors:
        for run in runs:
            trace, title, error_map = _error_panel(picked, run, truth, band, columns)
            traces.append(trace)
            titles.append(title)
            if error_map is not None:
                legend.update(error_map.legend)
                meanings.update(error_map.describe())
        if band:
            legend["tolerance band"] = comparison.BAND_COLOUR
            meanings["tolerance band"] = "within the boundary-F1 tolerance of a true boundary"
    titles = [wrap_title(title, columns) for title in titles]
    figure = charts.image_grid(traces, titles, columns, shape=picked.image.shape[:2], legend=legend or None)
    return figure, meanings

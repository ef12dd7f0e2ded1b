"""Widgets built from :class:`seglib.Param` specs.

Every parameter gets one widget with the spec's help text and a stable key
(``param.<scope>.<name>``, the scope being the method slug, ``pre`` or
``post``), and its value is kept for the whole session, so switching
methods or pages and coming back restores the sliders. Values arriving as
text (URL query parameters) go through :func:`parse_value`, which checks
them against the spec.
"""

from __future__ import annotations

import functools
import math
from collections.abc import MutableMapping

import numpy as np
import streamlit as st

from seglib.pipeline import POSTPROCESS_PARAMS, PREPROCESS_PARAMS
from seglib.registry import Method, Param

from .layout import lazy_expander
from .persist import keep
from .weights import weights_value, weights_widget

_LOG_GRID_POINTS = 61
_CHOICE_BUTTONS_MAX = 4  # up to this many short choices: segmented control; more: a select box
_CHOICE_BUTTON_CHARS = 12


def widget_key(scope: str, param: Param | str) -> str:
    """The session-state key of a parameter's widget."""
    name = param if isinstance(param, str) else param.name
    return f"param.{scope}.{name}"


def label(param: Param) -> str:
    """Widget label: the parameter name in words (``block_size`` -> ``Block size``)."""
    words = param.name.replace("_", " ")
    return words[:1].upper() + words[1:]


def _round_significant(value: float, digits: int = 3) -> float:
    if value == 0:
        return 0.0
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


@functools.lru_cache(maxsize=256)
def log_grid(param: Param) -> tuple:
    """Log-spaced slider stops between ``low`` and ``high`` (3 significant digits), default included.

    Computed once per spec (a rerun draws every log slider again), hence a tuple.
    """
    values = np.geomspace(param.low, param.high, _LOG_GRID_POINTS)
    if param.kind == "int":
        grid = {int(round(v)) for v in values}
    else:
        grid = {_round_significant(float(v)) for v in values}
    grid = {v for v in grid if param.low <= v <= param.high} | {param.slider_start, param.low, param.high}
    cast = int if param.kind == "int" else float
    return tuple(sorted(cast(v) for v in grid))


def _snap(param: Param, value):
    """The log-grid stop nearest to ``value`` in ratio."""
    grid = log_grid(param)
    return min(grid, key=lambda g: abs(math.log(g / value)) if g > 0 and value > 0 else abs(g - value))


def _step(param: Param):
    if param.step is not None:
        return int(param.step) if param.kind == "int" else float(param.step)
    if param.kind == "int":
        return 1
    span = float(param.high) - float(param.low)
    raw = span / 100.0
    exponent = math.floor(math.log10(raw))
    for nice in (1, 2, 5, 10):
        if nice * 10 ** exponent >= raw:
            return float(nice * 10 ** exponent)
    return raw


def _decimals(step: float) -> int:
    text = np.format_float_positional(float(step), trim="-")
    return len(text.split(".")[1]) if "." in text else 0


def format_value(param: Param, value) -> str:
    """Text form of a value (URLs, labels); :func:`parse_value` reads it back."""
    if value is None and param.none:
        return param.none
    if param.kind == "bool":
        return "true" if value else "false"
    if param.kind == "float":
        return f"{float(value):.10g}"
    return str(value)


def parse_value(param: Param, text):
    """Read a value given as text (or already typed) and validate it against the spec.

    Raises
    ------
    ValueError
        Naming the parameter, the text and what is allowed.
    """
    if isinstance(text, str):
        raw = text.strip()
        if param.none and raw.lower() in (param.none, "none"):
            return None
        kind = param.kind
        if kind == "bool":
            lowered = raw.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(f"{param.name}={text!r} is not allowed: expected true or false")
            return lowered in ("true", "1")
        if kind in ("int", "float"):
            try:
                number = float(raw)
            except ValueError:
                raise ValueError(f"{param.name}={text!r} is not allowed: expected {param.allowed()}") from None
            value = int(number) if kind == "int" and number.is_integer() else number
            return param.validate(value)
        if kind == "choice":
            for choice in param.choices:
                if str(choice) == raw:
                    return choice
    return param.validate(text)


def _widget_value(param: Param, value):
    """A valid value as the widget holds it (log sliders hold grid stops)."""
    value = param.validate(value)
    if param.log and param.kind in ("int", "float") and value is not None:
        return _snap(param, value)
    return value


def nearest_stop(param: Param, value):
    """The value nearest to ``value`` that the parameter's widget can hold.

    A log-grid stop for log sliders, ``low`` plus a whole number of steps for
    other sliders (within the bounds), the value itself otherwise. Sweeps use
    it so that their best value can be put back into the slider exactly.
    """
    value = param.validate(value)
    if param.kind not in ("int", "float") or param.low is None or param.high is None or value is None:
        return value
    if param.log:
        return _snap(param, value)
    step = _step(param)
    snapped = min(max(param.low + round((value - param.low) / step) * step, param.low), param.high)
    return int(round(snapped)) if param.kind == "int" else round(float(snapped), _decimals(step) + 1)


def set_value(scope: str, param: Param, value, state: MutableMapping | None = None) -> None:
    """Put a (validated) value into a parameter's widget before the widget is drawn."""
    state = st.session_state if state is None else state
    state[widget_key(scope, param)] = _widget_value(param, value)


def param_widget(param: Param, scope: str):
    """Draw the widget for ``param`` and return its (validated) value.

    int/float -> slider with the spec's step (a slider over log-spaced stops
    when ``param.log``; a number box when a bound is missing); choice ->
    segmented control for a few short options, else a select box; bool ->
    toggle.
    """
    key = widget_key(scope, param)
    state = st.session_state
    try:
        if key in state:
            state[key] = _widget_value(param, state[key])  # a stored value the spec no longer allows goes
    except ValueError:
        del state[key]
    wanted = keep(key, _widget_value(param, param.default))  # the idiom of ui.persist
    if param.none:
        return _none_or_number(param, key, wanted)
    common = dict(key=key, help=param.help or None, persist_state="session")
    kind = param.kind
    if kind == "bool":
        value = st.toggle(label(param), **common)
    elif kind == "choice":
        value = _choice_widget(param, common)
    elif param.log:
        value = st.select_slider(label(param), log_grid(param), format_func=lambda v: f"{v:g}", **common)
    elif param.low is None or param.high is None:
        value = st.number_input(label(param), min_value=param.low, max_value=param.high, step=_step(param), **common)
    else:
        value = _slider(param, common)
    return param.validate(value)


def _none_or_number(param: Param, key: str, wanted):
    """"Auto or a number": a checkbox named ``param.none`` (ticked: None) next to the slider.

    ``state[key]`` holds the value; the two widgets follow it, and write it back when moved.
    """
    state = st.session_state
    none_key, number_key = f"{key}.none", f"{key}.number"
    state[none_key] = wanted is None
    if wanted is not None or number_key not in state:
        state[number_key] = _widget_value(param, param.slider_start if wanted is None else wanted)

    def moved():
        state[key] = None if state[none_key] else state[number_key]

    row = st.container(horizontal=True, vertical_alignment="bottom")
    with row:
        number = _slider(param, dict(key=number_key, help=param.help or None, disabled=wanted is None,
                                     on_change=moved))
        ticked = st.checkbox(param.none, key=none_key, on_change=moved, width="content",
                             help=f"{label(param)}: {param.none} (None) instead of a number.")
    return None if ticked else param.validate(number)


def _choice_widget(param: Param, common: dict):
    short = all(len(str(c)) <= _CHOICE_BUTTON_CHARS for c in param.choices)
    if len(param.choices) <= _CHOICE_BUTTONS_MAX and short:
        value = st.segmented_control(label(param), param.choices, required=True, format_func=str, wrap=True,
                                     **common)
        return param.default if value is None else value
    return st.selectbox(label(param), param.choices, format_func=str, **common)


def _slider(param: Param, common: dict):
    step = _step(param)
    if param.kind == "int":
        return st.slider(label(param), int(param.low), int(param.high), step=int(step), **common)
    fmt = f"%.{max(_decimals(step), 1)}f"
    return st.slider(label(param), float(param.low), float(param.high), step=float(step), format=fmt, **common)


def params_widgets(params, scope: str) -> dict:
    """Widgets for a sequence of :class:`Param`; returns ``{name: value}``.

    A parameter that does not matter given the others (``Param.shown_when``)
    gets no widget; it keeps its last value (or its default), so switching
    back finds it as it was.
    """
    values = {}
    for p in params:
        values[p.name] = param_widget(p, scope) if p.is_shown(values) else hidden_value(p, scope)
    return values


def hidden_value(param: Param, scope: str):
    """The value a hidden parameter keeps: its widget's last value when valid, else its default."""
    try:
        return param.validate(st.session_state.get(widget_key(scope, param), param.default))
    except ValueError:
        return param.default


def method_widgets(method: Method, scope: str | None = None) -> dict:
    """Widgets for every parameter of ``method``; ``{name: value}``.

    The scope is the method's slug unless given (Compare panels use their own).
    """
    if not method.params:
        st.caption("This method has no parameters.")
    values = params_widgets(method.params, scope or method.name)
    return values | weights_widget(method, scope)  # deep methods: custom or pretrained weights


def method_values(method: Method, scope: str | None = None) -> dict:
    """What :func:`method_widgets` returns, without drawing a widget: each parameter's last value
    (:func:`hidden_value`) and the weights in use. For widgets kept out of sight (a closed expander)."""
    scope = scope or method.name
    return {p.name: hidden_value(p, scope) for p in method.params} | weights_value(method)


PIPELINE_SCOPES = (("pre", PREPROCESS_PARAMS), ("post", POSTPROCESS_PARAMS))


PIPELINE_OPEN_KEY = "pipeline.open"


def pipeline_widgets(expanded: bool = False) -> tuple[dict, dict]:
    """Pre- and post-processing widgets in an expander; returns ``(pre, post)`` options.

    These are shared by every method (scopes ``pre`` and ``post``). The expander is lazy: while it
    is closed its widgets are not drawn (a slider move elsewhere does not rebuild them) and the
    options keep their last values (:func:`hidden_value`).
    """
    changed = any(st.session_state.get(widget_key(scope, p), p.default) != p.default
                  for scope, specs in PIPELINE_SCOPES for p in specs)
    title = "Pre- and post-processing" + (" (active)" if changed else "")
    box, is_open = lazy_expander(title, PIPELINE_OPEN_KEY, expanded=expanded or changed, icon=":material/filter_alt:")
    with box:
        if not is_open:
            return ({p.name: hidden_value(p, "pre") for p in PREPROCESS_PARAMS},
                    {p.name: hidden_value(p, "post") for p in POSTPROCESS_PARAMS})
        st.caption("Before the method: colour space, blur, denoising. After it: clean the label map.")
        pre = params_widgets(PREPROCESS_PARAMS, "pre")
        st.divider()
        post = params_widgets(POSTPROCESS_PARAMS, "post")
    return pre, post

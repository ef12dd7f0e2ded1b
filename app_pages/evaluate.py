"""Evaluate: score chosen methods against ground truth, per class, and as a parameter or the image changes.

Thin page: read widgets, call seglib through ui/, draw. Sweeps run only on
a button press; their tables stay in the session so reruns redraw them.
"""

import pandas as pd
import streamlit as st

import seglib
from seglib import charts, comparison
from seglib.degradations import DEGRADATIONS, DESCRIPTIONS
from seglib.scoring import HIGHER_IS_BETTER, METRIC_NAMES
from seglib.sweeps import best_value, ranking_metric, robustness, sensitivity
from ui import panels, scores, sweeps, views
from ui.ground_truth import image_and_truth, missing_truth_hint
from ui.layout import wrapping_columns
from ui.markdown import escape_markdown
from ui.params import label, method_widgets, pipeline_widgets
from ui.persist import keep
from ui.run import analyse, result_key, run_method, sweep_runner

METHODS_KEY = "evaluate.methods"
CONFUSION_KEY = "evaluate.confusion_method"
SENS_METHOD_KEY, SENS_PARAM_KEY, SENS_METRIC_KEY, SENS_POINTS_KEY = (
    "evaluate.sens.method", "evaluate.sens.param", "evaluate.sens.metric", "evaluate.sens.points")
ROB_KIND_KEY, ROB_METRIC_KEY, ROB_STEPS_KEY = "evaluate.rob.degradation", "evaluate.rob.metric", "evaluate.rob.steps"
SENSITIVITY, ROBUSTNESS = "evaluate.sensitivity", "evaluate.robustness"
DEFAULT_METHODS = ("otsu", "kmeans", "felzenszwalb", "canny")
CHART = dict(config=views.PLOTLY_CONFIG, width="stretch")


def choose_methods() -> list:
    slugs = [m.name for m in seglib.methods()]
    keep(METHODS_KEY, [s for s in DEFAULT_METHODS if s in slugs] or slugs[:2])
    chosen = st.multiselect("Methods", slugs, key=METHODS_KEY, persist_state="session",
                            format_func=lambda s: seglib.method(s).title,
                            help="The methods to score. Their sliders (below) are shared with Explore.")
    return [seglib.method(s) for s in chosen]


def method_parameters(methods) -> dict:
    values = {}
    with st.expander("Parameters of the chosen methods (shared with Explore)", icon=":material/tune:"):
        for method, tab in zip(methods, st.tabs([m.title for m in methods])):
            with tab:
                values[method.name] = method_widgets(method)
    return values


def metric_choice(container, options, key, preferred, help_text):
    options = list(options)
    if st.session_state.get(key) not in options:
        st.session_state[key] = preferred if preferred in options else options[0]
    return container.selectbox("Metric", options, key=key, help=help_text)


def per_class(picked, results, truth) -> None:
    ious = [{"method": m.title, **row} for m, r, k in results for row in analyse("class_iou", r, k, truth)]
    matrices = {m.title: (r, k) for m, r, k in results if m.kind != "edges"}
    if not ious:
        st.caption("Per-class scores need a result with classes or regions and a truth with classes.")
        return
    table = pd.DataFrame(ious, columns=["method", "class", "IoU"])
    # Side by side only where each chart gets the width its margins are sized for.
    left, right = wrapping_columns("evaluate-per-class", 2, min_width=charts.NARROWEST_WIDTH)
    with left:
        st.plotly_chart(charts.class_iou_bars(table, title="IoU per class"), key="evaluate.class_iou", **CHART)
        scores.csv_button(table, f"{picked.file_stem}-class-iou.csv", key="evaluate.class_iou.csv",
                          label="Per-class IoU (CSV)")
    with right:
        names = list(matrices)
        keep(CONFUSION_KEY, names[0])
        if st.session_state[CONFUSION_KEY] not in names:
            st.session_state[CONFUSION_KEY] = names[0]
        name = st.selectbox("Confusion matrix of", names, key=CONFUSION_KEY,
                            help="Rows are true classes, columns predicted ones; each row sums to 100 %. "
                                 "Region and cluster ids are first paired one-to-one with the true segments; pieces "
                                 "left over form the 'unmatched segment' column.")
        result, key = matrices[name]
        matrix = analyse("confusion", result, key, truth)
        if matrix is not None:
            st.plotly_chart(charts.confusion_heatmap(*matrix, title=f"{name}: share of each true class"),
                            key="evaluate.confusion", **CHART)


def sensitivity_section(picked, results, values, truth, pre, post, working_size) -> None:
    tunable = [m for m, _, _ in results if m.params]
    if not tunable:
        st.caption("None of the chosen methods has a parameter to sweep.")
        return
    titles = {m.name: m for m in tunable}
    c1, c2, c3, c4 = st.columns([1.4, 1.4, 1.2, 1], vertical_alignment="bottom")
    if st.session_state.get(SENS_METHOD_KEY) not in titles:
        numeric = [m for m in tunable if any(p.kind in ("int", "float") for p in m.params)]
        st.session_state[SENS_METHOD_KEY] = (numeric or tunable)[0].name
    method = titles[c1.selectbox("Method", list(titles), key=SENS_METHOD_KEY,
                                 format_func=lambda s: titles[s].title, help="Whose parameter to sweep.")]
    shown = [p for p in method.params if p.is_shown(values[method.name])]  # those that matter in this mode
    names = [p.name for p in shown]
    numeric = [p.name for p in shown if p.kind in ("int", "float")]
    if st.session_state.get(SENS_PARAM_KEY) not in names:
        st.session_state[SENS_PARAM_KEY] = (numeric or names)[0]
    param = method.param(c2.selectbox("Parameter", names, key=SENS_PARAM_KEY,
                                      format_func=lambda name: label(method.param(name)),
                                      help="The parameter that varies; the others keep their slider values."))
    kind_metrics = [m for m in METRIC_NAMES if m in _row_of(results, method, truth)]
    metric = metric_choice(c3, kind_metrics, SENS_METRIC_KEY, comparison.default_metric(method.kind, kind_metrics),
                           "The score plotted against the parameter.")
    keep(SENS_POINTS_KEY, 8)
    points = c4.number_input("Points", 3, 25, key=SENS_POINTS_KEY,
                             help="How many values across the range (choices: all of them). Each is one run.")
    fixed = {k: v for k, v in values[method.name].items() if k != param.name}
    sig = sweeps.signature(image=picked.key, truth=truth.key, method=method.name, param=param.name, fixed=fixed,
                           points=points, pre=pre, post=post, working_size=working_size)
    if st.button(f"Sweep {label(param)} of {method.title}", icon=":material/play_arrow:", key="evaluate.sens.run",
                 help="Runs the method once per value (cached: a repeated sweep is instant)."):
        sweeps.run_sweep(SENSITIVITY, sig, {"method": method.name, "param": param.name}, title="Sensitivity sweep",
                         compute=lambda progress: sensitivity(
                             picked.image, truth.truth, method.name, param.name, sweeps.values_for(param, points),
                             params=fixed, run=sweep_runner(pre=pre, post=post, working_size=working_size),
                             progress=progress))
    show_sensitivity(picked, sig, values, metric)


def _row_of(results, method, truth) -> dict:
    for m, result, key in results:
        if m.name == method.name:
            return {k: v for k, v in analyse("scores", result, key, truth).items() if v == v}
    return {}


def show_sensitivity(picked, sig, values, metric) -> None:
    record = sweeps.stored(SENSITIVITY)
    if record is None:
        st.caption("Press the button to sweep: the curve shows the metric across the parameter's range, "
                   "your current value and the best one.")
        return
    method = seglib.method(record.settings["method"])
    param = method.param(record.settings["param"])
    table = record.table
    if record.signature != sig:
        st.caption(":material/history: This curve was made with other settings; press the button to update it.")
    if metric not in table:
        st.caption(f"The last sweep has no {metric!r} column.")
        return
    ranked = ranking_metric(metric, table.columns)
    best = None if ranked is None else best_value(table, ranked, higher_is_better=HIGHER_IS_BETTER[ranked])
    current = values.get(method.name, {}).get(param.name)
    figure = charts.sensitivity_figure(table, label(param), metric, current=current, best=best, log=param.log,
                                       title=f"{method.title}: {metric} as {label(param)} varies")
    st.plotly_chart(figure, key="evaluate.sensitivity.chart", **CHART)
    for line in sweeps.failures(table):
        st.caption(f":material/warning: {escape_markdown(line)}")
    if best is not None:
        st.caption(best_caption(label(param), best, metric, ranked))
    row = st.container(horizontal=True, vertical_alignment="center")
    if best is not None:
        row.button(f"Apply best: {label(param)} = {best}", key="evaluate.sens.apply", icon=":material/check:",
                   on_click=panels.apply_everywhere, args=(method.name, param.name, best),
                   disabled=best == current,
                   help=f"The value with the best {ranked}. Sets it on the method's slider here, in Explore and in "
                        "every Compare panel.")
    scores.csv_button(table, f"{picked.file_stem}-{method.name}-{param.name}-sweep.csv", key="evaluate.sens.csv",
                      label="Sweep (CSV)")


def best_caption(name: str, best, plotted: str, ranked: str) -> str:
    """Which score chose the best value, and why not the plotted one when they differ."""
    text = f"Best {name} = {best}, chosen by **{ranked}**"
    if ranked != plotted:
        text += (f" (the plotted {plotted} rises with every extra segment or cluster, so it never picks the "
                 "best setting)")
    return text + "."


def robustness_section(picked, results, values, truth, table, pre, post, working_size) -> None:
    c1, c2, c3 = st.columns([1.6, 1.4, 1], vertical_alignment="bottom")
    keep(ROB_KIND_KEY, "noise")
    degradation = c1.selectbox("Degradation", list(DEGRADATIONS), key=ROB_KIND_KEY, format_func=str.capitalize,
                               help="Applied to the picture at growing strength; the ground truth stays put. "
                                    + " ".join(f"**{d.capitalize()}**: {text}." for d, text in DESCRIPTIONS.items()))
    shared = [m for m in METRIC_NAMES if m in table and table[m].notna().all()]
    options = shared or [m for m in METRIC_NAMES if m in table and table[m].notna().any()]
    if not options:
        return
    metric = metric_choice(c2, options, ROB_METRIC_KEY, "boundary F1" if "boundary F1" in shared else None,
                           "The score plotted against the strength (shared by all methods where possible).")
    keep(ROB_STEPS_KEY, 5)
    steps = c3.number_input("Steps", 2, 11, key=ROB_STEPS_KEY,
                            help="Strengths from 0 (the picture as it is) to 1 (severe); each step runs every method.")
    methods = [(m.name, values[m.name]) for m, _, _ in results]
    strengths = [i / (steps - 1) for i in range(steps)]
    sig = sweeps.signature(image=picked.key, truth=truth.key, methods=methods, degradation=degradation, steps=steps,
                           pre=pre, post=post, working_size=working_size)
    st.caption(f"{degradation.capitalize()}: {DESCRIPTIONS[degradation]}.")
    if st.button(f"Degrade by {degradation}", icon=":material/play_arrow:", key="evaluate.rob.run",
                 help=f"{steps} strengths x {len(methods)} methods = {steps * len(methods)} runs (cached)."):
        sweeps.run_sweep(ROBUSTNESS, sig, {"degradation": degradation}, title="Robustness sweep",
                         compute=lambda progress: robustness(
                             picked.image, truth.truth, methods, degradation, strengths,
                             run=sweep_runner(pre=pre, post=post, working_size=working_size), progress=progress))
    record = sweeps.stored(ROBUSTNESS)
    if record is None:
        st.caption("Press the button: each method runs on the picture degraded at growing strength.")
        return
    if record.signature != sig:
        st.caption(":material/history: This chart was made with other settings; press the button to update it.")
    shown = record.settings["degradation"]
    if metric in record.table:
        names = {m.name: m.title for m in seglib.methods()}
        st.plotly_chart(charts.robustness_figure(record.table, metric, shown, names=names,
                                                 title=f"{metric} under {shown}"), key="evaluate.robustness.chart",
                        **CHART)
    for line in sweeps.failures(record.table):
        st.caption(f":material/warning: {escape_markdown(line)}")
    scores.csv_button(record.table, f"{picked.file_stem}-robustness-{shown}.csv", key="evaluate.rob.csv",
                      label="Robustness (CSV)")


picked, working_size, truth = image_and_truth()

st.header("Evaluate", divider="gray",
          help="Scores of the chosen methods against the ground truth, per class, and how they change as one "
               "parameter or the picture's quality changes.")
if truth is None:
    missing_truth_hint("Scores, sweeps and robustness curves")
    st.stop()

methods = choose_methods()
if not methods:
    st.info("Choose at least one method.", icon=":material/info:")
    st.stop()
values = method_parameters(methods)
pre, post = pipeline_widgets()

results = []
for method in methods:
    result = run_method(picked, method, values[method.name], pre=pre, post=post, working_size=working_size)
    if result is not None:
        key = result_key(picked, method, values[method.name], pre=pre, post=post, working_size=working_size)
        results.append((method, result, key))

st.subheader("Scores", divider="gray")
rows = [{"method": m.title, **analyse("scores", r, k, truth)} for m, r, k in results]
table = comparison.scores_frame(rows)
scores.scores_section(table, key="evaluate.scores", file_stem=picked.file_stem)
if not results:
    st.stop()

st.subheader("Per class", divider="gray")
per_class(picked, results, truth)

st.subheader("Sensitivity: one parameter across its range", divider="gray")
sensitivity_section(picked, results, values, truth, pre, post, working_size)

st.subheader("Robustness: the picture gets worse", divider="gray")
robustness_section(picked, results, values, truth, table, pre, post, working_size)

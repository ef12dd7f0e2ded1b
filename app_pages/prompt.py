"""Prompt: click the object, and compare Segment Anything with classical interactive methods.

Thin page: read widgets, call seglib through ui/, draw. Points and a box
made on the picture go to every chosen method at once; with ground truth
each result is scored against the object under the first object point.
The methods are every registered method that takes prompts; what each one
needs (a point, a box, weights, an earlier mask to refine) is registry data
(``Method.inputs``, ``Method.prompt_need``), so a new prompt-driven method
appears here without an edit.
"""

import numpy as np
import streamlit as st

import seglib
from seglib import comparison, viz
from seglib.prompts import draw_prompts
from ui import prompt_canvas as canvas
from ui import prompt_sam, scores, views
from ui.ground_truth import image_and_truth, missing_truth_hint
from ui.layout import wrapping_columns
from ui.params import method_widgets
from ui.persist import keep
from ui.run import analyse, result_key, run_method

METHODS_KEY = "prompt.methods"
DEFAULT_METHODS = ("sam2", "flood-fill", "random-walker", "grabcut")
COLUMNS = 3


def prompt_methods() -> list[seglib.Method]:
    """Every registered method that takes prompts (points or a box)."""
    return [m for m in seglib.methods() if {"points", "box"} & set(m.prompts)]


def choose_methods() -> list[seglib.Method]:
    available = {m.name: m for m in prompt_methods()}
    keep(METHODS_KEY, [slug for slug in DEFAULT_METHODS if slug in available])
    needs = "; ".join(f"{m.title}: {canvas.NEED_WORDS[m.prompt_need]}" for m in available.values())
    slugs = st.multiselect("Methods", list(available), key=METHODS_KEY, wrap=True, format_func=lambda s: available[s].title,
                           help=f"Every chosen method answers the same prompts. What each needs: {needs}.")
    return [available[s] for s in slugs if s in available]


def settings(methods) -> dict[str, dict]:
    """Each method's sliders (shared with Explore), one expander per method."""
    values = {}
    for method in methods:
        with st.expander(f"{method.title}", icon=":material/tune:"):
            st.caption(method.description)
            values[method.name] = method_widgets(method)
    return values


def run_one(picked, method, values, items, working_size):
    """The method's result on the prompts (None when it cannot run or failed), its cache key and why not."""
    wanted = canvas.missing(method.name, items)
    if wanted:
        return None, "", f"{method.title} needs {wanted}."
    params = {**values, **canvas.prompt_args(items)}
    if prompt_sam.has_checkpoints(method) and not prompt_sam.weights_ready(params):
        return None, "", f"{method.title} waits for its trained model: download it above."
    refines = "mask_input" in method.inputs
    if refines:
        params = prompt_sam.with_refinement(picked, params, items)
    result = run_method(picked, method, params, working_size=working_size)
    if refines and result is not None:
        prompt_sam.remember(picked, params, items, result)
    return result, result_key(picked, method, prompt_sam.key_params(params), working_size=working_size), ""


def result_picture(picked, result, items, opacity, mode) -> np.ndarray:
    """The result over the picture (shrunk for a column), with the prompts on top."""
    image, labels = viz.fit(picked.image, result.labels, views.DISPLAY_MAX_SIDE // 2)
    shown = viz.overlay(image, labels, result.kind, opacity=opacity, mode=mode,
                        line_width=views.line_width(image.shape[1]))
    return draw_prompts(shown / 255.0, canvas.as_prompts(items, picked.image.shape[:2]))


def headline(result, key, truth):
    row = analyse("scores", result, key, truth)
    metric = comparison.default_metric(result.kind, [k for k in row if k in comparison.METRIC_NAMES])
    return None if metric is None else (metric, f"{row[metric]:.3f}")


def result_panel(picked, method, run, items, truth, opacity, mode) -> None:
    result, key, why = run
    st.markdown(f"**{method.title}**")
    if result is None:
        if why:
            st.info(why, icon=":material/touch_app:")
        return
    st.image(result_picture(picked, result, items, opacity, mode), width="stretch")
    row = st.container(horizontal=True, gap="small")
    row.metric("Time", views.format_seconds(result.elapsed_s), border=True,
               help="Wall time of the method (a cached result shows its first run).")
    if truth is not None and (score := headline(result, key, truth)):
        row.metric(*score, border=True, help="Against the object your prompts point at (see Scores).")
    prompt_sam.timing_metrics(row, result)  # results that carry timings (SAM's encoder and decoder)
    prompt_sam.candidates(picked, result)  # results that carry candidate masks
    views.result_notes(result)
    with st.expander("Stages and downloads", icon=":material/layers:"):
        views.downloads(picked, method, result, opacity, mode, key=f"prompt.download.{method.name}")
        views.stage_grid(result, key=f"prompt.stages.{method.name}", columns=2)


def prompt_scores(picked, runs, truth, about) -> None:
    st.subheader("Scores", divider="gray")
    if truth is None:
        missing_truth_hint("Scores")
        return
    st.caption(f"Each result is scored against {about}.")
    rows = [{"method": method.title, **analyse("scores", result, key, truth)}
            for method, (result, key, _) in runs if result is not None]
    if rows:
        scores.scores_section(comparison.scores_frame(rows), key="prompt.scores", file_stem=picked.file_stem)


picked, working_size, loaded_truth = image_and_truth()
st.header("Prompt", divider="gray",
          help="Click the object (and, if needed, what is not the object, or drag a box): Segment Anything and "
               "classical interactive methods answer the same prompts side by side.")

canvas_column, controls = st.columns([1.3, 1], gap="large")
with controls:
    methods = choose_methods()
    prompt_sam.weights_panel(methods)  # one notice for every model still to download
    values = settings(methods)
    opacity, mode = views.overlay_controls()

items = canvas.prompt_items(picked)
truth, about = canvas.object_truth(loaded_truth, items, picked.image.shape[:2])
st.subheader("Results", divider="gray")
runs = []
if not items:
    st.info("Click on the object in the picture to start: every chosen method segments it.",
            icon=":material/touch_app:")
else:
    for start in range(0, len(methods), COLUMNS):
        # A row of COLUMNS panels, one under the other where a panel would be narrower than a stage figure.
        row = wrapping_columns(f"prompt-results-{start}", COLUMNS, views.STAGE_MIN_WIDTH)
        for column, method in zip(row, methods[start:start + COLUMNS]):
            with column:
                run = run_one(picked, method, values[method.name], items, working_size)
                result_panel(picked, method, run, items, truth, opacity, mode)
                runs.append((method, run))
shown = next(((method, run[0]) for method, run in runs if run[0] is not None), None)  # the first that ran
with canvas_column:
    canvas.prompt_canvas(picked, None if shown is None else shown[1].labels)
    if shown is not None:
        st.caption(f"{shown[0].title}: its result is shown faintly under your prompts.")

if items:
    prompt_scores(picked, runs, truth, about)
prompt_sam.everything_section(picked, working_size, opacity, mode)

"""Explore: one method on one picture, with every intermediate stage.

Thin page: read widgets, call seglib through ui/, draw. Every registered
method appears here with widgets built from its Param specs.
"""

import streamlit as st

import seglib
from seglib.registry import FAMILIES
from ui import prompt_canvas as canvas
from ui import views, weights
from ui.image_picker import image_picker
from ui.layout import controls_beside, lazy_expander, lazy_panes
from ui.params import method_widgets, pipeline_widgets
from ui.run import run_method
from ui.share import encode_query, parse_query, restore, restore_once, sync_query

FAMILY_KEY = "explore.family"
PROMPTS_KEY = "explore.prompts"
DOWNLOADS_KEY = "explore.downloads"  # open state of "Download and reuse" (its buttons are drawn only while open)
TABS_KEY = "explore.tabs"  # the open pane below the stages: about, Python, share (only it is drawn)
FAMILY_HELP = {
    "threshold": "Split pixels by intensity.",
    "region": "Grow, split or flood regions of similar pixels.",
    "graph": "Cut a graph of neighbouring pixels.",
    "edge": "Find boundaries where intensity changes fast.",
    "clustering": "Group pixels by colour (and position).",
    "deep": "Trained neural networks.",
    "interactive": "You give hints (clicks, strokes); the method does the rest.",
}


def method_key(family: str) -> str:
    return f"explore.method.{family}"


def restore_from_url(query: dict) -> list[str]:
    """Load method, parameters, sample and prompts from the URL's query (once a session, see ``restore_once``)."""
    state = st.session_state
    view = parse_query(query)
    restore(view)  # the picture, parameter and pipeline values
    if view.method is not None:
        state[FAMILY_KEY] = view.method.family
        state[method_key(view.method.family)] = view.method.name
    state[PROMPTS_KEY] = view.prompts  # points and a box for methods that take them (a Prompt page's link)
    return view.warnings


def link_prompts(method: seglib.Method) -> dict:
    """The points and box a shared link gave, when ``method`` takes them; shown under its sliders."""
    prompts = st.session_state.get(PROMPTS_KEY) or {}
    prompts = {k: v for k, v in prompts.items() if k in method.prompts}
    if prompts:
        st.caption(":material/link: Prompts from the link: " + "; ".join(
            f"{len(v)} point(s)" if k == "points" else f"box {tuple(round(x) for x in v)}" for k, v in prompts.items()))
    return prompts


def choose_method() -> seglib.Method:
    """Family pills and a method box; returns the chosen method."""
    state = st.session_state
    families = [f for f in FAMILIES if seglib.methods(f)]
    if state.get(FAMILY_KEY) not in families:
        state[FAMILY_KEY] = families[0]
    family = st.pills("Family", families, required=True, key=FAMILY_KEY, persist_state="session", wrap=True,
                      format_func=str.capitalize,
                      help="Kinds of segmentation. " + " ".join(f"**{f.capitalize()}**: {FAMILY_HELP.get(f, '')}"
                                                                for f in families))
    slugs = [m.name for m in seglib.methods(family)]
    key = method_key(family)
    if state.get(key) not in slugs:
        state[key] = slugs[0]
    slug = st.selectbox("Method", slugs, key=key, persist_state="session",
                        format_func=weights.method_title,
                        help="The methods of this family. Each one lists its idea, stages and references below.")
    return seglib.method(slug)


@st.fragment
def result_panel(picked, method, result) -> None:
    # A fragment: moving the view controls redraws only this panel.
    opacity, mode, side = views.view_controls()
    views.result_images(picked, result, opacity, mode, side)
    views.result_numbers(result)
    views.result_notes(result)
    box, is_open = lazy_expander("Download and reuse", DOWNLOADS_KEY, icon=":material/download:")
    if is_open:
        with box:
            views.downloads(picked, method, result, opacity, mode)


def clicked_prompts(picked, method: seglib.Method) -> dict:
    """Clicks and a box on the picture (the Prompt page's canvas) for a method that takes them.

    Until the user clicks, the method runs on its own default prompt (its note says which).
    """
    with st.expander("Click the object (points and a box for this method)", expanded=True,
                     icon=":material/ads_click:"):
        items = canvas.prompt_canvas(picked)
    return {k: v for k, v in canvas.prompt_args(items).items() if k in method.prompts}


@st.fragment
def method_view(picked, working_size) -> None:
    """Everything below the header: a slider move reruns this, not the sidebar's picker or the header."""
    controls, main = controls_beside("explore")
    with controls:
        method = choose_method()
        st.caption(method.description)
        views.model_card(method)
        params = method_widgets(method)
        prompts = link_prompts(method)
        pre, post = pipeline_widgets()
    with main:
        if not prompts and {"points", "box"} & set(method.prompts):
            prompts = clicked_prompts(picked, method)
        result = run_method(picked, method, {**params, **prompts}, pre=pre, post=post, working_size=working_size)
        if result is not None:
            result_panel(picked, method, result)

    if result is not None:
        st.subheader("Stages: how the method got there", divider="gray")
        views.stage_grid(result, key=f"stages.{method.name}")

    query = encode_query(method, params, pre, post, picked, prompts=prompts)
    (about_tab, about_open), (python_tab, python_open), (share_tab, share_open) = lazy_panes(
        ["About this method", "Copy as Python", "Share"], TABS_KEY, label="About, code or link")
    if about_open:
        with about_tab:
            views.about(method)
    if python_open and result is not None:
        with python_tab:
            views.python_snippet(method, result, picked)
    if share_open:
        with share_tab:
            views.share_link(query)
    sync_query(query)


warnings = restore_once("explore", restore_from_url)
picked, working_size = image_picker()

st.header("Explore", divider="gray",
          help="Pick a family and a method, move its sliders, and see the result with every intermediate stage.")
for warning in warnings:
    st.warning(warning, icon=":material/link_off:")
method_view(picked, working_size)

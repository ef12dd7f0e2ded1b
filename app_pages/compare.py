"""Compare: two to four methods side by side on one picture, scored against ground truth.

Thin page: read widgets, call seglib through ui/, draw. Each panel has its
own method and sliders; the panels whose method takes a prompt share one
(clicks and a box); the pictures zoom and pan together; with ground truth
every panel gets an error map and a row in the scores table. The address
bar holds a share link to the view (see :mod:`ui.share`).
"""

import streamlit as st

from seglib import charts, comparison
from ui import panels, scores, views
from ui import prompt_canvas as canvas
from ui.ground_truth import image_and_truth, missing_truth_hint
from ui.layout import control_row, wrapping_columns
from ui.persist import keep
from ui.params import pipeline_widgets
from ui.run import analyse, result_key, run_method
from ui.share import encode_compare_query, parse_query, restore, restore_once, sync_query

ERRORS_KEY = "compare.errors"
BAND_KEY = "compare.band"
DOWNLOAD_KEY = "compare.download_panel"
LINK_PROMPTS_KEY = "compare.link_prompts"
PANEL_MIN_WIDTH = 200  # narrower panel controls go onto a second row
FIGURE_KEY = "compare-figure"


def restore_from_url(query: dict) -> list[str]:
    """Load the panels, the picture and the pipeline from the URL's query (once a session, see ``restore_once``)."""
    view = parse_query(query, panels=panels.MAX_PANELS)
    restore(view)
    panels.restore_panels(view)
    if view.prompts:
        st.session_state[LINK_PROMPTS_KEY] = view.prompts  # put on the canvas once the picture is known
    return view.warnings


def load_link_prompts(picked) -> list[str]:
    """The link's prompts onto the canvas of the picture it restored (once); warnings for those that do not fit."""
    prompts = st.session_state.pop(LINK_PROMPTS_KEY, None)
    return canvas.load_prompts(picked, prompts) if prompts else []


def preset_buttons() -> None:
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown("**Presets**")
    for name in panels.presets():
        row.button(name, key=f"compare.preset.{name}", on_click=panels.apply_preset, args=(name,),
                   help=panels.PRESET_HELP.get(name, "") + " Fills the panels; your slider values stay, except "
                        "those the preset names.")


def display_controls(truth) -> tuple[int, float, str, bool, bool]:
    row = control_row()
    count = row.segmented_control("Panels", panels.COUNTS, required=True, wrap=True, key=panels.COUNT_KEY,
                                  persist_state="session", help="How many methods to show side by side.")
    opacity, mode = views.overlay_controls(row)
    keep(ERRORS_KEY, True)
    toggles = row.container(width="content")
    errors = toggles.toggle("Error maps", key=ERRORS_KEY, disabled=truth is None, persist_state="session",
                            help="Below each result: green where it is right, red where it calls background "
                                 "an object, blue where it misses an object, orange for the wrong class. Edge "
                                 "maps: matched, spurious and missed boundary pixels.")
    band = toggles.toggle("Boundary tolerance band", key=BAND_KEY, disabled=truth is None or not errors,
                          persist_state="session",
                          help="Tint in yellow the pixels within the boundary-F1 tolerance (0.75 % of the "
                               "diagonal) of a true boundary: errors there are forgiven by boundary scores.")
    return count or panels.COUNTS[0], opacity, mode, errors, band

@st.fragment
def panels_view(picked, working_size, truth, count: int, opacity: float, mode: str, show_errors: bool, band: bool,
                pre: dict, post: dict) -> None:
    """The panels, the shared prompt, the linked figure, scores, downloads and the share link: a panel's slider
    reruns this, not the sidebar."""
    columns = wrapping_columns("compare-panels", count, min_width=PANEL_MIN_WIDTH)
    chosen = []
    labels = panels.method_labels()
    for index, column in enumerate(columns):
        with column:
            chosen.append(panels.panel_controls(index, labels))
    items = panels.shared_prompt(picked, [method for method, _ in chosen])
    runs = []
    for index, (column, (method, params)) in enumerate(zip(columns, chosen)):
        with column:
            prompts, need = panels.panel_prompts(method, items)
            if need:
                st.info(f"{method.title} needs {need} in the prompt below the panels.", icon=":material/ads_click:")
                result = None
            else:
                result = run_method(picked, method, {**params, **prompts}, pre=pre, post=post,
                                    working_size=working_size)
            key = result_key(picked, method, {**params, **prompts}, pre=pre, post=post, working_size=working_size)
            runs.append(panels.PanelRun(index, method, result, key, missing="needs a prompt" if need else None))

    figure, meanings = panels.linked_figure(picked, runs, truth, opacity=opacity, mode=mode, errors=show_errors,
                                            band=band)
    fitted_chart(figure)
    st.caption("Drag to zoom into any panel: all panels follow. Double-click to zoom out."
               + "".join(f"  \n**{name}**: {meaning}" for name, meaning in meanings.items()))

    st.subheader("Scores", divider="gray")
    if truth is None:
        missing_truth_hint("Error maps and scores")
    else:
        rows = [{"method": run.label, **analyse("scores", run.result, run.key, truth)} for run in runs
                if run.result is not None]
        scores.scores_section(comparison.scores_frame(rows), key="compare.scores", file_stem=picked.file_stem)
    downloads(picked, runs, opacity, mode)
    query = encode_compare_query(chosen, pre, post, picked, prompts=canvas.prompt_args(items))
    st.subheader("Share", divider="gray", help="A link to this comparison: send it and the receiver sees the same "
                 "panels on the same picture, with the same prompt.")
    views.share_link(query, restores="the panels, their methods and non-default parameters, the pre- and "
                                     "post-processing, the prompt and the sample or synthetic scene")
    sync_query(query)


def fitted_chart(figure) -> None:
    """The linked figure as tall as its width needs: its panels fill their places at every page width.

    Only the browser knows the width: CSS sizes the chart (container units), and Streamlit hands plotly
    the chart's height (``height="stretch"``).
    """
    per_pixel, fixed = charts.grid_height(figure.layout)
    st.html(f"<style>.st-key-{FIGURE_KEY}{{container-type:inline-size}}"
            f".st-key-{FIGURE_KEY} [data-testid=stPlotlyChart]"
            f"{{height:min(calc({100 * per_pixel:.4f}cqw + {fixed:.1f}px),{charts.GRID_MAX_HEIGHT}px)}}</style>")
    with st.container(key=FIGURE_KEY):
        st.plotly_chart(figure, key="compare.figure", config=views.PLOTLY_CONFIG, width="stretch", height="stretch")


def downloads(picked, runs: list, opacity: float, mode: str) -> None:
    """Download buttons of one panel at a time (each button costs the server a little on every run)."""
    st.subheader("Downloads", divider="gray")
    done = [run for run in runs if run.result is not None]
    if not done:
        return
    labels = {run.index: run.label for run in done}
    if st.session_state.get(DOWNLOAD_KEY) not in labels:
        st.session_state[DOWNLOAD_KEY] = done[0].index
    index = st.selectbox("Results of", list(labels), format_func=labels.get, key=DOWNLOAD_KEY,
                         help="The label map, overlay and COCO JSON of this panel, at the picture's full size.")
    run = next(run for run in done if run.index == index)
    views.downloads(picked, run.method, run.result, opacity, mode, key=f"compare.download.{run.index}")


panels.ensure_panels()
warnings = restore_once("compare", restore_from_url)
picked, working_size, truth = image_and_truth()
warnings.extend(load_link_prompts(picked))  # kept with the link's other warnings

st.header("Compare", divider="gray",
          help="Several methods on the same picture, each with its own sliders. Zoom into one panel and the "
               "others follow. With ground truth you also get error maps and scores.")
for warning in warnings:
    st.warning(warning, icon=":material/link_off:")
preset_buttons()
count, opacity, mode, show_errors, band = display_controls(truth)
pre, post = pipeline_widgets()
st.caption("Pre- and post-processing apply to every panel.")
panels_view(picked, working_size, truth, count, opacity, mode, show_errors, band, pre, post)

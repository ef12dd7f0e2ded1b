"""Compare: two to four methods side by side on one picture, scored against ground truth.

Thin page: read widgets, call seglib through ui/, draw. Each panel has its
own method and sliders; the pictures zoom and pan together; with ground
truth every panel gets an error map and a row in the scores table.
"""

import streamlit as st

from seglib import comparison
from ui import panels, scores, views
from ui.ground_truth import image_and_truth, missing_truth_hint
from ui.layout import control_row, wrapping_columns
from ui.persist import keep
from ui.params import pipeline_widgets
from ui.run import analyse, result_key, run_method

ERRORS_KEY = "compare.errors"
BAND_KEY = "compare.band"
DOWNLOAD_KEY = "compare.download_panel"
PANEL_MIN_WIDTH = 200  # narrower panel controls go onto a second row


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
    """The panels, the linked figure, scores and downloads: a panel's slider reruns this, not the sidebar."""
    runs = []
    for index, column in enumerate(wrapping_columns("compare-panels", count, min_width=PANEL_MIN_WIDTH)):
        with column:
            method, params = panels.panel_controls(index)
            result = run_method(picked, method, params, pre=pre, post=post, working_size=working_size)
            key = result_key(picked, method, params, pre=pre, post=post, working_size=working_size)
            runs.append(panels.PanelRun(index, method, result, key))

    figure, meanings = panels.linked_figure(picked, runs, truth, opacity=opacity, mode=mode, errors=show_errors,
                                            band=band)
    st.plotly_chart(figure, key="compare.figure", config=views.PLOTLY_CONFIG, width="stretch")
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
picked, working_size, truth = image_and_truth()

st.header("Compare", divider="gray",
          help="Several methods on the same picture, each with its own sliders. Zoom into one panel and the "
               "others follow. With ground truth you also get error maps and scores.")
preset_buttons()
count, opacity, mode, show_errors, band = display_controls(truth)
pre, post = pipeline_widgets()
st.caption("Pre- and post-processing apply to every panel.")
panels_view(picked, working_size, truth, count, opacity, mode, show_errors, band, pre, post)

"""Layouts that fit a projector (1024 x 768) and a laptop as well as a wide screen.

Streamlit's columns keep their proportions down to 640 px, so at 1024 px with
the sidebar open a controls column shrinks to ~90 px and a row of controls
runs off the page. Instead:

- :func:`controls_beside` puts a fixed-width controls container beside the
  results when both fit, and above them when the results would be narrower
  than :data:`MIN_RESULT_WIDTH` (a wrapping flex row);
- :func:`control_row` lays controls out in a row that wraps onto more lines
  rather than clipping them;
- :func:`lazy_expander` and :func:`lazy_panes` draw only what is open: every
  element on a page costs the browser a little on every slider move
  (Streamlit re-renders the page's elements as a run starts, streams and
  ends), so content nobody is looking at is better not drawn.

Both use Streamlit's own horizontal containers; the one rule Streamlit cannot
express (a minimum width for the results, so that the row wraps) is a line of
CSS on the container's documented ``st-key-<key>`` class.
"""

from __future__ import annotations

import streamlit as st

CONTROLS_WIDTH = 300
MIN_RESULT_WIDTH = 480
SLIDER_WIDTH = 220  # a slider in a control row: room for its label, value and travel


def controls_beside(key: str, controls_width: int = CONTROLS_WIDTH, min_result_width: int = MIN_RESULT_WIDTH):
    """Two containers, controls and results: side by side on wide screens, stacked on narrow ones.

    Parameters
    ----------
    key : str
        Names the containers (``<key>-controls``, ``<key>-results``); unique on the page.
    controls_width : int
        Width of the controls in pixels.
    min_result_width : int
        Below this width left for the results, the results go below the controls.

    Returns
    -------
    controls, results : containers
    """
    st.html(f"<style>div:has(> .st-key-{key}-results){{min-width:min({int(min_result_width)}px,100%)}}</style>")
    row = st.container(horizontal=True, gap="medium", key=f"{key}-row")
    return row.container(width=int(controls_width), key=f"{key}-controls"), row.container(key=f"{key}-results")


def wrapping_columns(key: str, count: int, min_width: int, gap: str = "medium") -> list:
    """``count`` containers sharing a row equally, wrapping onto more rows when one would be narrower
    than ``min_width`` pixels (Compare's panels, the stage grid). Keys ``<key>-column-<i>``."""
    st.html(f"<style>div:has(> [class*='st-key-{key}-column-']){{min-width:min({int(min_width)}px,100%)}}</style>")
    row = st.container(horizontal=True, gap=gap, key=f"{key}-row")
    return [row.container(key=f"{key}-column-{i}") for i in range(int(count))]


def control_row(**options):
    """A horizontal container whose controls wrap onto more lines instead of running off the edge."""
    return st.container(horizontal=True, wrap=True, vertical_alignment="bottom", gap="medium", **options)


def lazy_expander(label: str, key: str, expanded: bool = False, **options):
    """An expander whose content is drawn only while it is open; returns it and whether it is open.

    Opening or closing it reruns (the fragment it is in), so the content
    appears at once when opened. ``options`` go to ``st.expander``. The
    open state lives in ``st.session_state[key]`` (tests open it there)::

        box, is_open = lazy_expander("Downloads", key="page.downloads")
        if is_open:
            with box:
                ...
    """
    box = st.expander(label, expanded=expanded, key=key, on_change="rerun", **options)
    return box, box.open is not False


def lazy_panes(labels: list[str], key: str, label: str = "Show") -> list:
    """Panes of which only the open one is drawn: ``[(pane, is_open), ...]``, one per label.

    A segmented control picks the pane (its value, a label, lives in
    ``st.session_state[key]``; the first one until the user picks another);
    the open pane is drawn in a container below it. Not ``st.tabs``: a tab
    bar cost the browser about 30-40 ms of every slider move of the page
    around it (Explore's threshold slider, Chromium, alternating runs), a
    segmented control next to nothing. ``label`` names the control for screen
    readers (it is not shown).
    """
    labels = list(labels)
    if st.session_state.get(key) not in labels:
        st.session_state[key] = labels[0]
    chosen = st.segmented_control(label, labels, key=key, required=True, label_visibility="collapsed")
    pane = st.container()
    return [(pane, name == chosen) for name in labels]

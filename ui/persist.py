"""Widget values that survive page switches.

Streamlit 1.67 forgets a value put into ``st.session_state[key]`` before a
widget is drawn when the same key is then drawn on another page and the
user never touched it: the widget there starts at its element default (a
slider's minimum, a select box's first option) and that default overwrites
the stored value. Assigning the value again on every run, before the
widget is drawn, keeps it. Every shared widget (the sidebar image picker,
overlay controls, method sliders shared by Explore, Compare and Evaluate)
is drawn after :func:`keep`.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import streamlit as st


def keep(key: str, default, state: MutableMapping | None = None):
    """Re-assign ``state[key]`` (``default`` when missing) before its widget is drawn; return the value."""
    state = st.session_state if state is None else state
    value = state[key] if key in state else default
    state[key] = value
    return value

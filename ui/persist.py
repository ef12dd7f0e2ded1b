"""Session state: the one accessor (:func:`session`) and the one idiom for widget values that last.

The idiom, for every widget whose value lasts the whole session (across
reruns, fragments and page switches)::

    keep(KEY, default)                                  # before the widget is drawn
    st.slider("Label", ..., key=KEY, persist_state="session")

``persist_state="session"`` keeps a value the user chose when the widget is
not drawn (another page); :func:`keep` covers the value set by code (a
default, a preset, a share link) that the user never touched, which
Streamlit would otherwise overwrite with the element's default:

Streamlit 1.67 forgets a value put into ``st.session_state[key]`` before a
widget is drawn when the same key is then drawn on another page and the
user never touched it: the widget there starts at its element default (a
slider's minimum, a select box's first option) and that default overwrites
the stored value. Assigning the value again on every run, before the
widget is drawn, keeps it. Every shared widget (the sidebar image picker,
overlay controls, method sliders shared by Explore, Compare and Evaluate)
is drawn after :func:`keep`. Widgets built from :class:`~seglib.Param` specs
(:func:`ui.params.params_widgets`) follow it too, with the spec's default.

Functions that change state take ``state=None`` and reach it through
:func:`session`, so tests can pass a plain dict.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import streamlit as st


def session(state: MutableMapping | None = None) -> MutableMapping:
    """``state`` when given (a test's dict), else ``st.session_state``."""
    return st.session_state if state is None else state


def keep(key: str, default, state: MutableMapping | None = None):
    """Re-assign ``state[key]`` (``default`` when missing) before its widget is drawn; return the value.

    Still needed with ``persist_state="session"``: writing only a missing default, a share link's scene
    seed 7 on Explore read 0 on Evaluate (tests/e2e/test_values_across_pages.py).
    """
    state = session(state)
    value = state[key] if key in state else default
    state[key] = value
    return value

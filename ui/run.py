"""Cached calls into seglib, and error panels that keep the page usable.

Results are cached by the image's content hash (computed once when the
image is picked, see :mod:`ui.image_picker`) plus method, parameters,
pre/post-processing and working size; the pixels themselves are never
hashed again.
"""

from __future__ import annotations

import traceback

import streamlit as st

import seglib
from seglib.core import DEFAULT_WORKING_SIZE
from seglib.registry import Method
from seglib.result import Segmentation

from .image_picker import PickedImage

_MAX_RESULTS = 12  # each entry holds labels and stages: a few tens of MB on a 1024 px image


@st.cache_data(max_entries=_MAX_RESULTS, show_spinner=False)
def _segment(image_key: str, _image, method: str, params: dict, pre: dict, post: dict,
             working_size: int | None) -> Segmentation:
    # `_image` is not hashed (leading underscore): `image_key` stands for its content.
    return seglib.segment(_image, method, working_size=working_size, preprocess_options=pre,
                          postprocess_options=post, **params)


def show_error(title: str, error: BaseException) -> None:
    """An error panel: the message, and the traceback in a collapsed expander."""
    st.error(f"**{title}**: {error}", icon=":material/error:")
    with st.expander("Details (traceback)"):
        st.code("".join(traceback.format_exception(error)), language="text")


def run_method(picked: PickedImage, method: Method, params: dict, *, pre: dict | None = None,
               post: dict | None = None, working_size: int | None = DEFAULT_WORKING_SIZE) -> Segmentation | None:
    """Segment the picked image (cached); on failure show the error here and return None.

    Parameters
    ----------
    picked : PickedImage
    method : Method
    params : dict
        The method's parameter values.
    pre, post : dict, optional
        Options of :mod:`seglib.pipeline`.
    working_size : int or None
        Longest side the method runs at (``None``: full size).
    """
    try:
        with st.spinner(f"Running {method.title}...", show_time=True):
            return _segment(picked.key, picked.image, method.name, dict(params), dict(pre or {}), dict(post or {}),
                            working_size)
    except Exception as error:  # noqa: BLE001 - any failure of a method stays in its panel
        show_error(f"{method.title} failed", error)
        return None


def clear() -> None:
    """Forget cached results (tests)."""
    _segment.clear()

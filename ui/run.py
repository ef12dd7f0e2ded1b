"""Cached calls into seglib, and error panels that keep the page usable.

Results are cached by the image's content hash (computed once when the
image is picked, see :mod:`ui.image_picker`) plus method, parameters,
pre/post-processing and working size; the pixels themselves are never
hashed again. Scores, error maps and confusion matrices of a result are
cached by the same key plus the ground truth's key (:func:`analyse`), and
sweeps get a runner whose results keep only the labels (:func:`sweep_runner`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import traceback
from typing import Callable

import numpy as np
import streamlit as st

import seglib
from seglib import comparison, isolation, jobs, progress
from seglib.core import DEFAULT_WORKING_SIZE
from seglib.registry import Method
from seglib.result import Segmentation

from . import heavy
from .image_picker import PickedImage, image_hash
from .markdown import escape_markdown
from .memory import freeze_imports

_MAX_RESULTS = 12  # each entry holds labels and stages: a few tens of MB on a 1024 px image
_MAX_LEAN_RESULTS = 96  # labels only: a sweep of 12 values x 4 methods x 2 settings fits
_MAX_ANALYSES = 64
QUIET_BELOW_S = 0.25
"""A run expected to take less (it ran before on this picture size) shows no spinner: one element
less to send and re-render on every slider move."""


def _call(image, method: str, params: dict, pre: dict, post: dict, working_size: int | None,
          image_key: str | None = None) -> Segmentation:
    spec = seglib.method(method)  # a first call imports the method's module: not part of a run's cost
    options = dict(working_size=working_size, preprocess_options=pre, postprocess_options=post,
                   keep_scores=False, **params)  # no page shows the confidence map
    child = in_child(spec)
    if child:
        # The Method itself, not its name: the child then imports only its module, not every method's
        # (scikit-learn and pandas with them): 82 MB instead of 215.
        result, cpu = isolation.call(seglib.segment, image, spec, **options)
    else:
        cpu = time.thread_time()
        result = seglib.segment(image, method, **options)
        cpu = time.thread_time() - cpu
    heavy.COSTS.observe(method, _working_pixels(image, working_size), cost_seconds(spec, result.elapsed_s, cpu),
                        picture=image_key, stay=child)  # the child's stage cache holds its early stages now
    return result


def in_child(method: Method) -> bool:
    """Whether a run of ``method`` here goes to a child process (:mod:`seglib.isolation`).

    It does on a heavy-job pool's worker, for seglib's own methods without weights: their compiled
    loops (felzenszwalb: seconds on a big picture) report no progress, so on a thread a cancelled run
    kept the worker until it returned; a child is killed at once, and its memory peak is not the
    server's. Deep methods stay here (their models are loaded in this process once), and so do
    methods registered outside seglib (a child process would not know them).
    """
    return jobs.in_job() and not method.takes_weights and method.func.__module__.startswith("seglib.")


def cost_seconds(method: Method, wall: float, cpu: float) -> float:
    """What a run cost, for the heavy-job decision: the CPU time of the thread that ran it.

    Not its wall time: that grows with everything else the server does, so under a class's load
    a cheap method's run took seconds, the method was judged heavy for every later picture, and
    its slider moves waited in the heavy-job line, which loaded the server more (each waiting move
    is shown, then run again). A method with ``weights`` (torch) is judged by its wall time: its
    work runs on torch's own threads.
    """
    return wall if "weights" in method.inputs else cpu


def _working_pixels(image, working_size: int | None) -> int:
    height, width = image.shape[:2]
    scale = 1.0 if working_size is None else min(1.0, working_size / max(height, width))
    return int(height * width * scale * scale)


def read_only(result: Segmentation) -> Segmentation:
    """``result`` with its arrays (labels, scores, array stages) made read-only, so it can be shared.

    Cached results are handed to every rerun and session as the same object (no copy, no pickling
    per slider move); a page that tried to change one in place would raise instead of corrupting
    what other sessions see.
    """
    arrays = [result.labels, result.scores, *result.stages.values()]
    arrays += [v for stage in result.stages.values() if isinstance(stage, dict) for v in stage.values()]
    for array in arrays:
        if isinstance(array, np.ndarray):
            array.setflags(write=False)
    return result


# Shared objects, not copies (cache_resource): pickling a result with its stages into the cache and
# out again cost more than many methods themselves (a third of a Canny slider move).
@st.cache_resource(max_entries=_MAX_RESULTS, show_spinner=False)
def _segment(image_key: str, _image, method: str, params: dict, pre: dict, post: dict,
             working_size: int | None) -> Segmentation:
    # `_image` is not hashed (leading underscore): `image_key` stands for its content.
    return read_only(_call(_image, method, params, pre, post, working_size, image_key))


@st.cache_resource(max_entries=_MAX_LEAN_RESULTS, show_spinner=False)
def _segment_lean(image_key: str, _image, method: str, params: dict, pre: dict, post: dict,
                  working_size: int | None) -> Segmentation:
    # Sweeps keep only what scoring needs: no stages (and, as every run here, no confidence map).
    result = _call(_image, method, params, pre, post, working_size, image_key)
    return read_only(dataclasses.replace(result, stages={}))


def show_error(title: str, error: BaseException) -> None:
    """An error panel: the message, and the traceback in a collapsed expander."""
    st.error(f"**{escape_markdown(title)}**: {escape_markdown(error)}", icon=":material/error:")
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
    args = (picked.key, picked.image, method.name, dict(params), dict(pre or {}), dict(post or {}), working_size)
    try:
        key = result_key(picked, method, params, pre=pre, post=post, working_size=working_size)
        heavy_now, seconds = _heavy_now(picked, method, working_size, key)
        if heavy_now:  # through the shared pool: waits its turn, visibly
            return heavy.run(heavy.call_slot(f"result.{method.name}"), key, lambda: _segment(*args),
                             title=method.title, seconds=seconds)
        if seconds is not None and seconds < QUIET_BELOW_S:  # no spinner element for a few milliseconds
            return _segment(*args)
        with st.spinner(f"Running {method.title}...", show_time=True):
            return _segment(*args)
    except Exception as error:  # noqa: BLE001 - any failure of a method stays in its panel
        show_error(f"{method.title} failed", error)
        return None
    finally:
        freeze_imports()  # a first deep model imports torch: freeze it too (see ui.memory)


def run_with_progress(picked: PickedImage, method: Method, params: dict, *,
                      working_size: int | None = DEFAULT_WORKING_SIZE) -> Segmentation | None:
    """Like :func:`run_method`, with a progress bar fed by :mod:`seglib.progress`, and no Streamlit cache.

    For methods that keep their own expensive work (SAM's automatic masks keep the raw masks, so a
    rerun only re-filters them): a Streamlit-cached call could not update a bar drawn outside it.
    """
    key = "progress:" + result_key(picked, method, params, working_size=working_size)
    bar = st.empty()
    try:
        heavy_now, seconds = _heavy_now(picked, method, working_size, key, unknown=True)
        if heavy_now:
            return heavy.run(heavy.call_slot(f"progress.{method.name}"), key, title=method.title, seconds=seconds,
                             fn=lambda: _call(picked.image, method.name, dict(params), {}, {}, working_size,
                                              picked.key))
        with progress.listen(lambda fraction, text: bar.progress(fraction, text=text)):
            return _call(picked.image, method.name, dict(params), {}, {}, working_size, picked.key)
    except Exception as error:  # noqa: BLE001 - any failure of a method stays in its panel
        show_error(f"{method.title} failed", error)
        return None
    finally:
        bar.empty()


def _heavy_now(picked: PickedImage, method: Method, working_size: int | None, key: str, *,
               unknown: bool = False) -> tuple[bool, float | None]:
    """Whether this run goes through the heavy-job pool (expected to take a second or more, not yet
    run), and how long it is expected to take (None: never ran)."""
    if heavy.finished(key):
        return False, None  # it ran through the pool already: a cache hit now
    pixels = _working_pixels(picked.image, working_size)
    heavy_now = heavy.COSTS.is_heavy(method.name, pixels, picture=picked.key,
                                     unknown=unknown or method.family == "deep")
    return heavy_now, heavy.COSTS.expected(method.name, pixels, picture=picked.key)


def clear() -> None:
    """Forget cached results (tests)."""
    _segment.clear()
    _segment_lean.clear()
    _analyse.clear()


def sweep_runner(*, pre: dict | None = None, post: dict | None = None,
                 working_size: int | None = DEFAULT_WORKING_SIZE) -> Callable[..., Segmentation]:
    """A ``run(image, slug, **params)`` for :mod:`seglib.sweeps`, cached by image content.

    Its results keep the labels but drop stages, so a sweep's many runs stay
    small in the cache; running the same sweep again reuses them.
    """
    pre, post = dict(pre or {}), dict(post or {})

    def run(image, slug: str, **params) -> Segmentation:
        return _segment_lean(image_hash(image), image, slug, params, pre, post, working_size)

    return run


def result_key(picked: PickedImage, method: Method, params: dict, *, pre: dict | None = None,
               post: dict | None = None, working_size: int | None = DEFAULT_WORKING_SIZE) -> str:
    """What identifies a result of :func:`run_method` (same arguments, same key)."""
    spec = json.dumps([picked.key, method.name, params, pre or {}, post or {}, working_size], sort_keys=True,
                      default=_jsonable)
    return hashlib.blake2b(spec.encode(), digest_size=16).hexdigest()


def _jsonable(value) -> str:
    # Arrays (a SAM mask_input) by content: str() would abbreviate them and let different ones collide.
    if isinstance(value, np.ndarray):
        return hashlib.blake2b(np.ascontiguousarray(value).data, digest_size=16).hexdigest()
    return str(value)


ANALYSES: dict[str, Callable] = {
    "scores": comparison.score_row,
    "errors": comparison.error_map,
    "class_iou": comparison.class_iou,
    "confusion": comparison.confusion,
}
"""What :func:`analyse` computes: name -> ``func(result, truth)`` of :mod:`seglib.comparison`."""


@st.cache_data(max_entries=_MAX_ANALYSES, show_spinner=False)
def _analyse(what: str, result_id: str, truth_id: str, _result: Segmentation, _truth):
    return ANALYSES[what](_result, _truth)


def analyse(what: str, result: Segmentation, result_id: str, truth) -> object:
    """``ANALYSES[what](result, truth.truth)``, cached by the result's and the truth's keys.

    Parameters
    ----------
    what : str
        A key of :data:`ANALYSES`.
    result : Segmentation
    result_id : str
        From :func:`result_key`.
    truth : ui.ground_truth.LoadedTruth
    """
    return _analyse(what, result_id, truth.key, result, truth.truth)

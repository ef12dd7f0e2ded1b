"""Segment Anything on the Prompt page: weights status and download, refinement, candidates, automatic masks.

SAM's weights are large and may be missing (offline machines): the page
then says which file to put where, offers a download with a progress bar,
and keeps working with the classical methods. Refinement feeds SAM the
low-resolution logits of its answer to the same prompts minus the last one
(kept per image in ``st.session_state[HISTORY_KEY]``), so a rerun with
unchanged prompts gives the same result.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

import seglib
from seglib import viz
from seglib.deep import sam
from seglib.imaging import resize_labels

from .image_picker import PickedImage
from .params import method_widgets, widget_key
from .persist import keep
from .weights import custom_weights
from .run import run_with_progress, show_error
from .views import downloads, format_seconds, result_images, result_notes, stage_grid

REFINE_KEY = "prompt.refine"
HISTORY_KEY = "prompt.sam_history"
AUTO_KEY = "prompt.auto"
_HISTORY_SIZE = 32
_THUMBNAIL_SIDE = 240


def model_type(scope: str = "sam") -> str:
    """The model type chosen in the ``scope`` method's widgets (its default before they are drawn)."""
    default = seglib.method(scope).param("model_type").default
    return st.session_state.get(widget_key(scope, "model_type"), default)


def has_checkpoints(method: seglib.Method) -> bool:
    """Whether ``method``'s weights are SAM checkpoints chosen by its ``model_type`` (downloadable here)."""
    model = next((p for p in method.params if p.name == "model_type"), None)
    return method.takes_weights and model is not None and set(model.choices or ()) <= set(sam.CHECKPOINTS)


def weights_ready(params: dict) -> bool:
    """True when a SAM call with ``params`` has weights: chosen ones, or its model type's on this machine."""
    return params.get("weights") is not None or sam.find_weights(params["model_type"]) is not None


def _download(kind: str) -> None:
    spec = sam.CHECKPOINTS[kind]
    bar = st.progress(0.0, text=f"Downloading {spec.file_name}...")

    def progress(done: int, total: int) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"{spec.file_name}: {done / 1e6:.0f} / {total / 1e6:.0f} MB")

    try:
        sam.download_checkpoint(kind, progress=progress)
    except Exception as error:  # noqa: BLE001 - offline or a bad file: say so, keep the page
        bar.empty()
        show_error("Download failed", error)
        return
    bar.empty()
    st.rerun()


def weights_panel(scope: str = "sam") -> bool:
    """Where SAM's weights come from, or how to get them (with a download button); True when ready."""
    kind = model_type(scope)
    chosen = custom_weights(scope)
    path = chosen["label"] if chosen else sam.find_weights(kind)
    if path is not None:
        st.caption(f":material/check_circle: SAM weights: `{path}`")
        if scope != "sam":
            return True
        keep(REFINE_KEY, True)
        st.toggle("Refine SAM with its previous mask", key=REFINE_KEY,
                  help="Each new click also gives SAM the low-resolution mask it predicted for the earlier "
                       "clicks (its mask_input), as in the SAM demo: corrections then change the mask locally.")
        return True
    spec = sam.CHECKPOINTS[kind]
    st.warning(f"SAM {kind} weights are not on this machine. {sam.how_to_get_weights(kind)} The classical "
               "methods work without them.", icon=":material/cloud_off:")
    if st.button(f"Download {spec.file_name} ({spec.size / 1e6:.0f} MB)", key=f"prompt.download_weights.{scope}",
                 icon=":material/download:",
                 help="From dl.fbaipublicfiles.com into torch's cache folder; size and MD5 are checked."):
        _download(kind)
    return False


def _history_key(picked: PickedImage, params: dict, items: list[list]) -> str:
    spec = repr((picked.key, params.get("model_type"), params.get("multimask"), params.get("candidate"), items))
    return hashlib.blake2b(spec.encode(), digest_size=16).hexdigest()


def with_refinement(picked: PickedImage, params: dict, items: list[list]) -> dict:
    """``params`` plus ``mask_input`` from SAM's answer to ``items[:-1]``, when refinement is on and it exists."""
    if not st.session_state.get(REFINE_KEY, True) or len(items) < 2:
        return params
    logits = st.session_state.get(HISTORY_KEY, {}).get(_history_key(picked, params, items[:-1]))
    return params if logits is None else {**params, "mask_input": logits}


def remember(picked: PickedImage, params: dict, items: list[list], result) -> None:
    """Keep the chosen mask's low-resolution logits for the next, refined prompt."""
    base = {k: v for k, v in params.items() if k != "mask_input"}
    history = dict(st.session_state.get(HISTORY_KEY, {}))
    history[_history_key(picked, base, items)] = result.low_res_logits
    st.session_state[HISTORY_KEY] = dict(list(history.items())[-_HISTORY_SIZE:])


def key_params(params: dict) -> dict:
    """``params`` with an array ``mask_input`` replaced by its content hash (for cache keys)."""
    if params.get("mask_input") is None:
        return params
    digest = hashlib.blake2b(np.ascontiguousarray(params["mask_input"]).data, digest_size=16).hexdigest()
    return {**params, "mask_input": digest}


def timing_metrics(row, result) -> None:
    """Encoder time (or "cached") and decoder time of a SAM result."""
    timings = getattr(result, "timings", {})
    if not timings:
        return
    encoder = "cached" if timings.get("cache_hit") else format_seconds(timings.get("encoder_s", 0.0))
    row.metric("Encoder", encoder, border=True,
               help="SAM's image encoder runs once per image; later prompts reuse the embedding.")
    if timings.get("raw_cached"):
        row.metric("Decoder", "cached", border=True, help="The raw masks of this grid were stored: no decoding.")
    else:
        row.metric("Decoder", format_seconds(timings.get("decoder_s", 0.0)), border=True,
                   help="Prompt encoder + mask decoder for these prompts (the whole grid for automatic masks).")
    if "filter_s" in timings:
        row.metric("Filtering", format_seconds(timings["filter_s"]), border=True,
                   help="Thresholds, NMS and painting of the stored raw masks: all a filter slider redoes.")


def candidates(picked: PickedImage, result) -> None:
    """SAM's candidate masks side by side with predicted IoU and stability; the chosen one is marked."""
    masks = [value for name, value in result.stages.items() if name.startswith("candidate")]
    if len(masks) < 2 or not getattr(result, "candidates", None):
        return
    image, _ = viz.fit(picked.image, None, _THUMBNAIL_SIDE)
    for column, mask, info in zip(st.columns(len(masks), gap="small"), masks, result.candidates):
        shown = resize_labels(np.asarray(mask, dtype=np.int32), image.shape[:2])
        column.image(viz.overlay(image, shown, "binary", opacity=0.55), width="stretch",
                     caption=("chosen: " if info["chosen"] else "") +
                     f"IoU {info['predicted_iou']:.2f}, stability {info['stability']:.2f}")


def everything_section(picked: PickedImage, working_size: int | None, opacity: float, mode: str) -> None:
    """SAM automatic masks with filter sliders that re-filter stored masks; label PNG and COCO downloads."""
    st.subheader("Segment everything (SAM automatic masks)", divider="gray")
    method = seglib.method("sam-auto")
    st.caption(method.description)
    weights_panel("sam-auto")
    keep(AUTO_KEY, False)
    if not st.toggle("Run automatic masks", key=AUTO_KEY,
                     help="The first run decodes a whole grid of clicks (slow on a CPU); after that the "
                          "filter sliders only re-filter the stored masks."):
        return
    controls, main = st.columns([1, 2.6], gap="large")
    with controls:
        params = method_widgets(method)
    with main:
        if not weights_ready(params):
            st.info("Automatic masks need SAM weights (see above).", icon=":material/cloud_off:")
            return
        result = run_with_progress(picked, method, params, working_size=working_size)
        if result is None:
            return
        result_images(picked, result, opacity, mode, "Label colours")
        timing_metrics(st.container(horizontal=True), result)
        result_notes(result)
        downloads(picked, method, result, opacity, mode, key="prompt.auto.download")
    stage_grid(result, key="prompt.auto.stages")

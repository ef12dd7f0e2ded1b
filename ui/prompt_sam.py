"""Segment Anything on the Prompt page: its model download, refinement, candidates, automatic masks.

SAM 2.1 (``sam2``) and SAM (``sam``) need a trained model that may not be
on the machine yet (a first run, an offline classroom). The page then shows
one notice, for every chosen method at once, in plain words: which model,
how big the download is, a button to fetch it with a progress bar; the file
names, folder and Python/administrator routes are folded away below it. The
classical methods keep working meanwhile. Refinement feeds SAM the
low-resolution logits of its answer to the same prompts minus the last one
(kept per image in ``st.session_state[HISTORY_KEY]``), so a rerun with
unchanged prompts gives the same result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

import seglib
from seglib import viz
from seglib.deep import sam, sources
from seglib.deep.sam import sam2_model
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
AUTO_METHOD_KEY = "prompt.auto_method"
AUTO_METHODS = ("sam2-auto", "sam-auto")
_HISTORY_SIZE = 32
_THUMBNAIL_SIDE = 240


@dataclass(frozen=True)
class Pretrained:
    """An official SAM or SAM 2.1 model file a method needs, and how to get it.

    Attributes
    ----------
    label : str
        What a teacher reads (``"SAM 2.1 tiny"``).
    file_name, url : str
    size : int
        Bytes to download.
    folder : Path
        Where downloads are kept (torch's cache of checkpoints).
    env : str
        The environment variable that may name the file instead.
    found : Path or None
        The file that will be used, when it is on this machine.
    fetch : callable
        ``fetch(progress)`` downloads and checks it; ``progress(done, total)``.
    """

    label: str
    file_name: str
    url: str
    size: int
    folder: Path
    env: str
    found: Path | None
    fetch: Callable


# The size parameter of each family and how to describe its official file. A method is a SAM (1 or 2.1)
# when it has that parameter and takes weights.
def _sam1(kind: str) -> Pretrained:
    spec = sam.CHECKPOINTS[kind]
    return Pretrained(f"SAM {kind}", spec.file_name, spec.url, spec.size, spec.path.parent, sam.WEIGHTS_ENV,
                      sam.find_weights(kind), lambda progress: sam.download_checkpoint(kind, progress=progress))


def _sam2(size: str) -> Pretrained:
    spec = sam2_model.SIZES[size].weights
    label = f"SAM 2.1 {size}"
    return Pretrained(label, spec.file_name, spec.url, spec.size, spec.path.parent, sam2_model.WEIGHTS_ENV,
                      sam2_model.find_weights(size), lambda progress: sources.download(spec, label, progress=progress))


FAMILIES = {"model_type": (sam.CHECKPOINTS, _sam1), "model_size": (sam2_model.SIZES, _sam2)}


def _size_param(method: seglib.Method) -> seglib.Param | None:
    return next((p for p in method.params if p.name in FAMILIES), None)


def has_checkpoints(method: seglib.Method) -> bool:
    """Whether ``method``'s weights are official SAM or SAM 2.1 files chosen by its size parameter."""
    param = _size_param(method)
    return (method.takes_weights and param is not None
            and set(param.choices or ()) <= set(FAMILIES[param.name][0]))


def pretrained(method: seglib.Method) -> Pretrained:
    """The official file ``method`` uses at the size chosen in its widgets (its default before they are drawn)."""
    param = _size_param(method)
    return FAMILIES[param.name][1](st.session_state.get(widget_key(method.name, param), param.default))


def weights_ready(params: dict) -> bool:
    """True when a SAM call with ``params`` has weights: chosen ones, or its size's official file here."""
    if params.get("weights") is not None:
        return True
    name = next(name for name in FAMILIES if name in params)
    return FAMILIES[name][1](params[name]).found is not None


def _download(needed: Pretrained) -> None:
    bar = st.progress(0.0, text=f"Downloading {needed.label} ({needed.size / 1e6:.0f} MB)...")

    def progress(done: int, total: int) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"{needed.label}: {done / 1e6:.0f} of {total / 1e6:.0f} MB")

    try:
        needed.fetch(progress)
    except Exception as error:  # noqa: BLE001 - offline or a bad file: say so, keep the page
        bar.empty()
        show_error(f"The {needed.label} model could not be downloaded", error)
        return
    bar.empty()
    st.rerun()


def _administrator_details(missing: list[Pretrained]) -> None:
    with st.expander("Details for administrators and Python users", icon=":material/terminal:"):
        for needed in missing:
            st.markdown(f"**{needed.label}**: `{needed.file_name}`, {needed.size:,} bytes, from {needed.url}. "
                        f"It is kept in `{needed.folder}`; its size and checksum are checked after the download.")
        st.markdown("On a computer without internet, download the file elsewhere and copy it into that folder. "
                    "A server can also name the file with "
                    + ", ".join(sorted({f"`{n.env}`" for n in missing}))
                    + " before starting the app, or share one model cache by setting `TORCH_HOME`. "
                    "In Python, pass `weights='path/to/file'`.")


def weights_panel(methods: list[seglib.Method]) -> set[str]:
    """One notice for the official SAM models the chosen ``methods`` need; returns the slugs ready to run.

    A model on this machine gets a one-line caption; missing ones are named
    with their download size and a download button each, once however many
    methods share them. The refinement switch is shown when a ready method
    can refine its previous mask.
    """
    if st.session_state.get(AUTO_KEY):  # "Segment everything" below needs its model too
        methods = [*methods, auto_method()]
    ready, missing, shown = set(), {}, set()
    for method in methods:
        if not has_checkpoints(method):
            continue
        chosen = custom_weights(method.name)
        needed = pretrained(method)
        if chosen or needed.found is not None:
            ready.add(method.name)
            line = f"{method.title}: {chosen['label']}" if chosen else f"{needed.label} model ready"
            if line not in shown:
                shown.add(line)
                st.caption(f":material/check_circle: {line}", help=None if chosen else f"`{needed.found}`")
        else:
            missing.setdefault(needed.file_name, needed)
    if missing:
        needs = list(missing.values())
        what = " and ".join(f"{n.label} ({n.size / 1e6:.0f} MB)" for n in needs)
        st.warning(f"Segment Anything needs its trained model, which is not on this computer yet: {what}. "
                   "It downloads once and is kept for next time. Meanwhile the other methods work as usual.",
                   icon=":material/cloud_download:")
        for needed in needs:
            if st.button(f"Download {needed.label} ({needed.size / 1e6:.0f} MB)", icon=":material/download:",
                         key=f"prompt.download_weights.{needed.file_name}"):
                _download(needed)
        _administrator_details(needs)
    if any("mask_input" in m.inputs for m in methods if m.name in ready):
        keep(REFINE_KEY, True)
        st.toggle("Refine Segment Anything with its previous mask", key=REFINE_KEY,
                  help="Each new click also gives the model the low-resolution mask it predicted for the earlier "
                       "clicks (its mask_input), as in the SAM demo: corrections then change the mask locally.")
    return ready


def _history_key(picked: PickedImage, params: dict, items: list[list]) -> str:
    spec = repr((picked.key, params.get("model_type"), params.get("model_size"), params.get("multimask"),
                 params.get("candidate"), items))
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


def auto_method() -> seglib.Method:
    """The automatic-mask method chosen for "Segment everything" (SAM 2.1 by default)."""
    return seglib.method(st.session_state.get(AUTO_METHOD_KEY, AUTO_METHODS[0]))


def everything_section(picked: PickedImage, working_size: int | None, opacity: float, mode: str) -> None:
    """Automatic masks with filter sliders that re-filter stored masks; label PNG and COCO downloads."""
    st.subheader("Segment everything (automatic masks)", divider="gray")
    keep(AUTO_METHOD_KEY, AUTO_METHODS[0])
    st.segmented_control("Model", AUTO_METHODS, key=AUTO_METHOD_KEY, required=True,
                         format_func=lambda slug: seglib.method(slug).title.split(":")[0],
                         help="SAM 2.1 is lighter and, in its authors' tests, more accurate; SAM is the original.")
    method = auto_method()
    st.caption(method.description)
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
            st.info(f"Automatic masks wait for the {pretrained(method).label} model: download it above.",
                    icon=":material/cloud_download:")
            return
        result = run_with_progress(picked, method, params, working_size=working_size)
        if result is None:
            return
        result_images(picked, result, opacity, mode, "Label colours")
        timing_metrics(st.container(horizontal=True), result)
        result_notes(result)
        downloads(picked, method, result, opacity, mode, key="prompt.auto.download")
    stage_grid(result, key="prompt.auto.stages")

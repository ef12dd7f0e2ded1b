"""Weights of deep methods: an upload box, the Train page's fresh models, pretrained downloads.

A method that lists ``"weights"`` in its :attr:`~seglib.Method.inputs`
accepts a local weights file. The session keeps at most one custom file per
method (``weights.custom.<slug>``): set by an upload here or by the Train
page's "use this model", and used by every page that draws the method's
widgets (Explore, Compare, Evaluate). Files are written once, named by
their content hash, to a temporary folder, and passed to the method as a path.

A deep-family method whose weights are downloaded on first use
(:func:`seglib.deep.sources.download_for`) and fit :data:`AUTO_DOWNLOAD_MB`
(the torchvision models) fetches them when the box is drawn, with a progress
bar. Offline, the box says how large the file is, that it can be uploaded
here (weight uploads have their own limit, :data:`UPLOAD_LIMIT_MB`), and,
folded away, the folder a server's administrator can put it in. The
prompt-driven models (SAM, SAM 2.1) offer their download in the Prompt
page's own panel (``ui/prompt_sam.py``), never just because a box is drawn.
:func:`method_title` marks every method that needs a download, with its
size, in method lists.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

import streamlit as st

import seglib
from seglib.deep.sources import Download, WeightsUnavailable, download, download_for, forget_failures
from seglib.registry import Method

from .persist import session

WEIGHTS_DIR = Path(tempfile.gettempdir()) / "seglib-weights"
FILE_TYPES = ["safetensors", "pt", "pth", "bin"]
UPLOAD_LIMIT_MB = int(os.environ.get("SEGDASH_WEIGHTS_UPLOAD_MB", "200"))
"""Largest weights upload (MB): its own limit, above the pictures' ``server.maxUploadSize``, so Mask R-CNN's
170 MB file fits; ``$SEGDASH_WEIGHTS_UPLOAD_MB`` changes it (each upload sits in the server's memory)."""
AUTO_DOWNLOAD_MB = 200
"""Pretrained files up to this size download when their method is shown; larger ones wait for a button."""
_FAILED_PREFIX = "weights.download_failed."


def custom_key(slug: str) -> str:
    """Session-state key of method ``slug``'s custom weights (``{"path": ..., "label": ...}``)."""
    return f"weights.custom.{slug}"


def _upload_key(scope: str) -> str:
    return f"weights.upload.{scope}"


def store_weights(data: bytes, suffix: str = ".safetensors") -> Path:
    """Write weights to the temporary weights folder, named by content hash; return the path."""
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    path = WEIGHTS_DIR / (hashlib.blake2b(data, digest_size=12).hexdigest() + suffix)
    if not path.is_file():
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def set_custom_weights(slug: str, path: str | Path, label: str, state: MutableMapping | None = None,
                       card: dict | None = None) -> None:
    """Make ``path`` the weights method ``slug`` uses in this session (``label`` is shown).

    ``card`` is the weights' own model card when known (a model trained on the Train page).
    """
    session(state)[custom_key(slug)] = {"path": str(path), "label": label, "card": card}


def clear_custom_weights(slug: str, state: MutableMapping | None = None) -> None:
    """Go back to the method's own (bundled or pretrained) weights."""
    session(state).pop(custom_key(slug), None)


def custom_weights(slug: str, state: MutableMapping | None = None) -> dict | None:
    """``{"path", "label", "card"}`` of method ``slug``'s custom weights, or None (also when the file has gone)."""
    chosen = session(state).get(custom_key(slug))
    return chosen if chosen and Path(chosen["path"]).is_file() else None


def method_title(slug: str, state: MutableMapping | None = None) -> str:
    """The method's title for a method box: naming the custom weights in use, or the download it needs first.

    ``"U-Net (bundled, ShapeScenes)"`` becomes ``"U-Net - custom weights: trained
    here (unet, 200 steps, 128 px)"`` once a model from the Train page is in use;
    ``"Mask R-CNN (ResNet-50 FPN, torchvision) · 170 MB download"`` while its
    pretrained file is not on the server yet (:func:`seglib.deep.sources.download_for`).
    """
    title = seglib.method(slug).title
    chosen = custom_weights(slug, state)
    if chosen is not None:
        base = title.rsplit(" (", 1)[0] if title.endswith(")") else title
        return f"{base} - custom weights: {chosen['label']}"
    needed = download_for(slug)
    if needed is None or needed.is_available():
        return title
    return f"{title} · {needed.size_mb:,.0f} MB download"


def _on_upload(slug: str, key: str) -> None:
    uploaded = st.session_state.get(key)
    if uploaded is None:
        return
    suffix = Path(uploaded.name).suffix.lower() or ".bin"
    set_custom_weights(slug, store_weights(uploaded.getvalue(), suffix), f"uploaded file {uploaded.name}")


def _offline_caption(spec: Download) -> None:
    st.caption(f":material/cloud_off: The pretrained weights `{spec.file_name}` ({spec.size_mb:,.0f} MB) could "
               f"not be downloaded (offline?). Upload the file below (up to {UPLOAD_LIMIT_MB} MB).")
    with st.expander("For the server's administrator"):
        st.markdown(f"Download {spec.url} once and put it in the folder `{spec.path.parent}` on the server "
                    "(create it if needed); every session then finds it there, with no upload. "
                    f"Weight uploads are limited to {UPLOAD_LIMIT_MB} MB (`SEGDASH_WEIGHTS_UPLOAD_MB`).")


def pretrained_status(method: Method, scope: str | None = None) -> None:
    """Where the method's pretrained weights are, or fetch them (progress bar), or say how to get them.

    For files up to :data:`AUTO_DOWNLOAD_MB`, fetched on first use. A failed
    download (offline) is not retried automatically in this session; a
    button retries it. ``scope`` keeps the button's key apart per panel.
    """
    spec = download_for(method.name)
    if spec is None or method.family != "deep" or spec.size_mb > AUTO_DOWNLOAD_MB:
        return
    if spec.is_available():
        st.caption(f":material/check_circle: Pretrained weights in the cache: `{spec.file_name}` "
                   f"({spec.size_mb:,.0f} MB)")
        return
    failed_key = _FAILED_PREFIX + method.name
    retry_key = f"weights.retry.{scope or method.name}"
    if st.session_state.get(failed_key):
        if not st.button("Retry the download", key=retry_key, icon=":material/refresh:"):
            _offline_caption(spec)
            return
        forget_failures()  # asked for: try the network again now
    bar = st.progress(0.0, text=f"Downloading {spec.file_name} ({spec.size_mb:,.0f} MB)...")

    def progress(done: int, total: int) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        bar.progress(fraction, text=f"Downloading {spec.file_name}: {done / 1e6:,.0f} of "
                                    f"{(total or done) / 1e6:,.0f} MB")

    try:
        download(spec, method.title, progress=progress)
    except (WeightsUnavailable, ValueError):  # offline, or a corrupt download (not kept)
        st.session_state[failed_key] = True
        bar.empty()
        _offline_caption(spec)
        return
    st.session_state.pop(failed_key, None)
    bar.progress(1.0, text=f"Downloaded {spec.file_name} to the cache.")


def weights_widget(method: Method, scope: str | None = None) -> dict:
    """Weights controls for a method that accepts ``weights``; returns ``{"weights": path}`` or ``{}``.

    Draws, in a bordered box: the pretrained-weights status of methods that
    download theirs (:func:`pretrained_status`), which custom weights are in use (with a button to go back to
    the method's own), and an upload box. ``scope`` keeps widget keys
    apart when one method appears in several panels; the chosen custom
    weights are shared by all of them.
    """
    if "weights" not in method.inputs:
        return {}
    scope = scope or method.name
    with st.container(border=True):
        st.markdown("**Weights**")
        chosen = custom_weights(method.name)
        if chosen is None:
            pretrained_status(method, scope)
        if chosen is not None:
            st.caption(f":material/model_training: Using custom weights: {chosen['label']}")
            st.button("Use the method's own weights", key=f"weights.clear.{scope}", icon=":material/undo:",
                      on_click=clear_custom_weights, args=(method.name,))
        key = _upload_key(scope)
        st.file_uploader("Custom weights file", type=FILE_TYPES, key=key, on_change=_on_upload,
                         args=(method.name, key), max_upload_size=UPLOAD_LIMIT_MB,
                         help="A .safetensors file, or a state dict saved with torch.save (.pt/.pth), e.g. from "
                              "the Train page. It is read safely: files that would run code are refused.")
    return weights_value(method)


def weights_value(method: Method, state: MutableMapping | None = None) -> dict:
    """What :func:`weights_widget` returns, without drawing it: ``{"weights": path}`` of the custom weights
    ``method`` runs with, or ``{}`` (its own weights, or a method that takes none)."""
    if "weights" not in method.inputs:
        return {}
    chosen = custom_weights(method.name, state)
    return {"weights": chosen["path"]} if chosen is not None else {}

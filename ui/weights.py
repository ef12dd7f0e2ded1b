"""Custom weights for deep methods: an upload box, the Train page's fresh models, pretrained downloads.

A method that lists ``"weights"`` in its :attr:`~seglib.Method.inputs`
accepts a local weights file. The session keeps at most one custom file per
method (``weights.custom.<slug>``): set by an upload here or by the Train
page's "use this model", and used by every page that draws the method's
widgets (Explore, Compare, Evaluate). Files are written once, named by
their content hash, to a temporary folder, and passed to the method as a path.

For torchvision models (:mod:`seglib.deep.zoo`) the widget also fetches
the pretrained weights on first use, with a progress bar.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

import streamlit as st

import seglib
from seglib.registry import Method

WEIGHTS_DIR = Path(tempfile.gettempdir()) / "seglib-weights"
FILE_TYPES = ["safetensors", "pt", "pth", "bin"]
_FAILED_PREFIX = "weights.download_failed."


def custom_key(slug: str) -> str:
    """Session-state key of method ``slug``'s custom weights (``{"path": ..., "label": ...}``)."""
    return f"weights.custom.{slug}"


def _upload_key(scope: str) -> str:
    return f"weights.upload.{scope}"


def _state(state: MutableMapping | None) -> MutableMapping:
    return st.session_state if state is None else state


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
    _state(state)[custom_key(slug)] = {"path": str(path), "label": label, "card": card}


def clear_custom_weights(slug: str, state: MutableMapping | None = None) -> None:
    """Go back to the method's own (bundled or pretrained) weights."""
    _state(state).pop(custom_key(slug), None)


def custom_weights(slug: str, state: MutableMapping | None = None) -> dict | None:
    """``{"path", "label", "card"}`` of method ``slug``'s custom weights, or None (also when the file has gone)."""
    chosen = _state(state).get(custom_key(slug))
    return chosen if chosen and Path(chosen["path"]).is_file() else None


def method_title(slug: str, state: MutableMapping | None = None) -> str:
    """The method's title for a method box, naming the custom weights when they are in use.

    ``"U-Net (bundled, ShapeScenes)"`` becomes ``"U-Net - custom weights: trained
    here (unet, 200 steps, 128 px)"`` once a model from the Train page is in use.
    """
    title = seglib.method(slug).title
    chosen = custom_weights(slug, state)
    if chosen is None:
        return title
    base = title.rsplit(" (", 1)[0] if title.endswith(")") else title
    return f"{base} - custom weights: {chosen['label']}"


def _on_upload(slug: str, key: str) -> None:
    uploaded = st.session_state.get(key)
    if uploaded is None:
        return
    suffix = Path(uploaded.name).suffix.lower() or ".bin"
    set_custom_weights(slug, store_weights(uploaded.getvalue(), suffix), f"uploaded file {uploaded.name}")


def _zoo_model(method: Method) -> str | None:
    from seglib.deep import zoo

    return method.name if method.name in zoo.MODELS else None


def _offline_caption(name: str) -> None:
    from seglib.deep import zoo

    st.caption(f":material/cloud_off: Pretrained weights `{zoo.weights_file(name)}` could not be downloaded "
               f"(offline?). Put the file at `{zoo.cache_path(name)}` or upload it below.")


def pretrained_status(name: str, scope: str | None = None) -> None:
    """Fetch a torchvision model's pretrained weights on first use (progress bar), or say where they are.

    A failed download (offline) is not retried automatically in this
    session; a button retries it. The method's own error then says which
    file to put where. ``scope`` keeps the button's key apart per panel.
    """
    from seglib.deep import zoo

    failed_key = _FAILED_PREFIX + name
    if zoo.is_cached(name):
        st.caption(f":material/check_circle: Pretrained weights in the cache: `{zoo.cache_path(name)}`")
        return
    retry_key = f"weights.retry.{scope or name}"
    if st.session_state.get(failed_key) and not st.button("Retry the download", key=retry_key,
                                                          icon=":material/refresh:"):
        _offline_caption(name)
        return
    bar = st.progress(0.0, text=f"Downloading {zoo.weights_file(name)} ({zoo.download_size_mb(name):.0f} MB)...")

    def progress(done: int, total: int) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        bar.progress(fraction, text=f"Downloading {zoo.weights_file(name)}: {done / 1e6:.0f} of "
                                    f"{(total or done) / 1e6:.0f} MB")

    try:
        zoo.download_weights(name, progress=progress)
    except zoo.WeightsUnavailable:
        st.session_state[failed_key] = True
        bar.empty()
        _offline_caption(name)
        return
    st.session_state.pop(failed_key, None)
    bar.progress(1.0, text=f"Downloaded {zoo.weights_file(name)} to the cache.")


def weights_widget(method: Method, scope: str | None = None) -> dict:
    """Weights controls for a method that accepts ``weights``; returns ``{"weights": path}`` or ``{}``.

    Draws, in a bordered box: the pretrained-weights status of torchvision
    models, which custom weights are in use (with a button to go back to
    the method's own), and an upload box. ``scope`` keeps widget keys
    apart when one method appears in several panels; the chosen custom
    weights are shared by all of them.
    """
    if "weights" not in method.inputs:
        return {}
    scope = scope or method.name
    with st.container(border=True):
        st.markdown("**Weights**")
        zoo_name = _zoo_model(method)
        chosen = custom_weights(method.name)
        if zoo_name is not None and chosen is None:
            pretrained_status(zoo_name, scope)
        if chosen is not None:
            st.caption(f":material/model_training: Using custom weights: {chosen['label']}")
            st.button("Use the method's own weights", key=f"weights.clear.{scope}", icon=":material/undo:",
                      on_click=clear_custom_weights, args=(method.name,))
        key = _upload_key(scope)
        st.file_uploader("Custom weights file", type=FILE_TYPES, key=key, on_change=_on_upload,
                         args=(method.name, key),
                         help="A .safetensors file, or a state dict saved with torch.save (.pt/.pth), e.g. from "
                              "the Train page. It is read safely: files that would run code are refused.")
    return {"weights": chosen["path"]} if chosen is not None else {}

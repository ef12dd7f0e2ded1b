"""The ground-truth picker shared by Compare and Evaluate.

A ShapeScene brings its own truth (:func:`seglib.scoring.from_scene`). For
other images the user uploads a file that :func:`seglib.io.load_ground_truth`
reads (mask PNG, Pascal VOC PNG, COCO JSON with a choice of image, BSDS
``.mat``). The truth is kept in ``st.session_state`` as a
:class:`LoadedTruth` tied to the image's content hash: when the image
changes, it is forgotten. A truth whose size differs from the image but
whose aspect ratio matches waits as "pending" until the user accepts the
nearest-neighbour resize; a bad file shows its error and keeps the previous
truth.

The state changes are plain functions of a mapping (:func:`load_truth_file`,
:func:`accept_resize`, :func:`forget_truth`, :func:`current_truth`), so
tests can drive them with a dict; the widgets call them from callbacks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import dataclass

import numpy as np
import streamlit as st

from seglib.io.ground_truth import GroundTruth, load_ground_truth, resize_ground_truth
from seglib.io.images import read_bytes
from seglib.scoring import from_scene

from .image_picker import (DEFAULT_SCENE, PickedImage, current_image, default_to_scene, image_picker, scene_of,
                           select_scene)

TRUTH_KEY = "gt.truth"
PENDING_KEY = "gt.pending"
ERROR_KEY = "gt.error"
FILE_KEY = "gt.file"
IMAGE_IDS_KEY = "gt.image_ids"
IMAGE_ID_KEY = "gt.image_id"
ROUND_KEY = "gt.round"  # bumped to give the uploader a fresh key (clears its file)
UPLOAD_TYPES = ("png", "bmp", "tif", "tiff", "gif", "webp", "json", "mat")


@dataclass(frozen=True)
class LoadedTruth:
    """Ground truth for one image.

    Attributes
    ----------
    truth : GroundTruth
        The label maps, at the image's size.
    key : str
        Identifies the truth (file content and COCO image id, or the scene); caches key on it.
    name : str
        Where it came from (file name, or the scene).
    image_key : str
        Content hash of the image it belongs to.
    """

    truth: GroundTruth
    key: str
    name: str
    image_key: str

    @property
    def from_scene(self) -> bool:
        return self.key.startswith("scene:")


def _state(state: MutableMapping | None) -> MutableMapping:
    return st.session_state if state is None else state


def coco_images(data: bytes) -> list[tuple[int, str]]:
    """``(id, file_name)`` of every image a COCO JSON lists; empty for other files or malformed JSON.

    Only used to offer a choice: :func:`seglib.io.load_ground_truth` reports what is wrong with a file.
    """
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{":
        return []
    try:
        images = json.loads(data.decode("utf-8-sig")).get("images", [])
        return [(int(i["id"]), str(i.get("file_name", ""))) for i in images if isinstance(i.get("id"), int)]
    except (ValueError, AttributeError, TypeError, KeyError):
        return []


def _choose_image_id(images: list[tuple[int, str]], picked: PickedImage, image_id) -> int | None:
    """The requested id, else the image named like the picked one, else the first (several images only)."""
    if image_id is not None or len(images) < 2:
        return image_id
    stem = picked.name.rsplit(".", 1)[0]
    named = [i for i, file_name in images if file_name and file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0] == stem]
    return (named or [images[0][0]])[0]


def _content_key(data: bytes, image_id) -> str:
    digest = hashlib.blake2b(data, digest_size=16)
    digest.update(repr(image_id).encode())
    return "file:" + digest.hexdigest()


def _size(shape) -> str:
    return f"{shape[1]} x {shape[0]}"


def load_truth_file(source, name: str, picked: PickedImage, state: MutableMapping | None = None, *,
                    image_id: int | None = None) -> bool:
    """Read a ground-truth file for the picked image.

    Parameters
    ----------
    source : bytes or binary file object
        The file (Streamlit's ``UploadedFile`` works).
    name : str
        File name, for messages.
    picked : PickedImage
        The image the truth belongs to.
    state : mapping, optional
        ``st.session_state`` by default.
    image_id : int, optional
        Which image of a COCO JSON; by default the one whose file name
        matches the picked image, else the first. The ids are kept in
        ``state[IMAGE_IDS_KEY]`` when the file lists several.

    Returns
    -------
    bool
        True when the truth now applies to the image. A truth of another
        size with the same aspect ratio goes to ``state[PENDING_KEY]``
        (see :func:`accept_resize`); a bad file sets ``state[ERROR_KEY]``.
        Either way the previous truth stays.
    """
    state = _state(state)
    state.pop(PENDING_KEY, None)
    try:
        data = read_bytes(source)
        images = coco_images(data)
        image_id = _choose_image_id(images, picked, image_id)
        state[FILE_KEY] = (name, data)
        if len(images) > 1:
            state[IMAGE_IDS_KEY], state[IMAGE_ID_KEY] = images, image_id
        else:
            state.pop(IMAGE_IDS_KEY, None)
        truth = load_ground_truth(data, image_id=image_id)
        loaded = LoadedTruth(truth, _content_key(data, image_id), name, picked.key)
        shape = picked.image.shape[:2]
        if truth.shape != shape:
            state[PENDING_KEY] = LoadedTruth(resize_ground_truth(truth, shape), loaded.key + ":resized", name,
                                             picked.key)
            state[ERROR_KEY] = (f"{name!r} is {_size(truth.shape)} pixels but the image is {_size(shape)}. "
                                "The aspect ratios agree: resize the truth to the image (nearest neighbour)?")
            return False
    except (ValueError, TypeError) as error:
        state[ERROR_KEY] = f"Could not use {name!r} as ground truth: {error}"
        return False
    state[TRUTH_KEY] = loaded
    state.pop(ERROR_KEY, None)
    return True


def accept_resize(state: MutableMapping | None = None) -> bool:
    """Use the pending (resized) truth; False when none is pending."""
    state = _state(state)
    pending = state.pop(PENDING_KEY, None)
    if pending is None:
        return False
    state[TRUTH_KEY] = pending
    state.pop(ERROR_KEY, None)
    return True


def forget_truth(state: MutableMapping | None = None) -> None:
    """Drop the uploaded truth, its file and messages, and clear the uploader."""
    state = _state(state)
    for key in (TRUTH_KEY, PENDING_KEY, ERROR_KEY, FILE_KEY, IMAGE_IDS_KEY, IMAGE_ID_KEY):
        state.pop(key, None)
    state[ROUND_KEY] = state.get(ROUND_KEY, 0) + 1


def scene_truth(picked: PickedImage) -> LoadedTruth | None:
    """The ground truth a ShapeScene comes with; None for other images."""
    scene = scene_of(picked)
    if scene is None:
        return None
    return LoadedTruth(from_scene(scene), "scene:" + picked.key, "the scene's own labels", picked.key)


def current_truth(picked: PickedImage, state: MutableMapping | None = None) -> LoadedTruth | None:
    """The truth of the picked image: the scene's own, or an uploaded one made for this image.

    An uploaded truth that belongs to another image (the image changed) is forgotten here.
    """
    state = _state(state)
    own = scene_truth(picked)
    if own is not None:
        return own
    loaded = state.get(TRUTH_KEY)
    stale = [v for v in (loaded, state.get(PENDING_KEY)) if v is not None and v.image_key != picked.key]
    if stale:
        forget_truth(state)
        return None
    return loaded


def describe(loaded: LoadedTruth) -> str:
    """One line about a truth: size, classes, objects."""
    truth = loaded.truth
    parts = [f"{_size(truth.shape)} px"]
    if truth.semantic is not None:
        valid = truth.semantic if truth.ignore_index is None else truth.semantic[truth.semantic != truth.ignore_index]
        present = np.unique(valid)
        names = truth.class_names or []
        shown = [names[i] if i < len(names) else f"class {i}" for i in present.tolist()]
        parts.append(f"{len(present)} classes ({', '.join(shown[:6])}{', ...' if len(shown) > 6 else ''})")
    if truth.instances is not None:
        parts.append(f"{int(np.count_nonzero(np.unique(truth.instances)))} objects")
    if truth.annotators:
        parts.append(f"{len(truth.annotators)} annotators")
    return "; ".join(parts)


# ---------------------------------------------------------------- widgets


def _upload_key() -> str:
    return f"gt.upload.{st.session_state.get(ROUND_KEY, 0)}"


def _on_upload() -> None:
    uploaded = st.session_state.get(_upload_key())
    if uploaded is not None:
        load_truth_file(uploaded, uploaded.name, current_image())


def _on_image_id() -> None:
    name, data = st.session_state[FILE_KEY]
    load_truth_file(data, name, current_image(), image_id=st.session_state[IMAGE_ID_KEY])


def _image_id_label(images: list[tuple[int, str]]):
    names = dict(images)
    return lambda i: f"{i}: {names[i]}" if names.get(i) else str(i)


def _file_controls(picked: PickedImage) -> None:
    state = st.session_state
    st.file_uploader("Upload ground truth", type=list(UPLOAD_TYPES), key=_upload_key(), on_change=_on_upload,
                     help="A mask PNG (0/255 or a label image), a Pascal VOC SegmentationClass PNG, a COCO "
                          "instances JSON or a BSDS500 .mat file for the current image. It must have the "
                          "image's size, or the same aspect ratio (then it can be resized).")
    if state.get(IMAGE_IDS_KEY):
        images = state[IMAGE_IDS_KEY]
        st.selectbox("COCO image", [i for i, _ in images], key=IMAGE_ID_KEY, on_change=_on_image_id,
                     format_func=_image_id_label(images),
                     help="The JSON describes several images: choose the one shown here.")
    error = state.get(ERROR_KEY)
    if state.get(PENDING_KEY) is not None:
        st.warning(error, icon=":material/aspect_ratio:")
        st.button(f"Resize to {_size(picked.image.shape)}", on_click=accept_resize, icon=":material/fit_screen:",
                  help="Nearest-neighbour resize: labels are copied, never blended.")
    elif error:
        st.error(error, icon=":material/error:")


def truth_picker(picked: PickedImage) -> LoadedTruth | None:
    """Draw the ground-truth section in the sidebar and return the truth of the picked image (or None)."""
    with st.sidebar:
        st.header("Ground truth", divider="gray",
                  help="Reference labels to score methods against: a scene's own, or a file you upload.")
        loaded = current_truth(picked)
        if loaded is not None and loaded.from_scene:
            st.success(f"The scene's own labels: {describe(loaded)}.", icon=":material/check_circle:")
            return loaded
        _file_controls(picked)
        loaded = current_truth(picked)
        if loaded is None:
            st.caption("No ground truth yet: upload one, or pick a synthetic scene above (it has its own).")
            return None
        st.success(f"{loaded.name}: {describe(loaded)}.", icon=":material/check_circle:")
        for note in loaded.truth.notes:
            st.caption(f":material/info: {note}")
        st.button("Forget this ground truth", on_click=forget_truth, icon=":material/delete:",
                  help="Remove the uploaded truth; scores and error maps disappear.")
    return loaded


def image_and_truth() -> tuple[PickedImage, int | None, LoadedTruth | None]:
    """The sidebar of the pages that score: image picker (a scene when nothing was picked) and truth picker.

    Returns the picked image, the working size and the truth (or None).
    """
    default_to_scene()
    picked, working_size = image_picker()
    return picked, working_size, truth_picker(picked)


def missing_truth_hint(need: str) -> None:
    """Say that ``need`` (e.g. "Error maps and scores") needs ground truth, with a button to a scene."""
    st.info(f"{need} need ground truth. Upload a ground-truth file for this picture in the sidebar, or use a "
            "synthetic scene, which brings its own labels.", icon=":material/info:")
    st.button("Use a synthetic scene", on_click=select_scene, args=DEFAULT_SCENE, icon=":material/category:",
              help="Switch to ShapeScene {} ({}, {} px) and its exact labels.".format(*DEFAULT_SCENE))

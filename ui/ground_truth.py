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

A COCO JSON must annotate the picture shown (by file name; a one-image file
of the picture's size is taken too): otherwise the picker says so and lists
what the file annotates. A COCO panoptic JSON and its PNG may come one after
the other, in either order. With several classes the user chooses what
counts as foreground (:func:`seglib.scoring.select_foreground`): things
only (the default when the file also annotates stuff such as grass and
sky), stuff only, everything, or picked classes, remembered per file.

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

import re

from seglib.io.ground_truth import GroundTruth, load_ground_truth, resize_ground_truth
from seglib.io.images import read_bytes
from seglib.scoring import (FOREGROUND_CHOICES, foreground_classes, from_scene, present_classes, select_foreground,
                            stuff_classes)

from .image_picker import (DEFAULT_SCENE, PickedImage, current_image, default_to_scene, image_picker, scene_of,
                           select_scene)
from .markdown import code, escape_markdown
from .persist import session

TRUTH_KEY = "gt.truth"
PENDING_KEY = "gt.pending"
ERROR_KEY = "gt.error"
FILE_KEY = "gt.file"
IMAGE_IDS_KEY = "gt.image_ids"
IMAGE_ID_KEY = "gt.image_id"
ROUND_KEY = "gt.round"  # bumped to give the uploader a fresh key (clears its file)
PANOPTIC_PNG_KEY = "gt.panoptic_png"    # (name, bytes) of a COCO panoptic PNG waiting for its JSON
PANOPTIC_JSON_KEY = "gt.panoptic_json"  # (name, bytes) of a COCO panoptic JSON waiting for its PNG
FOREGROUND_KEY = "gt.foreground"        # {truth key: (choice, picked class indices)}: remembered per file
FG_CHOICE_KEY, FG_PICKED_KEY, FG_FOR_KEY = "gt.fg.choice", "gt.fg.picked", "gt.fg.for"
FOREGROUND_LABELS = {"things": "Things (objects)", "stuff": "Stuff (grass, sky...)",
                     "everything": "Everything annotated", "picked": "Picked classes"}
_COCO_NAME = re.compile(r"^\d{12}\.png$")  # COCO's file names: 000000439180.png
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


def _coco_entries(data: bytes) -> list[dict]:
    """The ``images`` entries of a COCO JSON (those with an integer id); empty for other files."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{":
        return []
    try:
        images = json.loads(data.decode("utf-8-sig")).get("images", [])
        return [i for i in images if isinstance(i, dict) and isinstance(i.get("id"), int)
                and not isinstance(i.get("id"), bool)]
    except (ValueError, AttributeError, TypeError, RecursionError):  # load_ground_truth says what is wrong
        return []


def coco_images(data: bytes) -> list[tuple[int, str]]:
    """``(id, file_name)`` of every image a COCO JSON lists; empty for other files or malformed JSON.

    Only used to offer a choice: :func:`seglib.io.load_ground_truth` reports what is wrong with a file.
    """
    return [(int(i["id"]), str(i.get("file_name", ""))) for i in _coco_entries(data)]


def _stem(name: str) -> str:
    return name.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _listing(entries: list[dict]) -> str:
    shown = [f"{e.get('file_name') or 'id ' + str(e['id'])} ({e.get('width', '?')} x {e.get('height', '?')})"
             for e in entries[:5]]
    return ", ".join(shown) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")


def _match_image(entries: list[dict], picked: PickedImage, image_id) -> int | None:
    """The COCO image id for the picked picture: the one asked for, else the one named like it.

    A file that annotates one image of the picture's size is taken even
    under another name. Otherwise ``ValueError`` says that the file has no
    annotation for this picture and lists what it has.
    """
    if image_id is not None or not entries:
        return image_id
    names = {_stem(picked.name), picked.sample or "", picked.file_stem}
    named = [e["id"] for e in entries if e.get("file_name") and _stem(str(e["file_name"])) in names]
    if named:
        return named[0]
    height, width = picked.image.shape[:2]
    if len(entries) == 1 and (entries[0].get("height"), entries[0].get("width")) == (height, width):
        return entries[0]["id"]
    raise ValueError(f"the file has no annotation for this picture ({picked.name}, {width} x {height}); it "
                     f"annotates {_listing(entries)}. Open that picture, or choose one of its images below "
                     "if this picture is one of them under another name")


def _content_key(data: bytes, image_id) -> str:
    digest = hashlib.blake2b(data, digest_size=16)
    digest.update(repr(image_id).encode())
    return "file:" + digest.hexdigest()


def _size(shape) -> str:
    return f"{shape[1]} x {shape[0]}"


def load_truth_file(source, name: str, picked: PickedImage, state: MutableMapping | None = None, *,
                    image_id: int | None = None, as_mask: bool = False) -> bool:
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
        matches the picked image (a file without it sets an error listing
        what it annotates). The ids are kept in ``state[IMAGE_IDS_KEY]``
        when the file lists several.
    as_mask : bool, optional
        Read a PNG named like a COCO panoptic PNG as a colour mask anyway.

    Returns
    -------
    bool
        True when the truth now applies to the image. A truth of another
        size with the same aspect ratio goes to ``state[PENDING_KEY]``
        (see :func:`accept_resize`); a bad file sets ``state[ERROR_KEY]``.
        Either way the previous truth stays.
    """
    state = session(state)
    state.pop(PENDING_KEY, None)
    try:
        data = read_bytes(source)
        if not as_mask and _is_panoptic_png(name, data, state):
            state[PANOPTIC_PNG_KEY] = (name, data)
            if PANOPTIC_JSON_KEY not in state:
                state[ERROR_KEY] = (f"{name!r} looks like a COCO panoptic PNG: each colour is a segment id, not a "
                                    "class. Upload its panoptic JSON too (it says which class each segment is).")
                return False
            name, data, image_id = state[PANOPTIC_JSON_KEY]  # the JSON waiting for this PNG
        entries = _coco_entries(data)
        state[FILE_KEY] = (name, data)
        state.pop(IMAGE_IDS_KEY, None)
        try:
            image_id = _match_image(entries, picked, image_id)
        finally:  # several images, or none named like the picture: offer the choice
            if len(entries) > 1 or (entries and image_id is None):
                state[IMAGE_IDS_KEY] = coco_images(data)
            state[IMAGE_ID_KEY] = image_id
        truth = _load(name, data, image_id, state)
        if truth is None:
            return False
        loaded = LoadedTruth(truth, _content_key(data, image_id), name, picked.key)
        shape = picked.image.shape[:2]
        if truth.shape != shape:
            return _size_mismatch(loaded, shape, state)
    except (ValueError, TypeError) as error:
        state[ERROR_KEY] = f"Could not use {name!r} as ground truth: {error}"
        return False
    state[TRUTH_KEY] = loaded
    state.pop(ERROR_KEY, None)
    return True


def _kind_of_truth(truth_format: str) -> str:
    return "annotation" if truth_format.startswith("coco") else "mask"


def _size_mismatch(loaded: LoadedTruth, shape, state: MutableMapping) -> bool:
    """Offer a resize when only the scale differs; else say both sizes in words. Always False (not loaded)."""
    truth, name = loaded.truth, loaded.name
    what = _kind_of_truth(truth.source_format)
    sizes = f"the {what} is {_size(truth.shape)}, the picture {_size(shape)}"
    try:
        resized = resize_ground_truth(truth, shape)
    except ValueError:
        state[ERROR_KEY] = (f"{name!r} does not fit this picture: {sizes}, and their shapes differ, so it was "
                            "made for another picture. Upload the one made for this picture.")
        return False
    state[PENDING_KEY] = LoadedTruth(resized, loaded.key + ":resized", name, loaded.image_key)
    state[ERROR_KEY] = (f"{name!r}: {sizes} pixels. Same shape, another scale: resize the {what} to the picture "
                        "(nearest neighbour)?")
    return False


def _load(name: str, data: bytes, image_id, state: MutableMapping) -> GroundTruth | None:
    """Read the file; a COCO panoptic JSON takes the PNG uploaded before it, or waits for it (None)."""
    waiting = state.get(PANOPTIC_PNG_KEY)
    try:
        truth = load_ground_truth(data, image_id=image_id, panoptic_png=waiting[1] if waiting else None)
    except ValueError as error:
        if "panoptic JSON needs its PNG" not in str(error):
            raise
        state[PANOPTIC_JSON_KEY] = (name, data, image_id)
        state[ERROR_KEY] = (f"{name!r} is a COCO panoptic JSON: it names the segments, but their pixels are in a "
                            "PNG of the same name as the picture (e.g. 000000439180.png). Upload that PNG too.")
        return None
    if waiting and truth.source_format == "coco-panoptic":
        truth.notes.append(f"segments drawn from {waiting[0]!r}")
        state.pop(PANOPTIC_PNG_KEY, None)
    state.pop(PANOPTIC_JSON_KEY, None)
    return truth


def _is_panoptic_png(name: str, data: bytes, state: MutableMapping) -> bool:
    """A PNG named as COCO names its files, or any PNG while a panoptic JSON waits for its PNG."""
    if not data.startswith(b"\x89PNG"):
        return False
    return PANOPTIC_JSON_KEY in state or bool(_COCO_NAME.match(name.rsplit("/", 1)[-1]))


def accept_resize(state: MutableMapping | None = None) -> bool:
    """Use the pending (resized) truth; False when none is pending."""
    state = session(state)
    pending = state.pop(PENDING_KEY, None)
    if pending is None:
        return False
    state[TRUTH_KEY] = pending
    state.pop(ERROR_KEY, None)
    return True


def forget_truth(state: MutableMapping | None = None) -> None:
    """Drop the uploaded truth, its file and messages, and clear the uploader."""
    state = session(state)
    for key in (TRUTH_KEY, PENDING_KEY, ERROR_KEY, FILE_KEY, IMAGE_IDS_KEY, IMAGE_ID_KEY, PANOPTIC_PNG_KEY,
                PANOPTIC_JSON_KEY):
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
    state = session(state)
    own = scene_truth(picked)
    if own is not None:
        return own
    loaded = state.get(TRUTH_KEY)
    stale = [v for v in (loaded, state.get(PENDING_KEY)) if v is not None and v.image_key != picked.key]
    if stale:
        forget_truth(state)
        return None
    return loaded


# ---------------------------------------------------------------- what counts as foreground


def default_foreground(truth: GroundTruth) -> str:
    """Things only when the truth also annotates stuff (grass, sky...), else everything."""
    return "things" if stuff_classes(truth) & set(present_classes(truth)) else "everything"


def foreground_of(loaded: LoadedTruth, state: MutableMapping | None = None) -> tuple[str, tuple[int, ...]]:
    """The foreground choice remembered for this truth file, or its default."""
    memory = session(state).get(FOREGROUND_KEY) or {}
    return memory.get(loaded.key, (default_foreground(loaded.truth), ()))


def set_foreground(loaded: LoadedTruth, choice: str, picked=(), state: MutableMapping | None = None) -> None:
    """Remember what counts as foreground for this truth file (``ValueError`` for an unknown choice)."""
    if choice not in FOREGROUND_CHOICES:
        raise ValueError(f"choice={choice!r} is not allowed: expected one of {', '.join(FOREGROUND_CHOICES)}")
    state = session(state)
    memory = dict(state.get(FOREGROUND_KEY) or {})
    memory[loaded.key] = (choice, tuple(sorted(int(c) for c in picked)))
    state[FOREGROUND_KEY] = memory


def with_foreground(loaded: LoadedTruth, state: MutableMapping | None = None) -> LoadedTruth:
    """The truth as scored: only the classes chosen as foreground are objects (its key says which)."""
    choice, picked = foreground_of(loaded, state)
    if choice == "everything":
        return loaded
    keep = sorted(foreground_classes(loaded.truth, choice, picked))
    return LoadedTruth(select_foreground(loaded.truth, keep), f"{loaded.key}:foreground={keep}", loaded.name,
                       loaded.image_key)


def _class_name(truth: GroundTruth, index: int) -> str:
    names = truth.class_names or []
    return names[index] if index < len(names) else f"class {index}"


def _on_foreground(loaded: LoadedTruth) -> None:
    state = st.session_state
    set_foreground(loaded, state[FG_CHOICE_KEY], state.get(FG_PICKED_KEY) or [])


def _foreground_controls(loaded: LoadedTruth) -> None:
    """Things / stuff / everything / picked classes, for a truth with several classes."""
    state, truth = st.session_state, loaded.truth
    present = present_classes(truth)
    if len(present) < 2:
        return
    stuff = stuff_classes(truth) & set(present)
    options = list(FOREGROUND_CHOICES) if stuff else ["everything", "picked"]
    if state.get(FG_FOR_KEY) != loaded.key:  # another file: show what was chosen for it
        choice, picked = foreground_of(loaded)
        state[FG_CHOICE_KEY] = choice if choice in options else options[0]
        state[FG_PICKED_KEY] = [c for c in picked if c in present]
        state[FG_FOR_KEY] = loaded.key
    choice = st.radio("Counts as foreground", options, key=FG_CHOICE_KEY, format_func=FOREGROUND_LABELS.get,
                      on_change=_on_foreground, args=(loaded,),
                      help="What threshold and other object/background methods are scored against. COCO also "
                           "annotates stuff (grass, sky, walls): counting it as foreground marks almost every "
                           "pixel an object. Remembered for this file.")
    if choice == "picked":
        st.multiselect("Classes", present, key=FG_PICKED_KEY, format_func=lambda c: _class_name(truth, c),
                       on_change=_on_foreground, args=(loaded,), placeholder="e.g. person",
                       help="Only these classes are objects; every other class counts as background.")
    keep = sorted(foreground_classes(truth, choice, state.get(FG_PICKED_KEY) or []))
    shown = ", ".join(_class_name(truth, c) for c in keep[:8]) + (", ..." if len(keep) > 8 else "")
    st.caption(f"Foreground: {escape_markdown(shown) or 'nothing (pick classes)'}. Everything else counts as "
               "background.")


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
    if st.session_state.get(IMAGE_ID_KEY) is not None:
        load_truth_file(data, name, current_image(), image_id=st.session_state[IMAGE_ID_KEY])


def _image_id_label(images: list[tuple[int, str]]):
    names = dict(images)
    return lambda i: f"{i}: {names[i]}" if names.get(i) else str(i)


def _file_controls(picked: PickedImage) -> None:
    state = st.session_state
    st.file_uploader("Upload ground truth", type=list(UPLOAD_TYPES), key=_upload_key(), on_change=_on_upload,
                     help="A mask PNG (0/255 or a label image), a Pascal VOC SegmentationClass PNG, a COCO "
                          "instances or panoptic JSON (then its PNG as a second upload) or a BSDS500 .mat file "
                          "for the current image. It must have the image's size, or the same aspect ratio (then "
                          "it can be resized).")
    if state.get(IMAGE_IDS_KEY):
        images = state[IMAGE_IDS_KEY]
        st.selectbox("COCO image", [i for i, _ in images], key=IMAGE_ID_KEY, on_change=_on_image_id,
                     format_func=_image_id_label(images), index=None, placeholder="Choose the image shown here",
                     help="The JSON describes several images: choose the one shown here.")
    error = state.get(ERROR_KEY)
    if state.get(PENDING_KEY) is not None:
        st.warning(escape_markdown(error), icon=":material/aspect_ratio:")
        st.button(f"Resize to {_size(picked.image.shape)}", on_click=accept_resize, icon=":material/fit_screen:",
                  help="Nearest-neighbour resize: labels are copied, never blended.")
    elif error:
        st.error(escape_markdown(error), icon=":material/error:")
        waiting = state.get(PANOPTIC_PNG_KEY)
        if waiting is not None and PANOPTIC_JSON_KEY not in state and TRUTH_KEY not in state:
            st.button("Read it as a colour mask instead", on_click=_png_as_mask, icon=":material/palette:",
                      help="Each colour becomes a class. Only right if this PNG is not a COCO panoptic PNG.")


def _png_as_mask() -> None:
    name, data = st.session_state.pop(PANOPTIC_PNG_KEY)
    load_truth_file(data, name, current_image(), as_mask=True)


def truth_picker(picked: PickedImage) -> LoadedTruth | None:
    """Draw the ground-truth section in the sidebar and return the truth of the picked image (or None)."""
    with st.sidebar:
        st.header("Ground truth", divider="gray",
                  help="Reference labels to score methods against: a scene's own, or a file you upload.")
        loaded = current_truth(picked)
        if loaded is not None and loaded.from_scene:
            st.success(f"The scene's own labels: {escape_markdown(describe(loaded))}.", icon=":material/check_circle:")
            return loaded
        _file_controls(picked)
        loaded = current_truth(picked)
        if loaded is None:
            st.caption("No ground truth yet: upload one, or pick a synthetic scene above (it has its own).")
            return None
        st.success(f"{code(loaded.name)}: {escape_markdown(describe(loaded))}.", icon=":material/check_circle:")
        for note in loaded.truth.notes:
            st.caption(f":material/info: {escape_markdown(note)}")
        _foreground_controls(loaded)
        st.button("Forget this ground truth", on_click=forget_truth, icon=":material/delete:",
                  help="Remove the uploaded truth; scores and error maps disappear.")
    return with_foreground(loaded)


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
    if st.button("Use a synthetic scene", icon=":material/category:",
                 help="Switch to ShapeScene {} ({}, {} px) and its exact labels.".format(*DEFAULT_SCENE)):
        select_scene(*DEFAULT_SCENE)
        st.rerun(scope="app")  # the whole page: the hint may sit in a fragment, the picture is in the sidebar

"""The sidebar image picker every page uses: samples, upload, camera, working resolution.

The chosen image lives in ``st.session_state`` as a :class:`PickedImage`
(the array plus its content hash, computed once), so it stays selected
across pages and widget changes never rehash it. A page opened with no
state gets :data:`seglib.samples.DEFAULT_SAMPLE`.

The state changes are plain functions of a mapping (:func:`accept_upload`,
:func:`select_sample`, :func:`select_scene`, :func:`current_image`) so tests
can drive them with a dict; the widgets call them from their ``on_change``
callbacks.

Besides samples, uploads and the camera, the picker draws synthetic
ShapeScenes (:func:`seglib.datasets.shapes.make_scene`): pictures that come
with their exact ground truth (see :mod:`ui.ground_truth`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass

import numpy as np
import streamlit as st

from seglib.cache import fingerprint
from seglib.core import DEFAULT_WORKING_SIZE
from seglib.datasets.shapes import DIFFICULTIES, Scene, make_scene
from seglib.io.images import load_image_with_info
from seglib.samples import DEFAULT_SAMPLE, SAMPLES, sample as get_sample

from .markdown import escape_markdown
from .persist import keep, session

IMAGE_KEY = "picker.image"
ERROR_KEY = "picker.error"
SAMPLE_KEY = "picker.sample"
UPLOAD_KEY = "picker.upload"
CAMERA_ON_KEY = "picker.camera_on"
CAMERA_KEY = "picker.camera"
WORKING_SIZE_KEY = "picker.working_size"
SCENE_SEED_KEY = "picker.scene_seed"
SCENE_DIFFICULTY_KEY = "picker.scene_difficulty"
SCENE_SIZE_KEY = "picker.scene_size"

UPLOAD_TYPES = ("png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp", "gif")
FULL_SIZE = 0  # working-size option meaning "no downscaling"
WORKING_SIZES = (256, 384, 512, 768, 1024, 1536, 2048, FULL_SIZE)
_THUMBNAIL_SIDE = 320
SCENE_SIZES = (128, 256, 384, 512, 768, 1024)
DEFAULT_SCENE = (3, "medium", 384)  # seed, difficulty, size: five bright shapes, a fair first test
MAX_SCENE_SEED = 1_000_000  # the Benchmark page opens held-out test scenes (seeds from 100 000)


@dataclass(frozen=True)
class PickedImage:
    """The image a page works on.

    Attributes
    ----------
    image : ndarray of uint8, (H, W, 3)
        Read-only RGB pixels.
    name : str
        What to call it (sample title or file name).
    key : str
        Content hash of the pixels; caches key on it.
    origin : str
        ``"sample"``, ``"upload"``, ``"camera"`` or ``"scene"``.
    sample : str or None
        The sample slug when ``origin == "sample"``.
    notices : tuple of str
        What loading changed (first frame used, EXIF rotation...).
    scene : tuple or None
        ``(seed, difficulty, size)`` of a ShapeScene when ``origin == "scene"``.
    """

    image: np.ndarray
    name: str
    key: str
    origin: str
    sample: str | None = None
    notices: tuple[str, ...] = ()
    scene: tuple[int, str, int] | None = None

    @property
    def file_stem(self) -> str:
        """A file-name-safe version of :attr:`name` without extension."""
        stem = self.name.rsplit(".", 1)[0] if self.origin != "sample" else (self.sample or self.name)
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-")
        return safe or "image"


def image_hash(image: np.ndarray) -> str:
    """Content hash of an image: shape, dtype and pixel bytes (:func:`seglib.cache.fingerprint`)."""
    return fingerprint(image)


def _picked(image: np.ndarray, name: str, origin: str, **extra) -> PickedImage:
    image = np.array(image, dtype=np.uint8, copy=True)
    image.setflags(write=False)
    return PickedImage(image=image, name=name, key=image_hash(image), origin=origin, **extra)


@st.cache_resource(show_spinner=False, max_entries=8)
def _sample_picked(name: str) -> PickedImage:
    # Shared across sessions: the array is read-only, so sharing is safe.
    spec = get_sample(name)
    return _picked(spec.load(), spec.title, "sample", sample=name)


def select_sample(name: str, state: MutableMapping | None = None) -> PickedImage:
    """Make the bundled sample ``name`` the current image (``KeyError`` for an unknown name)."""
    state = session(state)
    picked = _sample_picked(name)
    state[IMAGE_KEY] = picked
    state.pop(ERROR_KEY, None)
    if state.get(SAMPLE_KEY) != name:
        state[SAMPLE_KEY] = name  # keeps the sample box in step (before it is drawn)
    return picked


def accept_upload(uploaded_file, state: MutableMapping | None = None, origin: str = "upload") -> bool:
    """Load an uploaded (or camera) file and make it the current image.

    Parameters
    ----------
    uploaded_file : file-like or None
        Streamlit's ``UploadedFile`` or any binary file object with ``read()``
        (its ``name`` attribute, if any, names the image). ``None`` (the user
        removed the file) changes nothing.
    state : mapping, optional
        Where to keep the choice; ``st.session_state`` by default.
    origin : {"upload", "camera"}
        Recorded on the :class:`PickedImage`.

    Returns
    -------
    bool
        True when the image was accepted. On a bad file the previous image
        stays and ``state[ERROR_KEY]`` holds :func:`seglib.io.load_image`'s
        message.
    """
    state = session(state)
    if uploaded_file is None:
        return False
    name = str(getattr(uploaded_file, "name", "") or ("camera photo" if origin == "camera" else "upload"))
    try:
        loaded = load_image_with_info(uploaded_file)
    except (ValueError, TypeError) as error:
        state[ERROR_KEY] = f"Could not use {name!r}: {error}"
        return False
    state[IMAGE_KEY] = _picked(loaded.image, name, origin, notices=tuple(loaded.notices))
    state.pop(ERROR_KEY, None)
    return True


@st.cache_resource(show_spinner=False, max_entries=8)
def _scene(seed: int, difficulty: str, size: int) -> Scene:
    # Shared across sessions: the arrays are made read-only below.
    scene = make_scene(seed, size=size, difficulty=difficulty)
    for array in (scene.image, scene.semantic, scene.instances, scene.panoptic):
        array.setflags(write=False)
    return scene


def scene_of(picked: PickedImage) -> Scene | None:
    """The ShapeScene (image and ground truth) behind a picked scene; None for other images."""
    return None if picked.scene is None else _scene(*picked.scene)


def select_scene(seed: int, difficulty: str, size: int, state: MutableMapping | None = None) -> PickedImage:
    """Make a ShapeScene the current image (``ValueError`` for options make_scene refuses)."""
    state = session(state)
    scene = _scene(int(seed), str(difficulty), int(size))
    picked = _picked(scene.image, f"ShapeScene {seed} ({difficulty}, {size} px)", "scene",
                     scene=(int(seed), str(difficulty), int(size)))
    state[IMAGE_KEY] = picked
    state.pop(ERROR_KEY, None)
    for key, value in zip((SCENE_SEED_KEY, SCENE_DIFFICULTY_KEY, SCENE_SIZE_KEY), picked.scene):
        if state.get(key) != value:
            state[key] = value  # keeps the scene controls in step (before they are drawn)
    return picked


def default_to_scene(state: MutableMapping | None = None) -> None:
    """With no image chosen yet, start from :data:`DEFAULT_SCENE` (pages that need ground truth)."""
    state = session(state)
    if not isinstance(state.get(IMAGE_KEY), PickedImage):
        select_scene(*DEFAULT_SCENE, state)


def current_image(state: MutableMapping | None = None) -> PickedImage:
    """The current image; the default sample when nothing was chosen yet."""
    state = session(state)
    picked = state.get(IMAGE_KEY)
    return picked if isinstance(picked, PickedImage) else select_sample(DEFAULT_SAMPLE, state)


def working_size_value(option: int) -> int | None:
    """The ``working_size`` argument of :func:`seglib.segment` for a picker option."""
    return None if option == FULL_SIZE else int(option)


# ---------------------------------------------------------------- widgets


def _on_sample() -> None:
    select_sample(st.session_state[SAMPLE_KEY])


def _on_upload() -> None:
    accept_upload(st.session_state.get(UPLOAD_KEY))


def _on_camera() -> None:
    accept_upload(st.session_state.get(CAMERA_KEY), origin="camera")


def shown_description(picked: PickedImage) -> str:
    """What the picture in use is, in words (the sidebar names it above every control)."""
    if picked.origin == "sample":
        return f"the sample {picked.name}"
    if picked.origin == "scene":
        return f"the synthetic {picked.name}"
    if picked.origin == "camera":
        return "your camera photo"
    return f"your upload {picked.name!r}"


def _sample_label(name: str) -> str:
    spec = get_sample(name)
    return f"{spec.title} ({spec.application})"


def _sample_controls() -> None:
    names = [s.name for s in SAMPLES]
    picked = st.session_state.get(IMAGE_KEY)
    keep(SAMPLE_KEY, picked.sample if getattr(picked, "sample", None) in names else DEFAULT_SAMPLE)
    chosen = st.selectbox("Sample image", names, format_func=_sample_label, key=SAMPLE_KEY, on_change=_on_sample,
                          persist_state="session",
                          help="Bundled pictures from scikit-image covering photos, documents, medicine, "
                               "biology and astronomy. Each one shows off different methods.")
    spec = get_sample(chosen)
    current = current_image()
    if current.sample == chosen:
        st.caption(f"{spec.hint}  \nSource: {spec.source}. Licence: {spec.licence}.")
    else:
        st.caption(f"Not in use: the picture is {escape_markdown(shown_description(current))}.")
    if current.sample != chosen:
        st.button(f"Use {spec.title}", on_click=select_sample, args=(chosen,), icon=":material/image:",
                  help="Go back to this sample instead of your upload.")


def _on_scene() -> None:
    state = st.session_state
    select_scene(state[SCENE_SEED_KEY], state[SCENE_DIFFICULTY_KEY], state[SCENE_SIZE_KEY])


def _scene_controls() -> None:
    picked = current_image()
    for key, value in zip((SCENE_SEED_KEY, SCENE_DIFFICULTY_KEY, SCENE_SIZE_KEY), picked.scene or DEFAULT_SCENE):
        keep(key, value)
    with st.expander("Synthetic scene (with ground truth)", expanded=picked.origin == "scene",
                     icon=":material/category:"):
        st.caption("Shapes on a background, drawn with their exact labels, so every score is real.")
        common = dict(on_change=_on_scene, persist_state="session")
        st.number_input("Seed", 0, MAX_SCENE_SEED, step=1, key=SCENE_SEED_KEY, **common,
                        help="Same seed, same scene. Try a few: layouts and colours change.")
        st.segmented_control("Difficulty", list(DIFFICULTIES), required=True, key=SCENE_DIFFICULTY_KEY, wrap=True,
                             format_func=str.capitalize, **common,
                             help="Easy: strong contrast, little noise. Medium adds blur, a light gradient, "
                                  "texture and JPEG. Hard: low contrast, mixed polarity, overlaps.")
        st.select_slider("Size (pixels a side)", SCENE_SIZES, key=SCENE_SIZE_KEY, **common,
                         help="Larger scenes show more detail; small ones make sweeps fast.")
        if picked.origin != "scene":
            st.button("Use this scene", on_click=_on_scene, icon=":material/category:",
                      help="Replace the current picture with the scene above and its ground truth.")


def _upload_controls() -> None:
    st.file_uploader("Upload an image", type=list(UPLOAD_TYPES), key=UPLOAD_KEY, on_change=_on_upload,
                     help="PNG, JPEG, TIFF, BMP, WebP or GIF, up to 50 MB and 40 megapixels. The file is "
                          "checked by its content; a damaged file keeps the current image.")
    if st.toggle("Use the camera", key=CAMERA_ON_KEY, persist_state="session",
                 help="Shows a camera preview. Your browser asks for permission only once this is on."):
        st.camera_input("Take a picture", key=CAMERA_KEY, on_change=_on_camera,
                        help="The photo becomes the current image; nothing leaves this app.")


def _working_size_control() -> int | None:
    keep(WORKING_SIZE_KEY, DEFAULT_WORKING_SIZE)
    option = st.select_slider(
        "Working resolution (longest side)", WORKING_SIZES, key=WORKING_SIZE_KEY, persist_state="session",
        format_func=lambda v: "full size" if v == FULL_SIZE else f"{v} px",
        help="Methods run on the image shrunk to this longest side; labels are mapped back to full "
             "size. Smaller is faster; full size keeps the finest detail but slow methods get slower.")
    return working_size_value(option)


def _show_current(picked: PickedImage) -> None:
    h, w = picked.image.shape[:2]
    scale = max(1, max(h, w) // _THUMBNAIL_SIDE)
    st.image(picked.image[::scale, ::scale], caption=f"{picked.name}: {w} x {h} px", width="stretch")
    for notice in picked.notices:
        st.info(escape_markdown(notice), icon=":material/info:")


def image_picker() -> tuple[PickedImage, int | None]:
    """Draw the picker in the sidebar and return the current image and working size.

    Returns
    -------
    picked : PickedImage
    working_size : int or None
        The ``working_size`` for :func:`seglib.segment` (``None`` = full size).
    """
    with st.sidebar:
        st.header("Image", divider="gray")
        picked = current_image()
        st.markdown(f"**In use:** {escape_markdown(shown_description(picked))}")
        _sample_controls()
        _scene_controls()
        _upload_controls()
        error = st.session_state.get(ERROR_KEY)
        if error:
            st.error(escape_markdown(error), icon=":material/error:")
        picked = current_image()
        _show_current(picked)
        working_size = _working_size_control()
    if error:  # also where the eyes are: the main area would otherwise silently keep the previous picture
        st.error(f"{escape_markdown(error)}  \nStill showing {escape_markdown(shown_description(picked))}.",
                 icon=":material/error:")
    return picked, working_size

"""The Prompt page's canvas: click object and background points, drag a box, list, undo, clear.

The picture is drawn by the ``streamlit-image-coordinates`` component,
which reports a click as ``{x, y, width, height, unix_time}`` in display
pixels (and a drag, in box mode, as ``x1, y1, x2, y2``). Display positions
map to original image pixels with :func:`seglib.prompts.display_to_image`.

Prompts live in ``st.session_state[ITEMS_KEY]`` as a list of plain lists,
in the order they were made: ``["point", x, y, label]`` and ``["box", x0,
y0, x1, y1]`` (at most one box: a new one replaces it), in original pixels.
They belong to one image (``IMAGE_KEY``) and are dropped when the image
changes. The state changes are plain functions of a mapping so tests can
drive them with a dict; the widgets call them from callbacks.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

import seglib
from seglib import viz
from seglib.imaging import as_uint8
from seglib.io.ground_truth import GroundTruth
from seglib.prompts import NEGATIVE, POSITIVE, Prompts, box_slices, display_to_image, draw_prompts, parse_prompts

from .ground_truth import LoadedTruth
from .image_picker import PickedImage
from .markdown import escape_markdown
from .persist import session

ITEMS_KEY = "prompt.items"
IMAGE_KEY = "prompt.image_key"
MODE_KEY = "prompt.mode"
EVENT_KEY = "prompt.last_event"
NOTICE_KEY = "prompt.notice"
MODES = ("Object point", "Background point", "Box")
MODE_HELP = ("Object point: click on the object (green). Background point: click on what is not the object "
             "(red). Box: press, drag and release to draw a box around the object (yellow); a new box "
             "replaces the old one.")
CANVAS_MAX_SIDE = 900


# ---------------------------------------------------------------- state


def prompt_items(picked: PickedImage, state: MutableMapping | None = None) -> list[list]:
    """The prompts made on ``picked`` (an empty list after the image changed)."""
    state = session(state)
    if state.get(IMAGE_KEY) != picked.key:
        state[IMAGE_KEY] = picked.key
        state[ITEMS_KEY] = []
    return state.setdefault(ITEMS_KEY, [])


def add_point(x: int, y: int, label: int, state: MutableMapping | None = None) -> None:
    """Append an object (label 1) or background (label 0) point."""
    state = session(state)
    state[ITEMS_KEY] = [*state.get(ITEMS_KEY, []), ["point", int(x), int(y), int(label)]]


def set_box(x0: float, y0: float, x1: float, y1: float, state: MutableMapping | None = None) -> None:
    """Make ``(x0, y0, x1, y1)`` the box (replacing an earlier one); corners in either order."""
    state = session(state)
    kept = [item for item in state.get(ITEMS_KEY, []) if item[0] != "box"]
    state[ITEMS_KEY] = [*kept, ["box", min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]]


def undo(state: MutableMapping | None = None) -> None:
    """Remove the last prompt."""
    state = session(state)
    state[ITEMS_KEY] = list(state.get(ITEMS_KEY, []))[:-1]


def clear(state: MutableMapping | None = None) -> None:
    """Remove every prompt."""
    session(state)[ITEMS_KEY] = []


def load_prompts(picked: PickedImage, prompts: dict, state: MutableMapping | None = None) -> list[str]:
    """Make a link's ``points``/``box`` (as :func:`prompt_args` gives them) the prompts on ``picked``.

    Each kind is checked against the picture's size: one that does not fit
    is left out and a returned warning says why.
    """
    state = session(state)
    shape = picked.image.shape[:2]
    items, warnings = [], []
    for kind in ("points", "box"):
        if kind not in prompts:
            continue
        try:
            parse_prompts(prompts[kind] if kind == "points" else None, prompts[kind] if kind == "box" else None,
                          shape=shape)
        except ValueError as error:
            warnings.append(f"Ignored the link's `{kind}`: {escape_markdown(error, limit=300)}.")
            continue
        if kind == "points":
            items += [["point", x, y, int(label)] for x, y, label in prompts[kind]]
        else:
            items.append(["box", *prompts[kind]])
    state[IMAGE_KEY] = picked.key
    state[ITEMS_KEY] = items
    return warnings


def prompt_args(items: list[list]) -> dict:
    """``points=`` and ``box=`` for :func:`seglib.segment` (only those that are present)."""
    points = [(item[1], item[2], item[3]) for item in items if item[0] == "point"]
    boxes = [tuple(item[1:5]) for item in items if item[0] == "box"]
    args = {}
    if points:
        args["points"] = points
    if boxes:
        args["box"] = boxes[-1]
    return args


def as_prompts(items: list[list], shape: tuple[int, int]) -> Prompts:
    """The items as validated :class:`~seglib.prompts.Prompts` on an image of ``shape``."""
    args = prompt_args(items)
    return parse_prompts(args.get("points"), args.get("box"), shape=shape)


def missing(method: seglib.Method | str, items: list[list]) -> str | None:
    """What ``method`` still needs from the user, in words (None when it can run); see ``Method.prompt_need``."""
    method = seglib.method(method)
    n_positive = sum(1 for item in items if item[0] == "point" and item[3] == POSITIVE)
    has_box = any(item[0] == "box" for item in items)
    if method.missing_prompt(n_positive, has_box) is None:
        return None
    return NEED_WORDS[method.prompt_need]


NEED_WORDS = {"box": "a box (choose Box and drag over the object)",
              "point": "an object point (choose Object point and click the object)",
              "point or box": "an object point or a box"}
"""What a ``Method.prompt_need`` asks of the user, in words."""


def describe(item: list) -> str:
    """``"object point at (12, 40)"`` or ``"box (3, 4) - (50, 60)"``."""
    if item[0] == "box":
        return "box ({:g}, {:g}) - ({:g}, {:g})".format(*item[1:5])
    return f"{'object' if item[3] == POSITIVE else 'background'} point at ({item[1]:g}, {item[2]:g})"


def handle_event(value, mode: str, picked: PickedImage, state: MutableMapping | None = None) -> bool:
    """Turn a canvas event into a prompt; True if one was added.

    ``value`` is what the component returned (None before the first click).
    Each event carries ``unix_time``: the same event seen again on a rerun
    is ignored. In box mode a press without a drag adds nothing and leaves
    a notice in ``state[NOTICE_KEY]``.
    """
    state = session(state)
    if not value or value.get("unix_time") == state.get(EVENT_KEY):
        return False
    state[EVENT_KEY] = value.get("unix_time")
    state.pop(NOTICE_KEY, None)
    shape = picked.image.shape[:2]
    display = (value["width"], value["height"])
    if mode == MODES[2]:
        if "x1" not in value:
            state[NOTICE_KEY] = "In box mode, press, drag and release to draw a box."
            return False
        x0, y0 = display_to_image(value["x1"], value["y1"], display, shape)
        x1, y1 = display_to_image(value["x2"], value["y2"], display, shape)
        if x0 == x1 or y0 == y1:
            state[NOTICE_KEY] = "That box has no width or no height: drag further."
            return False
        # Corner pixels are inside the box: its far edges are one pixel further.
        set_box(min(x0, x1), min(y0, y1), max(x0, x1) + 1, max(y0, y1) + 1, state)
        return True
    if "x" not in value:
        return False
    x, y = display_to_image(value["x"], value["y"], display, shape)
    add_point(x, y, POSITIVE if mode == MODES[0] else NEGATIVE, state)
    return True


def object_truth(loaded: LoadedTruth | None, items: list[list],
                 shape: tuple[int, int]) -> tuple[LoadedTruth | None, str]:
    """The truth a prompt result is scored against, and a sentence saying what it is.

    With instance labels (a ShapeScene, COCO): the object under the first
    object point, else the object covering most of the box. Otherwise (or
    when the click is on the background): the truth's whole foreground.
    """
    if loaded is None or not items:
        return None, ""
    truth = loaded.truth
    instance, why = _chosen_instance(truth.instances, items, shape)
    if instance:
        mask = truth.instances == instance
        what = f"object {instance} of the ground truth ({why})"
    elif truth.semantic is not None:
        mask = truth.semantic != 0
        if truth.ignore_index is not None:
            mask &= truth.semantic != truth.ignore_index
        what = "the ground truth's whole foreground (no object under your prompt)"
    else:
        return None, ""
    binary = GroundTruth(semantic=mask.astype(np.int32), instances=mask.astype(np.int32),
                         class_names=["background", "object"], source_format="mask")
    return LoadedTruth(binary, f"{loaded.key}:object:{instance}", what, loaded.image_key), what


def _chosen_instance(instances, items: list[list], shape) -> tuple[int, str]:
    if instances is None:
        return 0, ""
    for item in items:
        if item[0] == "point" and item[3] == POSITIVE:
            found = int(instances[min(item[2], shape[0] - 1), min(item[1], shape[1] - 1)])
            if found:
                return found, "under your first object point"
            break
    boxes = [item for item in items if item[0] == "box"]
    if boxes:
        inside = instances[box_slices(boxes[-1][1:5], shape)]
        counts = np.bincount(inside.ravel())
        counts[0] = 0
        if counts.any():
            return int(counts.argmax()), "covering most of your box"
    return 0, ""


# ---------------------------------------------------------------- widgets


def canvas_picture(picked: PickedImage, items: list[list], labels: np.ndarray | None = None) -> np.ndarray:
    """The picture to click on: shrunk for display, with an optional mask overlay and the prompts drawn."""
    image, shown = viz.fit(picked.image, labels, CANVAS_MAX_SIDE)
    if shown is not None:
        image = viz.overlay(image, shown, "binary", opacity=0.35, mode="filled")
    if not items:
        return image
    return as_uint8(draw_prompts(image / 255.0, as_prompts(items, picked.image.shape[:2])))


CANVAS_KEY = "prompt.canvas"


def _on_canvas(mode: str, picked: PickedImage) -> None:
    handle_event(st.session_state.get(CANVAS_KEY), mode, picked)


def prompt_canvas(picked: PickedImage, labels: np.ndarray | None = None) -> list[list]:
    """Mode switch, clickable picture and prompt list with undo/clear; returns the prompts.

    ``labels`` (at the image's size), when given, is shown faintly under
    the prompts (e.g. the first result's mask).
    """
    state = st.session_state
    items = prompt_items(picked)
    if state.get(MODE_KEY) not in MODES:
        state[MODE_KEY] = MODES[0]
    mode = st.segmented_control("Click adds", MODES, key=MODE_KEY, required=True, help=MODE_HELP,
                                wrap=True) or MODES[0]
    # One key for every mode: the same picture keeps its place while the mode changes how it reports.
    streamlit_image_coordinates(canvas_picture(picked, items, labels), key=CANVAS_KEY, width="stretch",
                                click_and_drag=mode == MODES[2], image_format="JPEG", jpeg_quality=90,
                                cursor="crosshair", on_click=lambda: _on_canvas(mode, picked))
    if state.get(NOTICE_KEY):
        st.caption(f":material/info: {escape_markdown(state[NOTICE_KEY])}")
    prompt_list(items)
    return items


def prompt_list(items: list[list]) -> None:
    """The prompts in words, with Undo and Clear."""
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown(f"**Prompts ({len(items)})**")
    row.button("Undo", on_click=undo, icon=":material/undo:", disabled=not items, key="prompt.undo",
               help="Remove the last point or box.")
    row.button("Clear", on_click=clear, icon=":material/delete:", disabled=not items, key="prompt.clear",
               help="Remove every prompt.")
    if items:
        st.markdown("\n".join(f"{i}. {describe(item)}" for i, item in enumerate(items, 1)))
    else:
        st.caption("No prompts yet: click the object in the picture.")

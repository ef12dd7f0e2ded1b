"""Views of one result shared by the pages: overlay, headline numbers, stages, exports.

Pages pass a :class:`~seglib.result.Segmentation` (from :func:`ui.run.run_method`)
and these functions draw it; figures come from :mod:`seglib.viz`.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import seglib
from seglib import tiling, viz
from seglib.cache import identity
from seglib.imaging import resize_labels
from seglib.io.export import coco_json, label_png_bytes, overlay_png_bytes
from seglib.registry import Method
from seglib.result import Segmentation

from .image_picker import PickedImage
from .layout import SLIDER_WIDTH, control_row, lazy_expander, wrapping_columns
from .persist import keep
from .share import query_string
from .weights import custom_weights
from .markdown import code, escape_markdown

OPACITY_KEY = "view.opacity"
MODE_KEY = "view.mode"
SIDE_KEY = "view.side"
SIDES = ("Original", "Label colours")
DISPLAY_MAX_SIDE = 1200
DISPLAY_MIN_SIDE = 800  # a result's pictures are drawn at its working size, but not smaller (see display_side)
# Pixels of a displayed picture per screen pixel at which lines get one pixel wider.
_PIXELS_PER_LINE = 350
STAGE_COLUMNS = 3
STAGE_MIN_WIDTH = 260  # narrower stage figures go onto the next row
STAGES_SHOWN = 6  # two rows; more stages wait in an expander (see stage_grid)
_MAX_PICTURES = 48  # encoded display pictures (JPEG or PNG, tens of kB each)
_MAX_STAGE_FIGURES = 64
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def format_seconds(seconds: float) -> str:
    """``0.0234`` -> ``"23 ms"``, ``1.5`` -> ``"1.50 s"``."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"




def _opacity_slider(container) -> float:
    keep(OPACITY_KEY, 0.6)
    return container.slider("Overlay opacity", 0.0, 1.0, step=0.05, key=OPACITY_KEY, persist_state="session",
                            width=SLIDER_WIDTH,
                            help="How strongly segment colours cover the picture in filled mode "
                                 "(contours are always drawn solid).")


def _mode_control(container) -> str:
    keep(MODE_KEY, "filled")
    mode = container.segmented_control("Overlay", viz.MODES, required=True, key=MODE_KEY, persist_state="session",
                                       wrap=True,
                                       format_func=str.capitalize,
                                       help="Filled colours every segment; contour draws only the boundaries "
                                            "so the picture stays visible.")
    return mode or "filled"


def overlay_controls(row=None) -> tuple[float, str]:
    """Opacity and overlay mode (shared with :func:`view_controls`: the same settings on every page).

    Drawn into ``row`` (a :func:`ui.layout.control_row`) when given, else into a new one.
    """
    row = row if row is not None else control_row()
    return _opacity_slider(row), _mode_control(row)


def view_controls() -> tuple[float, str, str]:
    """Opacity, overlay mode and what to show beside the overlay, in a row that wraps on narrow screens."""
    keep(SIDE_KEY, SIDES[0])
    row = control_row()
    opacity, mode = overlay_controls(row)
    side = row.segmented_control("Beside it", SIDES, required=True, key=SIDE_KEY, persist_state="session", wrap=True,
                                 help="Compare with the original picture, or look at the label map "
                                      "alone (each label its own colour, 0 black).")
    return opacity, mode, side or SIDES[0]


def result_images(picked: PickedImage, result: Segmentation, opacity: float, mode: str, side: str) -> None:
    """The overlay and, beside it, the original or the label colours, all three drawn at one size
    (:func:`display_side`).

    The pictures are encoded once (JPEG for photos, PNG for flat colours; the
    picture decides, once) and cached by the picture's content key and the
    labels' identity (a cached result hands every rerun the same read-only
    labels), so a rerun that changes neither sends the same bytes again (and
    the browser keeps them).
    """
    labels_id = identity(result.labels)  # a cached result's read-only labels: the same object on reruns
    drawn = display_side(result.working_shape or result.labels.shape)
    left, right = st.columns(2, gap="small")
    data, mime = _overlay_picture(picked.key, labels_id, result.kind, opacity, mode, drawn, picked.image,
                                  result.labels)
    _show(left, data, mime, f"{mode.capitalize()} overlay ({result.kind})")
    if side == SIDES[0]:
        _show(right, *_original_picture(picked.key, drawn, picked.image), "Original")
    else:
        _show(right, *_label_picture(labels_id, result.kind, drawn, result.labels), "Label colours")


def _show(column, data: bytes, mime: str, caption: str) -> None:
    column.image(data, width="stretch", caption=caption, output_format="PNG" if mime == "image/png" else "JPEG")


@st.cache_data(max_entries=_MAX_PICTURES, show_spinner=False)
def _overlay_picture(image_id: str, labels_id: str, kind: str, opacity: float, mode: str, side: int,
                     _image: np.ndarray, _labels: np.ndarray) -> tuple[bytes, str]:
    image, labels = viz.fit(_image, _labels, side)
    picture = viz.overlay(image, labels, kind, opacity=opacity, mode=mode, line_width=line_width(image.shape[1]))
    return viz.encode_picture(picture, lossless=_is_flat(image_id, _image))  # a photo's overlay is a photo


def display_side(working_shape: tuple[int, int]) -> int:
    """Longest side a result's pictures are drawn at for a method that ran at ``working_shape``: that
    resolution, so its labels are not blended over more pixels than they have detail for (a 1411 px
    picture run at 1024: 1024 px, 0.7 times the pixels of 1200 x 1200, on every move), between
    :data:`DISPLAY_MIN_SIDE` (a small working size keeps a sharp photo under its labels) and
    :data:`DISPLAY_MAX_SIDE`. The original and the label colours beside the overlay take the same size."""
    return int(np.clip(max(working_shape), DISPLAY_MIN_SIDE, DISPLAY_MAX_SIDE))


@st.cache_data(max_entries=8, show_spinner=False)
def _original_picture(image_id: str, side: int, _image: np.ndarray) -> tuple[bytes, str]:
    return viz.encode_picture(viz.fit(_image, None, side)[0], lossless=_is_flat(image_id, _image))


@st.cache_data(max_entries=16, show_spinner=False)
def _is_flat(image_id: str, _image: np.ndarray) -> bool:
    """Whether the picture is drawn in flat colours (PNG) or is a photo (JPEG), judged once per picture."""
    return viz.is_flat(_image)


@st.cache_data(max_entries=_MAX_PICTURES, show_spinner=False)
def _label_picture(labels_id: str, kind: str, side: int, _labels: np.ndarray) -> tuple[bytes, str]:
    h, w = _labels.shape
    scale = min(1.0, side / max(h, w))
    labels = _labels if scale == 1 else resize_labels(_labels, (max(2, round(h * scale)), max(2, round(w * scale))))
    shown = viz.thicken(labels, line_width(labels.shape[1])) if kind == "edges" else labels
    return viz.encode_picture(viz.colourise(shown, kind), lossless=True)


def line_width(display_width: int) -> int:
    """Line width that keeps edges and contours visible in a half-page column."""
    return max(1, -(-int(display_width) // _PIXELS_PER_LINE))


def result_numbers(result: Segmentation) -> None:
    """Headline numbers: segments (or objects, edge pixels), time, working resolution."""
    row = st.container(horizontal=True, gap="medium")
    for name, value in viz.summary(result).items():
        row.metric(name, value, border=True, help=_NUMBER_HELP.get(name))
    row.metric("Time", format_seconds(result.elapsed_s), border=True,
               help="Wall time of the method at the working resolution (cached results show the first run).")
    if result.working_shape:
        h, w = result.working_shape
        row.metric("Ran at", f"{w} x {h}", border=True, help="The working resolution the method saw.")


_NUMBER_HELP = {
    "Segments": "Distinct non-zero labels in the result.",
    "Labelled": "Share of pixels with a non-zero label.",
    "Objects": "Connected pieces of foreground (8-connected pixels count as one piece).",
    "Foreground": "Share of pixels labelled foreground.",
    "Edge pixels": "Share of pixels on an edge.",
}


def result_notes(result: Segmentation) -> None:
    """The method's own remarks about this run."""
    for note in result.notes:
        st.caption(f":material/info: {escape_markdown(note)}")


def stage_grid(result: Segmentation, key: str = "stages", columns: int = STAGE_COLUMNS) -> None:
    """Every stage of the result as a captioned plotly figure, in a grid.

    The first :data:`STAGES_SHOWN` stages are always drawn; more (fuzzy c-means has nine) wait in an
    expander that draws them only while it is open (its state is kept per ``key``): each stage figure
    is rebuilt and re-sent on every slider move, most of a move's cost for a method with many stages.
    """
    items = list(result.stages.items())
    if not items:
        st.caption("This method reports no intermediate stages.")
        return
    _stage_rows(items[:STAGES_SHOWN], key, columns, 0)
    rest = items[STAGES_SHOWN:]
    if rest:
        box, is_open = lazy_expander(f"{len(rest)} more stage{'s' if len(rest) > 1 else ''}: "
                                     + ", ".join(name for name, _ in rest), f"{key}.more",
                                     icon=":material/layers:")
        if is_open:
            with box:
                _stage_rows(rest, key, columns, STAGES_SHOWN)


def _stage_rows(items: list, key: str, columns: int, first: int) -> None:
    for start in range(0, len(items), columns):
        row = items[start:start + columns]
        grid_key = re.sub(r"[^A-Za-z0-9_-]", "-", f"{key}-{first + start}")
        for column, (name, value) in zip(wrapping_columns(grid_key, columns, STAGE_MIN_WIDTH), row):
            with column:
                _stage(name, value, f"{key}.{first + start}.{name}")


TURN_HELP = ("Draw the cloud as a 3-D scene you can turn, zoom and hover. Off, it is a still picture "
             "from the scene's first view: the scene is drawn anew by WebGL on every slider move, which "
             "takes seconds on a computer without a graphics card.")


def _stage(name: str, value, key: str) -> None:
    # A 3-D cloud is a still picture unless its "Turn in 3-D" toggle (below it; state kept per key) is on.
    turnable = viz.is_3d_cloud(value)
    turn_key = f"{key}.turn"
    try:
        figure, caption = stage_view(name, value, still=turnable and not st.session_state.get(turn_key, False))
    except Exception as error:  # noqa: BLE001 - one odd stage must not hide the others
        st.warning(f"Stage {code(name)} cannot be drawn: {escape_markdown(error)}")
        return
    st.plotly_chart(figure, key=key, config=PLOTLY_CONFIG, width="stretch")
    st.caption(caption)
    if turnable:
        st.toggle("Turn in 3-D", key=turn_key, help=TURN_HELP)


def stage_view(name: str, value, still: bool = False) -> tuple[go.Figure, str]:
    """:func:`seglib.viz.stage_figure` and :func:`seglib.viz.describe_stage`, built once per stage and
    shared: Streamlit only reads the figure. An array stage is keyed by the identity of the read-only
    object (a cached result's stages on every rerun, and a cached early stage such as a threshold's gray
    picture across thresholds, are the same objects); curves and clouds, small, by their content.
    (A label map's caption counts its distinct labels: a sort of every pixel.) ``still``: a 3-D cloud
    as a still picture (:func:`seglib.viz.still_cloud_figure`)."""
    if isinstance(value, np.ndarray):
        stage_key = identity(value)
    else:
        stage_key = hashlib.blake2b(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), digest_size=16).hexdigest()
    return _stage_view(name, stage_key, still, value)


@st.cache_resource(max_entries=_MAX_STAGE_FIGURES, show_spinner=False)
def _stage_view(name: str, stage_key: str, still: bool, _value) -> tuple[go.Figure, str]:
    return viz.stage_figure(name, _value, still=still), viz.describe_stage(_value)


def about(method: Method) -> None:
    """Description and references of a method (one element: each one costs the browser on every rerun)."""
    parts = [method.description]
    if method.references:
        parts.append("**References**\n" + "\n".join(f"1. {ref}" for ref in method.references))
    parts.append(f":small[:gray[Family: {method.family}. Output: {method.kind}. Slug: `{method.name}`.]]")
    st.markdown("\n\n".join(parts))


def model_card(method: Method) -> None:
    """The model card of the weights a deep method runs with: what they were trained on, scores, size.

    With custom weights in use, their own card when known (a model trained on the Train page), else a
    note that the method's card does not describe them.
    """
    chosen = custom_weights(method.name) if "weights" in method.inputs else None
    own = method.model_card()
    card = (chosen.get("card") if chosen else own) or {}
    if chosen and not card and own:
        st.caption(f":material/info: Custom weights in use ({chosen['label']}): the method's model card "
                   "does not describe them.")
    if not card:
        return
    simple = {k: v for k, v in card.items() if isinstance(v, (str, int, float, bool))}
    nested = {k: v for k, v in card.items() if k not in simple}
    title = "Model card of the custom weights" if chosen else "Model card"
    with st.expander(title, expanded=True, icon=":material/badge:"):
        st.markdown("\n".join(f"- **{key.replace('_', ' ').capitalize()}**: {value}" for key, value in simple.items()))
        if nested:
            st.json(nested, expanded=False)


def downloads(picked: PickedImage, method: Method, result: Segmentation, opacity: float, mode: str,
              key: str = "download") -> None:
    """Buttons for the label map PNG, the overlay PNG and COCO JSON, all at the image's full size.

    The files are made only when a button is clicked.
    """
    stem = f"{picked.file_stem}-{method.name}"
    labels, kind, image = result.labels, result.kind, picked.image
    row = st.container(horizontal=True)
    label_ok = labels.min() >= 0 and labels.max() <= 65535
    row.download_button("Label map (PNG)", (lambda: label_png_bytes(labels)) if label_ok else b"",
                        file_name=f"{stem}-labels.png", mime="image/png", key=f"{key}.labels",
                        icon=":material/download:", disabled=not label_ok, on_click="ignore",
                        help="Lossless PNG whose pixel values are the labels (8 or 16 bit). It looks almost "
                             "black in a viewer: it is data for your own code.")
    row.download_button("Overlay (PNG)", lambda: overlay_png_bytes(viz.overlay(image, labels, kind, opacity, mode)),
                        file_name=f"{stem}-overlay.png", mime="image/png", key=f"{key}.overlay",
                        icon=":material/download:", on_click="ignore",
                        help="The coloured overlay as shown, at the image's full size.")
    row.download_button("COCO JSON", lambda: json.dumps(coco_json(labels, kind=kind, class_names=result.class_names,
                                                                  file_name=picked.name)),
                        file_name=f"{stem}-coco.json", mime="application/json", key=f"{key}.coco",
                        icon=":material/download:", on_click="ignore",
                        help="The segments as COCO annotations with RLE masks, for annotation tools.")
    tiled = full_resolution_params(picked, method, result)
    if tiled is not None:
        row.download_button("Label map at full resolution (tiled)",
                            lambda: label_png_bytes(tiling.segment_tiled(image, method.name, **tiled).labels),
                            file_name=f"{stem}-labels-full.png", mime="image/png", key=f"{key}.labels_full",
                            icon=":material/grid_on:", on_click="ignore",
                            help=f"Runs {method.title} again on every pixel of the {image.shape[1]} x "
                                 f"{image.shape[0]} picture, tile by tile (memory bounded by the tile), instead "
                                 "of scaling up the labels computed at the working resolution.")


def full_resolution_params(picked: PickedImage, method: Method, result: Segmentation) -> dict | None:
    """The method's parameters when a full-resolution tiled run can redo ``result``; else None.

    Only for results computed below the picture's size, by a local method (:data:`seglib.tiling.TILEABLE`)
    with these parameters, and without pre- or post-processing (tiles run the bare method).
    """
    if tuple(result.working_shape or ()) == tuple(picked.image.shape[:2]):
        return None
    if "preprocess_options" in result.params or "postprocess_options" in result.params:
        return None
    params = {p.name: result.params[p.name] for p in method.params if p.name in result.params}
    try:
        tiling.tile_margin(method, params)
    except ValueError:
        return None
    return params


def python_snippet(method: Method, result: Segmentation, picked=None) -> None:
    """``seglib`` code that reproduces the result, loading the picture ``picked`` shows."""
    source = {}
    if picked is not None:
        source = {"sample": picked.sample, "scene": picked.scene,
                  "file_name": picked.name if picked.origin == "upload" else "your_image.png"}
    st.code(seglib.snippet(method, result.params, **source), language="python")


def share_link(query: dict[str, str], restores: str = "the method, its parameters and the sample or synthetic "
                                                        "scene") -> None:
    """The URL that restores this view; ``restores`` says what it carries, in words."""
    try:
        base = urlsplit(st.context.url or "")
    except Exception:  # noqa: BLE001 - no browser context (tests, bare mode)
        base = urlsplit("")
    address = urlunsplit((base.scheme, base.netloc, base.path or "/", "", "")) if base.netloc else ""
    st.code(address + query_string(query), language="text", wrap_lines=True)
    st.caption(f"The address bar always holds this link: bookmark it or send it to restore {restores}. "
               "Uploaded pictures are not part of the link (the receiver is told so).")


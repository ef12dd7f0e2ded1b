"""Shareable URLs: the method, its parameters and the sample live in the query string.

``?method=canny&sample=coins&p.sigma=2.5&pre.blur_sigma=1`` restores a view:
``method`` is a slug, ``sample`` a bundled sample, ``p.<name>`` a method
parameter and ``pre.<name>`` / ``post.<name>`` a pipeline option. A method
that takes prompts also gets ``points=x,y,label;x,y,label`` and
``box=x0,y0,x1,y1`` (in the picture's pixels), e.g.
``?method=sam2&sample=coins&box=40,30,220,190``. A ShapeScene travels as
``scene=seed,difficulty,size``; an upload or camera photo cannot travel, so
the link says ``picture=own`` and the receiver is told they see another
picture. Only
values that differ from their defaults are written. Incoming values are
checked against the :class:`~seglib.Param` specs; anything invalid is
ignored with a warning that says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

import streamlit as st

import seglib
from seglib.datasets.shapes import DIFFICULTIES
from seglib.pipeline import POSTPROCESS_PARAMS, PREPROCESS_PARAMS
from seglib.prompts import parse_prompts
from seglib.registry import Method, Param
from seglib.samples import SAMPLES

from .image_picker import MAX_SCENE_SEED, SCENE_SIZES, PickedImage, select_scene
from .markdown import code, escape_markdown
from .params import format_value, parse_value

METHOD = "method"
SAMPLE = "sample"
SCENE = "scene"
PICTURE = "picture"
OWN_PICTURE = "own"
PARAM_PREFIX = "p."
PIPELINE = {"pre": PREPROCESS_PARAMS, "post": POSTPROCESS_PARAMS}
PROMPTS = ("points", "box")
MAX_WARNINGS = 10
"""Most warnings listed for one link (a link with thousands of bad entries gets one more line)."""


@dataclass
class SharedView:
    """What a query string asks for, after validation.

    Attributes
    ----------
    method : Method or None
    sample : str or None
    scene : (seed, difficulty, size) or None
        A ShapeScene to draw again.
    values : list of (scope, Param, value)
        Valid parameter values; the scope is the method slug, ``"pre"`` or ``"post"``.
    prompts : dict
        ``points`` (list of (x, y, label)) and/or ``box`` (x0, y0, x1, y1), well formed.
    warnings : list of str
        One line per ignored entry.
    """

    method: Method | None = None
    sample: str | None = None
    scene: tuple[int, str, int] | None = None
    values: list[tuple[str, Param, object]] = field(default_factory=list)
    prompts: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else ""
    return str(value)


def _parse_method(text: str, view: SharedView, default: Method | None) -> None:
    try:
        view.method = seglib.method(text)
    except KeyError:
        valid = ", ".join(m.name for m in seglib.methods())
        view.warnings.append(f"Ignored method {code(text)}: no such method (valid: {valid}).")
        view.method = default


def _parse_sample(text: str, view: SharedView) -> None:
    names = [s.name for s in SAMPLES]
    if text in names:
        view.sample = text
    else:
        view.warnings.append(f"Ignored sample {code(text)}: valid samples are {', '.join(names)}.")


def _parse_scene(text: str, view: SharedView) -> None:
    parts = text.split(",")
    if (len(parts) == 3 and parts[0].isdigit() and int(parts[0]) <= MAX_SCENE_SEED and parts[1] in DIFFICULTIES
            and parts[2].isdigit() and int(parts[2]) in SCENE_SIZES):
        view.scene = (int(parts[0]), parts[1], int(parts[2]))
    else:
        view.warnings.append(f"Ignored scene {code(text)}: expected seed,difficulty,size with a seed up to "
                             f"{MAX_SCENE_SEED}, a difficulty among {', '.join(DIFFICULTIES)} and a size among "
                             f"{', '.join(map(str, SCENE_SIZES))}.")


OWN_PICTURE_NOTE = ("This link was made on the sender's own picture (an upload or a camera photo). Links carry "
                    "the method and its settings, not pictures, so the picture here is not theirs: upload the "
                    "same picture to see their result.")


def select_linked_scene(view: SharedView, state=None) -> None:
    """Draw the link's ShapeScene, if it names one."""
    if view.scene is not None:
        select_scene(*view.scene, state)


def _parse_param(key: str, text: str, view: SharedView) -> None:
    scope, _, name = key.partition(".")
    if key.startswith(PARAM_PREFIX):
        if view.method is None:
            view.warnings.append(f"Ignored {code(key)}: no method given.")
            return
        specs, scope = view.method.params, view.method.name
    else:
        specs = PIPELINE[scope]
    spec = next((p for p in specs if p.name == name), None)
    if spec is None:
        owner = view.method.title if key.startswith(PARAM_PREFIX) else f"{scope}-processing"
        view.warnings.append(f"Ignored {code(key)}: {owner} has no parameter {code(name)}.")
        return
    try:
        view.values.append((scope, spec, parse_value(spec, text)))
    except ValueError as error:
        view.warnings.append(f"Ignored {code(key)}: {escape_markdown(error, limit=300)}.")


def _numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",")]


def _parse_prompt(key: str, text: str, view: SharedView) -> None:
    try:
        if key == "points":
            value = [(x, y, int(label)) for x, y, label in (_numbers(item) for item in text.split(";") if item)]
        else:
            value = tuple(_numbers(text))
        # Form only: the picture is chosen later, and segment() checks the coordinates against it.
        parse_prompts(value if key == "points" else None, value if key == "box" else None, shape=(2**31, 2**31))
    except ValueError as error:
        view.warnings.append(f"Ignored {code(key)}: expected {'x,y,label;...' if key == 'points' else 'x0,y0,x1,y1'}"
                             f" ({escape_markdown(error, limit=200)}).")
        return
    view.prompts[key] = value


def format_prompts(prompts: Mapping) -> dict[str, str]:
    """``points`` and ``box`` as query text (numbers as written, without trailing zeros)."""
    number = lambda v: f"{float(v):g}"  # noqa: E731
    out = {}
    if prompts.get("points"):
        out["points"] = ";".join(",".join(number(v) for v in point[:2]) + f",{int(point[2])}"
                                 for point in prompts["points"])
    if prompts.get("box") is not None:
        out["box"] = ",".join(number(v) for v in prompts["box"])
    return out


def parse_query(query: Mapping, default_method: Method | None = None) -> SharedView:
    """Validate a query mapping (values: strings or lists of strings).

    Parameters
    ----------
    query : mapping
        Such as ``st.query_params.to_dict()``.
    default_method : Method, optional
        Used for ``p.*`` entries when ``method`` is missing or invalid.

    Returns
    -------
    SharedView
        Its warnings quote the link's text as inline code (never as
        Markdown); after :data:`MAX_WARNINGS` the rest are counted in one line.
    """
    view = SharedView(method=default_method)
    if METHOD in query:
        _parse_method(_text(query[METHOD]), view, default_method)
    if SAMPLE in query:
        _parse_sample(_text(query[SAMPLE]), view)
    if SCENE in query:
        _parse_scene(_text(query[SCENE]), view)
    if PICTURE in query:
        view.warnings.append(OWN_PICTURE_NOTE)
    for key, value in query.items():
        if key in (METHOD, SAMPLE, SCENE, PICTURE):
            continue
        if key.startswith(PARAM_PREFIX) or key.partition(".")[0] in PIPELINE:
            _parse_param(key, _text(value), view)
        elif key in PROMPTS:
            _parse_prompt(key, _text(value), view)
        else:
            view.warnings.append(f"Ignored {code(key)}: not a setting of this page.")
    if len(view.warnings) > MAX_WARNINGS:
        hidden = len(view.warnings) - MAX_WARNINGS
        view.warnings = view.warnings[:MAX_WARNINGS] + [f"... and {hidden} more ignored entries."]
    return view


def _changed(specs, values: dict | None, prefix: str) -> dict[str, str]:
    out = {}
    for spec in specs:
        if values and spec.name in values and values[spec.name] != spec.default:
            out[prefix + spec.name] = format_value(spec, values[spec.name])
    return out


def encode_query(method: Method, params: dict, pre: dict | None = None, post: dict | None = None,
                 picked: PickedImage | None = None, prompts: Mapping | None = None) -> dict[str, str]:
    """The query string (as a dict) for a view; defaults are left out, prompts kept for methods that take them."""
    query = {METHOD: method.name}
    if picked is not None and picked.origin == "sample" and picked.sample:
        query[SAMPLE] = picked.sample
    elif picked is not None and picked.scene is not None:
        query[SCENE] = ",".join(map(str, picked.scene))
    elif picked is not None:
        query[PICTURE] = OWN_PICTURE  # the receiver is told the picture did not travel
    query.update(_changed(method.params, params, PARAM_PREFIX))
    query.update(_changed(PREPROCESS_PARAMS, pre, "pre."))
    query.update(_changed(POSTPROCESS_PARAMS, post, "post."))
    if prompts and set(method.prompts) & set(PROMPTS):
        query.update(format_prompts(prompts))
    return query


def sync_query(desired: dict[str, str]) -> None:
    """Make ``st.query_params`` equal ``desired`` (written only when it differs)."""
    if st.query_params.to_dict() != desired:
        st.query_params.from_dict(desired)


def query_string(query: dict[str, str]) -> str:
    """``?key=value&...`` with URL escaping."""
    return "?" + urlencode(query)

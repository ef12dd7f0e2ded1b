"""Shareable URLs: what a page shows lives in its query string, read by one parser.

Explore: ``?method=canny&sample=coins&p.sigma=2.5&pre.blur_sigma=1``
restores a view: ``method`` is a slug, ``p.<name>`` a method parameter.

Compare (the page's address, ``/compare``):
``?methods=sam2,grabcut,random-walker&sample=coins&p2.iterations=3&box=40,30,220,190``
restores its panels: ``methods`` names one slug per panel, in order (two to
four; their number is the panel count), and ``p<n>.<name>`` is a parameter
of panel ``n`` (counted from 1, as the panels are numbered on the page).

Both pages share the rest: ``sample`` a bundled sample, ``pre.<name>`` /
``post.<name>`` a pipeline option, and, when a method (on Compare: any
panel) takes prompts, ``points=x,y,label;x,y,label`` and
``box=x0,y0,x1,y1`` in the picture's pixels, e.g.
``?method=sam2&sample=coins&box=40,30,220,190``. On Compare that one prompt
goes to every panel whose method takes it. A ShapeScene travels as
``scene=seed,difficulty,size``; an upload or camera photo cannot travel, so
the link says ``picture=own`` and the receiver is told they see another
picture. Only values that differ from their defaults are written, so an
entry that is absent means the default. Incoming values are checked
against the :class:`~seglib.Param` specs and the prompt contract; anything
invalid is ignored with a warning that says why.

:func:`parse_query` reads both pages' links (``panels=`` selects Compare's);
:func:`encode_query` and :func:`encode_compare_query` write them;
:func:`restore` puts the picture and pipeline (and Explore's parameter)
values into the session; :func:`restore_once` reads a page's link on the
session's first visit and keeps its warnings on the page;
:func:`sync_query` keeps the address bar equal to the view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

import streamlit as st

import seglib
from seglib.datasets.shapes import DIFFICULTIES
from seglib.pipeline import POSTPROCESS_PARAMS, PREPROCESS_PARAMS
from seglib.prompts import parse_prompts
from seglib.registry import Method, Param
from seglib.samples import SAMPLES

from .image_picker import MAX_SCENE_SEED, SCENE_SIZES, PickedImage, select_sample, select_scene
from .markdown import code, escape_markdown
from .params import format_value, parse_value, set_value

METHOD = "method"
METHODS = "methods"
SAMPLE = "sample"
SCENE = "scene"
PICTURE = "picture"
OWN_PICTURE = "own"
PARAM_PREFIX = "p."
PIPELINE = {"pre": PREPROCESS_PARAMS, "post": POSTPROCESS_PARAMS}
PROMPTS = ("points", "box")
MAX_WARNINGS = 10
"""Most warnings listed for one link (a link with thousands of bad entries gets one more line)."""


def panel_prefix(index: int) -> str:
    """``"p2."``: the query prefix of Compare panel ``index``'s parameters (``index`` counts from 0)."""
    return f"p{index + 1}."


@dataclass
class SharedView:
    """What a query string asks for, after validation.

    Attributes
    ----------
    method : Method or None
        Explore's method (``method=``).
    panels : list of (Method or None)
        Compare's methods, one per panel in order (``methods=``); None where
        the link's slug was ignored (that panel keeps its method).
    sample : str or None
    scene : (seed, difficulty, size) or None
        A ShapeScene to draw again.
    values : list of (scope, Param, value)
        Valid parameter values; the scope is Explore's method slug, ``"pre"`` or ``"post"``.
    panel_values : list of (index, Param, value)
        Valid values of Compare's panel parameters (``index`` counts from 0).
    prompts : dict
        ``points`` (list of (x, y, label)) and/or ``box`` (x0, y0, x1, y1), well formed.
    warnings : list of str
        One line per ignored entry.
    """

    method: Method | None = None
    panels: list[Method | None] = field(default_factory=list)
    sample: str | None = None
    scene: tuple[int, str, int] | None = None
    values: list[tuple[str, Param, object]] = field(default_factory=list)
    panel_values: list[tuple[int, Param, object]] = field(default_factory=list)
    prompts: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else ""
    return str(value)


def _slug(text: str, view: SharedView, what: str) -> Method | None:
    """The method ``text`` names, or None with a warning about ``what`` (the entry's name)."""
    try:
        return seglib.method(text)
    except KeyError:
        valid = ", ".join(m.name for m in seglib.methods())
        view.warnings.append(f"Ignored {what} {code(text)}: no such method (valid: {valid}).")
        return None


def _parse_methods(text: str, view: SharedView, max_panels: int) -> None:
    slugs = text.split(",")
    if len(slugs) > max_panels:
        view.warnings.append(f"Ignored {len(slugs) - max_panels} of the {len(slugs)} methods: Compare shows at "
                             f"most {max_panels} panels.")
        slugs = slugs[:max_panels]
    view.panels = [_slug(slug, view, f"method {i} of `{METHODS}`") for i, slug in enumerate(slugs, 1)]


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


def restore(view: SharedView, state=None) -> None:
    """Put a link's picture (sample or ShapeScene) and its :attr:`SharedView.values` into the session.

    Compare's panels are restored by :func:`ui.panels.restore_panels`.
    """
    if view.sample:
        select_sample(view.sample, state)
    if view.scene is not None:
        select_scene(*view.scene, state)
    for scope, spec, value in view.values:
        set_value(scope, spec, value, state)


def restore_once(page: str, apply: Callable[[dict], list[str]]) -> list[str]:
    """Run ``apply(query)`` on the session's first run of ``page``; return its kept warnings on every run.

    The list returned is the one kept: a page may add warnings about the link
    it finds later (once the picture is known).

    A link is read once per session (later the page's own widgets rule);
    its warnings are kept so that a rerun the user did not ask for (a heavy
    job finishing, a component reporting its first value) does not wipe
    them before they are read.
    """
    state = st.session_state
    key = f"{page}.link_warnings"
    if key not in state:
        state[key] = []  # set first: a failure inside apply must not make every rerun read the link again
        state[key] = list(apply(st.query_params.to_dict()))
    return state[key]


def _panel_index(prefix: str, max_panels: int) -> int | None:
    """Panel index (from 0) of a ``p<n>`` prefix with 1 <= n <= max_panels, else None."""
    digits = prefix[1:]
    if prefix[:1] == "p" and digits.isdigit() and digits[0] != "0" and int(digits) <= max_panels:
        return int(digits) - 1
    return None


def _parse_param(key: str, text: str, view: SharedView, max_panels: int | None) -> bool:
    """Read a ``p.``/``p<n>.``/``pre.``/``post.`` entry; False when ``key`` is none of these on this page."""
    prefix, _, name = key.partition(".")
    index = None if max_panels is None else _panel_index(prefix, max_panels)
    if prefix in PIPELINE:
        specs, owner = PIPELINE[prefix], f"{prefix}-processing"
    elif max_panels is None and prefix == "p":
        if view.method is None:
            view.warnings.append(f"Ignored {code(key)}: no method given.")
            return True
        specs, owner = view.method.params, view.method.title
    elif index is not None:
        method = view.panels[index] if index < len(view.panels) else None
        if method is None:
            view.warnings.append(f"Ignored {code(key)}: panel {index + 1} has no method from the link "
                                 f"(`{METHODS}` names {len(view.panels)}).")
            return True
        specs, owner = method.params, f"Panel {index + 1}'s {method.title}"
    else:
        return False
    spec = next((p for p in specs if p.name == name), None)
    if spec is None:
        view.warnings.append(f"Ignored {code(key)}: {owner} has no parameter {code(name)}.")
        return True
    try:
        value = parse_value(spec, text)
    except ValueError as error:
        view.warnings.append(f"Ignored {code(key)}: {escape_markdown(error, limit=300)}.")
        return True
    if index is not None:
        view.panel_values.append((index, spec, value))
    else:
        view.values.append((view.method.name if prefix == "p" else prefix, spec, value))
    return True


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


def _other_page_hint(key: str, max_panels: int | None) -> str:
    """Why ``key`` is not a setting of this page, pointing at this page's spelling when it is the other's."""
    if max_panels is None and (key == METHODS or _panel_index(key.partition(".")[0], 99) is not None):
        return "a setting of Compare's links (open them at `/compare`), not of Explore's."
    if max_panels is not None and (key == METHOD or key.startswith(PARAM_PREFIX)):
        return (f"Compare's links name one method per panel, `{METHODS}=slug,slug`, and panel n's parameters "
                "as `pn.name`.")
    return "not a setting of this page."


def parse_query(query: Mapping, default_method: Method | None = None, *, panels: int | None = None) -> SharedView:
    """Validate a query mapping (values: strings or lists of strings).

    Parameters
    ----------
    query : mapping
        Such as ``st.query_params.to_dict()``.
    default_method : Method, optional
        Explore: used for ``p.*`` entries when ``method`` is missing or invalid.
    panels : int, optional
        Read Compare's link for up to this many panels (``methods=``,
        ``p1.*`` ...); without it, Explore's (``method=``, ``p.*``).

    Returns
    -------
    SharedView
        Its warnings quote the link's text as inline code (never as
        Markdown); after :data:`MAX_WARNINGS` the rest are counted in one line.
    """
    view = SharedView(method=default_method)
    own = {SAMPLE, SCENE, PICTURE, *PROMPTS, METHOD if panels is None else METHODS}
    if panels is None and METHOD in query:
        view.method = _slug(_text(query[METHOD]), view, "method") or default_method
    if panels is not None and METHODS in query:
        _parse_methods(_text(query[METHODS]), view, panels)
    if SAMPLE in query:
        _parse_sample(_text(query[SAMPLE]), view)
    if SCENE in query:
        _parse_scene(_text(query[SCENE]), view)
    if PICTURE in query:
        view.warnings.append(OWN_PICTURE_NOTE)
    for key, value in query.items():
        if key in PROMPTS:
            _parse_prompt(key, _text(value), view)
        elif key not in own and not _parse_param(key, _text(value), view, panels):
            view.warnings.append(f"Ignored {code(key)}: {_other_page_hint(key, panels)}")
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


def _picture_query(picked: PickedImage | None) -> dict[str, str]:
    if picked is not None and picked.origin == "sample" and picked.sample:
        return {SAMPLE: picked.sample}
    if picked is not None and picked.scene is not None:
        return {SCENE: ",".join(map(str, picked.scene))}
    if picked is not None:
        return {PICTURE: OWN_PICTURE}  # the receiver is told the picture did not travel
    return {}


def _shared_query(pre: dict | None, post: dict | None, prompts: Mapping | None,
                  methods: list[Method]) -> dict[str, str]:
    """Pipeline options, and the prompts when one of ``methods`` takes them."""
    query = _changed(PREPROCESS_PARAMS, pre, "pre.")
    query.update(_changed(POSTPROCESS_PARAMS, post, "post."))
    if prompts and any(set(m.prompts) & set(PROMPTS) for m in methods):
        query.update(format_prompts(prompts))
    return query


def encode_query(method: Method, params: dict, pre: dict | None = None, post: dict | None = None,
                 picked: PickedImage | None = None, prompts: Mapping | None = None) -> dict[str, str]:
    """Explore's query string (as a dict) for a view; defaults are left out, prompts kept for methods that take them."""
    query = {METHOD: method.name, **_picture_query(picked)}
    query.update(_changed(method.params, params, PARAM_PREFIX))
    return query | _shared_query(pre, post, prompts, [method])


def encode_compare_query(panels: list[tuple[Method, dict]], pre: dict | None = None, post: dict | None = None,
                         picked: PickedImage | None = None, prompts: Mapping | None = None) -> dict[str, str]:
    """Compare's query string (as a dict): each panel's method and its non-default values, one shared prompt.

    ``panels`` holds (method, parameter values) per shown panel, in order;
    the prompts are kept when any panel's method takes them.
    """
    query = {METHODS: ",".join(method.name for method, _ in panels), **_picture_query(picked)}
    for index, (method, params) in enumerate(panels):
        query.update(_changed(method.params, params, panel_prefix(index)))
    return query | _shared_query(pre, post, prompts, [method for method, _ in panels])


def sync_query(desired: dict[str, str]) -> None:
    """Make ``st.query_params`` equal ``desired`` (written only when it differs)."""
    if st.query_params.to_dict() != desired:
        st.query_params.from_dict(desired)


def query_string(query: dict[str, str]) -> str:
    """``?key=value&...`` with URL escaping; commas stay readable (``box=40,30,220,190``)."""
    return "?" + urlencode(query, safe=",")

"""The method registry: one source of truth for every segmentation method.

A method is a plain function of a numpy image decorated with :func:`register`.
Its :class:`Param` specs validate arguments and describe the widgets the
dashboard builds, so adding a method here makes it appear on every page.

What a method needs is data the registry holds, not name checks in pages:

- ``params``: its tunable :class:`Param` specs (sliders, validation, share
  URLs, copy-as-Python). The function's signature carries their defaults
  and type hints, so it is also callable directly, like a scikit-image
  function (:func:`register` checks or fills them in).
- ``inputs``: user inputs that are not sliders, each validated by its
  :class:`Input` in :data:`INPUTS`: prompts (``points``, ``box``,
  ``mask_input``), ``weights`` (a weights file), ``config``.
- ``prompt_need``: what a prompt-driven method cannot run without
  (``"point"``, ``"box"`` or ``"point or box"``); the Prompt page lists
  every method that takes prompts.
- ``supplied``: what :func:`seglib.segment` fills in for it
  (:data:`SUPPLIED`: the pre-processing ``colour_space``, the caller's
  image size ``original_shape`` that prompt coordinates refer to).
"""

from __future__ import annotations

import inspect
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Mapping

import numpy as np

from .checks import is_int, is_number
from .prompts import parse_prompts

FAMILIES = ("threshold", "region", "graph", "edge", "clustering", "deep", "interactive")
KINDS = ("binary", "semantic", "instance", "panoptic", "regions", "edges")

SUPPLIED = ("colour_space", "original_shape")
"""Arguments :func:`seglib.segment` fills in: a caller never passes them."""

PROMPT_KINDS = ("points", "box", "mask_input")
"""The inputs that are prompts (see :mod:`seglib.prompts`)."""

PROMPT_NEEDS = ("point", "box", "point or box")
"""What a prompt-driven method may need before it can run."""

_REGISTRY: dict[str, "Method"] = {}


@dataclass(frozen=True)
class Param:
    """Specification of one tunable parameter.

    Parameters
    ----------
    name : str
        Keyword the method function accepts.
    default : int, float, str or bool
        Value used when the caller gives none. Must satisfy the spec.
    low, high : float, optional
        Inclusive numeric bounds. ``None`` means unbounded on that side.
    step : float, optional
        Slider step. An integer parameter (integer default and no float
        bound) has step 1 unless given.
    choices : tuple, optional
        Allowed values for a categorical parameter; excludes ``low``/``high``.
    log : bool
        Show the slider on a logarithmic scale (for ranges spanning decades).
    help : str
        One or two sentences of tuning advice, shown next to the widget.
    shown_when : mapping, optional
        ``{other_param: allowed_values}``: the parameter matters only while
        every named (earlier, categorical or boolean) parameter of the same
        method has one of the allowed values, so a dashboard hides it
        otherwise. Stored as a tuple of ``(name, values)`` pairs.
    none : str, optional
        For "auto or a number": a numeric parameter that also takes
        ``None``, and the one word saying what ``None`` does (``"auto"``,
        ``"off"``). The dashboard shows a checkbox with that word next to
        the slider. ``default`` may then be ``None``.
    start : int or float, optional
        The slider's value when a ``None`` default is first switched to a
        number (defaults to ``low``).
    """

    name: str
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple | None = None
    log: bool = False
    help: str = ""
    shown_when: Any = ()
    none: str = ""
    start: float | None = None

    def __post_init__(self):
        conditions = self.shown_when.items() if isinstance(self.shown_when, Mapping) else self.shown_when
        object.__setattr__(self, "shown_when", tuple(
            (name, tuple(values) if isinstance(values, (tuple, list, set, frozenset)) else (values,))
            for name, values in conditions))
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
            if self.low is not None or self.high is not None:
                raise ValueError(f"Param {self.name!r}: give either choices or low/high, not both")
        if self.log and (self.low is None or self.low <= 0):
            raise ValueError(f"Param {self.name!r}: a log-scale parameter needs low > 0, got {self.low}")
        if self.none and self.kind not in ("int", "float"):
            raise ValueError(f"Param {self.name!r}: none={self.none!r} needs a numeric parameter, not a {self.kind}")
        if self.default is None and not self.none:
            raise ValueError(f"Param {self.name!r}: a None default needs none= (what None does, e.g. 'auto')")
        if self.start is not None:
            self.validate(self.start)
        # The default must itself be valid: a spec that rejects its own default is a bug.
        self.validate(self.default)

    @property
    def kind(self) -> str:
        """One of ``"bool"``, ``"choice"``, ``"int"`` or ``"float"``."""
        if isinstance(self.default, bool):
            return "bool"
        if self.choices is not None:
            return "choice"
        numbers = [v for v in (self.default, self.low, self.high, self.step, self.start) if v is not None]
        if all(is_int(v) for v in numbers):
            return "int"
        return "float"

    @property
    def type_hint(self) -> Any:
        """The Python type of the parameter's values (``int``, ``float``, ``bool`` or a ``Literal``)."""
        hint = {"bool": bool, "int": int, "float": float}.get(self.kind) or Literal[self.choices]
        return hint | None if self.none else hint

    @property
    def slider_start(self) -> Any:
        """A number to start the slider at: the default, else ``start``, else ``low``."""
        for value in (self.default, self.start, self.low):
            if value is not None:
                return value
        return 0

    def is_shown(self, values: Mapping[str, Any]) -> bool:
        """Whether the parameter matters given the other parameters' ``values`` (see ``shown_when``)."""
        return all(values.get(name) in allowed for name, allowed in self.shown_when)

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        kind = self.kind
        if kind == "bool":
            return "True or False"
        if kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        what = "an integer" if kind == "int" else "a number"
        none = f" or None ({self.none})" if self.none else ""
        return f"{what} in [{low}, {high}]{none}"

    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to the parameter's type.

        Raises
        ------
        ValueError
            Naming the parameter, the value and what is allowed.
        """
        kind = self.kind
        bad = ValueError(f"{self.name}={value!r} is not allowed: expected {self.allowed()}")
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if hasattr(value, "item") and isinstance(value.item(), bool):
                return bool(value.item())
            raise bad
        if kind == "choice":
            if value in self.choices:
                return value
            raise bad
        if value is None and self.none:
            return None
        if isinstance(value, (bool, str, bytes)):
            raise bad
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if not math.isfinite(number):
            raise bad
        if kind == "int":
            if number != int(number):
                raise bad
            number = int(number)
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            raise bad
        return number


_ANY_SHAPE = (2 ** 31, 2 ** 31)  # an image size every real coordinate fits in


def _check_points(value, shape):
    parse_prompts(value, None, shape=shape)
    return value


def _check_box(value, shape):
    parse_prompts(None, value, shape=shape)
    return value


def _check_mask_input(value, shape):
    array = np.asarray(value) if value is not None else None
    if array is not None and (array.ndim != 2 or not np.issubdtype(array.dtype, np.number)
                              or not np.isfinite(array).all()):
        raise ValueError(f"mask_input of shape {array.shape} and dtype {array.dtype} is not allowed: expected a 2-D "
                         "array of finite numbers (the low_res_logits of an earlier result)")
    return value


def _check_weights(value, shape):
    if value is None or isinstance(value, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(value, "read"):
        return value
    raise ValueError(f"weights of type {type(value).__name__} is not allowed: expected None (the method's own), "
                     "a path, bytes or a binary file object")


@dataclass(frozen=True)
class Input:
    """A user input that is not a slider (prompts, a weights file), validated like a :class:`Param`.

    Parameters
    ----------
    name : str
        Keyword the method function accepts (default ``None``: not given).
    help : str
        What the caller passes.
    check : callable
        ``check(value, shape) -> value``: raises a ``ValueError`` naming the
        input and what is allowed; ``shape`` is the (H, W) of the caller's
        image, which prompt coordinates refer to.
    """

    name: str
    help: str
    check: Callable[[Any, tuple[int, int]], Any] = field(repr=False, compare=False)

    def validate(self, value: Any, shape: tuple[int, int] | None = None) -> Any:
        """``value`` checked (``None``, "not given", always passes).

        Without ``shape`` (the caller's image is not known yet) prompts are
        checked for their form only, not for lying inside the image.
        """
        return value if value is None else self.check(value, _ANY_SHAPE if shape is None else shape)


INPUTS: dict[str, Input] = {i.name: i for i in (
    Input("points", "[(x, y, label), ...] in the caller's image pixels; label 1 = object, 0 = not the object.",
          _check_points),
    Input("box", "(x0, y0, x1, y1) around the object, in the caller's image pixels.", _check_box),
    Input("mask_input", "The low-resolution logits of an earlier answer (refines it with new clicks).",
          _check_mask_input),
    Input("weights", "A weights file (path, bytes or binary file) replacing the method's own.", _check_weights),
    Input("config", "The network's configuration when the weights file does not carry it.", lambda v, shape: v),
)}
"""Every user input a method may list in ``inputs``, with its validator."""


@dataclass(frozen=True)
class Method:
    """A registered segmentation method.

    Call :func:`seglib.segment` (or the method itself) to run it: arguments
    are validated against :attr:`params` and :attr:`inputs`, the result is
    a :class:`~seglib.result.Segmentation` with timing and parameters filled.
    See the module docstring for what each field says.
    """

    name: str
    title: str
    family: str
    kind: str
    params: tuple[Param, ...]
    description: str
    references: tuple[str, ...]
    func: Callable = field(repr=False, compare=False)
    inputs: tuple[str, ...] = ()
    card: dict | Callable[[], dict] | None = field(default=None, repr=False, compare=False)
    build: Callable | None = field(default=None, repr=False, compare=False)
    supplied: tuple[str, ...] = ()
    prompt_need: str | None = None

    def model_card(self) -> dict | None:
        """The model card of a deep method (None for others): ``card``, or ``card()`` when it was registered
        as a function, which computes it on first use (reading torchvision's metadata takes seconds)."""
        return self.card() if callable(self.card) else self.card

    @property
    def prompts(self) -> tuple[str, ...]:
        """The prompt kinds the method takes (``points``, ``box``, ``mask_input``); empty: an image only."""
        return tuple(name for name in self.inputs if name in PROMPT_KINDS)

    @property
    def takes_weights(self) -> bool:
        """Whether a weights file can replace the method's own (``weights=``)."""
        return "weights" in self.inputs

    def param(self, name: str) -> Param:
        """Return the :class:`Param` called ``name`` (``KeyError`` listing valid names)."""
        for p in self.params:
            if p.name == name:
                return p
        valid = ", ".join(p.name for p in self.params) or "none"
        raise KeyError(f"method {self.name!r} has no parameter {name!r}; its parameters are: {valid}")

    def defaults(self) -> dict[str, Any]:
        """Default value of every parameter."""
        return {p.name: p.default for p in self.params}

    def missing_prompt(self, n_positive: int, has_box: bool) -> str | None:
        """What the method still needs given the prompts (see :func:`missing_prompt`)."""
        return missing_prompt(self.prompt_need, n_positive, has_box)

    def resolve(self, params: dict[str, Any], shape: tuple[int, int] | None = None) -> dict[str, Any]:
        """Defaults overlaid with validated ``params``.

        Parameters are checked against their :class:`Param`, inputs against
        their :class:`Input` (prompts must lie inside ``shape``, the caller's
        image size, when it is given).

        Raises
        ------
        ValueError
            For an unknown name, a value outside its spec, or a name
            :func:`seglib.segment` supplies itself.
        """
        known = {p.name: p for p in self.params}
        resolved = self.defaults()
        for name, value in params.items():
            if name == "colour_space":
                raise ValueError(f"{name}={value!r} is not a parameter of {self.name!r}: pass it as "
                                 f"preprocess_options={{{name!r}: ...}}")
            if name in self.inputs:
                resolved[name] = INPUTS[name].validate(value, shape)
            elif name in known:
                resolved[name] = known[name].validate(value)
            else:
                valid = ", ".join(list(known) + list(self.inputs)) or "none"
                why = " (seglib.segment supplies it)" if name in SUPPLIED else ""
                raise ValueError(f"method {self.name!r} has no parameter {name!r}{why}; valid parameters: {valid}")
        return resolved


def missing_prompt(need: str | None, n_positive: int, has_box: bool) -> str | None:
    """What ``need`` still lacks given ``n_positive`` object points and a box or not, in words.

    For example ``"at least one object point (label 1) in `points`"``;
    ``None`` when the method can run.
    """
    if need is None or need == "point or box" and (n_positive or has_box):
        return None
    if need == "box":
        return None if has_box else "box=(x0, y0, x1, y1) around the object"
    if n_positive:
        return None
    return "at least one object point (label 1) in `points`" + (" or a box" if need == "point or box" else "")


def register(
    name: str,
    *,
    title: str,
    family: str,
    kind: str,
    params: Iterable[Param] = (),
    description: str,
    references: Iterable[str] = (),
    inputs: Iterable[str] = (),
    supplied: Iterable[str] = (),
    prompt_need: str | None = None,
    card: dict | Callable[[], dict] | None = None,
    build: Callable | None = None,
):
    """Decorator that registers a method function under slug ``name``.

    The function takes the image (a float64 array in [0, 1], (H, W) or
    (H, W, 3), already pre-processed) followed by keyword parameters, and
    returns a :class:`~seglib.result.Segmentation` (``kind`` may be left as
    ``None``; it is filled from the registration).

    Parameters
    ----------
    params : iterable of Param
        Each must be a keyword argument of the function. A default the
        function gives must equal the Param's; a missing default and type
        hint are filled in from the Param, so the function is callable
        directly.
    inputs : iterable of str
        User inputs from :data:`INPUTS` (keyword arguments defaulting to ``None``).
    supplied : iterable of str
        What :func:`seglib.segment` fills in, from :data:`SUPPLIED`.
    prompt_need : {"point", "box", "point or box"}, optional
        What a method taking ``points`` or ``box`` cannot run without.
        Defaults to what it takes: ``"point or box"`` for both.
    card : dict or callable, optional
        A deep method's model card, or a function that computes it on first
        use; read it with :meth:`Method.model_card`.
    """
    if family not in FAMILIES:
        raise ValueError(f"family={family!r} is not allowed: expected one of {', '.join(FAMILIES)}")
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not allowed: expected one of {', '.join(KINDS)}")

    params = tuple(params)
    _check_conditions(name, params)
    inputs, supplied = tuple(inputs), tuple(supplied)
    prompt_need = _check_inputs(name, inputs, supplied, prompt_need)

    def decorator(func: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].func.__qualname__ != func.__qualname__:
            raise ValueError(f"method slug {name!r} is already registered by {_REGISTRY[name].func.__module__}")
        _fill_signature(name, func, params, inputs + supplied)
        _REGISTRY[name] = Method(
            name=name,
            title=title,
            family=family,
            kind=kind,
            params=params,
            description=" ".join(description.split()),
            references=tuple(references),
            func=func,
            inputs=inputs,
            card=card,
            build=build,
            supplied=supplied,
            prompt_need=prompt_need,
        )
        return func

    return decorator


def unregister(name: str) -> Method:
    """Remove the method ``name`` from the registry and return it (for tests and plug-ins)."""
    _load_all()
    try:
        return _REGISTRY.pop(name)
    except KeyError:
        raise KeyError(f"unknown method {name!r}; valid methods are: {', '.join(sorted(_REGISTRY))}") from None


def _check_inputs(method: str, inputs: tuple[str, ...], supplied: tuple[str, ...],
                  prompt_need: str | None) -> str | None:
    """Check ``inputs``/``supplied`` name known things; return ``prompt_need`` (derived when not given)."""
    for names, table, what in ((inputs, INPUTS, "inputs"), (supplied, SUPPLIED, "supplied")):
        for n in names:
            if n not in table:
                raise ValueError(f"method {method!r}: {what} names {n!r}; expected some of {', '.join(table)}")
    takes = [n for n in ("points", "box") if n in inputs]
    if not takes:
        if prompt_need is not None:
            raise ValueError(f"method {method!r}: prompt_need={prompt_need!r} needs points or box in its inputs")
        return None
    if takes and "original_shape" not in supplied:
        raise ValueError(f"method {method!r} takes {' and '.join(takes)}: it must list 'original_shape' in "
                         "supplied (prompt coordinates are in the caller's pixels)")
    if prompt_need is None:
        return {"points": "point", "box": "box"}[takes[0]] if len(takes) == 1 else "point or box"
    if prompt_need not in PROMPT_NEEDS:
        raise ValueError(f"method {method!r}: prompt_need={prompt_need!r} is not allowed: expected one of "
                         f"{', '.join(PROMPT_NEEDS)}")
    return prompt_need


def _fill_signature(method: str, func: Callable, params: tuple[Param, ...], extra: tuple[str, ...]) -> None:
    """Check every Param and input is a keyword argument of ``func``; fill in missing defaults and type hints.

    Inputs (``extra``) default to ``None``. A default the function itself
    gives must equal the Param's default. A decorated function (``functools.wraps``)
    gets them on the function it wraps.
    """
    func = inspect.unwrap(func)
    signature = inspect.signature(func)
    kwdefaults = dict(func.__kwdefaults__ or {})
    for name, default, hint in [(p.name, p.default, p.type_hint) for p in params] + [(n, None, None) for n in extra]:
        arg = signature.parameters.get(name)
        if arg is None or arg.kind not in (arg.KEYWORD_ONLY, arg.POSITIONAL_OR_KEYWORD):
            raise ValueError(f"method {method!r}: {func.__qualname__} has no keyword argument {name!r}")
        if arg.default is arg.empty:
            if arg.kind != arg.KEYWORD_ONLY:
                raise ValueError(f"method {method!r}: make {name!r} keyword-only in {func.__qualname__} "
                                 "(after a bare *) or give it the default "
                                 f"{default!r}")
            kwdefaults[name] = default
        elif arg.default != default or type(arg.default) is not type(default) and not (
                is_number(arg.default) and is_number(default)):
            raise ValueError(f"method {method!r}: {func.__qualname__} gives {name}={arg.default!r} as default, but "
                             f"its Param's default is {default!r}; make them equal (or leave the function's out)")
        if hint is not None and name not in func.__annotations__:
            func.__annotations__[name] = hint
    func.__kwdefaults__ = kwdefaults or None


def _load_all() -> None:
    # Importing the method modules fills the registry.
    from . import methods_index  # noqa: F401


def methods(family: str | None = None) -> list[Method]:
    """Every registered method, optionally only those of one ``family``."""
    _load_all()
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family={family!r} is not allowed: expected one of {', '.join(FAMILIES)}")
    return [m for m in _REGISTRY.values() if family is None or m.family == family]


def method(name: str | Method) -> Method:
    """The method registered as ``name``; ``KeyError`` listing the valid slugs."""
    if isinstance(name, Method):
        return name
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown method {name!r}; valid methods are: {valid}") from None


def _check_conditions(method: str, params: tuple[Param, ...]) -> None:
    """Each ``shown_when`` must name an earlier categorical or boolean parameter and values it can take."""
    earlier: dict[str, Param] = {}
    for param in params:
        for other, values in param.shown_when:
            if other not in earlier or earlier[other].kind not in ("choice", "bool"):
                allowed = ", ".join(n for n, p in earlier.items() if p.kind in ("choice", "bool")) or "none"
                raise ValueError(f"method {method!r}: {param.name}.shown_when names {other!r}; expected an earlier "
                                 f"categorical or boolean parameter: {allowed}")
            for value in values:
                earlier[other].validate(value)
        earlier[param.name] = param

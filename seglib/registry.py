"""The method registry: one source of truth for every segmentation method.

A method is a plain function of a numpy image decorated with :func:`register`.
Its :class:`Param` specs validate arguments and describe the widgets the
dashboard builds, so adding a method here makes it appear on every page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

FAMILIES = ("threshold", "region", "graph", "edge", "clustering", "deep", "interactive")
KINDS = ("binary", "semantic", "instance", "panoptic", "regions", "edges")

# Inputs that seglib.segment fills from the pre-processing pipeline; a caller never passes them.
PIPELINE_INPUTS = ("colour_space",)

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
        # The default must itself be valid: a spec that rejects its own default is a bug.
        self.validate(self.default)

    @property
    def kind(self) -> str:
        """One of ``"bool"``, ``"choice"``, ``"int"`` or ``"float"``."""
        if isinstance(self.default, bool):
            return "bool"
        if self.choices is not None:
            return "choice"
        numbers = [v for v in (self.default, self.low, self.high, self.step) if v is not None]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in numbers):
            return "int"
        return "float"

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
        return f"{what} in [{low}, {high}]"

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


@dataclass(frozen=True)
class Method:
    """A registered segmentation method.

    Call :func:`seglib.segment` (or the method itself) to run it: arguments
    are validated against :attr:`params`, the result is a
    :class:`~seglib.result.Segmentation` with timing and parameters filled.
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
    card: dict | None = field(default=None, compare=False)
    build: Callable | None = field(default=None, repr=False, compare=False)

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

    def resolve(self, params: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with validated ``params``.

        Raises ``ValueError`` for an unknown name or a value outside its spec.
        Names listed in :attr:`inputs` (prompts, weights paths) pass through
        unchecked: the method validates those itself.
        """
        known = {p.name: p for p in self.params}
        resolved = self.defaults()
        for name, value in params.items():
            if name in PIPELINE_INPUTS:
                raise ValueError(f"{name}={value!r} is not a parameter of {self.name!r}: pass it as "
                                 f"preprocess_options={{{name!r}: ...}}")
            if name in self.inputs:
                resolved[name] = value
            elif name in known:
                resolved[name] = known[name].validate(value)
            else:
                valid = ", ".join(list(known) + [n for n in self.inputs if n not in PIPELINE_INPUTS]) or "none"
                raise ValueError(f"method {self.name!r} has no parameter {name!r}; valid parameters: {valid}")
        return resolved

    def __call__(self, image, /, **params):
        from .core import segment

        return segment(image, self, **params)


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
    card: dict | None = None,
    build: Callable | None = None,
):
    """Decorator that registers a method function under slug ``name``.

    The function takes the image (a float64 array in [0, 1], (H, W) or
    (H, W, 3), already pre-processed) followed by keyword parameters, and
    returns a :class:`~seglib.result.Segmentation` (``kind`` may be left as
    ``None``; it is filled from the registration).
    """
    if family not in FAMILIES:
        raise ValueError(f"family={family!r} is not allowed: expected one of {', '.join(FAMILIES)}")
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not allowed: expected one of {', '.join(KINDS)}")

    params = tuple(params)
    _check_conditions(name, params)

    def decorator(func: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].func.__qualname__ != func.__qualname__:
            raise ValueError(f"method slug {name!r} is already registered by {_REGISTRY[name].func.__module__}")
        _REGISTRY[name] = Method(
            name=name,
            title=title,
            family=family,
            kind=kind,
            params=params,
            description=" ".join(description.split()),
            references=tuple(references),
            func=func,
            inputs=tuple(inputs),
            card=card,
            build=build,
        )
        return func

    return decorator


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

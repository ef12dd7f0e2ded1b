"""Argument checks shared by the whole library: one idea of "an integer", one error text.

:class:`~seglib.registry.Param` specs check method parameters; these
functions check every other argument (sizes, counts, seeds, tile sizes...)
the same way, with a ``ValueError`` that names the argument, the value and
what is allowed:

>>> check_int(3, "n", low=1)
3
>>> check_int(2.5, "n", low=1)
Traceback (most recent call last):
...
ValueError: n=2.5 is not allowed: expected an integer >= 1

An integer is a Python or NumPy integer, never a bool (``True`` is an
``int`` to Python, but a count of ``True`` is a bug); a number is any real
number except a bool, and finite unless said otherwise.
"""

from __future__ import annotations

import json
import math
from numbers import Integral, Real
from typing import Any, Iterable


def is_int(value: Any) -> bool:
    """True for a Python or NumPy integer that is not a bool."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for a real number (Python or NumPy, integer or float) that is not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)


def _range_text(what: str, low, high) -> str:
    if low is not None and high is not None:
        return f"{what} in [{low}, {high}]"
    if low is not None:
        return f"{what} >= {low}"
    if high is not None:
        return f"{what} <= {high}"
    return what


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (a hostile value must not flood a message)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _bad(name: str, value: Any, allowed: str, none: bool) -> ValueError:
    return ValueError(f"{name}={short_repr(value)} is not allowed: expected {allowed}{' or None' if none else ''}")


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None,
              none: bool = False) -> int | None:
    """``value`` as an ``int`` if it is an integer in ``[low, high]`` (bounds inclusive, ``None``: open).

    ``none=True`` also lets ``None`` through (returned unchanged).

    Raises
    ------
    ValueError
        Naming ``name``, the value and the allowed range.
    """
    if value is None and none:
        return None
    if not is_int(value) or (low is not None and value < low) or (high is not None and value > high):
        raise _bad(name, value, _range_text("an integer", low, high), none)
    return int(value)


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                 none: bool = False, finite: bool = True) -> float | None:
    """``value`` as a ``float`` if it is a (finite) number in ``[low, high]``; see :func:`check_int`."""
    if value is None and none:
        return None
    ok = is_number(value) and (not finite or math.isfinite(value))
    if not ok or (low is not None and value < low) or (high is not None and value > high):
        raise _bad(name, value, _range_text("a finite number" if finite else "a number", low, high), none)
    return float(value)


def check_choice(value: Any, name: str, choices: Iterable) -> Any:
    """``value`` if it is one of ``choices``, else a ``ValueError`` listing them."""
    choices = tuple(choices)
    if value not in choices:
        raise _bad(name, value, "one of " + ", ".join(repr(c) for c in choices), False)
    return value


def parse_json(text: str | bytes, what: str) -> Any:
    """Parse ``text`` as JSON, or raise a ``ValueError`` that names ``what`` and the fault.

    Every library reader of JSON from outside (annotation files, weights
    metadata) goes through here, so that bad text, bad encodings and deep
    nesting (which makes Python's parser raise ``RecursionError``) all end
    in the same clear error.

    >>> parse_json('{"a": [1, 2]}', "the config")
    {'a': [1, 2]}
    >>> parse_json('{"a": ', "the config")
    Traceback (most recent call last):
    ...
    ValueError: the config is not valid JSON: Expecting value at line 1, column 7
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
        return json.loads(text)
    except UnicodeDecodeError as error:
        raise ValueError(f"{what} is not UTF-8 text ({error})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply (arrays or objects about a thousand levels down); "
                         "expected a few levels") from None
    except TypeError:
        raise ValueError(f"{what} is not JSON text: got {type(text).__name__}") from None

"""Progress of long computations, for whoever listens (a dashboard's progress bar).

A long loop deep inside a method (SAM decoding a whole grid of clicks)
calls :func:`report`; a caller that wants to show it wraps the call in
:func:`listen`. Nothing is passed through :func:`seglib.segment`, and
without a listener :func:`report` costs one lookup.

>>> from seglib import progress
>>> seen = []
>>> with progress.listen(lambda fraction, text: seen.append(fraction)):
...     progress.report(0.5, "half way")
>>> seen
[0.5]
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Callable, Iterator

__all__ = ["listen", "report"]

Listener = Callable[[float, str], None]
_listener: ContextVar[Listener | None] = ContextVar("seglib_progress_listener", default=None)


@contextlib.contextmanager
def listen(callback: Listener) -> Iterator[None]:
    """Within the block, :func:`report` calls ``callback(fraction, text)``."""
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


def report(fraction: float, text: str) -> None:
    """Tell the current listener, if any, that ``fraction`` (clipped to [0, 1]) of the work is done."""
    callback = _listener.get()
    if callback is not None:
        callback(min(max(float(fraction), 0.0), 1.0), text)

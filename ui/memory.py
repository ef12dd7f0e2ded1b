"""Keep garbage collection cheap: freeze what the imports built.

Streamlit runs a full ``gc.collect(2)`` after every script run unless
``runner.postScriptGC`` is off (it is, in ``.streamlit/config.toml``: with
30 sessions open it still cost a third of a move), and Python's own
collector walks every tracked object in its full collections too.
With scikit-image, scikit-learn, plotly and pandas imported, that walk
covers some 180 000 long-lived objects (480 000 once torch is in): 100 to
600 ms of CPU on every slider move, more than all the rest of the move.
:func:`freeze_imports` moves the objects alive after new imports into the
interpreter's permanent generation (``gc.freeze``), which collections skip.
Frozen objects are still freed by reference counting; only reference
cycles among them are never collected, and module-level objects live as
long as the process anyway. Sessions alive at a freeze (a first k-means run
imports scikit-learn mid-class) would be frozen with them: when the last
session has gone, :func:`ui.sessions.release_caches` thaws, collects and
freezes again.
"""

from __future__ import annotations

import gc
import sys
import threading

NEW_MODULES = 10
"""Freeze again only after at least this many modules were imported since the last freeze."""

_lock = threading.Lock()
_frozen_at = 0  # len(sys.modules) at the last freeze


def freeze_imports() -> bool:
    """Freeze the objects alive now when modules were imported since the last call; True when it froze.

    Costs one full collection when it freezes (first run, first deep model, ...), nothing otherwise.
    """
    global _frozen_at
    with _lock:
        if len(sys.modules) < _frozen_at + NEW_MODULES:
            return False
        gc.collect()  # garbage of the imports themselves is freed, not frozen
        gc.freeze()
        _frozen_at = len(sys.modules)
        return True

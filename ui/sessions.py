"""Release what a session held once its browser has gone: state, images, heavy jobs.

Streamlit keeps a disconnected session (its ``st.session_state``, the images
it showed, its uploads) for ``server.disconnectedSessionTTL`` seconds in
case the tab reconnects, and only forgets it lazily: a session dropped that
way is never shut down, so the images it showed stay in the media store.
After a class leaves, a server would hold every student's state.

:func:`start_reaper` starts (once per process) a thread that looks every
few seconds for sessions without a connection and, once one has been gone
for ``$SEGDASH_RELEASE_AFTER_S`` seconds (default 30), closes it the way
Streamlit's own logout does (its images and downloads are freed), cancels
its heavy jobs and empties its state (:func:`forget`: Streamlit may still
refer to a closed session). A tab that comes back later starts a fresh session (its
address still holds the method, sample and parameters on Explore). When the
last session is released, the result caches are emptied too
(:func:`release_caches`): a server between two classes holds what it held
before the first.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import threading
import time

from streamlit import runtime

from seglib import jobs

RELEASE_ENV = "SEGDASH_RELEASE_AFTER_S"
DEFAULT_RELEASE_AFTER_S = 30.0
CHECK_EVERY_S = 5.0

_LOGGER = logging.getLogger(__name__)
_started = False
_start_lock = threading.Lock()


def release_after() -> float:
    """Seconds a disconnected session is kept (``$SEGDASH_RELEASE_AFTER_S``, default 30)."""
    text = os.environ.get(RELEASE_ENV, "").strip()
    if not text:
        return DEFAULT_RELEASE_AFTER_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"{RELEASE_ENV}={text!r} is not allowed: expected a number of seconds, 0 or more")
    return value


class Reaper:
    """Closes sessions that have had no connection for ``after`` seconds.

    Parameters
    ----------
    instance : streamlit.runtime.Runtime
        The running app's runtime (a stand-in in tests).
    after : float
        Seconds a session may stay disconnected (it may reconnect meanwhile).

    on_empty : callable, optional
        Called when the last session has been released (default: :func:`release_caches`).
    """

    def __init__(self, instance, after: float, on_empty=None):
        self.instance = instance
        self.after = after
        self.on_empty = release_caches if on_empty is None else on_empty
        self.gone_since: dict[str, float] = {}
        self.emptied = True  # nothing to release before the first session

    def sessions(self) -> dict:
        """The stored sessions (connected or not) by id."""
        # Streamlit has no public list of stored (disconnected) sessions; its session manager does.
        return {info.session.id: info.session for info in self.instance._session_mgr.list_sessions()}

    def sweep(self, now: float) -> list[str]:
        """Close the sessions disconnected since ``now - after`` or earlier; return their ids.

        Once no session is left and no heavy job runs or waits (a job of a session that left may
        still finish and cache its result), ``on_empty`` is called, once per emptying.
        """
        stored = self.sessions()
        if stored:
            self.emptied = False
        gone = [sid for sid in stored if not self.instance.is_active_session(sid)]
        self.gone_since = {sid: self.gone_since.get(sid, now) for sid in gone}
        closed = [sid for sid, since in self.gone_since.items() if now - since >= self.after]
        for sid in closed:
            self.instance.close_session(sid)
            forget(stored[sid])
            jobs.shared_pool().cancel_owner(sid)
            del self.gone_since[sid]
        if closed:
            # Closing marks the sessions' download files for deletion; a second pass deletes them
            # (Streamlit does that on a later script run, which an empty server never has).
            self.instance.media_file_mgr.remove_orphaned_files()
            gc.collect()  # session state is full of reference cycles (widgets, callbacks)
        left = self.sessions()
        if closed:
            _LOGGER.info("released %d disconnected session(s); %d left", len(closed), len(left))
        if not left and not self.emptied and jobs.shared_pool().counts() == {"running": 0, "waiting": 0}:
            self.on_empty()
            self.emptied = True
        return closed


def forget(session) -> None:
    """Empty a closed session's state and the arguments its fragments were last called with.

    Closing a session does not free them while something still refers to it, and something does:
    Streamlit's runtime loop keeps the last session it sent messages to in a loop variable until
    it serves another, so after a class the last student's session stayed alive with its picture
    and its last result (a fragment's arguments; about 25 MB for felzenszwalb on a big sample).
    """
    for part in ("_fragment_storage", "_session_state"):
        try:
            getattr(session, part).clear()
        except Exception:  # noqa: BLE001 - a Streamlit change: the memory stays until the next session
            _LOGGER.debug("could not empty the %s of a closed session", part, exc_info=True)


def release_caches() -> None:
    """Empty the caches (Streamlit's data and resource caches, seglib's stage cache) and give memory back.

    Called when the last session has been released: nobody is left to reuse a result, and a
    server between two classes should hold what it held before the first (models and SAM
    embeddings on disk stay).
    """
    import streamlit as st

    from seglib import cache

    st.cache_data.clear()
    st.cache_resource.clear()  # samples, scenes, datasets; seglib keeps the models it loaded
    cache.clear()
    # ui.memory froze every object alive at its last freeze, sessions' state included when a class
    # was running then: reference cycles among frozen objects are never collected. With no session
    # left, thaw, collect, and freeze what remains (modules, models) so later collections stay cheap.
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc keeps freed arenas otherwise
    except (OSError, AttributeError):
        pass


def _on_event_loop(instance, func) -> None:
    """Run ``func`` on the runtime's event loop (session bookkeeping is not thread-safe) and wait."""
    done = threading.Event()

    def call():
        try:
            func()
        finally:
            done.set()

    instance._get_async_objs().eventloop.call_soon_threadsafe(call)
    done.wait(60)


def _loop(instance, after: float) -> None:
    reaper = Reaper(instance, after)
    while True:
        time.sleep(CHECK_EVERY_S)
        try:
            _on_event_loop(instance, lambda: reaper.sweep(time.monotonic()))
        except Exception:  # noqa: BLE001 - a stopped runtime or a Streamlit change: log it, keep serving
            _LOGGER.exception("releasing disconnected sessions failed")


def served() -> bool:
    """True in a process serving the app (``streamlit run``); False in plain Python and under
    ``AppTest``, whose runtime is a stand-in (a mock of :class:`~streamlit.runtime.Runtime`)."""
    return runtime.exists() and type(runtime.get_instance()) is runtime.Runtime


def start_reaper() -> bool:
    """Start the release thread once per process (True when this call started it; needs a served app)."""
    global _started
    with _start_lock:
        if _started or not served():  # not under AppTest either: its runtime is a stand-in
            return False
        _started = True
    threading.Thread(target=_loop, args=(runtime.get_instance(), release_after()), name="segdash-session-reaper",
                     daemon=True).start()
    return True

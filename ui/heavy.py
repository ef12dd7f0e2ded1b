"""Heavy work of a session through the process-wide job pool (:mod:`seglib.jobs`), visibly.

:func:`run` hands a slow computation to :func:`seglib.jobs.shared_pool`.
When a worker is free it runs at once and the page waits for it under a
progress bar, as before. When the pool is full the page does not block: it
shows "waiting, N ahead of you" with a Cancel button (a small fragment
that refreshes itself) and the rest of the page keeps answering; the job's
result appears as soon as it has run. Equal keys asked by several sessions
share one job; a job whose session has gone away is dropped.

Each call site names a ``slot`` (one heavy result a page waits for, such as
``"result.kmeans.0"`` from :func:`call_slot`): asking a slot for other work
cancels what it waited for before, so a student moving a slider does not
leave jobs behind.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

from seglib import jobs

TICKETS_KEY = "heavy.tickets"
CANCELLED_KEY = "heavy.cancelled"
CALLS_KEY = "heavy.calls"
REFRESH_S = 1.0  # how often a waiting job's place in line is redrawn
_POLL_S = 0.25   # how often a running job's progress bar is redrawn
_MAX_FINISHED = 512

COSTS = jobs.CostBook(heavy_seconds=1.0)
"""Seconds per megapixel of each method in this process: which runs go through the pool (ui.run)."""

_finished: OrderedDict[Hashable, None] = OrderedDict()


class _NoContextWarning(logging.Filter):
    # Pool workers call Streamlit-cached functions outside any session: that is intended.
    def filter(self, record: logging.LogRecord) -> bool:
        return not threading.current_thread().name.startswith(pool().name)


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NoContextWarning())


def pool() -> jobs.JobPool:
    """The process-wide pool (``$SEGDASH_HEAVY_WORKERS`` workers)."""
    return jobs.shared_pool()


def finished(key: Hashable) -> bool:
    """True when work of ``key`` already ran through the pool in this process (its result is cached)."""
    return key in _finished


def _remember(key: Hashable) -> None:
    _finished[key] = None
    _finished.move_to_end(key)
    while len(_finished) > _MAX_FINISHED:
        _finished.popitem(last=False)


def _session_alive(session_id: str | None) -> Callable[[], bool] | None:
    """A liveness check of the session for the pool (None outside a served app, e.g. AppTest)."""
    if session_id is None or not runtime.exists():
        return None
    instance = runtime.get_instance()
    return lambda: instance.is_active_session(session_id)


def _tickets() -> dict[str, jobs.Ticket]:
    return st.session_state.setdefault(TICKETS_KEY, {})


def _cancelled() -> dict[str, Hashable]:
    return st.session_state.setdefault(CANCELLED_KEY, {})


def cancel(slot: str) -> None:
    """Cancel what ``slot`` waits for, and do not ask again for that work until "Run again"."""
    ticket = _tickets().pop(slot, None)
    if ticket is not None:
        ticket.cancel()
        _cancelled()[slot] = ticket.key


def _run_again(slot: str) -> None:
    _cancelled().pop(slot, None)


def _ticket(slot: str, key: Hashable, fn: Callable[[], Any], seconds: float | None = None) -> jobs.Ticket:
    tickets = _tickets()
    ticket = tickets.get(slot)
    if ticket is not None and ticket.key == key and ticket.state != jobs.CANCELLED:
        return ticket
    if ticket is not None:
        ticket.cancel()  # the slot now wants other work
    ctx = get_script_run_ctx()
    session_id = ctx.session_id if ctx is not None else None
    ticket = pool().submit(key, fn, owner=session_id, alive=_session_alive(session_id), seconds=seconds)
    tickets[slot] = ticket
    return ticket


def call_slot(name: str) -> str:
    """``name`` numbered by how often it was asked before in this script run (and fragment).

    Two Compare panels running the same method are two slots (``name.0``, ``name.1``), each
    keeping its own job, while the next run of the page finds the same slots again.
    """
    ctx = get_script_run_ctx()
    if ctx is None:
        return name
    try:
        fragment = ThreadState.get().fragment_id or ""
    except RuntimeError:  # outside a script run
        fragment = ""
    run = (id(ctx.cursors), fragment)  # Streamlit gives each run (and fragment run) a fresh cursors dict
    seen = st.session_state.get(CALLS_KEY)
    if not seen or seen[0] != run:
        seen = (run, {})
        st.session_state[CALLS_KEY] = seen
    count = seen[1].get(name, 0)
    seen[1][name] = count + 1
    return f"{name}.{fragment}.{count}" if fragment else f"{name}.{count}"


def waiting_text(title: str, ahead: int) -> str:
    """``"SAM automatic masks: waiting, 2 ahead of you"``."""
    return f"{title}: waiting, {ahead} ahead of you"


def _waiting_panel(slot: str, title: str) -> None:
    ticket = _tickets().get(slot)
    if ticket is None or ticket.state != jobs.WAITING:
        st.rerun()  # it started (or ended): the whole page takes it from here
    st.info(waiting_text(title, ticket.ahead()), icon=":material/hourglass_top:")
    st.caption("Heavy jobs run a few at a time so that everyone's sliders stay quick; yours starts "
               "when a place is free. The rest of the page keeps working meanwhile.")
    st.button("Cancel", key=f"heavy.cancel.{slot}", on_click=cancel, args=(slot,), icon=":material/close:")


_waiting_fragment = st.fragment(_waiting_panel, run_every=REFRESH_S)


def _wait(slot: str, ticket: jobs.Ticket, title: str, on_tick: Callable[[], None] | None) -> None:
    """Block until the ticket finishes: its place in line, then its progress bar, and a Cancel button."""
    box = st.empty()
    with box.container():
        status = st.empty()
        st.button("Cancel", key=f"heavy.cancel.{slot}", on_click=cancel, args=(slot,), icon=":material/close:")
    shown = None
    while not ticket.wait(_POLL_S):
        if ticket.state == jobs.WAITING:
            now = ("waiting", ticket.ahead())
            if now != shown:
                status.info(waiting_text(title, now[1]), icon=":material/hourglass_top:")
        else:
            fraction, text = ticket.progress or (0.0, "running...")
            now = (fraction, text)
            if now != shown:
                status.progress(fraction, text=f"{title}: {text}")
        if on_tick is not None:
            on_tick()
        shown = now
    box.empty()


def run(slot: str, key: Hashable, fn: Callable[[], Any], *, title: str, block: bool = False,
        on_tick: Callable[[], None] | None = None, seconds: float | None = None) -> Any:
    """``fn()`` through the heavy-job pool; None while it waits in line or after a cancel.

    Parameters
    ----------
    slot : str
        Which result of the page this is (one job per slot and session).
    key : hashable
        What identifies the work: equal keys (from any session) share one job.
    fn : callable
        The work, called without arguments on a pool thread: it must not draw anything.
        Its :func:`seglib.progress.report` calls move the progress bar and are where a
        cancelled job stops.
    title : str
        What the job is, for the waiting line and the progress bar.
    block : bool
        For work started by a button (the page will not ask again on its next run): wait here,
        showing the place in line, then the progress, with Cancel. Leaving the run early (another
        widget changed, the session closed) cancels the job. By default a job that must wait
        returns None at once and a small self-refreshing fragment shows its place instead.
    on_tick : callable, optional
        Called from this script run about four times a second while it waits (live charts).
    seconds : float, optional
        How long the work is expected to take (:data:`COSTS`); a short job may take the pool's
        express line instead of waiting behind long ones.

    Raises
    ------
    Exception
        Whatever ``fn`` raised.
    """
    if not block and _cancelled().get(slot) == key:  # (a button press is itself a "run again")
        st.info(f"{title}: cancelled.", icon=":material/block:")
        st.button("Run again", key=f"heavy.again.{slot}", on_click=_run_again, args=(slot,),
                  icon=":material/play_arrow:")
        return None
    _cancelled().pop(slot, None)
    ticket = _ticket(slot, key, fn, seconds)
    # A free worker takes a new job within milliseconds: only a job still in line after a moment
    # shows its place (a self-refreshing fragment); a running one is waited for here, with its progress.
    if not block and not ticket.wait(0.05) and ticket.state == jobs.WAITING:
        _waiting_fragment(slot, title)
        return None
    try:
        if not ticket.finished():
            _wait(slot, ticket, title, on_tick)
    except BaseException:  # Streamlit stops or reruns this script by raising through it
        if block:
            ticket.cancel()  # nobody will ask for it again
        raise
    if _tickets().get(slot) is ticket:
        del _tickets()[slot]
    try:
        value = ticket.result(0)
    except jobs.JobCancelled:
        st.info(f"{title}: cancelled.", icon=":material/block:")
        return None
    _remember(key)
    return value

"""Release of sessions whose browser has gone (ui.sessions), against a stand-in of Streamlit's runtime.

Time is an argument of ``sweep`` here: nothing waits or measures.
"""

from types import SimpleNamespace

import pytest

from streamlit.runtime.fragment import MemoryFragmentStorage
from streamlit.runtime.state import SessionState
from streamlit.testing.v1 import AppTest

from seglib.jobs import JobPool
from ui import sessions


class FakeRuntime:
    def __init__(self, active, stored):
        self.active, self.stored, self.closed = set(active), set(stored), []
        self.sessions = {}
        self._session_mgr = SimpleNamespace(list_sessions=lambda: [
            SimpleNamespace(session=self.session(sid)) for sid in sorted(self.active | self.stored)])
        self.orphan_passes = 0
        self.media_file_mgr = SimpleNamespace(remove_orphaned_files=self._orphans)

    def session(self, sid):
        """A stand-in session holding Streamlit's own state and fragment storage."""
        if sid not in self.sessions:
            self.sessions[sid] = SimpleNamespace(id=sid, _session_state=SessionState(),
                                                 _fragment_storage=MemoryFragmentStorage())
        return self.sessions[sid]

    def _orphans(self):
        self.orphan_passes += 1

    def is_active_session(self, sid):
        return sid in self.active

    def close_session(self, sid):
        self.closed.append(sid)
        self.stored.discard(sid)


@pytest.fixture
def pool(monkeypatch):
    pool = JobPool(workers=1, name="test-reaper")
    monkeypatch.setattr(sessions.jobs, "shared_pool", lambda: pool)
    yield pool
    pool.shutdown()


def test_a_session_gone_for_the_release_time_is_closed_and_its_jobs_cancelled(pool):
    import threading

    hold = threading.Event()
    pool.submit("busy", lambda: hold.wait(30))
    ticket = pool.submit("masks", lambda: None, owner="left")
    runtime = FakeRuntime(active={"here"}, stored={"left"})
    emptied = []
    reaper = sessions.Reaper(runtime, after=30, on_empty=lambda: emptied.append(1))
    assert reaper.sweep(now=100.0) == []          # first seen without a connection: kept (it may come back)
    assert reaper.sweep(now=129.0) == []
    assert reaper.sweep(now=130.0) == ["left"]    # 30 s without a connection: released
    assert runtime.closed == ["left"] and ticket.state == "cancelled"
    assert runtime.orphan_passes == 1  # its download files, only marked by the close, are deleted too
    assert reaper.sweep(now=500.0) == []          # the connected session is never closed
    assert emptied == []                          # someone is still here: caches stay
    hold.set()


def test_a_released_session_keeps_neither_its_state_nor_its_fragments(pool):
    """Something may still refer to a closed session (Streamlit's loop keeps the last one it served):
    what it held (widget values, pictures, a fragment's last arguments, a result) is emptied."""
    runtime = FakeRuntime(active={"here"}, stored={"left"})
    for sid in ("here", "left"):
        session = runtime.session(sid)
        session._session_state["picture"] = f"the picture of {sid}"
        session._fragment_storage.register(f"fragment of {sid}", lambda: None)
    reaper = sessions.Reaper(runtime, after=0, on_empty=lambda: None)
    assert reaper.sweep(now=0.0) == ["left"]
    left, here = runtime.sessions["left"], runtime.sessions["here"]
    assert "picture" not in left._session_state and not left._fragment_storage.contains("fragment of left")
    assert here._session_state["picture"] == "the picture of here"
    assert here._fragment_storage.contains("fragment of here")


def test_a_session_that_reconnects_starts_its_count_again(pool):
    runtime = FakeRuntime(active=set(), stored={"blip"})
    emptied = []
    reaper = sessions.Reaper(runtime, after=30, on_empty=lambda: emptied.append(1))
    reaper.sweep(now=0.0)
    runtime.active.add("blip")                    # the tab reconnected
    assert reaper.sweep(now=20.0) == []
    runtime.active.discard("blip")                # and left again
    assert reaper.sweep(now=40.0) == []
    assert reaper.sweep(now=69.0) == []
    assert reaper.sweep(now=70.0) == ["blip"]
    assert emptied == [1]                         # the last session left: result caches emptied


def test_release_caches_empties_the_stage_cache():
    import numpy as np

    from seglib import cache

    double = cache.cached_stage(lambda a: a * 2)
    double(np.arange(4))
    assert cache.total_bytes() > 0
    sessions.release_caches()
    assert cache.total_bytes() == 0


def test_release_caches_frees_cycles_frozen_while_sessions_were_alive():
    import gc
    import weakref

    class State:  # a session's state: full of reference cycles
        pass

    state = State()
    state.me = state
    alive = weakref.ref(state)
    gc.freeze()  # ui.memory froze while this session was alive
    del state
    gc.collect()
    assert alive() is not None  # frozen: a plain collection cannot free it
    try:
        sessions.release_caches()
        assert alive() is None
        assert gc.get_freeze_count() > 0  # what remains is frozen again: collections stay cheap
    finally:
        gc.unfreeze()


def test_caches_are_emptied_once_the_last_session_left_and_no_heavy_job_is_left(pool):
    import threading

    hold = threading.Event()
    started = threading.Event()
    pool.submit("a late felzenszwalb", lambda: started.set() or hold.wait(30))
    assert started.wait(30)
    runtime = FakeRuntime(active=set(), stored={"student"})
    emptied = []
    reaper = sessions.Reaper(runtime, after=0, on_empty=lambda: emptied.append(1))
    assert reaper.sweep(now=0.0) == ["student"]
    assert emptied == []              # a job still runs: it may cache its result after a release
    hold.set()
    assert pool.submit("flush", lambda: None).wait(30)
    reaper.sweep(now=1.0)
    assert emptied == [1]
    reaper.sweep(now=2.0)
    assert emptied == [1]             # once per emptying
    runtime.active.add("next class")
    reaper.sweep(now=3.0)
    runtime.active.discard("next class")
    reaper.sweep(now=4.0)             # first seen gone
    reaper.sweep(now=5.0)
    assert emptied == [1, 1]


def test_release_time_from_the_environment(monkeypatch):
    monkeypatch.delenv(sessions.RELEASE_ENV, raising=False)
    assert sessions.release_after() == sessions.DEFAULT_RELEASE_AFTER_S
    monkeypatch.setenv(sessions.RELEASE_ENV, "5")
    assert sessions.release_after() == 5.0
    monkeypatch.setenv(sessions.RELEASE_ENV, "soon")
    with pytest.raises(ValueError, match="SEGDASH_RELEASE_AFTER_S='soon'"):
        sessions.release_after()


def test_no_reaper_without_a_served_app():
    assert sessions.start_reaper() is False  # pytest: no Streamlit runtime


def test_an_app_test_run_is_not_a_served_app():
    # AppTest stands a mock in for Streamlit's runtime while its script runs: no reaper thread and no
    # helper process for it (app.py asks served() for both).
    script = "import streamlit as st\nfrom ui.sessions import served, start_reaper\nst.write(f'{served()} {start_reaper()}')"
    at = AppTest.from_string(script).run()
    assert not at.exception
    assert at.markdown[0].value == "False False"
    assert sessions.served() is False


def test_streamlit_sessions_still_hold_what_forget_empties():
    """``forget`` reaches into AppSession's private attributes: a Streamlit upgrade that renames them
    fails here, instead of silently keeping what closed sessions held."""
    import inspect

    from streamlit.runtime.app_session import AppSession

    source = inspect.getsource(AppSession.__init__)
    assert "self._fragment_storage" in source and "self._session_state = SessionState()" in source

"""Heavy jobs on a page (ui.heavy through AppTest): place in line, cancel, shared work, sessions that go away.

The shared pool is replaced by a one-worker pool that a test holds full with
a job it releases itself; nothing here measures time.
"""

import dataclasses
import threading

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import seglib
from seglib import isolation
from seglib.jobs import CostBook, JobPool
from ui import heavy, run

LONG = 30
CALLS: list[str] = []


def heavy_page():
    import streamlit as st

    from tests.app.test_heavy import CALLS
    from ui import heavy

    def work():
        CALLS.append("ran")
        return "the answer"

    st.text_input("Other work of the page", key="other")
    value = heavy.run("demo", ("demo", "same picture"), work, title="Automatic masks")
    st.markdown(f"result: {value}")


@pytest.fixture
def full_pool(monkeypatch):
    """A one-worker pool, held busy until the returned event is set."""
    pool = JobPool(workers=1, name="test-heavy")
    monkeypatch.setattr(heavy, "pool", lambda: pool)
    release, started = threading.Event(), threading.Event()

    def hold():
        started.set()
        release.wait(LONG)

    pool.submit("someone else's training", hold)
    assert started.wait(LONG)
    CALLS.clear()
    yield pool, release
    release.set()
    pool.shutdown()


def page():
    return AppTest.from_function(heavy_page, default_timeout=LONG).run()


def texts(at):
    return [m.value for m in at.markdown] + [i.value for i in at.info]


def test_a_queued_job_shows_its_place_and_the_page_keeps_working(full_pool):
    pool, release = full_pool
    at = page()
    assert not at.exception
    assert heavy.waiting_text("Automatic masks", 1) in texts(at)
    assert "result: None" in texts(at)
    assert at.button(key="heavy.cancel.demo").label == "Cancel"
    at.text_input(key="other").input("a cheap change").run()  # the page answers while the job waits
    assert heavy.waiting_text("Automatic masks", 1) in texts(at)
    assert pool.counts() == {"running": 1, "waiting": 1}  # asked again by the rerun: still one job, same place
    release.set()
    assert pool.submit("after", lambda: None).wait(LONG)
    at.run()
    assert "result: the answer" in texts(at)
    assert CALLS == ["ran"]


def test_cancel_drops_the_waiting_job_and_run_again_asks_anew(full_pool):
    pool, release = full_pool
    at = page()
    at.button(key="heavy.cancel.demo").click().run()
    assert not at.exception
    assert "Automatic masks: cancelled." in texts(at)
    assert pool.counts()["waiting"] == 0
    at.run()  # a rerun does not ask for the cancelled work again
    assert pool.counts()["waiting"] == 0 and "Automatic masks: cancelled." in texts(at)
    release.set()
    assert pool.submit("after", lambda: None).wait(LONG)
    assert CALLS == []
    at.button(key="heavy.again.demo").click().run()
    assert "result: the answer" in texts(at)
    assert CALLS == ["ran"]


def test_the_same_work_asked_by_several_sessions_runs_once(full_pool):
    pool, release = full_pool
    students = [page() for _ in range(3)]
    assert all(heavy.waiting_text("Automatic masks", 1) in texts(at) for at in students)
    assert pool.counts() == {"running": 1, "waiting": 1}
    release.set()
    assert pool.submit("after", lambda: None).wait(LONG)
    for at in students:
        at.run()
        assert "result: the answer" in texts(at)
    assert CALLS == ["ran"]


def test_a_job_of_a_session_that_went_away_is_dropped(full_pool, monkeypatch):
    pool, release = full_pool
    connected = {"yes": True}
    monkeypatch.setattr(heavy, "_session_alive", lambda session_id: lambda: connected["yes"])
    at = page()
    assert heavy.waiting_text("Automatic masks", 1) in texts(at)
    connected["yes"] = False  # the student closed the tab
    assert pool.counts() == {"running": 1, "waiting": 0}
    release.set()
    assert pool.submit("after", lambda: None).wait(LONG)
    assert CALLS == []


def test_the_session_check_follows_streamlits_runtime(monkeypatch):
    assert heavy._session_alive(None) is None  # no session (a notebook, a bare script)

    class Runtime:
        def is_active_session(self, session_id):
            return session_id == "connected"

    monkeypatch.setattr(heavy.runtime, "exists", lambda: True)
    monkeypatch.setattr(heavy.runtime, "get_instance", lambda: Runtime())
    assert heavy._session_alive("connected")() is True
    assert heavy._session_alive("gone")() is False


def test_a_free_pool_runs_the_job_at_once(monkeypatch):
    pool = JobPool(workers=1, name="test-heavy")
    monkeypatch.setattr(heavy, "pool", lambda: pool)
    CALLS.clear()
    try:
        at = page()
        assert "result: the answer" in texts(at) and not at.exception
        assert not [b for b in at.button if b.key == "heavy.cancel.demo"]
        assert CALLS == ["ran"]
    finally:
        pool.shutdown()


def slow_page():
    import threading

    import streamlit as st

    from ui import heavy

    def work():
        threading.Event().wait(0.5)  # longer than the moment a new job is given to be picked up
        return "the answer"

    st.markdown(f"result: {heavy.run('slow', ('slow', 'picture'), work, title='Encoder')}")


def test_a_job_that_starts_at_once_is_waited_for_not_shown_in_line(monkeypatch):
    pool = JobPool(workers=1, name="test-heavy")
    monkeypatch.setattr(heavy, "pool", lambda: pool)
    try:
        at = AppTest.from_function(slow_page, default_timeout=LONG).run()
        assert not at.exception
        assert "result: the answer" in texts(at)  # in the same run: no place in line, no refresh to wait for
        assert not [t for t in texts(at) if "ahead of you" in t]
    finally:
        pool.shutdown()


def button_page():
    import streamlit as st

    from tests.app.test_heavy import CALLS
    from ui import heavy

    def work():
        CALLS.append("ran")
        return "trained"

    def tick():
        CALLS.append(f"tick: {heavy.pool().counts()['waiting']} waiting")

    if st.button("Train", key="start"):
        st.markdown(f"result: {heavy.run('train', ('train', 'me'), work, title='Training', block=True, on_tick=tick)}")


def test_button_work_waits_in_line_on_the_page_then_runs(monkeypatch):
    pool = JobPool(workers=1, name="test-heavy")
    monkeypatch.setattr(heavy, "pool", lambda: pool)
    started = threading.Event()

    def hold_until_someone_queues():
        started.set()
        while pool.counts()["waiting"] == 0:  # released as soon as the page's job is in line
            threading.Event().wait(0.01)

    CALLS.clear()
    try:
        pool.submit("someone else's sweep", hold_until_someone_queues)
        assert started.wait(LONG)
        at = AppTest.from_function(button_page, default_timeout=LONG).run()
        at.button(key="start").click().run()
        assert not at.exception
        assert "result: trained" in texts(at)
        assert CALLS.count("ran") == 1 and all(c.startswith("tick") for c in CALLS if c != "ran")
        assert not [b for b in at.button if b.key == "heavy.cancel.train"]  # gone once finished
    finally:
        pool.shutdown()


def two_panels_page():
    import streamlit as st

    from ui import heavy

    slots = [heavy.call_slot("result.kmeans") for _ in range(2)] + [heavy.call_slot("result.otsu")]
    st.markdown(" ".join(slots))


def test_each_call_of_a_run_has_its_own_slot_and_the_next_run_finds_them_again():
    at = AppTest.from_function(two_panels_page, default_timeout=LONG).run()
    first = at.markdown[0].value
    assert first == "result.kmeans.0 result.kmeans.1 result.otsu.0"
    at.run()
    assert at.markdown[0].value == first


def test_a_short_run_takes_the_express_line_past_a_long_job(monkeypatch):
    """A run predicted to take a second or two goes through the pool but does not wait behind a
    training run that holds its only general worker."""
    pool = JobPool(workers=1, express=1, name="test-express")
    monkeypatch.setattr(heavy, "pool", lambda: pool)
    release, started = threading.Event(), threading.Event()
    pool.submit("someone else's training", lambda: (started.set(), release.wait(LONG)))
    assert started.wait(LONG)
    try:
        def express_page():
            import streamlit as st

            from ui import heavy

            value = heavy.run("demo", ("demo", "big picture"), lambda: "the answer", title="k-means",
                              seconds=1.5)
            st.markdown(f"result: {value}")

        at = AppTest.from_function(express_page, default_timeout=LONG).run()
        for _ in range(20):  # the waiting line, if any, refreshes itself: rerun until the result shows
            if "result: the answer" in texts(at):
                break
            assert pool.submit("probe", lambda: None, seconds=0.1).wait(LONG)
            at.run()
        assert "result: the answer" in texts(at)
        assert pool.counts()["running"] == 1  # the training run still holds the general worker
    finally:
        release.set()
        pool.shutdown()


def test_a_run_slowed_by_other_sessions_is_not_judged_heavy(monkeypatch):
    """The cost book learns what a run cost its thread, not its wall time, which other sessions stretch:
    a cheap method that took 30 s on a crowded server stays out of the heavy-job line."""
    book = CostBook(heavy_seconds=1.0)
    monkeypatch.setattr(heavy, "COSTS", book)
    real = seglib.segment

    def crowded(image, method, **options):
        return dataclasses.replace(real(image, method, **options), elapsed_s=30.0)

    monkeypatch.setattr(seglib, "segment", crowded)
    image = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    result = run._call(image, "global-threshold", {}, {}, {}, None, image_key="picture")
    assert result.elapsed_s == 30.0
    assert book.expected("global-threshold", 120 * 160, picture="picture") < 1.0
    assert not book.is_heavy("global-threshold", 120 * 160, picture="picture")
    assert not book.is_heavy("global-threshold", 1024 * 768)  # nor on a new picture at the working size


def test_a_torch_method_is_judged_by_its_wall_time():
    assert run.cost_seconds(seglib.method("unet"), wall=3.0, cpu=0.2) == 3.0  # its work runs on torch's threads
    assert run.cost_seconds(seglib.method("kmeans"), wall=3.0, cpu=0.2) == 0.2


def test_a_heavy_classical_run_goes_to_a_child_process_and_other_runs_stay(monkeypatch):
    """On a pool worker, seglib's own methods without weights run in a child process (a cancel kills
    it), and their picture stays heavy; deep methods, methods registered elsewhere and runs outside
    the pool stay in this process."""
    children = []
    real = isolation.call

    def recorded(fn, *args, **kwargs):
        children.append(args[1].name)  # the Method itself goes to the child (it imports only its module)
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(run.isolation, "call", recorded)
    book = CostBook(heavy_seconds=1.0)
    monkeypatch.setattr(heavy, "COSTS", book)
    image = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    pool = JobPool(workers=1, name="test-child")
    try:
        there = pool.submit("felzenszwalb", lambda: run._call(image, "felzenszwalb", {"scale": 50}, {}, {}, None,
                                                              image_key="picture-a"))
        there = there.result(LONG)
        assert children == ["felzenszwalb"]
        assert book.is_heavy("felzenszwalb", 100, picture="picture-a")  # its child keeps the early stages
        assert not book.is_heavy("felzenszwalb", 100, picture="picture-b") and not book.is_heavy("slic", 100,
                                                                                                 picture="picture-a")
        assert [run.in_child(seglib.method(m)) for m in ("felzenszwalb", "unet")] == [False, False]  # not in a job
        judged = pool.submit("judge", lambda: [run.in_child(seglib.method(m)) for m in ("felzenszwalb", "unet")])
        assert judged.result(LONG) == [True, False]
    finally:
        pool.shutdown()
    here = run._call(image, "felzenszwalb", {"scale": 50}, {}, {}, None)
    assert children == ["felzenszwalb"]  # outside the pool: in this process
    np.testing.assert_array_equal(there.labels, here.labels)
    assert set(there.stages) == set(here.stages)


def test_a_method_registered_outside_seglib_stays_in_this_process(monkeypatch):
    spec = dataclasses.replace(seglib.method("global-threshold"), func=lambda image, **_: image)
    monkeypatch.setattr(spec.func, "__module__", "my_lab.methods")
    pool = JobPool(workers=1, name="test-foreign")
    try:
        assert pool.submit("judge", lambda: run.in_child(spec)).result(LONG) is False
        assert pool.submit("judge 2", lambda: run.in_child(seglib.method("global-threshold"))).result(LONG) is True
    finally:
        pool.shutdown()


def test_a_picture_a_method_ran_on_in_a_child_keeps_going_there(monkeypatch):
    """Once a method ran on a picture in the pool's child, its next runs on that picture go through the
    pool too, however cheap they now are: the child's stage cache holds the early stages, this
    process's does not (otherwise every other slider move would pay them again here)."""
    from ui.image_picker import PickedImage

    book = CostBook(heavy_seconds=1.0)
    monkeypatch.setattr(heavy, "COSTS", book)
    image = np.zeros((100, 100, 3), dtype=np.uint8)
    picked = PickedImage(image=image, name="test", key="picture-a", origin="upload")
    book.observe("normalized-cut", 100 * 100, 0.05, picture="picture-a")  # a late-stage slider: quick
    method = seglib.method("normalized-cut")
    assert run._heavy_now(picked, method, None, "key-1") == (False, book.expected("normalized-cut", 10000,
                                                                                picture="picture-a"))
    book.observe("normalized-cut", 100 * 100, 0.05, picture="picture-a", stay=True)  # a run in the child
    heavy_now, seconds = run._heavy_now(picked, method, None, "key-2")
    assert heavy_now and seconds < 1.0  # through the pool, on its express line

"""The heavy-job pool: bounded, places in line, cancel, shared identical work, owners that go away.

Every wait here is on an event the test controls; nothing asserts a duration.
"""

import gc
import os
import sys
import threading
import time
import weakref

import pytest

from seglib import progress
from seglib.jobs import (CostBook, JobCancelled, JobPool, checkpoint, default_cpus, default_express, default_nice,
                         default_workers, usable_cpus)

LONG = 30  # seconds a test waits for an event at most before failing (never reached when it works)


def blocker(pool, key="blocker", seconds=None):
    """A job that holds a worker until the returned event is set."""
    release, started = threading.Event(), threading.Event()

    def hold():
        started.set()
        assert release.wait(LONG)
        return key

    ticket = pool.submit(key, hold, seconds=seconds)
    assert started.wait(LONG)
    return ticket, release


@pytest.fixture
def pool():
    pool = JobPool(workers=1)
    yield pool
    pool.shutdown()


def test_a_full_pool_queues_jobs_with_their_place_in_line(pool):
    held, release = blocker(pool)
    tickets = [pool.submit(f"job{i}", lambda i=i: i) for i in range(3)]
    assert held.state == "running" and held.ahead() == 0
    assert [t.state for t in tickets] == ["waiting"] * 3
    assert [t.ahead() for t in tickets] == [1, 2, 3]  # the running job, then those queued before
    assert pool.counts() == {"running": 1, "waiting": 3}
    release.set()
    assert [t.result(LONG) for t in tickets] == [0, 1, 2]
    assert held.result(LONG) == "blocker" and held.state == "done"


def test_at_most_workers_jobs_run_at_once():
    pool = JobPool(workers=2)
    try:
        first, release_first = blocker(pool, "a")
        second, release_second = blocker(pool, "b")
        third = pool.submit("c", lambda: "c")
        assert (first.state, second.state, third.state) == ("running", "running", "waiting")
        assert third.ahead() == 2
        release_first.set()
        assert third.result(LONG) == "c"
        release_second.set()
    finally:
        pool.shutdown()


def test_a_cancelled_waiting_job_never_runs_and_those_behind_move_up(pool):
    held, release = blocker(pool)
    calls = []
    doomed = pool.submit("doomed", lambda: calls.append("doomed"))
    behind = pool.submit("behind", lambda: calls.append("behind") or "ran")
    assert behind.ahead() == 2
    doomed.cancel()
    assert doomed.state == "cancelled" and doomed.finished()
    assert behind.ahead() == 1
    with pytest.raises(JobCancelled):
        doomed.result(0)
    release.set()
    assert behind.result(LONG) == "ran"
    assert calls == ["behind"]


def test_identical_work_asked_at_once_is_computed_once(pool):
    held, release = blocker(pool)
    calls = []

    def encode():
        calls.append(1)
        return "embedding"

    tickets = [pool.submit(("sam", "coins"), encode, owner=f"session{i}") for i in range(30)]
    assert pool.counts()["waiting"] == 1
    release.set()
    assert {t.result(LONG) for t in tickets} == {"embedding"}
    assert len(calls) == 1


def test_a_shared_job_survives_until_its_last_ticket_is_cancelled(pool):
    held, release = blocker(pool)
    calls = []
    one = pool.submit("same", lambda: calls.append(1) or "value")
    two = pool.submit("same", lambda: calls.append(2) or "value")
    one.cancel()
    assert two.state == "waiting" and two.ahead() == 1
    release.set()
    assert two.result(LONG) == "value"
    assert calls == [1]  # the first submitter's function, run once
    with pytest.raises(JobCancelled):
        one.result(0)


def test_a_job_whose_owner_is_gone_is_dropped_before_it_starts(pool):
    held, release = blocker(pool)
    connected = {"student": True}
    calls = []
    ticket = pool.submit("auto-masks", lambda: calls.append(1), owner="student",
                         alive=lambda: connected["student"])
    assert ticket.state == "waiting"
    connected["student"] = False  # the browser tab closed
    assert ticket.state == "waiting" and not ticket.wanted()
    assert pool.counts() == {"running": 1, "waiting": 0}
    release.set()
    assert held.result(LONG) == "blocker"
    assert pool.submit("after", lambda: "next").result(LONG) == "next"  # the worker moved on
    assert calls == []


def test_cancel_owner_cancels_only_that_owners_tickets(pool):
    held, release = blocker(pool)
    mine = pool.submit("a", lambda: "a", owner="me")
    theirs = pool.submit("b", lambda: "b", owner="them")
    assert pool.cancel_owner("me") == 1
    assert mine.state == "cancelled" and theirs.state == "waiting" and theirs.ahead() == 1
    release.set()
    assert theirs.result(LONG) == "b"


def test_a_running_job_stops_at_its_next_progress_report_once_nobody_wants_it(pool):
    reached, go_on = threading.Event(), threading.Event()
    steps = []

    def long_loop():
        for step in range(100):
            progress.report(step / 100, f"step {step}")
            steps.append(step)
            if step == 3:
                reached.set()
                assert go_on.wait(LONG)
        return "finished"

    ticket = pool.submit("loop", long_loop)
    assert reached.wait(LONG)
    assert ticket.progress == (0.03, "step 3")
    ticket.cancel()
    go_on.set()
    with pytest.raises(JobCancelled):
        ticket.result(LONG)
    assert steps == [0, 1, 2, 3]  # stopped at the report after the cancel
    assert pool.submit("next", lambda: "free again").result(LONG) == "free again"


def test_checkpoint_outside_a_job_does_nothing_and_inside_stops_an_unwanted_job(pool):
    checkpoint()
    reached, go_on = threading.Event(), threading.Event()

    def work():
        reached.set()
        assert go_on.wait(LONG)
        checkpoint()
        return "not reached"

    ticket = pool.submit("work", work)
    assert reached.wait(LONG)
    ticket.cancel()
    go_on.set()
    with pytest.raises(JobCancelled):
        ticket.result(LONG)


def test_a_failure_reaches_every_ticket_and_the_pool_carries_on(pool):
    held, release = blocker(pool)

    def broken():
        raise ValueError("image is empty")

    tickets = [pool.submit("broken", broken) for _ in range(2)]
    release.set()
    for ticket in tickets:
        with pytest.raises(ValueError, match="image is empty"):
            ticket.result(LONG)
        assert ticket.state == "failed"
    assert pool.submit("fine", lambda: 1).result(LONG) == 1


def test_a_finished_key_runs_again_when_asked_again(pool):
    calls = []
    assert pool.submit("k", lambda: calls.append(1) or len(calls)).result(LONG) == 1
    assert pool.submit("k", lambda: calls.append(1) or len(calls)).result(LONG) == 2


def test_a_result_is_let_go_once_its_tickets_are_gone(pool):
    """An idle worker does not keep its last job's result (tens of MB for a big picture's stages)."""

    class Result:
        pass

    ticket = pool.submit("big result", Result)
    result = weakref.ref(ticket.result(LONG))
    del ticket
    deadline = time.monotonic() + LONG
    while result() is not None and time.monotonic() < deadline:  # the worker finishes its bookkeeping
        gc.collect()
        time.sleep(0.01)
    assert result() is None


def test_result_says_when_it_is_not_finished_in_time(pool):
    held, release = blocker(pool)
    with pytest.raises(TimeoutError, match="still running"):
        held.result(0)
    release.set()


def test_bad_sizes_and_settings_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="workers=0"):
        JobPool(0)
    monkeypatch.setenv("SEGDASH_HEAVY_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("SEGDASH_HEAVY_WORKERS", "many")
    with pytest.raises(ValueError, match="SEGDASH_HEAVY_WORKERS='many'"):
        default_workers()
    monkeypatch.delenv("SEGDASH_HEAVY_WORKERS")
    assert default_workers() >= 1
    with pytest.raises(ValueError, match="heavy_seconds"):
        CostBook(0)


@pytest.mark.parametrize("read, name, default, allowed, bad, message", [
    (default_nice, "SEGDASH_HEAVY_NICE", 10, "0", ("-1", "20", "low"), "0 to 19"),
    (default_express, "SEGDASH_EXPRESS_WORKERS", 1, "0", ("-1", "one"), "at least 0"),
    (default_cpus, "SEGDASH_HEAVY_CPUS", max(1, len(usable_cpus()) - 1), "3", ("0", "all"), "at least 1"),
])
def test_pool_settings_from_the_environment_are_checked(monkeypatch, read, name, default, allowed, bad, message):
    monkeypatch.delenv(name, raising=False)
    assert read() == default
    monkeypatch.setenv(name, allowed)
    assert read() == int(allowed)
    for text in bad:
        monkeypatch.setenv(name, text)
        with pytest.raises(ValueError, match=f"{name}='{text}'.*{message}"):
            read()


def test_pool_arguments_are_checked():
    for kwargs, match in (({"nice": 20}, "nice=20"), ({"express": -1}, "express=-1"),
                          ({"short_seconds": 0}, "short_seconds=0")):
        with pytest.raises(ValueError, match=match):
            JobPool(1, **kwargs)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are a Linux feature")
def test_workers_run_at_a_lower_priority_than_the_caller():
    def priority():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = priority()
    pool = JobPool(workers=1, name="test-nice", nice=5)
    try:
        assert pool.submit("prio", priority).result(10) == min(19, mine + 5)
    finally:
        pool.shutdown()
    assert priority() == mine  # the caller's own thread is untouched
    plain = JobPool(workers=1, name="test-nice-0")
    try:
        assert plain.submit("prio", priority).result(10) == mine
    finally:
        plain.shutdown()


def test_cost_book_predicts_per_picture_and_the_worst_rate_for_new_pictures():
    book = CostBook(heavy_seconds=1.0, pictures=2)
    assert book.expected("felzenszwalb", 10**6) is None
    assert not book.is_heavy("felzenszwalb", 10**6) and book.is_heavy("unet", 10**6, unknown=True)
    book.observe("felzenszwalb", 500_000, 0.6, picture="coins")
    assert book.expected("felzenszwalb", 10**6) == pytest.approx(1.2)
    assert book.is_heavy("felzenszwalb", 10**6) and not book.is_heavy("felzenszwalb", 200_000)
    # SAM: the encoder's first run is slow, the next prompts on that picture are quick
    book.observe("sam", 10**6, 8.0, picture="coins")
    book.observe("sam", 10**6, 0.14, picture="coins")
    assert not book.is_heavy("sam", 10**6, picture="coins")
    assert book.is_heavy("sam", 10**6, picture="astronaut")  # a new picture: the encoder again
    book.observe("sam", 10**6, 0.1, picture="a")
    book.observe("sam", 10**6, 0.1, picture="b")  # only two pictures are remembered: coins is forgotten
    assert book.is_heavy("sam", 10**6, picture="coins")


def test_a_picture_whose_run_stays_remains_heavy_however_quick_its_next_runs():
    book = CostBook(heavy_seconds=1.0, pictures=2)
    book.observe("normalized-cut", 10**6, 6.0, picture="coins", stay=True)  # in a pool worker's child
    book.observe("normalized-cut", 10**6, 0.1, picture="coins")  # a late stage, from the child's cache
    assert book.is_heavy("normalized-cut", 10**6, picture="coins")
    assert book.expected("normalized-cut", 10**6, picture="coins") == pytest.approx(0.1)  # on the express line
    book.observe("normalized-cut", 10**6, 0.1, picture="camera")  # ran here: quick here
    assert not book.is_heavy("normalized-cut", 10**6, picture="camera")


def test_a_short_job_takes_the_express_line_while_a_long_one_holds_the_workers():
    pool = JobPool(workers=1, express=1, short_seconds=5.0)
    try:
        long_job, release_long = blocker(pool, "train", seconds=None)  # unknown length: general workers only
        waiting_long = pool.submit("felzenszwalb", lambda: "long", seconds=20.0)
        short = pool.submit("kmeans on a big picture", lambda: "short", seconds=1.5)
        assert short.result(LONG) == "short"              # did not wait for the training run
        assert waiting_long.state == "waiting" and waiting_long.ahead() == 1  # long work keeps its line
        assert pool.counts() == {"running": 1, "waiting": 1}
        release_long.set()
        assert waiting_long.result(LONG) == "long" and long_job.result(LONG) == "train"
    finally:
        pool.shutdown()


def test_short_jobs_queue_on_both_lines_and_show_the_nearer_place():
    pool = JobPool(workers=1, express=1, short_seconds=5.0)
    try:
        general, release_general = blocker(pool, "long", seconds=30.0)
        express, release_express = blocker(pool, "short-1", seconds=1.0)  # general busy: the express worker
        assert general.state == express.state == "running"
        queued_long = pool.submit("long-2", lambda: 2, seconds=30.0)
        queued_short = pool.submit("short-2", lambda: 3, seconds=1.0)
        assert queued_long.ahead() == 1           # the general worker's job
        assert queued_short.ahead() == 1          # the express worker's job (the general line has 2 ahead)
        release_express.set()
        assert queued_short.result(LONG) == 3 and queued_long.state == "waiting"
        release_general.set()
        assert queued_long.result(LONG) == 2
    finally:
        pool.shutdown()

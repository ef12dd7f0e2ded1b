"""seglib.isolation: calls in a child process, their errors, progress, cancellation and priority.

Each test starts real child processes (about a second each); nothing here measures time beyond
"within a generous deadline".
"""

import os
import threading
import time

import numpy as np
import pytest

import seglib
from seglib import isolation, jobs, progress
from seglib.jobs import CANCELLED, JobCancelled, JobPool
from seglib.traditional import clustering

LONG = 60


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie (killed, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1].startswith("Z")
    except OSError:
        return True


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("this error cannot be pickled")


def raise_unpicklable():
    raise Unpicklable("bad news")


def return_unpicklable():
    return threading.Lock()


def report_twice():
    progress.report(0.25, "a quarter")
    progress.report(0.75, "three quarters")
    return "done"


@pytest.fixture
def worker():
    worker = isolation.ChildWorker()
    yield worker
    worker.close()


def test_a_call_runs_in_another_process_and_gives_its_value_and_cpu_time(worker):
    outcome = worker.call(os.getpid)
    assert outcome.value != os.getpid() and outcome.value == worker.pid
    assert outcome.cpu_s >= 0
    assert worker.call(sum, ([1, 2, 3],)).value == 6
    assert worker.pid == outcome.value  # the same child serves the next call


def test_a_segmentation_comes_back_equal_to_one_made_here(worker):
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    here = seglib.segment(image, "felzenszwalb", scale=50)
    there = worker.call(seglib.segment, (image, "felzenszwalb"), {"scale": 50}).value
    np.testing.assert_array_equal(there.labels, here.labels)
    assert set(there.stages) == set(here.stages) and there.params == here.params


def test_the_calls_error_is_raised_here_and_the_child_carries_on(worker):
    with pytest.raises(ValueError, match="invalid literal"):
        worker.call(int, ("not a number",))
    pid = worker.pid
    assert pid is not None
    with pytest.raises(KeyError, match="unknown method 'no-such-method'"):
        worker.call(seglib.segment, (np.zeros((4, 4)), "no-such-method"))
    assert worker.pid == pid


def test_what_cannot_be_pickled_arrives_as_an_error_that_says_what_it_was(worker):
    with pytest.raises(RuntimeError, match="Unpicklable: bad news"):
        worker.call(raise_unpicklable)
    with pytest.raises(RuntimeError, match="could not send back the call's value"):
        worker.call(return_unpicklable)
    assert worker.call(abs, (-2,)).value == 2


def test_a_child_that_dies_is_reported_and_the_next_call_starts_another(worker):
    with pytest.raises(isolation.ChildDied, match="exit code 3"):
        worker.call(os._exit, (3,))
    assert worker.pid is None
    assert worker.call(abs, (-5,)).value == 5


def kill_myself():
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def test_a_child_killed_by_the_system_says_it_may_have_run_out_of_memory(worker):
    # The kernel's out-of-memory killer ends a process with SIGKILL: the server survives, the page says why.
    with pytest.raises(isolation.ChildDied, match=r"exit code -9 \(killed: out of memory\?\)"):
        worker.call(kill_myself)
    assert worker.call(abs, (-3,)).value == 3


def test_the_child_is_the_first_the_out_of_memory_killer_takes(worker):
    pid = worker.call(os.getpid).value
    try:
        with open(f"/proc/{pid}/oom_score_adj") as adj:
            assert adj.read().strip() == "1000"
    except FileNotFoundError:
        pytest.skip("no /proc/<pid>/oom_score_adj: not Linux")


def test_progress_reports_of_the_child_reach_the_callers_listener(worker):
    seen = []
    with progress.listen(lambda fraction, text: seen.append((fraction, text))):
        assert worker.call(report_twice).value == "done"
    assert seen == [(0.25, "a quarter"), (0.75, "three quarters")]


def test_when_should_stop_raises_the_child_is_killed_at_once(worker):
    pid = worker.call(os.getpid).value
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()

    def should_stop():
        if stop.is_set():
            raise JobCancelled("nobody waits")

    with pytest.raises(JobCancelled):
        worker.call(time.sleep, (LONG,), should_stop=should_stop)  # native sleep: no checkpoint inside
    assert _gone(pid)
    assert worker.call(abs, (-1,)).value == 1


def test_an_idle_child_ends_by_itself():
    worker = isolation.ChildWorker(idle_s=0.2)
    pid = worker.call(os.getpid).value
    deadline = time.monotonic() + LONG
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pid)
    assert worker.call(abs, (-7,)).value == 7  # and the next call starts another
    worker.close()


def test_the_child_runs_at_lower_priority(worker):
    here = os.getpriority(os.PRIO_PROCESS, 0)
    if here > 14:
        pytest.skip(f"this process already runs at nice {here}: no room to lower it by 5")
    low = isolation.ChildWorker(nice=5)
    try:
        assert low.call(os.getpriority, (os.PRIO_PROCESS, 0)).value == here + 5
    finally:
        low.close()


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity on this system")
def test_the_child_keeps_to_the_last_cpus_it_is_given(worker):
    usable = jobs.usable_cpus()
    assert worker.call(os.sched_getaffinity, (0,)).value == set(usable)  # by default, anywhere
    confined = isolation.ChildWorker(cpus=1)
    try:
        assert confined.call(os.sched_getaffinity, (0,)).value == {usable[-1]}
    finally:
        confined.close()
    assert os.sched_getaffinity(0) == set(usable)  # the caller's own are untouched


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity on this system")
def test_the_module_call_keeps_its_children_to_the_configured_cpus(monkeypatch):
    usable = jobs.usable_cpus()
    monkeypatch.setenv("SEGDASH_HEAVY_CPUS", "1")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(isolation.call(os.sched_getaffinity, 0).value))
    thread.start()  # a new thread: a worker of its own, started with today's setting
    thread.join(LONG)
    assert seen == [{usable[-1]}]


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="nice"):
        isolation.ChildWorker(nice=25)
    with pytest.raises(ValueError, match="idle_s"):
        isolation.ChildWorker(idle_s=-1)
    with pytest.raises(ValueError, match="cpus"):
        isolation.ChildWorker(cpus=0)


def test_a_pool_job_calls_a_child_at_the_workers_priority_and_a_cancel_kills_it():
    pool = JobPool(workers=1, name="test-isolation", nice=3)
    pids = []

    def work():
        pids.append(isolation.call(os.getpid).value)
        priority = isolation.call(os.getpriority, os.PRIO_PROCESS, 0).value
        pids.append(priority)
        isolation.call(time.sleep, LONG)

    try:
        ticket = pool.submit("sleep", work)
        deadline = time.monotonic() + LONG
        while len(pids) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        child, priority = pids
        assert priority == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 3)
        ticket.cancel()
        assert ticket.wait(LONG) and ticket.state == CANCELLED
        deadline = time.monotonic() + LONG
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(child)
    finally:
        pool.shutdown()


def test_the_module_call_keeps_one_worker_per_thread():
    first = isolation.call(os.getpid).value
    assert isolation.call(os.getpid).value == first
    other = []
    thread = threading.Thread(target=lambda: other.append(isolation.call(os.getpid).value))
    thread.start()
    thread.join(LONG)
    assert other and other[0] != first



def test_every_method_the_dashboard_sends_to_a_child_gives_the_same_result_there(worker):
    # ui.run sends the Method itself (the child imports only its module): every one of seglib's own
    # methods without weights must pickle, run there and come back as it runs here.
    image = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    methods = [m for m in seglib.methods() if not m.takes_weights]
    assert len(methods) >= 20
    for method in methods:
        there = worker.call(seglib.segment, (image, method), {"keep_scores": False}).value
        here = seglib.segment(image, method.name, keep_scores=False)
        np.testing.assert_array_equal(there.labels, here.labels, err_msg=method.name)
        assert list(there.stages) == list(here.stages) and there.params == here.params, method.name


def test_fits_run_in_the_helper_while_offloading_is_on_and_here_when_it_fails(monkeypatch):
    features = np.random.default_rng(0).random((3000, 3))
    here = clustering.fit_kmeans(features, 4), clustering.fit_fuzzy_cmeans(features, 3, 2.3)
    assert isolation._helper is None  # offloading is off unless a served app turns it on
    monkeypatch.setattr(isolation, "_offloading", True)
    try:
        there = clustering.fit_kmeans(features, 4), clustering.fit_fuzzy_cmeans(features, 3, 2.3)
        helper = isolation._helper
        assert helper is not None and helper.pid not in (None, os.getpid())
        np.testing.assert_array_equal(there[0], here[0])
        np.testing.assert_array_equal(there[1][0], here[1][0])
        np.testing.assert_array_equal(there[1][1], here[1][1])
        pid = helper.pid
        helper.close()  # it ended (idle, killed): the next fit starts another
        np.testing.assert_array_equal(clustering.fit_kmeans(features, 4), here[0])
        assert helper.pid not in (None, pid)

        def dies(self, *args, **kwargs):
            raise isolation.ChildDied("the child process ended before answering")

        monkeypatch.setattr(isolation.ChildWorker, "call", dies)
        np.testing.assert_array_equal(clustering.fit_kmeans(features, 4), here[0])  # then it runs here
    finally:
        if isolation._helper is not None:
            isolation._helper.close()
        monkeypatch.setattr(isolation, "_helper", None)


def test_offload_turns_it_on_and_off(monkeypatch):
    monkeypatch.setattr(isolation, "_offloading", False)
    isolation.offload()
    assert isolation._offloading
    isolation.offload(False)
    assert not isolation._offloading

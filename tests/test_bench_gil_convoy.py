"""benchmarks.bench_gil_convoy measures what it says, on a tiny picture (nothing is timed against a goal)."""

import sys
import time

import numpy as np

from benchmarks import bench_gil_convoy
from benchmarks.bench_gil_convoy import Busy, time_moves


def test_busy_threads_do_python_work_until_stopped():
    with Busy(2) as threads:
        give_up = time.monotonic() + 60  # a bound on waiting, not a timing: a loaded machine is slow
        while threads.done < 4 and time.monotonic() < give_up:
            time_moves("global-threshold", "threshold", [0.4, 0.6], np.zeros((8, 8)), 1)
    done = threads.done
    assert done >= 4 and threads.rate > 0
    assert threads.done == done  # stopped: no more work after the block


def test_a_run_gives_every_method_and_setting_and_restores_the_interval(monkeypatch):
    image = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    monkeypatch.setattr(bench_gil_convoy, "load_sample", lambda name: image)
    monkeypatch.setattr(bench_gil_convoy, "MOVES", [("kmeans", "n_clusters", [2, 3], "tiny"),
                                                     ("global-threshold", "threshold", [0.3, 0.5], "tiny")])
    before = sys.getswitchinterval()
    rows = bench_gil_convoy.run(runs=2, busy=[1], intervals=[2.0, 0.5])
    assert sys.getswitchinterval() == before
    assert [row["method (sample)"] for row in rows[:2]] == ["kmeans (tiny)", "global-threshold (tiny)"]
    for row in rows[:2]:
        assert row["alone ms"] > 0 and row["1 busy, 2 ms"] > 0 and row["1 busy, 0.5 ms"] > 0
    assert rows[2]["1 busy, 2 ms"] > 0 and rows[2]["1 busy, 0.5 ms"] > 0

"""benchmarks.bench_heavy_lock measures what it says, on a tiny picture (nothing is timed against a goal)."""

import numpy as np
import pytest

from benchmarks.bench_heavy_lock import MOVE_S, _move, measure
from seglib.jobs import JobPool


def test_a_move_does_its_share_of_work():
    assert _move() >= MOVE_S


@pytest.mark.parametrize("mode", ["thread", "child"])
def test_a_measure_runs_the_method_beside_moves_and_frees_the_worker_after_a_cancel(mode):
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    pool = JobPool(workers=1, name="test-bench-lock")
    try:
        row = measure(image, mode, 50.0, pool)
    finally:
        pool.shutdown()
    assert row["heavy run in"] == mode and row["moves"] >= 1
    assert row["move max ms"] >= row["move p95 ms"] >= row["move p50 ms"] >= 1000 * MOVE_S
    assert row["worker free after cancel s"] >= 0

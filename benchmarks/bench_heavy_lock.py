"""A heavy run beside a session's slider moves, in the server's own thread or in a child process.

Run: ``python -m benchmarks.bench_heavy_lock [--sample retina] [--runs 2] [--busy 2]``

One heavy-job pool (:class:`seglib.jobs.JobPool`, one worker at the dashboard's lower priority)
runs felzenszwalb on a bundled sample at full size, while another thread of the same process
stands for a session's slider moves: again and again it does about 2 ms of Python work and
notes how long that took. Two ways, alternating (``--runs`` times each):

- ``thread``: the pool's worker runs the method itself, as before ``seglib.isolation``;
- ``child``: the worker hands it to its child process (:func:`seglib.isolation.call`), as
  ``ui.run`` does for heavy classical runs.

The table gives the move's median, p95 and longest time (a move that waits for the interpreter
lock takes longer), and how long after a cancel the pool's worker was free again (the thread
can only stop when the method returns; the child is killed). ``--busy N`` starts N processes
that keep a core busy at normal priority meanwhile, as the other sessions of a loaded server do:
then the pool's low-priority thread is often off the CPU while it holds the interpreter lock.

Prints a Markdown table; nothing passes or fails.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import threading
import time

import seglib
from seglib import isolation
from seglib.jobs import JobPool, default_nice
from seglib.samples import load_sample

from .harness import percentile, table

MOVE_S = 0.002


def _move() -> float:
    """About 2 ms of Python work; returns how long it took (longer when the lock was elsewhere)."""
    start = time.perf_counter()
    while time.perf_counter() - start < MOVE_S:
        sum(range(200))
    return time.perf_counter() - start


def _spin() -> None:
    while True:
        pass


def _run(image, mode: str, scale: float):
    options = dict(working_size=None, keep_scores=False, scale=scale)
    if mode == "child":
        return isolation.call(seglib.segment, image, "felzenszwalb", **options).value
    return seglib.segment(image, "felzenszwalb", **options)


def measure(image, mode: str, scale: float, pool: JobPool) -> dict:
    """One heavy run beside the moves, then one cancelled run."""
    times: list[float] = []
    done = threading.Event()

    def moves():
        while True:
            times.append(_move())
            if done.wait(0.005):
                return

    mover = threading.Thread(target=moves)
    mover.start()
    start = time.perf_counter()
    pool.submit(("run", mode, scale), lambda: _run(image, mode, scale)).result()
    wall = time.perf_counter() - start
    done.set()
    mover.join()

    ticket = pool.submit(("cancelled", mode, scale), lambda: _run(image, mode, scale + 1))
    time.sleep(1.0)  # well inside the run
    cancelled = time.perf_counter()
    ticket.cancel()
    pool.submit(("probe", mode, scale), lambda: None).result()
    free = time.perf_counter() - cancelled

    ms = [1000 * t for t in times]
    return {"heavy run in": mode, "run s": wall, "moves": len(ms), "move p50 ms": statistics.median(ms),
            "move p95 ms": percentile(ms, 95), "move max ms": max(ms), "worker free after cancel s": free}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="retina")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--busy", type=int, default=0, help="processes keeping a core busy meanwhile")
    args = parser.parse_args()
    image = load_sample(args.sample)
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    pool = JobPool(workers=1, nice=default_nice(), name="bench-heavy")
    rows = []
    for run in range(args.runs):
        for mode in ("thread", "child"):
            if mode == "child":  # a child was killed by the last cancel: its imports are not the run's
                pool.submit(("warm", run), lambda: isolation.call(abs, 1)).result()
            rows.append(measure(image, mode, 300.0 + 10 * run, pool))
    pool.shutdown()
    for spinner in spinners:
        spinner.terminate()
    print(f"felzenszwalb on {args.sample} {image.shape[1]} x {image.shape[0]} at full size; a move is "
          f"{1000 * MOVE_S:.0f} ms of Python work every 5 ms; {args.busy} busy processes beside\n")
    print(table(rows))


if __name__ == "__main__":
    main()

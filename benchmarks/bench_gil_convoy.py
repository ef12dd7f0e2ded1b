"""Slider moves of numpy-heavy methods beside threads busy with Python work, by the interpreter's switch interval.

Run: ``python -m benchmarks.bench_gil_convoy [--runs 5] [--busy 1,2] [--intervals 5,1,0.2] [--offload]``

A Streamlit server runs every session's script on a thread of one process, and the threads
share Python's interpreter lock. A method such as k-means makes hundreds of small numpy calls
a move (3 restarts of up to 50 Lloyd passes on a 10,000-pixel sample), and numpy lets the lock
go during each. Each time the method's thread wants it back while another thread is busy with
Python work (building another session's figures and messages), it waits until that thread is
made to let go: the interpreter asks it to after ``sys.getswitchinterval()`` (5 ms unless set).
So a move of 30 ms can take seconds beside one busy thread (the "convoy effect").

For each switch interval and number of busy threads this script times moves of a few methods
(each run a new slider value on a bundled sample, as the class's students move them; the
method's cached early stages are shared, as in the server) in the main thread while ``N``
threads do Python work (building lists of dicts and JSON), and how much of that work they got
done per second meanwhile (what a shorter interval costs them: more switches).

Prints a Markdown table of median wall times per move; nothing passes or fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time

import seglib
from seglib import isolation
from seglib.samples import load_sample

from .harness import table

MOVES = [  # (method, slider, values, sample): students of the class (bench_classroom), the slow ones first
    ("kmeans", "n_clusters", [3, 4, 5, 6, 7, 8], "astronaut"),
    ("fuzzy-cmeans", "m", [1.7, 1.9, 2.3, 2.6, 3.1, 3.4], "astronaut"),
    ("region-growing", "tolerance", [0.08, 0.1, 0.12, 0.14, 0.16, 0.18], "ihc"),
    ("canny", "sigma", [1.2, 1.6, 2.0, 2.4, 2.8, 3.2], "ihc"),
    ("multi-otsu", "classes", [2, 3, 4, 5, 2, 3], "rocket"),
]


class Busy:
    """``n`` threads doing Python work (dicts, lists, JSON) until stopped; counts the work done."""

    def __init__(self, n: int):
        self.done = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(n)]

    def _work(self) -> None:
        while not self._stop.is_set():
            json.dumps([{"index": i, "values": [i] * 5} for i in range(2000)])
            self.done += 1

    def __enter__(self) -> "Busy":
        self.started = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.rate = self.done / (time.perf_counter() - self.started)


def time_moves(method: str, key: str, values: list, image, runs: int) -> float:
    """Median wall seconds of ``runs`` moves (slider values taken in turn)."""
    times = []
    for i in range(runs):
        start = time.perf_counter()
        seglib.segment(image, method, keep_scores=False, **{key: values[i % len(values)]})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(runs: int = 5, busy: list[int] = (1, 2), intervals: list[float] = (5.0, 1.0, 0.2)) -> list[dict]:
    rows = []
    default = sys.getswitchinterval()
    try:
        for method, key, values, sample in MOVES:
            image = load_sample(sample)
            seglib.segment(image, method, keep_scores=False, **{key: values[-1]})  # imports, cached early stages
            row = {"method (sample)": f"{method} ({sample})",
                   "alone ms": 1000 * time_moves(method, key, values, image, runs)}
            for n in busy:
                for interval in intervals:
                    sys.setswitchinterval(interval / 1000)
                    with Busy(n):
                        seconds = time_moves(method, key, values, image, runs)
                    row[f"{n} busy, {interval:g} ms"] = 1000 * seconds
                sys.setswitchinterval(default)
            rows.append(row)
        work = {"method (sample)": "busy threads' Python work (units/s)", "alone ms": None}
        for n in busy:
            for interval in intervals:
                sys.setswitchinterval(interval / 1000)
                with Busy(n) as threads:
                    time_moves(*MOVES[0][:3], load_sample(MOVES[0][3]), runs)
                work[f"{n} busy, {interval:g} ms"] = threads.rate
        rows.append(work)
    finally:
        sys.setswitchinterval(default)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="moves timed per method and setting")
    parser.add_argument("--busy", default="1,2", help="numbers of busy threads, comma-separated")
    parser.add_argument("--intervals", default="5,1,0.2", help="switch intervals in ms, comma-separated")
    parser.add_argument("--offload", action="store_true",
                        help="run the fits marked seglib.isolation.offloaded in a helper child, as a served app does")
    args = parser.parse_args(argv)
    if args.offload:
        isolation.offload()
    rows = run(args.runs, [int(n) for n in args.busy.split(",")], [float(x) for x in args.intervals.split(",")])
    print(table(rows))


if __name__ == "__main__":
    main()

"""A tiny benchmark harness: medians of repeated runs, baselines in the same process, a table.

Benchmarks never pass or fail: they print what they measured so a person can
compare it with the targets in the README. Machines are shared and noisy, so
every case is timed as a median and, where it has one, next to a baseline
measured in the same process, interleaved with it.
"""

from __future__ import annotations

import socket
import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Case:
    """One row of a benchmark table.

    Attributes
    ----------
    label : str
        What is measured (e.g. a method slug).
    size : str
        Input size as shown in the table (e.g. ``"1024x768"``).
    run : callable
        The code under test, called with no arguments.
    baseline : callable, optional
        A reference implementation timed alternately with ``run``.
    baseline_label : str
        What the baseline is.
    target_ms : float, optional
        The documented target, shown for reference.
    setup : callable, optional
        Called before every timed ``run`` (not timed), e.g. to clear a cache.
    """

    label: str
    size: str
    run: Callable[[], object]
    baseline: Callable[[], object] | None = None
    baseline_label: str = ""
    target_ms: float | None = None
    setup: Callable[[], object] | None = None


def _time(func: Callable[[], object], setup: Callable[[], object] | None) -> float:
    if setup is not None:
        setup()
    start = time.perf_counter()
    func()
    return (time.perf_counter() - start) * 1000


def measure(case: Case, repeats: int = 5, warmup: int = 1) -> dict:
    """Median wall time (ms) of ``case.run`` and of its baseline, interleaved."""
    for _ in range(warmup):
        _time(case.run, case.setup)
        if case.baseline is not None:
            _time(case.baseline, None)
    times, base = [], []
    for _ in range(repeats):
        times.append(_time(case.run, case.setup))
        if case.baseline is not None:
            base.append(_time(case.baseline, None))
    median = statistics.median(times)
    base_median = statistics.median(base) if base else None
    return {
        "case": case.label,
        "size": case.size,
        "median ms": median,
        "baseline": case.baseline_label or "-",
        "baseline ms": base_median,
        "speed-up": (base_median / median) if base_median else None,
        "target ms": case.target_ms,
    }


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return str(value)


def table(rows: list[dict]) -> str:
    """Format rows as a Markdown table (paste-able into the README)."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    out = [line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def run_cases(cases: list[Case], repeats: int = 5, progress: bool = True) -> list[dict]:
    """Measure every case, printing a line as each finishes."""
    rows = []
    for i, case in enumerate(cases, 1):
        row = measure(case, repeats=repeats)
        rows.append(row)
        if progress:
            print(f"[{i}/{len(cases)}] {case.label}: {row['median ms']:.1f} ms", flush=True)
    return rows


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, nearest rank (one of the values itself)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

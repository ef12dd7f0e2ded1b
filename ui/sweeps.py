"""Sweeps on the Evaluate page: run on a button press with a progress bar, keep the table.

A sweep's table lives in ``st.session_state`` with a signature of everything
it depended on (image, truth, method, fixed parameters, ...), so reruns of
the page redraw it without recomputing and the page can say when the
settings changed since. The runs themselves go through
:func:`ui.run.sweep_runner`, so a repeated sweep reuses cached results.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd
import streamlit as st

from seglib.progress import report
from seglib.registry import Param
from seglib.sweeps import sweep_values

from . import heavy
from .params import nearest_stop
from .run import show_error

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SweepRecord:
    """A finished sweep.

    Attributes
    ----------
    signature : str
        Hash of what the sweep depended on (see :func:`signature`).
    table : DataFrame
        The tidy table of :func:`seglib.sweeps.sensitivity` or :func:`~seglib.sweeps.robustness`.
    settings : dict
        What was swept, for captions (method, parameter, degradation...).
    """

    signature: str
    table: pd.DataFrame
    settings: dict = field(default_factory=dict)


def signature(**parts) -> str:
    """A short hash of keyword values (anything JSON can write, others by ``str``)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def stored(key: str, state: MutableMapping | None = None) -> SweepRecord | None:
    """The sweep kept under ``key``, if any."""
    record = (st.session_state if state is None else state).get(key)
    return record if isinstance(record, SweepRecord) else None


def values_for(param: Param, n: int) -> list:
    """``n`` values across a parameter's range that its widget can hold (choices: all of them)."""
    out = []
    for value in sweep_values(param, n):
        stop = nearest_stop(param, value)
        if stop not in out:
            out.append(stop)
    return out


def run_sweep(key: str, sig: str, settings: dict, compute: Callable[[Progress], pd.DataFrame],
              title: str) -> SweepRecord | None:
    """Run ``compute(progress)`` in the heavy-job pool (its place in line and progress shown) and keep its table.

    A failure shows an error panel and keeps the previous sweep.
    """
    def progress(done: int, total: int, message: str) -> None:  # on the pool's thread: the waiting page draws it
        report(done / max(total, 1), f"{done} of {total} runs ({message})")

    try:
        table = heavy.run(f"sweep.{key}", ("sweep", key, sig), lambda: compute(progress), title=title, block=True)
    except Exception as error:  # noqa: BLE001 - a failed sweep must not break the page
        show_error(f"{title} failed", error)
        return None
    if table is None:  # cancelled
        return None
    record = SweepRecord(sig, table, dict(settings))
    st.session_state[key] = record
    return record


def failures(table: pd.DataFrame) -> list[str]:
    """One line per run of a sweep table that failed."""
    if "error" not in table:
        return []
    failed = table[table["error"].fillna("").astype(bool)]
    where = [c for c in ("method", "value", "strength") if c in table]
    return [", ".join(f"{c} = {row[c]}" for c in where) + f": {row['error']}" for _, row in failed.iterrows()]

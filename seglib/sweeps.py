"""Sensitivity and robustness curves: a metric as one parameter or one degradation varies.

Both return tidy :class:`pandas.DataFrame` tables (one row per run) that the
dashboard plots. The segmentation call is injectable (``run=``) so a caller
can pass a cached wrapper and a progress callback sees every step.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .core import segment
from .degradations import degrade
from .registry import Param, method as get_method
from .scoring import GAMEABLE, ONE_TO_ONE, score

Progress = Callable[[int, int, str], None]


def _scored(run: Callable, image, gt, slug: str, params: dict, options: dict) -> dict:
    """One run's scores and time, or its error message (the sweep goes on)."""
    try:
        result = run(image, slug, **params, **options)
    except (ValueError, RuntimeError) as exc:
        return {"error": str(exc)}
    return {**score(result, gt), "elapsed_s": result.elapsed_s, "error": ""}


def sweep_values(param: Param, n: int = 12) -> list:
    """Values spanning a parameter's range: its choices, or ``n`` points (log-spaced for log params).

    Integer parameters give distinct integers (fewer than ``n`` when the
    range is small). Unbounded sides fall back to the default times 0.1 or 10.
    """
    if param.kind == "bool":
        return [False, True]
    if param.kind == "choice":
        return list(param.choices)
    low = param.low if param.low is not None else param.default * 0.1
    high = param.high if param.high is not None else max(param.default * 10, low + 1)
    if param.log:
        values = np.geomspace(low, high, n)
    else:
        values = np.linspace(low, high, n)
    if param.kind == "int":
        step = int(param.step or 1)
        values = np.unique(np.round((values - low) / step) * step + low).astype(int)
        return [int(v) for v in values]
    return [float(v) for v in values]


def sensitivity(image, gt, slug: str, param: str, values: Iterable | None = None, *, params: dict | None = None,
                run: Callable = segment, progress: Progress | None = None, **segment_options) -> pd.DataFrame:
    """Score ``slug`` on ``image`` for each value of one parameter.

    Parameters
    ----------
    image : ndarray
    gt : GroundTruth
    slug : str
        Method to sweep.
    param : str
        Name of the parameter that varies.
    values : iterable, optional
        Values to try; default :func:`sweep_values` of the parameter.
    params : dict, optional
        The other parameters, held fixed.
    run : callable, optional
        ``run(image, slug, **params) -> Segmentation``; default :func:`seglib.segment`.
    progress : callable, optional
        Called as ``progress(done, total, message)`` after each run.
    **segment_options
        Passed to ``run`` (e.g. ``working_size``).

    Returns
    -------
    DataFrame
        Columns ``value``, ``elapsed_s``, ``error`` and one per metric. A value
        whose run fails keeps its row with the error message and no scores.
    """
    spec = get_method(slug).param(param)
    values = list(sweep_values(spec) if values is None else values)
    fixed = dict(params or {})
    rows = []
    for i, value in enumerate(values, 1):
        rows.append({"value": value, **_scored(run, image, gt, slug, {**fixed, param: value}, segment_options)})
        if progress:
            progress(i, len(values), f"{param} = {value}")
    return pd.DataFrame(rows)


def best_value(table: pd.DataFrame, metric: str, *, higher_is_better: bool = True):
    """The swept value with the best ``metric`` (``None`` when no run scored)."""
    if metric not in table or table[metric].isna().all():
        return None
    column = table[metric]
    index = column.idxmax() if higher_is_better else column.idxmin()
    return table.loc[index, "value"]


def ranking_metric(metric: str, available) -> str | None:
    """The score that picks a sweep's best value while ``metric`` is plotted.

    ``metric`` itself, unless more segments can raise it without a better
    result (:data:`~seglib.scoring.GAMEABLE`, the many-to-one mean IoU): then
    the one-to-one mean IoU, or None when the table does not have it.
    """
    if metric not in GAMEABLE:
        return metric
    return ONE_TO_ONE if ONE_TO_ONE in list(available) else None


def robustness(image, gt, methods: list[tuple[str, dict]], degradation: str, strengths: Iterable[float] = (0, .2, .4, .6, .8, 1),
               *, run: Callable = segment, progress: Progress | None = None, **segment_options) -> pd.DataFrame:
    """Score each method as one degradation of the image grows.

    Parameters
    ----------
    image : ndarray
    gt : GroundTruth
        Unchanged by photometric degradations.
    methods : list of (slug, params)
    degradation : str
        A key of :data:`seglib.degradations.DEGRADATIONS`.
    strengths : iterable of float in [0, 1]
    run, progress, **segment_options
        As for :func:`sensitivity`.

    Returns
    -------
    DataFrame
        Columns ``strength``, ``method``, ``elapsed_s``, ``error`` and one per metric.
    """
    strengths = list(strengths)
    total = len(strengths) * len(methods)
    rows, done = [], 0
    for strength in strengths:
        degraded = degrade(image, degradation, strength)
        for slug, params in methods:
            rows.append({"strength": float(strength), "method": slug,
                         **_scored(run, degraded, gt, slug, dict(params), segment_options)})
            done += 1
            if progress:
                progress(done, total, f"{degradation} {strength:.2f}: {slug}")
    return pd.DataFrame(rows)

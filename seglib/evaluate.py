"""Evaluate methods over a whole dataset: methods x parameter grids x images -> a tidy table.

>>> from seglib.datasets import open_dataset
>>> data = open_dataset("shapes", n=2, size=64)
>>> table = evaluate(data, [("otsu", {}), ("kmeans", {"n_clusters": [3, 4]})], cache=None)
>>> len(table), list(table.columns[:4])
(6, ['image', 'index', 'method', 'params'])

Each image is one unit of work: a worker loads the sample itself (from the
small, picklable :class:`~seglib.datasets.Dataset`), runs every method and
parameter setting on it and scores the results with
:func:`seglib.scoring.score`. Work is submitted in a bounded window and
collected as it completes, so memory stays flat however large the dataset.

The same loop drives three schedulers:

- ``scheduler=None`` (or ``"threads"``): a thread pool in this process;
- ``"sync"``: one image after another in the calling thread (debugging, profiling);
- a Dask scheduler address (``"tcp://10.0.0.5:8786"``), a
  ``distributed.Client`` or a ``distributed.LocalCluster``: that cluster.

Results are cached per (sample, method, parameters, working size), on disk by
default (``~/.cache/segdash/evaluate``, or ``$SEGDASH_CACHE_DIR``), so a rerun
after adding one method computes only that method. Failed runs are not
cached: their rows carry the error message and no scores.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import itertools
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from . import __version__
from .checks import check_int
from .core import DEFAULT_WORKING_SIZE, segment
from .registry import method as get_method
from .scoring import HIGHER_IS_BETTER, METRIC_NAMES, score
from .threads import cap_threads

__all__ = ["Config", "DiskCache", "MemoryCache", "ResultCache", "Run", "default_cache_dir", "default_metric",
           "evaluate", "expand_grid", "leaderboard", "MEAN_SUFFIX", "metric_columns", "worst_images"]

MEAN_SUFFIX = " (mean)"
"""Appended to a metric's name for its mean over annotators (BSDS500); the plain name is the best annotator."""

CONNECT_TIMEOUT_S = 10
"""Seconds to wait for a Dask scheduler given by address."""

Progress = Callable[[int, int, str], None]
_FIXED = ("image", "index", "method", "params")
_TAIL = ("elapsed_s", "error")
# The many-to-one mean IoU is left out: more clusters raise it, so it never ranks settings (seglib.scoring.GAMEABLE).
_RANKING = ("Dice", "pixel accuracy", "mean IoU (one-to-one)", "boundary F1", "mean IoU", "IoU", "PQ",
            "adapted Rand error", "VI")


# --------------------------------------------------------------------------- methods and grids


@dataclass(frozen=True)
class Config:
    """One method with one setting of its parameters.

    Attributes
    ----------
    method : str
        Slug.
    params : dict
        The values given (a point of the grid); missing ones take defaults.
    resolved : dict
        Every parameter's value, validated: what actually runs and what caches key on.
    """

    method: str
    params: dict = field(hash=False)
    resolved: dict = field(hash=False, repr=False)

    @property
    def params_json(self) -> str:
        """``params`` as stable JSON (sorted keys): the table's ``params`` column."""
        return params_json(self.params)

    @property
    def label(self) -> str:
        """``kmeans (n_clusters=3)``, or the bare slug for the defaults."""
        return config_label(self.method, self.params_json)


def params_json(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def config_label(method: str, params: str | dict) -> str:
    """A short name for a method with parameters (given as a dict or the table's JSON)."""
    values = json.loads(params) if isinstance(params, str) else params
    if not values:
        return method
    return f"{method} ({', '.join(f'{k}={v}' for k, v in values.items())})"


def _is_grid(value) -> bool:
    return isinstance(value, (list, tuple, range, np.ndarray))


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def expand_grid(methods: Iterable) -> list[Config]:
    """Every (method, parameter setting) of ``methods``, validated.

    Parameters
    ----------
    methods : iterable of str or (str, dict)
        Slugs, or ``(slug, params)`` whose values may be lists (or tuples,
        ranges, arrays) of values to try: their product expands into one
        :class:`Config` each, e.g. ``("kmeans", {"n_clusters": [3, 4, 5]})``.

    Raises
    ------
    KeyError
        For an unknown slug (listing the valid ones).
    ValueError
        For an unknown parameter, a value outside its spec or an empty list.
    """
    configs, seen = [], set()
    for item in methods:
        slug, params = (item, {}) if isinstance(item, str) else item
        spec = get_method(slug)
        params = dict(params or {})
        for name, value in params.items():
            if _is_grid(value) and len(value) == 0:
                raise ValueError(f"{spec.name}: the values of {name!r} are an empty list; give at least one")
        names = list(params)
        choices = [[_plain(v) for v in params[k]] if _is_grid(params[k]) else [params[k]] for k in names]
        for values in itertools.product(*choices):
            point = dict(zip(names, values))
            config = Config(spec.name, point, spec.resolve(point))
            marker = (config.method, params_json(config.resolved))
            if marker not in seen:
                seen.add(marker)
                configs.append(config)
    if not configs:
        raise ValueError("`methods` is empty; give at least one method slug or (slug, params)")
    return configs


# --------------------------------------------------------------------------- caches


class ResultCache:
    """Where scored rows are kept between runs: :meth:`get` and :meth:`put` by key."""

    def get(self, key: str) -> dict | None:
        raise NotImplementedError

    def put(self, key: str, row: dict) -> None:
        raise NotImplementedError


class MemoryCache(ResultCache):
    """Rows in a dict, for one process (``cache="memory"`` shares one per process)."""

    def __init__(self):
        self.rows: dict[str, dict] = {}

    def get(self, key):
        return self.rows.get(key)

    def put(self, key, row):
        self.rows[key] = row

    def __len__(self) -> int:
        return len(self.rows)


class DiskCache(ResultCache):
    """One small JSON file per row under ``folder`` (``ab/abcdef....json``); safe for concurrent writers."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder).expanduser()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key):
        try:
            return json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None

    def put(self, key, row):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w") as stream:
            json.dump(row, stream)
        os.replace(temporary, path)

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*/*.json"))


def default_cache_dir() -> Path:
    """``$SEGDASH_CACHE_DIR``, else ``~/.cache/segdash/evaluate``."""
    return Path(os.environ.get("SEGDASH_CACHE_DIR") or Path.home() / ".cache" / "segdash" / "evaluate")


_MEMORY = MemoryCache()


def _cache(cache) -> ResultCache | None:
    if cache is None or cache is False:
        return None
    if cache is True:
        return DiskCache(default_cache_dir())
    if isinstance(cache, ResultCache):
        return cache
    if isinstance(cache, str) and cache == "memory":
        return _MEMORY
    if isinstance(cache, (str, os.PathLike)):
        return DiskCache(cache)
    raise ValueError(f"cache={cache!r} is not allowed: expected True (on disk, default folder), a folder path, "
                     "'memory', a ResultCache, or None/False (no cache)")


def cache_key(sample_key: str, config: Config, working_size) -> str:
    """Key of one row: the sample's identity, the method, every parameter value, the working size, seglib's version."""
    text = json.dumps([sample_key, config.method, config.resolved, working_size, __version__], sort_keys=True,
                      default=str)
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


# --------------------------------------------------------------------------- one image (runs on the workers)


def _annotator_scores(result, gt) -> dict[str, float]:
    """Best annotator (as :func:`score`) and mean over annotators of each metric (BSDS500)."""
    per = [score(result, replace(gt, regions=a, boundaries=b, annotators=[a], annotator_boundaries=[b]))
           for a, b in zip(gt.annotators, gt.annotator_boundaries)]
    out = {}
    for name in METRIC_NAMES:
        values = [s[name] for s in per if name in s]
        if values:
            out[name] = max(values) if HIGHER_IS_BETTER[name] else min(values)
            out[name + MEAN_SUFFIX] = float(np.mean(values))
    return out


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _run_one(sample, config: Config, working_size) -> dict:
    try:
        # Only the given values: segment() fills the defaults (and a parameter named `method` given
        # as a keyword would clash with segment's own argument).
        result = segment(sample.image, config.method, working_size=working_size, **config.params)
        gt = sample.ground_truth
        scores = _annotator_scores(result, gt) if len(gt.annotators) > 1 else score(result, gt)
    except Exception as error:  # noqa: BLE001 - one failing run becomes one row with its message
        return {"scores": {}, "elapsed_s": math.nan, "error": _describe(error)}
    return {"scores": scores, "elapsed_s": float(result.elapsed_s), "error": ""}


def evaluate_sample(dataset, index: int, configs: Sequence[Config], working_size) -> list[dict]:
    """Load sample ``index`` and run every config on it; one result dict per config.

    Runs on the workers: only the dataset (small), the index and the configs travel.
    """
    try:
        sample = dataset[index]
    except Exception as error:  # noqa: BLE001 - an unreadable sample fails its rows, not the run
        failed = {"scores": {}, "elapsed_s": math.nan, "error": f"loading failed: {_describe(error)}"}
        return [dict(failed) for _ in configs]
    return [_run_one(sample, config, working_size) for config in configs]


# --------------------------------------------------------------------------- schedulers


class _Sync:
    """Runs each task at once in the calling thread."""

    workers = 1

    def submit(self, func, *args):
        future = cf.Future()
        try:
            future.set_result(func(*args))
        except BaseException as error:  # noqa: BLE001 - delivered through the future, like the pools
            future.set_exception(error)
        return future

    def wait_first(self, pending):
        return cf.wait(pending, return_when=cf.FIRST_COMPLETED)

    def close(self, pending):
        pass


class _Threads(_Sync):
    def __init__(self, workers: int | None):
        self.workers = workers or min(4, os.cpu_count() or 1)
        self.pool = cf.ThreadPoolExecutor(self.workers, thread_name_prefix="seglib-evaluate")

    def submit(self, func, *args):
        return self.pool.submit(func, *args)

    def close(self, pending):
        self.pool.shutdown(wait=False, cancel_futures=True)


class _Dask:
    """A ``distributed`` cluster: an address, a Client or a LocalCluster."""

    def __init__(self, scheduler):
        import distributed

        self._distributed = distributed
        self.own = not isinstance(scheduler, distributed.Client)
        try:
            self.client = (distributed.Client(scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT_S) if self.own
                           else scheduler)
        except (OSError, ValueError, TypeError) as error:
            raise ValueError(f"scheduler={scheduler!r}: cannot connect to a Dask scheduler there "
                             f"({_describe(error)}); expected an address such as 'tcp://127.0.0.1:8786'") from None
        self.workers = max(1, sum(self.client.nthreads().values()))
        self.finished = distributed.as_completed(loop=self.client.loop)

    def submit(self, func, *args):
        future = self.client.submit(_on_worker, os.getpid(), func, *args, pure=False)
        self.finished.add(future)
        return future

    def wait_first(self, pending):
        future = next(self.finished)
        return {future}, set(pending) - {future}

    def close(self, pending):
        if pending:
            self.client.cancel(list(pending))
        if self.own:
            self.client.close()


def _on_worker(client_pid: int, func, *args):
    """Run a task on a Dask worker; in a worker process of its own, with one native thread per task.

    torch (and BLAS) start one thread per core in every process, so n worker processes on a
    machine would run n x cores threads, and spin-waiting OpenMP threads then made the bundled
    U-Net 4 to 25 times slower per image. Workers that are threads of the client's own process
    (``LocalCluster(processes=False)``) are left alone: the setting is process-wide.
    """
    if os.getpid() != client_pid:
        _one_native_thread()
    return func(*args)


def _one_native_thread() -> None:
    # torch only when a task has imported it (a worker need not load torch); BLAS once per process,
    # since threadpool_limits costs ~1.6 ms, as much as a fast method's whole task
    cap_threads(1, blas=True)


def _executor(scheduler, max_workers):
    if scheduler is None or scheduler == "threads":
        return _Threads(max_workers)
    if scheduler in ("sync", "synchronous"):
        return _Sync()
    return _Dask(scheduler)


def _completed(executor, tasks: Iterator[tuple], window: int) -> Iterator[tuple[Any, list]]:
    """Submit ``(tag, func, *args)`` tasks, at most ``window`` in flight; yield ``(tag, result)`` as each finishes."""
    pending: dict = {}
    tasks = iter(tasks)
    try:
        while True:
            if len(pending) < window:
                task = next(tasks, None)
                if task is not None:
                    tag, func, *args = task
                    pending[executor.submit(func, *args)] = tag
                    continue
            if not pending:
                return
            done, _ = executor.wait_first(set(pending))
            for future in done:
                yield pending.pop(future), future.result()
    finally:
        executor.close(list(pending))


# --------------------------------------------------------------------------- the run


def _row(dataset, index: int, config: Config, outcome: dict) -> dict:
    return {"image": dataset.name(index), "index": index, "method": config.method, "params": config.params_json,
            **outcome["scores"], "elapsed_s": outcome["elapsed_s"], "error": outcome["error"]}


def iter_rows(dataset, configs: Sequence[Config], indices: Iterable[int], *, scheduler=None, cache=True,
              working_size: int | None = DEFAULT_WORKING_SIZE, max_workers: int | None = None,
              stats: dict | None = None) -> Iterator[list[dict]]:
    """The rows of each image (one per config) as images complete, in completion order.

    Arguments as for :func:`evaluate`; ``configs`` from :func:`expand_grid`.
    ``stats`` (a dict), when given, counts rows ``"computed"`` and ``"cached"``.
    """
    store = _cache(cache)
    stats = stats if stats is not None else {}
    stats.setdefault("computed", 0)
    stats.setdefault("cached", 0)
    executor = _executor(scheduler, max_workers)
    ready: list[list[dict]] = []  # images answered from the cache, handed out between submissions

    def tasks():
        for index in indices:
            sample_key = dataset.key(index)
            keys = [cache_key(sample_key, c, working_size) for c in configs]
            known = [store.get(k) if store is not None else None for k in keys]
            todo = [c for c, row in zip(configs, known) if row is None]
            if not todo:
                stats["cached"] += len(configs)
                ready.append([_row(dataset, index, c, row) for c, row in zip(configs, known)])
                continue
            yield (index, keys, known), evaluate_sample, dataset, index, todo, working_size

    window = max(2, 2 * executor.workers)
    for (index, keys, known), outcomes in _completed(executor, tasks(), window):
        yield from _flush(ready)
        fresh = iter(outcomes)
        rows = []
        for config, key, row in zip(configs, keys, known):
            if row is None:
                row = next(fresh)
                stats["computed"] += 1
                if store is not None and not row["error"]:  # a failure may be temporary (weights training)
                    store.put(key, row)
            else:
                stats["cached"] += 1
            rows.append(_row(dataset, index, config, row))
        yield rows
    yield from _flush(ready)


def _flush(ready: list) -> Iterator[list[dict]]:
    while ready:
        yield ready.pop(0)


def _indices(dataset, indices) -> list[int]:
    n = len(dataset)
    if indices is None:
        return list(range(n))
    chosen = [int(i) for i in indices]
    bad = [i for i in chosen if not 0 <= i < n]
    if bad:
        raise ValueError(f"indices {bad[:5]} are out of range for a dataset of {n} images")
    return chosen


def table(rows: Iterable[dict]) -> pd.DataFrame:
    """Rows as a DataFrame with the columns in a fixed order, sorted by image index (stable)."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=[*_FIXED, *_TAIL])
    frame = frame.sort_values("index", kind="stable").reset_index(drop=True)
    return frame[[*_FIXED, *metric_columns(frame), *_TAIL]]


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The metric columns of an evaluation table, in :data:`~seglib.scoring.METRIC_NAMES` order."""
    names = []
    for name in METRIC_NAMES:
        names += [c for c in (name, name + MEAN_SUFFIX) if c in frame.columns]
    return names


def evaluate(dataset, methods, *, scheduler=None, cache=True, working_size: int | None = DEFAULT_WORKING_SIZE,
             indices: Iterable[int] | None = None, max_workers: int | None = None,
             progress: Progress | None = None) -> pd.DataFrame:
    """Run methods with parameter grids over a dataset and score every result.

    Parameters
    ----------
    dataset : Dataset
        From :func:`seglib.datasets.open_dataset`.
    methods : list of str or (str, dict)
        Method slugs, or ``(slug, params)``; a list of values expands into
        a grid, e.g. ``[("otsu", {}), ("kmeans", {"n_clusters": [3, 4, 5]})]``.
    scheduler : None, "threads", "sync", str, distributed.Client or LocalCluster
        Where the work runs: threads in this process (default), one image at
        a time in this thread (``"sync"``), or a Dask cluster (an address
        such as ``"tcp://127.0.0.1:8786"``, a Client or a LocalCluster; the
        workers need seglib installed and load the images themselves).
        Every scheduler gives the same scores.
    cache : True, str, os.PathLike, "memory", ResultCache or None
        Reuse rows computed before for the same sample, method, parameters
        and working size: on disk in :func:`default_cache_dir` (``True``) or
        a folder, in this process (``"memory"``), or not at all (``None``).
    working_size : int or None
        Longest side the methods run at (see :func:`seglib.segment`).
    indices : iterable of int, optional
        Evaluate only these samples (the page runs in chunks).
    max_workers : int, optional
        Threads for the in-process scheduler (default: up to 4).
    progress : callable, optional
        ``progress(done, total, image_name)`` after each image.

    Returns
    -------
    DataFrame
        One row per (image, method, params): ``image`` (name), ``index``,
        ``method``, ``params`` (JSON of the grid point, ``"{}"`` for the
        defaults), the metrics that fit the results and the truth (see
        :func:`seglib.scoring.score`; for BSDS500 each metric is the best
        annotator and ``"<metric> (mean)"`` the mean over annotators),
        ``elapsed_s`` (the method's time) and ``error`` (empty when the run
        worked). ``attrs`` holds ``computed`` and ``cached`` row counts.

    Raises
    ------
    KeyError, ValueError
        For unknown methods or parameters, before anything runs.
    """
    configs = expand_grid(methods)
    chosen = _indices(dataset, indices)
    stats: dict = {}
    rows, done = [], 0
    for image_rows in iter_rows(dataset, configs, chosen, scheduler=scheduler, cache=cache,
                                working_size=working_size, max_workers=max_workers, stats=stats):
        rows.extend(image_rows)
        done += 1
        if progress:
            progress(done, len(chosen), image_rows[0]["image"])
    frame = table(rows)
    frame.attrs.update(stats)
    return frame


# --------------------------------------------------------------------------- a run in chunks


class Run:
    """An evaluation advanced a chunk of images at a time, keeping every finished image.

    The dashboard calls :meth:`step` repeatedly; an interruption (a stop
    button) between or during steps loses nothing that finished: rows are
    kept per image as images complete, and the next step resumes with the
    images not done yet.

    Parameters
    ----------
    dataset : Dataset
    methods : list of str or (str, dict)
        As for :func:`evaluate` (expanded and validated here).
    chunk_size : int
        Images per :meth:`step`.
    **options
        ``scheduler``, ``cache``, ``working_size``, ``max_workers`` as for :func:`evaluate`.
    """

    def __init__(self, dataset, methods, *, chunk_size: int = 8, **options):
        check_int(chunk_size, "chunk_size", low=1)
        self.dataset = dataset
        self.configs = expand_grid(methods)
        self.chunk_size = chunk_size
        self.options = options
        self.rows: list[dict] = []
        self.done: set[int] = set()
        self.stats: dict = {}
        self.busy_s = 0.0  # wall time spent inside step()
        self._next = 0

    @property
    def total(self) -> int:
        return len(self.dataset)

    @property
    def finished(self) -> bool:
        return len(self.done) >= self.total

    def _pending(self) -> list[int]:
        while self._next < self.total and self._next in self.done:
            self._next += 1
        chosen, index = [], self._next
        while index < self.total and len(chosen) < self.chunk_size:
            if index not in self.done:
                chosen.append(index)
            index += 1
        return chosen

    def step(self, progress: Progress | None = None) -> int:
        """Evaluate the next chunk; returns how many images it finished."""
        chunk = self._pending()
        start, finished = time.perf_counter(), 0
        try:
            for image_rows in iter_rows(self.dataset, self.configs, chunk, stats=self.stats, **self.options):
                self.rows.extend(image_rows)
                self.done.add(image_rows[0]["index"])
                finished += 1
                if progress:
                    progress(len(self.done), self.total, image_rows[0]["image"])
        finally:
            self.busy_s += time.perf_counter() - start
        return finished

    @property
    def throughput(self) -> float:
        """Images per second so far (0 before the first image)."""
        return len(self.done) / self.busy_s if self.busy_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current throughput (None before the first image)."""
        rate = self.throughput
        return (self.total - len(self.done)) / rate if rate > 0 else None

    def table(self) -> pd.DataFrame:
        """The rows so far, as :func:`evaluate` returns them."""
        frame = table(self.rows)
        frame.attrs.update(self.stats)
        return frame


# --------------------------------------------------------------------------- summaries


def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["error"] == ""] if "error" in frame else frame


def default_metric(frame: pd.DataFrame) -> str | None:
    """The metric to rank by: the one scored for the most rows (ties: Dice, pixel accuracy, boundary F1...)."""
    candidates = [m for m in _RANKING if m in frame.columns and frame[m].notna().any()]
    if not candidates:
        return None
    return max(candidates, key=lambda m: (int(frame[m].notna().sum()), -_RANKING.index(m)))


def _base_metric(column: str) -> str:
    return column.removesuffix(MEAN_SUFFIX)


def leaderboard(frame: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Mean and spread of each metric per (method, params), best first.

    Parameters
    ----------
    frame : DataFrame
        From :func:`evaluate`.
    metric : str, optional
        Column to rank by (default :func:`default_metric`); higher is better
        except for adapted Rand error and VI.

    Returns
    -------
    DataFrame
        One row per (method, params): ``method``, ``params``, ``label``,
        ``images`` (scored), ``errors``, ``<metric> mean`` and ``<metric>
        std`` for each metric, ``elapsed_s mean``.
    """
    if frame.empty:
        return pd.DataFrame(columns=["method", "params", "label", "images", "errors"])
    metric = metric or default_metric(frame)
    columns = metric_columns(frame)
    groups = frame.groupby(["method", "params"], sort=False)
    ok_groups = _ok(frame).groupby(["method", "params"], sort=False)
    board = pd.DataFrame({"images": ok_groups.size(), "errors": groups["error"].apply(lambda e: int((e != "").sum()))})
    for name in columns + ["elapsed_s"]:
        board[f"{name} mean"] = ok_groups[name].mean()
        if name != "elapsed_s":
            board[f"{name} std"] = ok_groups[name].std(ddof=0)
    board = board.reset_index()
    board["images"] = board["images"].fillna(0).astype(int)
    board.insert(2, "label", [config_label(m, p) for m, p in zip(board["method"], board["params"])])
    if metric and f"{metric} mean" in board:
        board = board.sort_values(f"{metric} mean", ascending=not HIGHER_IS_BETTER[_base_metric(metric)],
                                  na_position="last", kind="stable")
    return board.reset_index(drop=True)


def worst_images(frame: pd.DataFrame, method: str, params: str, metric: str, k: int = 5) -> pd.DataFrame:
    """The ``k`` images on which one (method, params) scored worst on ``metric`` (failed runs first)."""
    rows = frame[(frame["method"] == method) & (frame["params"] == params)]
    failed = rows[rows["error"] != ""]
    scored = _ok(rows).dropna(subset=[metric]) if metric in rows else rows.iloc[0:0]
    scored = scored.sort_values(metric, ascending=HIGHER_IS_BETTER[_base_metric(metric)], kind="stable")
    return pd.concat([failed, scored]).head(k)

"""A bounded pool for heavy work: jobs wait their turn, show their place, can be cancelled and are shared.

Work that takes seconds (SAM's encoder and automatic masks, training, a
benchmark, a sweep, a slow method on a big picture) should not take every
core of a server that also answers cheap slider moves of other people.
:class:`JobPool` runs at most ``workers`` jobs at once; the rest wait in
first-come order. Each caller holds a :class:`Ticket` that says how many
jobs are ahead of it (:meth:`Ticket.ahead`), reports progress, and can be
cancelled. Jobs are identified by a key: a job asked for again while it
waits or runs (a whole class opening the same sample) is joined, not
repeated, and it is dropped only when every ticket holding it is cancelled
or its owner is gone (``alive`` returns False).

A running job stops early at its next :func:`seglib.progress.report` (or
:func:`checkpoint`) once nobody wants it any more.

>>> from seglib.jobs import JobPool
>>> pool = JobPool(workers=1)
>>> ticket = pool.submit("answer", lambda: 6 * 7)
>>> ticket.result()
42
>>> pool.shutdown()

The process-wide pool of a dashboard is :func:`shared_pool`, sized by
``$SEGDASH_HEAVY_WORKERS`` (default: half the CPU cores, at least one); its
workers run at a lower CPU priority, ``$SEGDASH_HEAVY_NICE`` (default 10),
so a heavy job takes idle cores but yields them to cheap slider moves, and
``$SEGDASH_EXPRESS_WORKERS`` (default 1) more workers take only jobs
expected to be short, so a two-second run never waits behind a long one.
:class:`CostBook` remembers how long each method took per megapixel, so a
caller can send only the runs expected to be slow through the pool.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from contextvars import ContextVar
from typing import Any, Callable, Hashable

from . import progress
from .checks import check_int

__all__ = ["CostBook", "JobCancelled", "JobPool", "Ticket", "checkpoint", "default_cpus", "default_express", "default_nice", "default_workers", "in_job",
           "lower_priority", "shared_pool", "usable_cpus"]

WORKERS_ENV = "SEGDASH_HEAVY_WORKERS"
NICE_ENV = "SEGDASH_HEAVY_NICE"
EXPRESS_ENV = "SEGDASH_EXPRESS_WORKERS"
CPUS_ENV = "SEGDASH_HEAVY_CPUS"
DEFAULT_NICE = 10

WAITING, RUNNING, DONE, FAILED, CANCELLED = "waiting", "running", "done", "failed", "cancelled"


class JobCancelled(Exception):
    """The job was cancelled (by its tickets, or because their owners went away) before it finished."""


class _Job:
    def __init__(self, key: Hashable, fn: Callable[[], Any], seconds: float | None = None):
        self.key = key
        self.fn = fn
        self.seconds = seconds  # predicted duration, when the caller knows one
        self.tickets: list[Ticket] = []
        self.state = WAITING
        self.value: Any = None
        self.error: BaseException | None = None
        self.progress: tuple[float, str] | None = None
        self.finished = threading.Event()

    def wanted(self) -> bool:
        """True while some ticket is neither cancelled nor held by an owner that is gone."""
        return any(ticket.wanted() for ticket in self.tickets)

    def report(self, fraction: float, text: str) -> None:
        self.progress = (fraction, text)
        if not self.wanted():
            raise JobCancelled(f"nobody waits for job {self.key!r} any more")


_current: ContextVar[_Job | None] = ContextVar("seglib_current_job", default=None)


def checkpoint() -> None:
    """Inside a pool job: raise :class:`JobCancelled` when nobody wants its result any more.

    Outside a job it does nothing, so library code may call it freely.
    """
    job = _current.get()
    if job is not None and not job.wanted():
        raise JobCancelled(f"nobody waits for job {job.key!r} any more")


def in_job() -> bool:
    """True while the calling thread runs a pool job (its work may go to a child process, see
    :mod:`seglib.isolation`)."""
    return _current.get() is not None


class Ticket:
    """One caller's claim on a job of a :class:`JobPool`.

    Attributes
    ----------
    key : hashable
        The job's key (equal keys share one job).
    owner : hashable or None
        Who asked (a session id); see :meth:`JobPool.cancel_owner`.
    """

    def __init__(self, pool: "JobPool", job: _Job, owner: Hashable | None, alive: Callable[[], bool] | None):
        self._pool = pool
        self._job = job
        self.key = job.key
        self.owner = owner
        self._alive = alive
        self._cancelled = False

    def wanted(self) -> bool:
        """False once cancelled, or once ``alive()`` (the owner's liveness) says False."""
        if self._cancelled:
            return False
        if self._alive is not None and not self._alive():
            return False
        return True

    @property
    def state(self) -> str:
        """``"waiting"``, ``"running"``, ``"done"``, ``"failed"`` or ``"cancelled"`` (this ticket's view)."""
        return CANCELLED if self._cancelled else self._job.state

    @property
    def progress(self) -> tuple[float, str] | None:
        """The job's last ``(fraction, text)`` from :func:`seglib.progress.report`, if any."""
        return self._job.progress

    def ahead(self) -> int:
        """How many jobs must finish or start before this one can start (0 once it runs)."""
        return self._pool._ahead(self._job)

    def finished(self) -> bool:
        """True when there is nothing more to wait for (done, failed or cancelled)."""
        return self._cancelled or self._job.finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`finished` (at most ``timeout`` seconds); return :meth:`finished`."""
        if not self._cancelled:
            self._job.finished.wait(timeout)
        return self.finished()

    def result(self, timeout: float | None = None) -> Any:
        """The job's value; re-raises its error; :class:`JobCancelled` when cancelled.

        Raises
        ------
        TimeoutError
            When it is not finished within ``timeout`` seconds.
        """
        if not self.wait(timeout):
            raise TimeoutError(f"job {self.key!r} is still {self.state} after timeout={timeout} s")
        if self._cancelled or self._job.state == CANCELLED:
            raise JobCancelled(f"job {self.key!r} was cancelled")
        if self._job.error is not None:
            raise self._job.error
        return self._job.value

    def cancel(self) -> None:
        """Give up this claim; the job itself stops when no other ticket wants it."""
        self._cancelled = True
        self._pool._forget_unwanted()

    def __repr__(self) -> str:
        return f"Ticket(key={self.key!r}, state={self.state!r})"


class JobPool:
    """At most ``workers`` jobs at once; the others wait first-come, first-served.

    Parameters
    ----------
    workers : int
        Jobs that may run at the same time (threads), at least 1.
    name : str
        Prefix of the worker threads' names.
    nice : int
        How much lower the workers' CPU priority is than the caller's (0 to 19; Linux sets it per
        thread, elsewhere it is ignored): at 10 a worker gets about a tenth of a core that cheap
        work also wants, so heavy jobs use idle cores without slowing everyone's slider moves.
    express : int
        Extra workers that take only short jobs (submitted with ``seconds`` below
        ``short_seconds``), so a run of a second or two does not wait behind a long job (a
        felzenszwalb on a big picture, a training run) that holds every other worker.
    short_seconds : float
        What counts as short for the express workers.
    """

    def __init__(self, workers: int, *, name: str = "segdash-heavy", nice: int = 0, express: int = 0,
                 short_seconds: float = 5.0):
        self.workers = check_int(workers, "workers", low=1)
        self.nice = check_int(nice, "nice", low=0, high=19)
        self.express = check_int(express, "express", low=0)
        if not short_seconds > 0:
            raise ValueError(f"short_seconds={short_seconds!r} is not allowed: expected a positive number")
        self.short_seconds = float(short_seconds)
        self.name = name
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[_Job] = deque()
        self._jobs: dict[Hashable, _Job] = {}   # waiting or running, by key
        self._running = 0          # jobs on the general workers
        self._running_express = 0  # jobs on the express workers
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(workers)]
        self._threads += [threading.Thread(target=self._work, args=(True,), name=f"{name}-express-{i}", daemon=True)
                          for i in range(self.express)]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ asking
    def submit(self, key: Hashable, fn: Callable[[], Any], *, owner: Hashable | None = None,
               alive: Callable[[], bool] | None = None, seconds: float | None = None) -> Ticket:
        """Ask for ``fn()``; join the job of an equal ``key`` that is waiting or running.

        Parameters
        ----------
        key : hashable
            What identifies the work: equal keys must mean equal results.
        fn : callable
            Called without arguments on a worker thread.
        owner : hashable, optional
            Who asks (for :meth:`cancel_owner`).
        alive : callable, optional
            Returns False once the owner is gone; its tickets then no longer hold the job.
        seconds : float, optional
            How long the work is expected to take; below ``short_seconds`` an express worker may
            run it. Unknown (None): only the general workers do.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the job pool {self.name!r} is shut down")
            job = self._jobs.get(key)
            if job is None:
                job = _Job(key, fn, seconds)
                self._jobs[key] = job
                self._queue.append(job)
                self._wake.notify_all()  # an express worker cannot take every job: wake them all
            ticket = Ticket(self, job, owner, alive)
            job.tickets.append(ticket)
            return ticket

    def cancel_owner(self, owner: Hashable) -> int:
        """Cancel every ticket of ``owner`` (a session that went away); return how many."""
        with self._lock:
            tickets = [t for job in self._jobs.values() for t in job.tickets if t.owner == owner and not t._cancelled]
        for ticket in tickets:
            ticket._cancelled = True
        self._forget_unwanted()
        return len(tickets)

    def counts(self) -> dict[str, int]:
        """``{"running": ..., "waiting": ...}`` right now (waiting jobs nobody wants are not counted)."""
        with self._lock:
            self._drop_unwanted_locked()
            return {"running": self._running + self._running_express, "waiting": len(self._queue)}

    def shutdown(self) -> None:
        """Cancel waiting jobs and stop the workers after their current job."""
        with self._lock:
            self._closed = True
            dropped = list(self._queue)
            self._queue.clear()
            for job in dropped:
                self._end_locked(job, CANCELLED)
            self._wake.notify_all()

    # ------------------------------------------------------------------ inside
    def _ahead(self, job: _Job) -> int:
        with self._lock:
            self._drop_unwanted_locked()
            if job.state != WAITING:
                return 0
            try:
                place = self._queue.index(job)
            except ValueError:
                return 0
            # Running jobs are ahead too unless a worker is free for the first in line.
            busy = self._running if self._running >= self.workers else 0
            ahead = busy + place
            if self.express and self._short(job):  # or the express line, whichever comes first
                shorts = sum(1 for other in list(self._queue)[:place] if self._short(other))
                busy = self._running_express if self._running_express >= self.express else 0
                ahead = min(ahead, busy + shorts)
            return ahead

    def _short(self, job: _Job) -> bool:
        return job.seconds is not None and job.seconds < self.short_seconds

    def _forget_unwanted(self) -> None:
        with self._lock:
            self._drop_unwanted_locked()

    def _drop_unwanted_locked(self) -> None:
        for job in [job for job in self._queue if not job.wanted()]:
            self._queue.remove(job)
            self._end_locked(job, CANCELLED)

    def _end_locked(self, job: _Job, state: str) -> None:
        job.state = state
        if self._jobs.get(job.key) is job:
            del self._jobs[job.key]
        job.finished.set()

    def _next_locked(self, express: bool = False) -> _Job | None:
        while not self._closed:
            self._drop_unwanted_locked()
            job = next((j for j in self._queue if self._short(j)), None) if express else \
                (self._queue[0] if self._queue else None)
            if job is not None:
                self._queue.remove(job)
                return job
            self._wake.wait()
        return None

    def _work(self, express: bool = False) -> None:
        lower_priority(self.nice)
        while True:
            with self._lock:
                job = self._next_locked(express)
                if job is None:
                    return
                job.state = RUNNING
                if express:
                    self._running_express += 1
                else:
                    self._running += 1
            self._run(job, express)
            # The result belongs to the job's tickets: a worker waiting for its next job must not keep
            # the last one (a felzenszwalb result with its stages is tens of MB) after they are gone.
            del job

    def _run(self, job: _Job, express: bool = False) -> None:
        token = _current.set(job)
        state = DONE
        try:
            with progress.listen(job.report):
                job.value = job.fn()
        except JobCancelled:
            state = CANCELLED
        except BaseException as error:  # noqa: BLE001 - handed to every ticket, the worker carries on
            job.error, state = error, FAILED
        finally:
            _current.reset(token)
            with self._lock:
                if express:
                    self._running_express -= 1
                else:
                    self._running -= 1
                if state == CANCELLED and job.wanted() and not self._closed:
                    job.state = WAITING  # someone joined while it was being cancelled: run it again
                    self._queue.appendleft(job)
                    self._wake.notify_all()
                else:
                    self._end_locked(job, state)
                    job.fn = None  # let go of what the work closed over


def lower_priority(nice: int) -> bool:
    """Lower the calling thread's CPU priority by ``nice`` (Linux: per thread); False where not possible.

    Native threads the caller starts later (a BLAS or torch pool created by its first call) inherit it.
    """
    if not nice:
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (AttributeError, OSError):  # no setpriority (Windows), or not allowed
        return False
    return True


def _env_int(name: str, default: int, low: int, high: int | None = None) -> int:
    """The whole number in ``$name`` (within ``[low, high]``), else ``default`` when unset or empty."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return check_int(int(text), name, low=low, high=high)
    except ValueError:
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ValueError(f"{name}={text!r} is not allowed: expected a whole number {allowed}") from None


def default_nice() -> int:
    """``$SEGDASH_HEAVY_NICE`` if set (0 to 19), else 10."""
    return _env_int(NICE_ENV, DEFAULT_NICE, 0, 19)


def default_workers() -> int:
    """``$SEGDASH_HEAVY_WORKERS`` if set, else half the CPU cores (at least one)."""
    return _env_int(WORKERS_ENV, max(1, (os.cpu_count() or 2) // 2), 1)


def usable_cpus() -> list[int]:
    """The CPUs the calling thread may run on, in order (all of them where the system does not say)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this system (macOS, Windows)
        return list(range(os.cpu_count() or 1))


def default_cpus() -> int:
    """``$SEGDASH_HEAVY_CPUS`` if set, else all usable CPUs but one (at least one): how many CPUs a heavy
    run in a child process may use (:mod:`seglib.isolation`), so that on two cores one stays free of them."""
    return _env_int(CPUS_ENV, max(1, len(usable_cpus()) - 1), 1)


def default_express() -> int:
    """``$SEGDASH_EXPRESS_WORKERS`` if set (0 turns the express line off), else 1."""
    return _env_int(EXPRESS_ENV, 1, 0)


_shared: JobPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> JobPool:
    """The process-wide pool for heavy work, created on first use (:func:`default_workers`,
    :func:`default_nice`, :func:`default_express`)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = JobPool(default_workers(), nice=default_nice(), express=default_express())
        return _shared


class CostBook:
    """What each method cost per megapixel in this process, to predict whether a run is slow.

    The seconds observed are the caller's measure of a run's cost, preferably one that does not
    grow when other work shares the cores, as wall time does (the dashboard gives the CPU time of
    the thread that ran it).

    A method's cost often depends on what its caches already hold (SAM's encoder runs once per
    picture; a filter slider of automatic masks only re-filters), so the prediction for a picture
    the method already ran on is its last rate on that picture; for a new picture, the highest
    rate the method ever showed.

    Parameters
    ----------
    heavy_seconds : float
        A run predicted to take at least this long counts as heavy.
    pictures : int
        How many (method, picture) rates are remembered (least recently used go first).
    """

    def __init__(self, heavy_seconds: float = 1.0, pictures: int = 1024):
        if not heavy_seconds > 0:
            raise ValueError(f"heavy_seconds={heavy_seconds!r} is not allowed: expected a positive number")
        self.heavy_seconds = heavy_seconds
        self._pictures = pictures
        self._worst: dict[str, float] = {}
        self._last: OrderedDict[tuple, tuple[float, bool]] = OrderedDict()  # (method, picture) -> (rate, stays)
        self._lock = threading.Lock()

    def observe(self, method: str, pixels: int, seconds: float, *, picture: Hashable = None,
                stay: bool = False) -> None:
        """Record that ``method`` took ``seconds`` on ``pixels`` pixels (of the picture keyed ``picture``).

        With ``stay``, the method's later runs on that picture count as heavy however quick they
        get: this run was made where its cached early stages now are (a pool worker's child
        process, :mod:`seglib.isolation`), and a quick late-stage run sent back to the caller's
        process would compute them all again there.
        """
        rate = seconds / max(pixels / 1e6, 1e-3)
        with self._lock:
            self._worst[method] = max(rate, self._worst.get(method, 0.0))
            if picture is not None:
                stays = stay or self._last.get((method, picture), (0.0, False))[1]
                self._last[method, picture] = (rate, stays)
                self._last.move_to_end((method, picture))
                while len(self._last) > self._pictures:
                    self._last.popitem(last=False)

    def expected(self, method: str, pixels: int, *, picture: Hashable = None) -> float | None:
        """Predicted seconds for ``method`` on ``pixels`` pixels; None before it ever ran."""
        with self._lock:
            rate = self._last.get((method, picture), (None,))[0] if picture is not None else None
            if rate is None:
                rate = self._worst.get(method)
        return None if rate is None else rate * max(pixels / 1e6, 1e-3)

    def is_heavy(self, method: str, pixels: int, *, picture: Hashable = None, unknown: bool = False) -> bool:
        """True when the prediction reaches ``heavy_seconds`` or the picture's runs stay heavy (see
        :meth:`observe`); ``unknown`` before the method ever ran."""
        with self._lock:
            if self._last.get((method, picture), (0.0, False))[1]:
                return True
        seconds = self.expected(method, pixels, picture=picture)
        return unknown if seconds is None else seconds >= self.heavy_seconds

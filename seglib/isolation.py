"""Run a call in a child process at lower priority, where a cancel can stop it at once.

A heavy classical method (felzenszwalb, SLIC, random walker on a big
picture) spends seconds in compiled code that never reports progress: run
on a thread of the app's server, a cancelled run could only be abandoned,
and it kept its worker (and every heavy job waiting behind it) busy until
it returned, 6 s on an idle machine and 80 s on a loaded one for
felzenszwalb on a 2-megapixel picture. Its memory peak (about 0.9 GB there)
was also the server's. :class:`ChildWorker` runs such calls in a child
process of its own instead (a plain ``python`` that imports only what the
call needs), one call at a time:

- the call's :func:`seglib.progress.report` calls come back to the caller's
  listener, so a job pool's progress bar and cancellation still work;
- the caller's ``should_stop`` (by default :func:`seglib.jobs.checkpoint`) is
  asked a few times a second while it waits: when it raises, the child is
  killed at once, so a cancelled job stops even inside compiled code;
- the child lowers its CPU priority by ``nice``, keeps to the last ``cpus``
  of the CPUs it may use (so the first stay free for slider moves), offers itself first to
  Linux's out-of-memory killer (a run that asks too much ends the child,
  not the server), and ends by itself after
  ``idle_s`` seconds without work, so its memory goes back to the system;
  the next call starts another (about a second of imports).

:func:`call` runs on one worker per calling thread (the threads of a job
pool each keep theirs), on :func:`seglib.jobs.default_cpus` CPUs.

>>> from seglib import isolation
>>> outcome = isolation.call(sum, [1, 2, 3])
>>> outcome.value
6
"""

from __future__ import annotations

import functools
import os
import pickle
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from typing import Any, Callable, NamedTuple

from . import progress
from .checks import check_int, check_number
from .jobs import checkpoint, default_cpus, lower_priority, usable_cpus

__all__ = ["ChildDied", "ChildWorker", "Outcome", "call", "offload", "offloaded", "serve"]

DEFAULT_IDLE_S = 30.0
_POLL_S = 0.1


class ChildDied(RuntimeError):
    """The child process ended in the middle of a call (killed, out of memory, a crash in native code)."""


class Outcome(NamedTuple):
    """What a call in the child gave back.

    Attributes
    ----------
    value : object
        The call's return value.
    cpu_s : float
        CPU seconds the child spent on the call (all its threads).
    """

    value: Any
    cpu_s: float


def _first_to_go() -> None:
    """Ask Linux's out-of-memory killer to pick this process before any other (``oom_score_adj`` 1000).

    A heavy run that needs more memory than the machine has then ends its own child, which the
    caller reports as :class:`ChildDied`, rather than the server that holds everyone's sessions.
    """
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:  # not Linux, or not allowed
        pass


def _portable(error: BaseException) -> BaseException:
    """``error`` itself when it survives pickling, else a RuntimeError that tells its type, message and traceback."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any pickling failure
        text = "".join(traceback.format_exception(error))
        return RuntimeError(f"{type(error).__name__}: {error} (in the child process)\n{text}")


class _Channel:
    """Pickled messages over a socket, arrays out of band: written from and read into their own memory.

    A result of a heavy run is tens of MB of arrays; pickling it into one bytes object and reading
    that back into another would hold two more copies of it, one on each side, at the same time.
    """

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._ready = selectors.DefaultSelector()  # epoll on Linux: a busy server's descriptors may pass 1023
        self._ready.register(sock, selectors.EVENT_READ)

    def send(self, message: Any) -> None:
        buffers: list[pickle.PickleBuffer] = []
        data = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)  # fails before a byte is sent
        parts = [memoryview(data), *(buffer.raw() for buffer in buffers)]
        self.sock.sendall(struct.pack(f"!Q{len(parts)}Q", len(parts), *(part.nbytes for part in parts)))
        for part in parts:
            self.sock.sendall(part)

    def _read(self, n: int) -> bytearray:
        buffer = bytearray(n)
        view, got = memoryview(buffer), 0
        while got < n:
            read = self.sock.recv_into(view[got:])
            if not read:
                raise EOFError("the other end closed the channel")
            got += read
        return buffer

    def receive(self) -> Any:
        (count,) = struct.unpack("!Q", self._read(8))
        data, *buffers = (self._read(size) for size in struct.unpack(f"!{count}Q", self._read(8 * count)))
        return pickle.loads(data, buffers=buffers)

    def poll(self, timeout: float) -> bool:
        """True when a message (or the end of the channel) is waiting to be read."""
        return bool(self._ready.select(timeout))

    def close(self) -> None:
        self._ready.close()
        self.sock.close()


def _confine(cpus: int | None) -> None:
    """Keep this process on the last ``cpus`` of the CPUs it may use (None: leave it where it is)."""
    if cpus is None:
        return
    try:
        os.sched_setaffinity(0, usable_cpus()[-cpus:])
    except (AttributeError, OSError):  # no affinity on this system, or not allowed: run anywhere
        pass


def serve(fd: int, nice: int = 0, idle_s: float = DEFAULT_IDLE_S, cpus: int | None = None) -> None:
    """The child's loop: run each ``(fn, args, kwargs)`` received on socket ``fd`` and send back what came of it.

    Messages sent back: ``("progress", fraction, text)`` while a call runs, then ``("value", value,
    cpu_s)`` or ``("error", exception, cpu_s)``. The loop ends after ``idle_s`` seconds without a call,
    or when the caller closes its end. ``cpus``: see :class:`ChildWorker`.
    """
    from .threads import cap_blas

    lower_priority(nice)  # the main thread's priority is the process's
    _confine(cpus)
    _first_to_go()
    conn = _Channel(socket.socket(fileno=fd))

    def forward(fraction: float, text: str) -> None:
        conn.send(("progress", fraction, text))

    while conn.poll(idle_s):
        try:
            fn, args, kwargs = conn.receive()
        except (EOFError, OSError):
            return
        except Exception as error:  # noqa: BLE001 - the call could not be unpickled here
            conn.send(("error", _portable(error), 0.0))
            continue
        cpu = time.process_time()
        try:
            cap_blas(1)  # as the app's server: a server's parallelism is its sessions (seglib.threads)
            with progress.listen(forward):
                value = fn(*args, **kwargs)
            message = ("value", value, time.process_time() - cpu)
        except BaseException as error:  # noqa: BLE001 - handed back to the caller
            message = ("error", _portable(error), time.process_time() - cpu)
        try:
            conn.send(message)
        except OSError:  # the caller is gone (killed, or it gave up on the call)
            return
        except Exception as error:  # noqa: BLE001 - the value could not be pickled
            conn.send(("error", RuntimeError(f"the child process could not send back the call's "
                                             f"{message[0]}: {error}"), message[2]))
        del message, fn, args, kwargs


class ChildWorker:
    """One child process that runs calls sent to it, one at a time; started on demand.

    Parameters
    ----------
    nice : int
        How much lower the child's CPU priority is than this process's (0 to 19).
    idle_s : float
        The child ends after this many seconds without a call; the next call starts another.
    cpus : int, optional
        The child runs on the last ``cpus`` of the CPUs the caller may use, so the first stay free
        for other work (on two cores, the slider moves of a class have one core no heavy run takes
        from them); None: on any of them.
    """

    def __init__(self, *, nice: int = 0, idle_s: float = DEFAULT_IDLE_S, cpus: int | None = None):
        self.nice = check_int(nice, "nice", low=0, high=19)
        self.idle_s = check_number(idle_s, "idle_s", low=0.0)
        self.cpus = None if cpus is None else check_int(cpus, "cpus", low=1)
        self._process: subprocess.Popen | None = None
        self._conn: _Channel | None = None

    @property
    def pid(self) -> int | None:
        """The running child's process id (None when there is none)."""
        return self._process.pid if self._alive() else None

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self) -> None:
        self.close()
        ours, theirs = socket.socketpair()
        code = (f"from seglib.isolation import serve; "
                f"serve({theirs.fileno()}, {self.nice}, {self.idle_s!r}, {self.cpus!r})")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        try:
            self._process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),), env=env,
                                             stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self._conn = _Channel(ours)

    def call(self, fn: Callable, args: tuple = (), kwargs: dict | None = None, *,
             should_stop: Callable[[], None] | None = None) -> Outcome:
        """``fn(*args, **kwargs)`` in the child; its value and CPU time, or its error raised here.

        Parameters
        ----------
        fn : callable
            Picklable: a module-level function (the child imports its module).
        args : tuple
        kwargs : dict, optional
            Picklable arguments.
        should_stop : callable, optional
            Called a few times a second while the child works; when it raises, the child is
            killed and the error goes on to the caller. Default: :func:`seglib.jobs.checkpoint`
            (a job nobody waits for any more stops).

        Raises
        ------
        ChildDied
            When the child ended before answering.
        Exception
            Whatever ``fn`` raised (an exception that cannot be pickled arrives as a RuntimeError
            with its type, message and traceback).
        """
        should_stop = checkpoint if should_stop is None else should_stop
        if not self._alive():
            self._start()
        answered = False
        try:
            self._conn.send((fn, tuple(args), dict(kwargs or {})))
            while True:
                while not self._conn.poll(_POLL_S):
                    should_stop()
                    if not self._alive():
                        raise self._died()
                kind, *rest = self._conn.receive()
                if kind == "progress":
                    progress.report(*rest)  # a job pool's report raises when nobody waits any more
                    continue
                answered = True
                value, cpu = rest
                if kind == "error":
                    raise value
                return Outcome(value, cpu)
        except (EOFError, ConnectionError) as error:
            if answered:
                raise
            raise self._died() from error
        finally:
            if not answered:
                self.close()  # cancelled, interrupted or dead while the child works: stop it now

    def _died(self) -> ChildDied:
        try:
            code = self._process.wait(5) if self._process is not None else None
        except subprocess.TimeoutExpired:  # it closed its end but lives on: it is of no use any more
            code = None
        self.close()
        why = " (killed: out of memory?)" if code == -9 else ""
        return ChildDied(f"the child process ended with exit code {code}{why} before answering")

    def close(self) -> None:
        """Stop the child now (a call it is running is lost)."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()


_local = threading.local()


def call(fn: Callable, /, *args, **kwargs) -> Outcome:
    """``fn(*args, **kwargs)`` on this thread's own :class:`ChildWorker` (started on first use).

    The child inherits the calling thread's CPU priority (Linux keeps it per thread): called from
    a job pool's worker, it runs at the worker's lower priority. It keeps to the last
    :func:`seglib.jobs.default_cpus` of the CPUs (``$SEGDASH_HEAVY_CPUS``; default all but one).
    Cancellation is :func:`seglib.jobs.checkpoint`'s, as :meth:`ChildWorker.call`.
    """
    worker = getattr(_local, "worker", None)
    if worker is None:
        worker = _local.worker = ChildWorker(cpus=default_cpus())
    return worker.call(fn, args, kwargs)


# ----------------------------------------------------------------------------- loops of small numpy calls

HELPER_IDLE_S = 600.0
_helper: ChildWorker | None = None
_helper_lock = threading.Lock()
_offloading = False


def offload(enabled: bool = True) -> None:
    """Run the functions marked :func:`offloaded` in a helper child process from now on (or no more).

    For a server whose threads share the interpreter lock (a Streamlit app: every session's script
    runs on a thread of one process). A loop of many small numpy calls, such as k-means' Lloyd passes
    on a sample, gives the lock away at every call and waits to get it back while another thread is
    busy with Python work: a 40 ms k-means fit took 2.3 s beside one busy thread, and 85 ms in a
    child (``benchmarks/bench_gil_convoy.py``). Its data (a 10,000-row sample) and its answer (the
    centres) are small, so it travels to a child in about a millisecond.
    """
    global _offloading
    _offloading = bool(enabled)


def offloaded(fn: Callable) -> Callable:
    """Mark ``fn`` (a module-level function with small, picklable arguments and value) as run in this
    process's helper child while :func:`offload` is on; otherwise, and in the child, it runs here.

    One helper serves the whole process, one call at a time (calls of other threads wait their turn);
    it runs at this process's priority and ends after :data:`HELPER_IDLE_S` seconds without a call.
    Should it die, the call runs here.
    """
    @functools.wraps(fn)
    def run(*args, **kwargs):
        global _helper
        if not _offloading:
            return fn(*args, **kwargs)
        with _helper_lock:
            if _helper is None:
                _helper = ChildWorker(idle_s=HELPER_IDLE_S)
            try:
                return _helper.call(run, args, kwargs, should_stop=_never).value
            except ChildDied:
                pass
        return fn(*args, **kwargs)

    return run


def _never() -> None:
    """A helper's call is never cancelled: it takes milliseconds."""

"""Native thread limits: how many threads BLAS/OpenMP (through threadpoolctl) and torch may use.

Three needs, one module:

- :func:`limit_threads` sets the threads of a block of work and restores
  the settings after it: tiny matrix products (k-means, GrabCut's 3 x 3
  colour models) and SAM's small decoder tensors run several times faster
  on one thread of a busy machine than on threads that spin at barriers,
  and a training run takes one thread so it does not starve other sessions.
- :func:`cap_threads` caps the whole process, once: one inference must not
  starve the other sessions of a server, and a Dask worker process must not
  start one thread per core in each of its tasks.
- :func:`cap_blas` keeps the app server's BLAS on one thread: a server's
  parallelism is its sessions, and after a multi-threaded BLAS call
  OpenBLAS's helper threads spin for about 0.1 s of CPU before they sleep
  (a 1.4-million-pixel matrix-vector product: 12 ms of CPU back to back,
  143 ms a call when the calls come half a second apart, as slider moves do).

Torch's setting is only touched when torch is already imported (this
module never imports it). ``threadpool_limits`` scans every loaded library
on each call (2-3 ms), so the module keeps one controller, made again only
after new imports (an import is how a new BLAS or OpenMP library gets
loaded), and the two process-wide caps are applied again only then.

>>> with limit_threads(1, torch=False):
...     pass
"""

from __future__ import annotations

import contextlib
import sys

_controller: tuple = (-1, None)  # (len(sys.modules) when made, threadpoolctl.ThreadpoolController)
_caps: dict = {}  # threadpoolctl user_api (None: every pool) -> (threads, len(sys.modules)) of its last cap


def _torch():
    return sys.modules.get("torch")


def _blas_controller():
    """The process's BLAS/OpenMP libraries as a ``ThreadpoolController``, found once and again only
    after modules were imported (an import is how a new BLAS or OpenMP library gets loaded)."""
    global _controller
    imported, controller = _controller
    if controller is None or imported != len(sys.modules):
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()
        _controller = (len(sys.modules), controller)
    return controller


@contextlib.contextmanager
def limit_threads(n: int = 1, *, blas: bool = True, torch: bool = True):
    """Run the block with ``n`` BLAS/OpenMP and/or torch intra-op threads; restore the settings after.

    Parameters
    ----------
    n : int
        Threads inside the block.
    blas : bool
        Limit BLAS/OpenMP pools (threadpoolctl, ``user_api="blas"``).
    torch : bool
        Limit torch's intra-op threads (process wide: a concurrent torch call
        elsewhere may briefly see the lower setting too; that only changes speed).
    """
    module = _torch() if torch else None
    before = module.get_num_threads() if module is not None else None
    if before is not None and before != n:
        module.set_num_threads(n)
    try:
        if blas:
            with _blas_controller().limit(limits=n, user_api="blas"):
                yield
        else:
            yield
    finally:
        if before is not None and module.get_num_threads() != before:
            module.set_num_threads(before)


def _cap_pools(n: int, user_api: str | None) -> None:
    """Set the threadpoolctl pools of ``user_api`` (None: BLAS and OpenMP) to ``n`` threads for good,
    unless they were set so with no import since."""
    if _caps.get(user_api) != (n, len(sys.modules)):
        _blas_controller().limit(limits=n, user_api=user_api)
        _caps[user_api] = (n, len(sys.modules))


def cap_threads(n: int, *, blas: bool = False) -> None:
    """Cap torch's intra-op threads (when torch is imported) and, with ``blas``, BLAS and OpenMP pools to ``n`` for good.

    Cheap to call often: torch's setting is only lowered when above ``n``,
    and the pools are set again only after new imports.
    """
    module = _torch()
    if module is not None and module.get_num_threads() > n:
        module.set_num_threads(n)
    if blas:
        _cap_pools(n, None)


def cap_blas(n: int = 1) -> None:
    """Keep the process's BLAS pools (numpy's and scipy's OpenBLAS) at ``n`` threads for good.

    Cheap enough for every script run of the app: the libraries are looked at
    again only after new imports, which may have loaded another BLAS. Torch
    and OpenMP pools are left alone (SAM's encoder keeps its threads).
    """
    _cap_pools(n, "blas")

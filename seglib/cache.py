"""Caching of expensive early stages, keyed by array content and arguments.

A slider that moves only a cheap late stage (a threshold, Canny's
hysteresis) must not redo the expensive early work. Methods wrap that early
work in :func:`cached_stage`; :func:`seglib.segment` marks the working image
read-only so its fingerprint is computed once and reused.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

_MAX_ENTRIES = 48
_MAX_BYTES = 512 * 2**20
"""Memory budget of the cache: least recently used stages go first when it is exceeded, and a stage
larger than the whole budget is computed but not kept (a huge image or many tiles cannot pile up)."""
_lock = threading.Lock()
_entries: "OrderedDict[tuple, Any]" = OrderedDict()
_sizes: dict[tuple, int] = {}
_fingerprints: dict[int, tuple[weakref.ref, str]] = {}
_identities: dict[int, tuple[weakref.ref, str]] = {}
_tokens = itertools.count()
stats = {"hits": 0, "misses": 0}


def fingerprint(array: np.ndarray) -> str:
    """Content hash of ``array`` (shape, dtype and bytes).

    Read-only arrays are hashed once per object and remembered while the
    object lives, so repeated lookups on the same working image are free.
    """
    array = np.asarray(array)
    key = id(array)
    if not array.flags.writeable:
        known = _fingerprints.get(key)
        if known is not None and known[0]() is array:
            return known[1]
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{array.shape}{array.dtype}".encode())
    digest.update(np.ascontiguousarray(array).data)
    value = digest.hexdigest()
    if not array.flags.writeable:
        try:
            _fingerprints[key] = (weakref.ref(array, lambda _, k=key: _fingerprints.pop(k, None)), value)
        except TypeError:  # arrays that do not support weak references
            pass
    return value


def identity(array: np.ndarray) -> str:
    """A key that stands for this read-only array object while it lives, without reading its bytes.

    For caches of what is drawn from an array (a figure, an encoded picture): a
    cached result hands every rerun the same read-only objects, and a new result
    brings new ones whose content is new anyway, so hashing them
    (:func:`fingerprint`, a millisecond or more per megabyte, on every slider
    move) would buy nothing. Two distinct objects get distinct keys even when
    their contents are equal; a key is never given to another object, even at
    the same address once this one is gone. A writeable array could change
    under its key: it gets its :func:`fingerprint` instead.
    """
    array = np.asarray(array)
    if array.flags.writeable:
        return fingerprint(array)
    key = id(array)
    known = _identities.get(key)
    if known is not None and known[0]() is array:
        return known[1]
    token = f"object-{next(_tokens)}"
    try:
        _identities[key] = (weakref.ref(array, lambda _, k=key: _identities.pop(k, None)), token)
    except TypeError:  # arrays that do not support weak references
        return fingerprint(array)
    return token


def remember(array: np.ndarray, key: str) -> None:
    """Record ``key`` as the fingerprint of the read-only ``array`` while it lives.

    For an array derived deterministically from inputs whose fingerprint is
    cheaper to compute (a small uint8 upload versus its float working copy),
    ``key`` must name everything the array depends on.
    """
    if array.flags.writeable:
        raise ValueError("remember() needs a read-only array: a writeable one could change under its key")
    ident = id(array)
    _fingerprints[ident] = (weakref.ref(array, lambda _, k=ident: _fingerprints.pop(k, None)), key)


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, tuple):
        for item in value:
            _freeze(item)
    elif isinstance(value, dict):
        for item in value.values():
            _freeze(item)
    return value


def _key_part(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", fingerprint(value))
    if isinstance(value, (list, tuple)):
        return tuple(_key_part(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _key_part(v)) for k, v in value.items()))
    return value


def nbytes(value: Any) -> int:
    """Bytes held by the arrays (numpy or torch) in ``value``, looking inside tuples, lists, dicts and dataclasses."""
    if isinstance(value, np.ndarray) or (hasattr(value, "nbytes") and not isinstance(value, type)):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


def total_bytes() -> int:
    """Bytes held by the cached stages now."""
    with _lock:
        return sum(_sizes.values())


def cached_stage(func: Callable) -> Callable:
    """Memoise ``func`` on the content of its array arguments and its other arguments.

    Returned arrays are made read-only: callers must copy before changing them.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        key = (func.__module__, func.__qualname__, _key_part(args), _key_part(kwargs))
        with _lock:
            if key in _entries:
                _entries.move_to_end(key)
                stats["hits"] += 1
                return _entries[key]
        value = _freeze(func(*args, **kwargs))
        size = nbytes(value)
        with _lock:
            stats["misses"] += 1
            if size > _MAX_BYTES:
                return value
            _entries[key] = value
            _sizes[key] = size
            while len(_entries) > _MAX_ENTRIES or sum(_sizes.values()) > _MAX_BYTES:
                oldest, _ = _entries.popitem(last=False)
                del _sizes[oldest]
        return value

    return wrapper


def clear() -> None:
    """Forget every cached stage (tests and memory pressure)."""
    with _lock:
        _entries.clear()
        _sizes.clear()
        stats["hits"] = stats["misses"] = 0

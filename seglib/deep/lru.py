"""One bounded, thread-safe cache for built models (and SAM's embeddings and raw masks).

Like :mod:`seglib.cache`: least recently used entries go first when the
bound is passed, one lock guards the entries, and hits and misses are
counted. :meth:`LRUCache.get_or_build` builds a missing entry outside that
lock (a slow model load does not block other models), but only once per
key: a second caller asking for the same key while it is being built waits
and reuses it, so two sessions opening the same 2.5 GB model do not build
it twice. A build that raises caches nothing, so the model other sessions
use is never replaced by a broken one.

>>> models = LRUCache(2)
>>> models.get_or_build("a", lambda: "model a")
'model a'
>>> models.stats
{'hits': 0, 'misses': 1}
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

_MISSING = object()


class LRUCache:
    """At most ``max_entries`` values by key, least recently used evicted first.

    Attributes
    ----------
    stats : dict
        ``hits`` and ``misses`` of :meth:`get` and :meth:`get_or_build`
        (the same dict for the cache's whole life; :meth:`clear` zeroes it).
    """

    def __init__(self, max_entries: int):
        if int(max_entries) < 1:
            raise ValueError(f"max_entries={max_entries!r} is not allowed: expected an integer >= 1")
        self.max_entries = int(max_entries)
        self.stats = {"hits": 0, "misses": 0}
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key`` (now the most recently used), or ``default``; counts a hit or a miss."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.stats["hits"] += 1
                return self._items[key]
            self.stats["misses"] += 1
            return default

    def peek(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key`` or ``default``, without counting or reordering."""
        with self._lock:
            return self._items.get(key, default)

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key``, evicting the least recently used entries beyond the bound."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value of ``key``, built by ``build()`` (once, however many callers wait) when missing."""
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            value = self.peek(key, _MISSING)
            if value is _MISSING:
                try:
                    value = build()
                    self.put(key, value)
                finally:
                    with self._lock:
                        self._building.pop(key, None)
        return value

    def clear(self) -> None:
        """Forget every entry and zero the counters."""
        with self._lock:
            self._items.clear()
            self.stats.update(hits=0, misses=0)

"""The one bounded model cache: eviction, counters, one build per key however many callers wait."""

import threading
import time

import pytest

from seglib.deep.lru import LRUCache


def test_least_recently_used_entries_go_first_and_hits_are_counted():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the least recently used
    cache.put("c", 3)
    assert "b" not in cache and "a" in cache and "c" in cache and len(cache) == 2
    assert cache.get("b", "gone") == "gone"
    assert cache.stats == {"hits": 1, "misses": 1}
    assert cache.peek("a") == 1 and cache.stats == {"hits": 1, "misses": 1}, "peek counts nothing"
    stats = cache.stats
    cache.clear()
    assert len(cache) == 0 and stats is cache.stats and stats == {"hits": 0, "misses": 0}
    with pytest.raises(ValueError, match="max_entries=0 is not allowed"):
        LRUCache(0)


def test_a_failing_build_caches_nothing_and_keeps_the_other_entries():
    cache = LRUCache(2)
    good = cache.get_or_build("good", lambda: object())

    def broken():
        raise ValueError("bad weights")

    with pytest.raises(ValueError, match="bad weights"):
        cache.get_or_build("bad", broken)
    assert "bad" not in cache and cache.get_or_build("good", broken) is good
    assert cache.get_or_build("bad", lambda: "fixed") == "fixed"


def test_concurrent_callers_of_one_key_build_it_once_and_other_keys_do_not_wait():
    cache = LRUCache(4)
    builds, started = [], threading.Event()

    def slow():
        started.set()
        builds.append(1)
        time.sleep(0.3)
        return "model"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_build("big", slow))) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait(5)
    begin = time.perf_counter()
    assert cache.get_or_build("small", lambda: "quick") == "quick"
    assert time.perf_counter() - begin < 0.2, "another key is built while the slow one is"
    for thread in threads:
        thread.join(5)
    assert results == ["model"] * 4 and len(builds) == 1

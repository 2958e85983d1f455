"""The benchmark's cache backend: the production one, counting its hits and misses.

The application keeps no cache statistics, and Redis's own (``INFO``
``keyspace_hits``) are the whole server's, other databases and clients included.
So under ``make bench`` (bench/settings.py) every process counts the lookups it
makes, by kind of key, and a thread of its own adds them every ``FLUSH_SECONDS``
to one Redis hash,
``<CACHE_KEY_PREFIX>:bench-cache-stats`` (fields ``<kind>:hit`` and ``<kind>:miss``),
which bench/run.py reads before and after each measured run. A lookup is a key asked
for with ``get`` or ``get_many``; the kinds:

- ``session``: sessions read through the cache (core/platform/sessions.py);
- ``version``: the versions that cache keys carry (core/platform/cache.py);
- ``page``: everything else, the cached pages, fragments and read models.

Counting costs a lock and a dictionary update per key, and one pipelined write to
Redis per process every ``FLUSH_SECONDS``: nothing next to a page. bench/run.py
waits ``2 * FLUSH_SECONDS`` after a run before it reads the hash.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.contrib.sessions.backends.cached_db import KEY_PREFIX as SESSION_PREFIX

from core.platform.cache_backend import ReusingRedisCache

STATS_KEY = "bench-cache-stats"
FLUSH_SECONDS = 0.2
KINDS = ("page", "session", "version")
_MISSING = object()
_lock = threading.Lock()
_counts: Counter[str] = Counter()
_flusher_pid: int | None = None  # the process whose flushing thread runs


def kind_of(key: str) -> str:
    if key.startswith(SESSION_PREFIX):
        return "session"
    if key.startswith("ver:"):
        return "version"
    return "page"


def stats_key(prefix: str) -> str:
    return f"{prefix}:{STATS_KEY}"


class CountingRedisCache(ReusingRedisCache):
    """``ReusingRedisCache`` that counts each key's hit or miss (module docstring)."""

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        value = super().get(key, _MISSING, version)
        self._count([(key, value is not _MISSING)])
        return default if value is _MISSING else value

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        keys = list(keys)
        found = super().get_many(keys, version)
        self._count((key, key in found) for key in keys)
        return found

    def _count(self, lookups: Iterable[tuple[Any, bool]]) -> None:
        global _flusher_pid
        with _lock:
            for key, hit in lookups:
                _counts[f"{kind_of(str(key))}:{'hit' if hit else 'miss'}"] += 1
            if _flusher_pid == os.getpid():
                return
            _flusher_pid = os.getpid()  # a forked worker starts its own
        client = self._cache.get_client(write=True)
        name = stats_key(self.key_prefix)
        threading.Thread(target=_flush_forever, args=(client, name), daemon=True).start()


def _flush_forever(client: Any, name: str) -> None:
    """Add this process's counts to the hash every ``FLUSH_SECONDS``."""
    while True:
        time.sleep(FLUSH_SECONDS)
        with _lock:
            pending = dict(_counts)
            _counts.clear()
        if not pending:
            continue
        try:
            pipe = client.pipeline(transaction=False)
            for field, n in pending.items():
                pipe.hincrby(name, field, n)
            pipe.execute()
        except Exception:  # statistics never fail a page; these counts are lost
            pass


def read_stats(redis_url: str, prefix: str) -> dict[str, int]:
    """The counts so far of every process of this run (bench/run.py)."""
    import redis

    try:
        raw = redis.Redis.from_url(redis_url).hgetall(stats_key(prefix))
    except redis.RedisError:
        return {}
    return {
        (field.decode() if isinstance(field, bytes) else field): int(value)
        for field, value in raw.items()
    }

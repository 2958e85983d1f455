"""Cache query results with a time to live.

Typical mistake: the connection is part of the key, so a new connection never hits.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any


def cache_query(ttl: float = 60.0, maxsize: int = 128) -> Callable[[Callable[..., Any]], Any]:
    """Cache results for ``ttl`` seconds."""

    def decorator(func: Callable[..., Any]) -> Any:
        entries: dict[tuple[Any, ...], tuple[float, Any]] = {}
        counts = {"hits": 0, "misses": 0}

        @functools.wraps(func)
        def wrapper(conn: Any, query: str, params: tuple[Any, ...] = ()) -> Any:
            key = (conn, query, params)
            found = entries.get(key)
            if found is not None and time.monotonic() - found[0] < ttl:
                counts["hits"] += 1
                return found[1]
            counts["misses"] += 1
            entries[key] = (time.monotonic(), func(conn, query, params))
            if len(entries) > maxsize:
                del entries[next(iter(entries))]
            return entries[key][1]

        wrapper.cache_info = lambda: {**counts, "size": len(entries)}
        wrapper.cache_clear = entries.clear
        return wrapper

    return decorator

"""Cache query results with a time to live."""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


def cache_query(ttl: float = 60.0, maxsize: int = 128) -> Callable[[Callable[..., Any]], Any]:
    """Cache results by query and params for ``ttl`` seconds, ``maxsize`` entries at most."""

    def decorator(func: Callable[..., Any]) -> Any:
        entries: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        counts = {"hits": 0, "misses": 0}

        @functools.wraps(func)
        def wrapper(conn: Any, query: str, params: tuple[Any, ...] = ()) -> Any:
            # The connection is new on every call (with_db_connection): keying on it
            # would never hit, and would keep closed connections alive.
            key = (query, tuple(params))
            now = time.monotonic()
            found = entries.get(key)
            if found is not None and now - found[0] < ttl:
                counts["hits"] += 1
                return found[1]
            counts["misses"] += 1
            result = func(conn, query, params)
            entries[key] = (now, result)
            entries.move_to_end(key)
            while len(entries) > maxsize:
                entries.popitem(last=False)
            return result

        wrapper.cache_info = lambda: {**counts, "size": len(entries)}
        wrapper.cache_clear = entries.clear
        return wrapper

    return decorator

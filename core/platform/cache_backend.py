"""Django's Redis cache backend, reusing one redis-py client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache
call, and each one rebuilds its response-callback table: two thirds of what a
``cache.get`` costs against a local Redis. A client that shares its pool is safe to
share across threads (each command takes its own connection from the pool), so one
client per pool is enough. Nothing else changes: same pools, options and serializer,
and a down Redis raises ``redis.ConnectionError`` from the command exactly as before,
so core.platform.cache's helpers still catch it and compute without the cache.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

if TYPE_CHECKING:
    import redis


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client, handing out one ``redis.Redis`` per connection pool."""

    # Django's own attributes, which the stubs leave out.
    _servers: list[str]
    _pools: dict[int, redis.ConnectionPool]
    _pool_class: type[redis.ConnectionPool]
    _pool_options: dict[str, Any]
    _client: type[redis.Redis]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}  # by server index, like self._pools
        self._lock = threading.Lock()

    def get_client(
        self, key: str | bytes | memoryview | None = None, *, write: bool = False
    ) -> redis.Redis:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]  # Django's
        client = self._clients.get(index)
        if client is None:
            client = self._first_client(index)
        return client

    def _first_client(self, index: int) -> redis.Redis:
        # Locked so that threads sharing this object also share one pool per server
        # (Django creates pools unlocked; Django itself gives each thread its own cache).
        with self._lock:
            if index not in self._clients:
                if index not in self._pools:
                    self._pools[index] = self._pool_class.from_url(
                        self._servers[index], **self._pool_options
                    )
                self._clients[index] = self._client(connection_pool=self._pools[index])
            return self._clients[index]


class ReusingRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with ``ReusingRedisCacheClient``."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

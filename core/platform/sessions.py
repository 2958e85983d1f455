"""Sessions in the database, read through the cache: a down cache costs a query, never a 500.

Loading a session from the database is a query on every signed-in request; reading
it from Redis is several times cheaper. The database stays the record: every write
goes there first, and the cache only holds copies of rows.

Django's ``cached_db`` store raises when the cache is unreachable while it refills
the cache after a miss, checks whether a new key exists, or deletes a session (sign-in
rotates the key, sign-out deletes it). Here every cache call is guarded, following
core/platform/cache.py: reads skip a cache that just failed (its back-off) and go to the
database; writes and deletes are always attempted, so a cache that is back is never
left holding a session the database no longer has.

A write the cache missed (it was down, the database write went through) could leave
an old copy behind, so copies live at most ``SESSION_CACHE_SECONDS``: that bounds how
long a sign-out during a cache outage could be undone by a copy the cache still holds.

It reads the default cache (``SESSION_CACHE_ALIAS`` is left at "default"), whose
back-off core/platform/cache.py keeps.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache.backends.base import BaseCache

from core.platform.cache import safe_get, safe_set

logger = logging.getLogger(__name__)

# How long a cached copy of a session lives; a session is read from the database at
# most this often while in use.
SESSION_CACHE_SECONDS = 600


class SessionStore(CachedDBStore):
    """Django's ``cached_db`` store, with every cache call guarded (see the module docstring)."""

    # Django's own attributes, which the stubs leave out.
    _cache: BaseCache
    _session: dict[str, Any]

    def _cache_timeout(self, expiry_age: int) -> int:
        return max(0, min(expiry_age, SESSION_CACHE_SECONDS))

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] | None = safe_get(self.cache_key)
        if data is not None:
            return data
        row = self._get_session_from_db()  # type: ignore[attr-defined]  # Django's, not stubbed
        if row is None:
            return {}
        data = self.decode(row.session_data)
        # The refill is skipped while the cache is backing off: a page must not wait
        # for a socket timeout on every request of an outage.
        safe_set(
            self.cache_key, data, self._cache_timeout(self.get_expiry_age(expiry=row.expire_date))
        )
        return data

    def exists(self, session_key: str) -> bool:
        # Every cached copy has its row, so the database alone answers (and a new key,
        # the only thing this is asked about, is never in the cache anyway).
        return DBStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        DBStore.save(self, must_create)
        try:
            self._cache.set(
                self.cache_key, self._session, self._cache_timeout(self.get_expiry_age())
            )
        except Exception:
            logger.warning("Cache unavailable; session saved to the database only", exc_info=True)

    def delete(self, session_key: str | None = None) -> None:
        DBStore.delete(self, session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception:
            logger.warning(
                "Cache unavailable; a deleted session's copy stays cached for at most %s s",
                SESSION_CACHE_SECONDS,
                exc_info=True,
            )

    # The async API runs the guarded sync methods (the site is served by WSGI workers).

    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def aexists(self, session_key: str) -> bool:
        return await sync_to_async(self.exists)(session_key)

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)

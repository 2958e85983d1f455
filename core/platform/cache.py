"""Versioned cache keys, and cache calls that degrade to computing when the cache is down.

Invalidation is explicit: a key carries the *versions* of what its value shows
(``ver:<name>`` holds each): ``cohort:<id>`` for cohort-wide pages, ``learner:<user>``
and ``schedule:<cohort>`` for a learner's, ``project:<id>`` for a brief. Writes bump
what they change on commit (``bump_on_commit``), so the next read misses and
recomputes; old entries, never read again, expire. Nothing is deleted, so there is
no delete-then-refill race:

- a reader that read the old version may store what it computed under the old
  key, which nobody reads any more;
- a reader that read the new version started after the commit, so it computes
  from committed data.

A missing version (evicted, or a fresh cache) starts at the current time in
microseconds, so it never lands on a number an older entry was stored under.

When the cache is unreachable every helper here logs a warning and answers as
if the cache were empty: pages compute from the database, slower but correct.
After a failure this process stops asking for CACHE_BACKOFF_SECONDS, so a page
does not wait for a socket timeout on every call.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe

logger = logging.getLogger(__name__)

# Bump when what a cached value *means* changes while its fields stay the same (a score
# stored in other units, say). A change of fields or their types needs no bump: keys of
# pickled values carry their shape_of(), so a deploy never unpickles an old one.
SCHEMA = "dash1"
# After an error, skip the cache for this long (per process) instead of timing out each call.
CACHE_BACKOFF_SECONDS = 5.0

_down_until = 0.0


def _available() -> bool:
    return time.monotonic() >= _down_until


def _failed(action: str) -> None:
    """Log the failure and back off for a few seconds."""
    global _down_until
    _down_until = time.monotonic() + CACHE_BACKOFF_SECONDS
    logger.warning("Cache unavailable (%s); computing without it", action, exc_info=True)


def reset_backoff() -> None:
    """Forget an earlier failure (tests, and a process that knows the cache is back)."""
    global _down_until
    _down_until = 0.0


def entry_timeout() -> int:
    """How long a versioned entry lives; versions make it correct, this only bounds memory."""
    return settings.DASHBOARD_CACHE_SECONDS


type VersionKind = Literal["cohort", "schedule", "learner", "project"]


def version_name(kind: VersionKind, pk: int) -> str:
    return f"{kind}:{pk}"


def learner_version_names(user_id: int, cohort_ids: Iterable[int]) -> list[str]:
    """What a learner's own pages show: their own work and their cohorts' schedules."""
    return [version_name("learner", user_id), *(version_name("schedule", pk) for pk in cohort_ids)]


def _version_key(name: str) -> str:
    return f"ver:{name}"


def _fresh_version() -> int:
    return time.time_ns() // 1000


def cache_versions(names: Iterable[str]) -> dict[str, int] | None:
    """The current version of each name (created if missing); None if the cache is down."""
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    if not _available():
        return None
    keys = {_version_key(name): name for name in names}
    try:
        found = cache.get_many(list(keys))
        versions = {keys[key]: int(value) for key, value in found.items()}
        for key, name in keys.items():
            if name not in versions:
                # add() keeps a concurrent request's version if it won the race.
                fresh = _fresh_version()
                versions[name] = (
                    fresh if cache.add(key, fresh, timeout=None) else int(cache.get(key))
                )
    except Exception:
        _failed("read versions")
        return None
    return versions


def key_parts(versions: Mapping[str, int]) -> list[str]:
    """``<name>=<version>`` for each, sorted by name: the parts of a key that depends on all
    of them (in one order whatever order the cache answered in)."""
    return [f"{name}={versions[name]}" for name in sorted(versions)]


def cache_version(name: str) -> int | None:
    """The current version of ``name``; None if the cache is down."""
    versions = cache_versions([name])
    return None if versions is None else versions[name]


def bump_version(name: str) -> None:
    """Move ``name`` to a new version: every entry keyed with the old one is dead."""
    key = _version_key(name)
    try:
        try:
            cache.incr(key)
        except ValueError:  # no version yet: any fresh one differs from the old entries'
            cache.set(key, _fresh_version(), timeout=None)
    except Exception:
        # Entries under the old version may be served until they expire
        # (DASHBOARD_CACHE_SECONDS): the bounded cost of a cache outage during a write.
        logger.warning("Cache unavailable; could not bump %s", name, exc_info=True)


# Longer keys (a learner in many cohorts) are shortened to a digest of the whole key:
# memcached refuses keys over 250 characters, and Django warns about them everywhere.
MAX_KEY_CHARS = 200


def versioned_key(prefix: str, *parts: object) -> str:
    """``dash1:<prefix>:<part>:<part>…``; pass the versions the value depends on as parts."""
    key = ":".join([SCHEMA, prefix, *(str(part) for part in parts)])
    if len(key) <= MAX_KEY_CHARS:
        return key
    return f"{SCHEMA}:{prefix}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


@functools.cache
def shape_of(*kinds: object) -> str:
    """A short digest of what a cached value is made of, for its key: each dataclass's
    name, fields and their types (anything else, such as a type alias, by its repr).

    A deploy that changes a cached dataclass changes its keys too, so no process ever
    unpickles a value of the old shape (a missing attribute would be a 500). Name every
    class the value holds, nested ones too: a field's type is read as written.
    """
    parts = []
    for kind in kinds:
        if is_dataclass(kind):
            described = ",".join(f"{field.name}:{field.type}" for field in fields(kind))
            parts.append(f"{getattr(kind, '__qualname__', kind)}({described})")
        else:
            parts.append(repr(kind))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]


def safe_get(key: str) -> Any | None:
    """The value under ``key``, or None when missing or when the cache is down."""
    if not _available():
        return None
    try:
        return cache.get(key)
    except Exception:
        _failed("get")
        return None


def safe_set(key: str, value: Any, timeout: int | None = None) -> None:
    """Store ``value`` under ``key``; a cache that is down is logged and ignored."""
    if not _available():
        return
    try:
        cache.set(key, value, timeout=entry_timeout() if timeout is None else timeout)
    except Exception:
        _failed("set")


# --- Rendered HTML fragments -------------------------------------------------------------

# A fragment that shows the clock ("in 3 days", "2 hours ago") is kept at most this long;
# countdowns tick in the browser anyway.
FRAGMENT_MAX_SECONDS = 60


@functools.cache
def templates_digest() -> str:
    """A digest of every project template: a deploy that changes one changes every fragment key."""
    digest = hashlib.sha256()
    for directory in map(Path, settings.TEMPLATES[0]["DIRS"]):
        for path in sorted(directory.rglob("*.html")):
            digest.update(str(path.relative_to(directory)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def fragment_key(name: str, *parts: object) -> str:
    """The key of a rendered fragment; pass every version and value the HTML depends on."""
    return versioned_key(f"html-{name}-{templates_digest()}", *parts)


def fresh_until(valid_until: datetime | None, now: datetime, most: int) -> datetime:
    """Until when a fragment built at ``now`` stays right: ``most`` seconds, or less if
    the data it shows goes stale sooner (``valid_until``)."""
    limit = now + timedelta(seconds=most)
    return limit if valid_until is None else min(limit, valid_until)


def cached_fragment[T](
    key: str | None, now: datetime, build: Callable[[], tuple[T, datetime]]
) -> T:
    """The value stored under ``key`` while fresh at ``now``, else what ``build`` returns
    (the value and until when it is right), stored. Every cached value comes through here.

    The time is checked on read, not left to the cache's expiry, so a page is never older
    than it says, whatever clock the cache keeps. A key None (the cache is down) builds
    every time.
    """
    entry = safe_get(key) if key is not None else None
    if isinstance(entry, tuple) and len(entry) == 2 and now < entry[0]:
        return cast(T, entry[1])  # what build() returned when it was stored: keys name it
    value, until = build()
    if key is not None and until > now:
        safe_set(key, (until, value), timeout=int((until - now).total_seconds()) + 1)
    return value


def cached_html(
    key: str | None, now: datetime, build: Callable[[], tuple[str, datetime]]
) -> SafeString:
    """``cached_fragment`` for one piece of our own rendered HTML."""
    return mark_safe(cached_fragment(key, now, build))


# A fragment with forms is cached with this in place of the CSRF token, and each request
# puts its own token in (a token belongs to one browser, not to the user). Our templates
# escape "<" in everything they show, so the marker can only come from the template.
CSRF_PLACEHOLDER = mark_safe("<csrf-token>")


def with_csrf_token(html: str, request: HttpRequest) -> SafeString:
    """``html`` rendered with CSRF_PLACEHOLDER, with this request's token in its place."""
    return mark_safe(html.replace(CSRF_PLACEHOLDER, get_token(request)))


type Ids = Iterable[int | None] | Callable[[], Iterable[int | None]]

# Sent once a committed write's versions are bumped, with the ids of each kind bumped
# (``cohort=[…], schedule=[…], learner=[…], project=[…]``): for what is kept in rows
# rather than in the cache (core.reporting.receivers).
versions_bumped = Signal()


def bump_on_commit(
    *, cohorts: Ids = (), schedules: Ids = (), learners: Ids = (), projects: Ids = ()
) -> None:
    """Once the transaction commits, bump these versions; a schedule's bumps its cohort's
    too (cohort pages show the schedule). Ids given as a function are read then, so a
    rolled-back write reads and bumps nothing."""

    def bump() -> None:
        given: dict[VersionKind, Ids] = {
            "cohort": cohorts,
            "schedule": schedules,
            "learner": learners,
            "project": projects,
        }
        ids = {
            kind: [pk for pk in (pks() if callable(pks) else pks) if pk is not None]
            for kind, pks in given.items()
        }
        ids["cohort"] += ids["schedule"]
        for name in dict.fromkeys(
            version_name(kind, pk) for kind, pks in ids.items() for pk in pks
        ):
            bump_version(name)
        versions_bumped.send(bump_on_commit, **ids)

    transaction.on_commit(bump, robust=True)

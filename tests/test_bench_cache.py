"""``make bench`` sorts cache lookups by the application's own key names (bench/cache.py).

Its hit rates (pages, sessions) are only right while the kinds follow the keys the
application makes: a renamed session or version key must fail here, not skew a table.
"""

from __future__ import annotations

from bench.cache import kind_of
from core.platform.cache import _version_key, fragment_key, version_name, versioned_key
from core.platform.sessions import SessionStore


def test_lookups_are_sorted_by_the_application_s_key_names() -> None:
    assert kind_of(SessionStore(session_key="a" * 32).cache_key) == "session"
    assert kind_of(_version_key(version_name("cohort", 1))) == "version"
    assert kind_of(fragment_key("queue", 1, "", 1, 42)) == "page"
    assert kind_of(versioned_key("learner-x", 7, "cohort:1=42")) == "page"

"""Task 6: 6-cache_query.py caches query results by query and params, for ttl seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import load

QUERY = "SELECT * FROM user_data WHERE age > ?"


class Clock:
    """time.monotonic, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    return clock


def cached(**options: Any) -> tuple[Callable[..., Any], list[tuple[str, Any]]]:
    """A fetch function decorated with cache_query(**options), and its real calls."""
    calls: list[tuple[str, Any]] = []

    def fetch_users(conn: object, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        calls.append((query, params))
        return [query, params]

    return load("6-cache_query").cache_query(**options)(fetch_users), calls


def test_a_repeated_query_comes_from_the_cache(clock: Clock) -> None:
    """The same query and params twice: the function runs once"""
    fetch, calls = cached(ttl=30)
    first = fetch(object(), query=QUERY, params=(25,))
    assert fetch(object(), query=QUERY, params=(25,)) == first
    assert len(calls) == 1


def test_the_params_are_part_of_the_key(clock: Clock) -> None:
    """The same query with other params is another entry"""
    fetch, calls = cached(ttl=30)
    fetch(object(), query=QUERY, params=(25,))
    fetch(object(), query=QUERY, params=(40,))
    assert calls == [(QUERY, (25,)), (QUERY, (40,))]


def test_cache_info_counts_hits_misses_and_size(clock: Clock) -> None:
    """cache_info() returns {"hits": 1, "misses": 1, "size": 1} after a repeat"""
    fetch, _ = cached(ttl=30)
    connection = object()
    fetch(connection, query=QUERY, params=(25,))
    fetch(connection, query=QUERY, params=(25,))
    assert fetch.cache_info() == {"hits": 1, "misses": 1, "size": 1}


def test_the_connection_is_not_part_of_the_key(clock: Clock) -> None:
    """A new connection (every with_db_connection call) still hits the cache"""
    fetch, calls = cached(ttl=30)
    fetch(object(), query=QUERY, params=(25,))
    fetch(object(), query=QUERY, params=(25,))
    assert len(calls) == 1


def test_entries_expire_after_the_ttl(clock: Clock) -> None:
    """After ttl seconds (of time.monotonic) the query runs again"""
    fetch, calls = cached(ttl=30)
    fetch(object(), query=QUERY, params=(25,))
    clock.now += 29
    fetch(object(), query=QUERY, params=(25,))
    assert len(calls) == 1
    clock.now += 2
    fetch(object(), query=QUERY, params=(25,))
    assert len(calls) == 2


def test_the_oldest_entry_goes_past_maxsize(clock: Clock) -> None:
    """With maxsize=2, a third query evicts the oldest entry"""
    fetch, calls = cached(ttl=30, maxsize=2)
    for age in (20, 30, 40):
        fetch(object(), query=QUERY, params=(age,))
    assert fetch.cache_info()["size"] == 2
    fetch(object(), query=QUERY, params=(40,))
    assert len(calls) == 3
    fetch(object(), query=QUERY, params=(20,))
    assert len(calls) == 4


def test_cache_clear_empties_the_cache(clock: Clock) -> None:
    """cache_clear() forgets every entry"""
    fetch, calls = cached(ttl=30)
    fetch(object(), query=QUERY, params=(25,))
    fetch.cache_clear()
    fetch(object(), query=QUERY, params=(25,))
    assert len(calls) == 2
    assert fetch.cache_info()["size"] == 1

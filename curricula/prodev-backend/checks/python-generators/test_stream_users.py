"""Task 1: 0-stream_users.py streams user_data one row at a time, ordered by name."""

from __future__ import annotations

import inspect
from itertools import islice
from typing import Any

from conftest import RecordingConnection, load


def stream_users(conn: RecordingConnection) -> Any:
    return load("0-stream_users").stream_users(conn)


def test_stream_users_is_a_generator_function() -> None:
    """stream_users is a generator function"""
    assert inspect.isgeneratorfunction(load("0-stream_users").stream_users)


def test_it_yields_plain_dicts(conn: RecordingConnection) -> None:
    """Each user is a plain dict with user_id, name, email and age"""
    user = next(stream_users(conn))
    assert type(user) is dict
    assert set(user) == {"user_id", "name", "email", "age"}


def test_it_yields_every_user_ordered_by_name(
    conn: RecordingConnection, users: list[dict[str, Any]]
) -> None:
    """It yields every user, ordered by name"""
    names = [user["name"] for user in stream_users(conn)]
    assert names == sorted(u["name"] for u in users)


def test_islice_takes_the_first_users(
    conn: RecordingConnection, users: list[dict[str, Any]]
) -> None:
    """islice(stream_users(conn), 2) gives the first two users by name"""
    first_two = [user["name"] for user in islice(stream_users(conn), 2)]
    assert first_two == sorted(u["name"] for u in users)[:2]


def test_no_query_runs_before_the_first_value(conn: RecordingConnection) -> None:
    """No query runs until the first user is asked for"""
    users = stream_users(conn)
    assert conn.selects() == []
    next(users)
    assert len(conn.selects()) == 1


def test_it_never_calls_fetchall(conn: RecordingConnection) -> None:
    """The cursor is iterated: fetchall is never called"""
    list(stream_users(conn))
    assert "fetchall" not in conn.calls

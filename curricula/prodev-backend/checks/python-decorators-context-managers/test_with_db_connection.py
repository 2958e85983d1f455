"""Task 1: 1-with_db_connection.py opens a connection for the call and always closes it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import is_closed, load, make_users_db


def test_an_open_connection_comes_first(users_db: Path) -> None:
    """The function gets an open connection to users.db as its first argument"""

    @load("1-with_db_connection").with_db_connection
    def count_users(conn: sqlite3.Connection) -> int:
        return conn.execute("SELECT count(*) FROM user_data").fetchone()[0]

    assert count_users() == 3


def test_arguments_are_passed_through(users_db: Path) -> None:
    """Positional and keyword arguments reach the function after the connection"""

    @load("1-with_db_connection").with_db_connection
    def get_user_by_id(conn: sqlite3.Connection, user_id: str) -> tuple[str, ...] | None:
        return conn.execute("SELECT name FROM user_data WHERE user_id = ?", (user_id,)).fetchone()

    assert tuple(get_user_by_id(user_id="u-2")) == ("Kofi Asante",)
    assert tuple(get_user_by_id("u-3")) == ("Nia Banda",)


def test_the_connection_is_closed_after_the_call(users_db: Path) -> None:
    """The connection is closed once the function returns"""
    seen: list[sqlite3.Connection] = []

    @load("1-with_db_connection").with_db_connection
    def remember(conn: sqlite3.Connection) -> None:
        seen.append(conn)

    remember()
    assert is_closed(seen[0])


def test_the_connection_is_closed_when_the_function_raises(users_db: Path) -> None:
    """The connection is closed even when the function raises, and the error propagates"""
    seen: list[sqlite3.Connection] = []

    @load("1-with_db_connection").with_db_connection
    def broken(conn: sqlite3.Connection) -> None:
        seen.append(conn)
        raise LookupError("no such user")

    with pytest.raises(LookupError, match="no such user"):
        broken()
    assert is_closed(seen[0])


def test_the_function_keeps_its_name(users_db: Path) -> None:
    """The decorated function keeps its __name__ (functools.wraps)"""

    def get_user_by_id(conn: sqlite3.Connection, user_id: str) -> None:
        """Find one user."""

    wrapped = load("1-with_db_connection").with_db_connection(get_user_by_id)
    assert wrapped.__name__ == "get_user_by_id"


def test_prodev_db_chooses_the_database(
    users_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DB_PATH comes from the PRODEV_DB environment variable when it is set"""
    other = make_users_db(tmp_path / "other.db", [("u-9", "Imani Juma", "imani@example.com", 29)])
    monkeypatch.setenv("PRODEV_DB", str(other))
    module = load("1-with_db_connection")
    assert str(module.DB_PATH) == str(other)

    @module.with_db_connection
    def names(conn: sqlite3.Connection) -> list[str]:
        return [row[0] for row in conn.execute("SELECT name FROM user_data")]

    assert names() == ["Imani Juma"]

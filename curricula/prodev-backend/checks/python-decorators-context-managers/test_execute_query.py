"""Task 5: 5-execute_query.py runs a query on entry, as a class and with @contextmanager."""

from __future__ import annotations

import inspect
import sqlite3
from pathlib import Path

from conftest import is_closed, load

OLDER = "SELECT name FROM user_data WHERE age > ? ORDER BY name"


def names(rows: list[tuple[str, ...]]) -> list[str]:
    return [row[0] for row in rows]


def test_the_class_returns_the_rows(users_db: Path) -> None:
    """with ExecuteQuery(query, params) as rows gives the query's rows"""
    with load("5-execute_query").ExecuteQuery(OLDER, (25,)) as rows:
        assert names(rows) == ["Aba Mensah", "Nia Banda"]


def test_the_params_are_bound(users_db: Path) -> None:
    """The parameters are bound to the query's placeholders"""
    with load("5-execute_query").ExecuteQuery(OLDER, (40,)) as rows:
        assert names(rows) == ["Nia Banda"]


def test_execute_query_is_written_with_contextmanager(users_db: Path) -> None:
    """execute_query is a generator function decorated with contextlib.contextmanager"""
    execute_query = load("5-execute_query").execute_query
    assert inspect.isgeneratorfunction(inspect.unwrap(execute_query))
    with execute_query(OLDER, (25,)) as rows:
        assert names(rows) == ["Aba Mensah", "Nia Banda"]


def test_params_are_optional(users_db: Path) -> None:
    """A query without placeholders needs no params, in both styles"""
    module = load("5-execute_query")
    with module.ExecuteQuery("SELECT count(*) FROM user_data") as rows:
        assert rows[0][0] == 3
    with module.execute_query("SELECT count(*) FROM user_data") as rows:
        assert rows[0][0] == 3


def test_the_class_closes_its_connection(
    users_db: Path, connections: list[sqlite3.Connection]
) -> None:
    """ExecuteQuery closes the connection it opened when the block ends"""
    with load("5-execute_query").ExecuteQuery(OLDER, (25,)):
        pass
    assert connections and all(is_closed(conn) for conn in connections)


def test_the_generator_closes_its_connection(
    users_db: Path, connections: list[sqlite3.Connection]
) -> None:
    """execute_query closes the connection it opened, even when the block raises"""
    try:
        with load("5-execute_query").execute_query(OLDER, (25,)):
            raise RuntimeError("the block failed")
    except RuntimeError:
        pass
    assert connections and all(is_closed(conn) for conn in connections)

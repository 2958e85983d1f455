"""Task 4: 4-database_connection.py's DatabaseConnection commits or rolls back, then closes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import emails, is_closed, load

UPDATE = "UPDATE user_data SET email = 'new@example.com' WHERE user_id = 'u-1'"


def test_entering_gives_an_open_connection(users_db: Path) -> None:
    """with DatabaseConnection(path) as conn gives an open connection to that database"""
    with load("4-database_connection").DatabaseConnection(str(users_db)) as conn:
        assert conn.execute("SELECT count(*) FROM user_data").fetchone()[0] == 3


def test_leaving_normally_commits(users_db: Path) -> None:
    """Changes made in the block are committed when it ends normally"""
    with load("4-database_connection").DatabaseConnection(str(users_db)) as conn:
        conn.execute(UPDATE)
    assert emails(users_db)[0] == "new@example.com"


def test_an_error_rolls_back_and_propagates(users_db: Path) -> None:
    """An error in the block rolls the changes back and still propagates"""
    manager = load("4-database_connection").DatabaseConnection(str(users_db))
    with pytest.raises(ArithmeticError), manager as conn:
        conn.execute(UPDATE)
        raise ArithmeticError("failed half-way")
    assert emails(users_db)[0] == "aba@example.com"


def test_the_connection_is_closed_after_the_block(users_db: Path) -> None:
    """The connection is closed when the block ends"""
    with load("4-database_connection").DatabaseConnection(str(users_db)) as conn:
        pass
    assert is_closed(conn)


def test_it_closes_even_when_the_block_raises(users_db: Path) -> None:
    """The connection is closed when the block raises too"""
    opened: list[sqlite3.Connection] = []
    manager = load("4-database_connection").DatabaseConnection(str(users_db))
    with pytest.raises(KeyError), manager as conn:
        opened.append(conn)
        raise KeyError("boom")
    assert is_closed(opened[0])


def test_exit_never_silences_an_exception(users_db: Path) -> None:
    """__exit__ returns False or None, so exceptions are never silenced"""
    manager = load("4-database_connection").DatabaseConnection(str(users_db))
    manager.__enter__()
    error = ValueError("keep me")
    assert not manager.__exit__(ValueError, error, error.__traceback__)

"""Task 2: 2-transactional.py commits when the function returns and rolls back when it raises."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import emails, load


class EmailTaken(Exception):
    """The update found the new email in use."""


def update_email(conn: sqlite3.Connection, user_id: str, new_email: str) -> str:
    """Change a user's email."""
    conn.execute("UPDATE user_data SET email = ? WHERE user_id = ?", (new_email, user_id))
    return new_email


def failing_update(conn: sqlite3.Connection, user_id: str, new_email: str) -> None:
    """Change the email, then fail."""
    update_email(conn, user_id, new_email)
    raise EmailTaken(new_email)


def test_it_commits_when_the_function_returns(users_db: Path) -> None:
    """A change is committed when the function returns"""
    conn = sqlite3.connect(users_db)
    load("2-transactional").transactional(update_email)(conn, "u-1", "aba@new.example")
    assert emails(users_db)[0] == "aba@new.example"


def test_it_rolls_back_when_the_function_raises(users_db: Path) -> None:
    """A failing update leaves the row untouched"""
    conn = sqlite3.connect(users_db)
    with pytest.raises(EmailTaken):
        load("2-transactional").transactional(failing_update)(conn, "u-1", "aba@new.example")
    conn.commit()  # a forgotten rollback would be committed here
    assert emails(users_db)[0] == "aba@example.com"


def test_the_original_exception_is_reraised(users_db: Path) -> None:
    """The very exception the function raised comes out, unchanged"""
    conn = sqlite3.connect(users_db)
    with pytest.raises(EmailTaken) as raised:
        load("2-transactional").transactional(failing_update)(conn, "u-1", "taken@example.com")
    assert raised.type is EmailTaken
    assert str(raised.value) == "taken@example.com"


def test_the_return_value_passes_through(users_db: Path) -> None:
    """The decorated function returns what the function returns"""
    conn = sqlite3.connect(users_db)
    wrapped = load("2-transactional").transactional(update_email)
    assert wrapped(conn, "u-2", "kofi@new.example") == "kofi@new.example"


def test_the_function_keeps_its_name() -> None:
    """The decorated function keeps its __name__ (functools.wraps)"""
    assert load("2-transactional").transactional(update_email).__name__ == "update_email"

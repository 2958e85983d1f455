"""Fixtures shared by the Decorators and Context Managers checks.

Each check runs in a fresh working directory holding ``users.db`` (the default
database path of the tasks) with three users. ``connections`` records every
connection ``sqlite3.connect`` opens, so a check can tell whether the code under test
closed the ones it opened.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

USERS = [
    ("u-1", "Aba Mensah", "aba@example.com", 34),
    ("u-2", "Kofi Asante", "kofi@example.com", 22),
    ("u-3", "Nia Banda", "nia@example.com", 41),
]


def load(name: str) -> ModuleType:
    """The learner's module ``name`` (such as ``0-log_queries``), freshly imported."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def make_users_db(path: Path, users: list[tuple[str, str, str, int]] = USERS) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE user_data (user_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "email TEXT NOT NULL UNIQUE, age INTEGER NOT NULL)"
    )
    conn.executemany("INSERT INTO user_data VALUES (?, ?, ?, ?)", users)
    conn.commit()
    conn.close()
    return path


def is_closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def emails(path: Path) -> list[str]:
    """The emails stored in ``path``, read through a connection of our own."""
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT email FROM user_data ORDER BY user_id")]
    finally:
        conn.close()


@pytest.fixture
def users_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """users.db with three users, in the working directory; PRODEV_DB unset."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRODEV_DB", raising=False)
    return make_users_db(tmp_path / "users.db")


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[sqlite3.Connection]:
    """Every connection sqlite3.connect opens from now on (load the module afterwards)."""
    opened: list[sqlite3.Connection] = []
    real_connect: Callable[..., sqlite3.Connection] = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        opened.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    return opened

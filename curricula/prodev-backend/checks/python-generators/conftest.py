"""Fixtures shared by the Python Generators checks.

Every check gets its own database, built here from ``user_data.csv`` rather than with
the learner's ``seed.py``, so that a mistake in task 0 does not fail every other task.
The connection records what the code under test asks of it: the SQL it runs and the
cursor methods it calls.
"""

from __future__ import annotations

import csv
import importlib
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

USERS_CSV = Path(__file__).with_name("user_data.csv")
SCHEMA = """
CREATE TABLE user_data (
    user_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    age INTEGER NOT NULL
)
"""


def load(name: str) -> ModuleType:
    """The learner's module ``name`` (such as ``0-stream_users``), freshly imported."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


class RecordingCursor(sqlite3.Cursor):
    """A cursor that tells its connection which fetch methods were called."""

    def fetchall(self) -> list[Any]:
        self.connection.calls.append("fetchall")
        return super().fetchall()

    def fetchmany(self, *args: Any, **kwargs: Any) -> list[Any]:
        self.connection.calls.append("fetchmany")
        return super().fetchmany(*args, **kwargs)


class RecordingConnection(sqlite3.Connection):
    """A connection that keeps every statement it runs and every fetch call made."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []
        self.statements: list[str] = []
        self.set_trace_callback(self.statements.append)

    def cursor(self, factory: Any = RecordingCursor) -> sqlite3.Cursor:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        # sqlite3's own execute() makes a plain cursor; go through ours.
        return self.cursor().execute(sql, parameters)

    def selects(self) -> list[str]:
        """The SELECT statements run so far."""
        return [s for s in self.statements if s.lstrip().upper().startswith("SELECT")]


def read_users() -> list[dict[str, Any]]:
    with USERS_CSV.open(newline="") as source:
        return [{**row, "age": int(row["age"])} for row in csv.DictReader(source)]


@pytest.fixture
def users() -> list[dict[str, Any]]:
    """The users of user_data.csv: name, email and age (an int)."""
    return read_users()


@pytest.fixture
def users_csv() -> Path:
    return USERS_CSV


def make_database(path: Path, users: list[dict[str, Any]]) -> RecordingConnection:
    connection = sqlite3.connect(path, factory=RecordingConnection)
    connection.row_factory = sqlite3.Row
    connection.execute(SCHEMA)
    connection.executemany(
        "INSERT INTO user_data VALUES (?, ?, ?, ?)",
        ((str(uuid.uuid4()), u["name"], u["email"], u["age"]) for u in users),
    )
    connection.commit()
    connection.statements.clear()
    return connection


@pytest.fixture
def conn(tmp_path: Path, users: list[dict[str, Any]]) -> Iterator[RecordingConnection]:
    """A users database as seed.py makes it, with ``row_factory = sqlite3.Row``."""
    connection = make_database(tmp_path / "users.db", users)
    yield connection
    connection.close()


@pytest.fixture
def empty_conn(tmp_path: Path) -> Iterator[RecordingConnection]:
    """The same table, with nobody in it."""
    connection = make_database(tmp_path / "empty.db", [])
    yield connection
    connection.close()

"""A reusable query context manager, as a class and as a generator."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from types import TracebackType
from typing import Any

DB_PATH = "users.db"


class ExecuteQuery:
    """Run ``query`` on entry and give its rows; close the connection on exit."""

    def __init__(self, query: str, params: tuple[Any, ...] = ()) -> None:
        self.query, self.params = query, params
        self.conn: sqlite3.Connection | None = None

    def __enter__(self) -> list[Any]:
        self.conn = sqlite3.connect(DB_PATH)
        return self.conn.execute(self.query, self.params).fetchall()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.conn is not None
        self.conn.close()


# The class suits state that outlives one block or many methods; @contextmanager is
# shorter when setup and teardown fit around a single yield.
@contextlib.contextmanager
def execute_query(query: str, params: tuple[Any, ...] = ()) -> Iterator[list[Any]]:
    """The same as ExecuteQuery, as a generator."""
    conn = sqlite3.connect(DB_PATH)
    try:
        yield conn.execute(query, params).fetchall()
    finally:
        conn.close()

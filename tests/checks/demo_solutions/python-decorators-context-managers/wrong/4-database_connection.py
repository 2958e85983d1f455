"""A class-based connection context manager.

Typical mistake: __exit__ returns True, which silences every exception in the block.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType


class DatabaseConnection:
    """Open a connection; commit on success, roll back on error, always close."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        self.conn = sqlite3.connect(self.path)
        return self.conn

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        assert self.conn is not None
        if exc_type is None:
            self.conn.commit()
        else:
            self.conn.rollback()
        self.conn.close()
        return True

"""Commit or roll back.

Typical mistake: the original exception is replaced by a new one.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any


def transactional(func: Callable[..., Any]) -> Callable[..., Any]:
    """Commit when ``func`` returns, roll back when it raises."""

    @functools.wraps(func)
    def wrapper(conn: sqlite3.Connection, *args: Any, **kwargs: Any) -> Any:
        try:
            result = func(conn, *args, **kwargs)
        except Exception as error:
            conn.rollback()
            raise RuntimeError(f"transaction failed: {error}") from error
        conn.commit()
        return result

    return wrapper

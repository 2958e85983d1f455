"""Commit or roll back."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any


def transactional(func: Callable[..., Any]) -> Callable[..., Any]:
    """Commit when ``func`` returns, roll back and re-raise when it raises."""

    @functools.wraps(func)
    def wrapper(conn: sqlite3.Connection, *args: Any, **kwargs: Any) -> Any:
        try:
            result = func(conn, *args, **kwargs)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        return result

    return wrapper

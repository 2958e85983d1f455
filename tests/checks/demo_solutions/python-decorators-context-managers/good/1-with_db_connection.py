"""Open and close connections automatically."""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable
from typing import Any

DB_PATH = os.environ.get("PRODEV_DB", "users.db")


def with_db_connection(func: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``func`` with a fresh connection first; close it whatever happens."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        conn = sqlite3.connect(DB_PATH)
        try:
            return func(conn, *args, **kwargs)
        finally:
            conn.close()

    return wrapper

"""Open and close connections automatically.

Typical mistake: a connection's own "with" block commits, but it never closes it.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable
from typing import Any

DB_PATH = os.environ.get("PRODEV_DB", "users.db")


def with_db_connection(func: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``func`` with a fresh connection first."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with sqlite3.connect(DB_PATH) as conn:
            return func(conn, *args, **kwargs)

    return wrapper

"""Paginate the users lazily.

Typical mistake: the loop yields the empty page it was meant to stop on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any


def paginate_users(conn: sqlite3.Connection, page_size: int, offset: int) -> list[dict[str, Any]]:
    """One page of users, ordered by name."""
    rows = conn.execute(
        "SELECT * FROM user_data ORDER BY name LIMIT ? OFFSET ?", (page_size, offset)
    )
    return [dict(row) for row in rows]


def lazy_paginate(conn: sqlite3.Connection, page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Yield page after page, each fetched only when asked for."""
    offset = 0
    while True:
        page = paginate_users(conn, page_size, offset)
        yield page
        if not page:
            break
        offset += page_size

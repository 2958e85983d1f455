"""Paginate the users lazily."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

COLUMNS = ("user_id", "name", "email", "age")


def paginate_users(conn: sqlite3.Connection, page_size: int, offset: int) -> list[dict[str, Any]]:
    """One page of users, ordered by name."""
    rows = conn.execute(
        "SELECT user_id, name, email, age FROM user_data ORDER BY name LIMIT ? OFFSET ?",
        (page_size, offset),
    )
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def lazy_paginate(conn: sqlite3.Connection, page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Yield page after page, each fetched only when asked for."""
    offset = 0
    # OFFSET makes the database walk past every skipped row, so deep pages get slower;
    # keyset pagination (WHERE name > ?) starts right where the last page ended.
    while page := paginate_users(conn, page_size, offset):
        yield page
        if len(page) < page_size:
            return
        offset += page_size

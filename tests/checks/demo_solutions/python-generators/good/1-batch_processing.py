"""Process users in batches."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

COLUMNS = ("user_id", "name", "email", "age")


def stream_users_in_batches(
    conn: sqlite3.Connection, batch_size: int
) -> Iterator[list[dict[str, Any]]]:
    """Yield lists of at most ``batch_size`` users."""
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    cursor = conn.execute("SELECT user_id, name, email, age FROM user_data")
    while batch := cursor.fetchmany(batch_size):
        yield [dict(zip(COLUMNS, row, strict=True)) for row in batch]


def batch_processing(conn: sqlite3.Connection, batch_size: int) -> Iterator[dict[str, Any]]:
    """Yield the users older than 25."""
    for batch in stream_users_in_batches(conn, batch_size):
        yield from (user for user in batch if user["age"] > 25)

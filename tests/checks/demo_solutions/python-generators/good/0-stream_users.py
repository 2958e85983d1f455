"""Stream the users one row at a time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any


def stream_users(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    """Yield each user as a dict, ordered by name.

    Being a generator, nothing runs until the first value is asked for; and because the
    cursor is iterated row by row, ``islice`` stopping early means the remaining rows
    are never fetched.
    """
    cursor = conn.execute("SELECT user_id, name, email, age FROM user_data ORDER BY name")
    for row in cursor:
        yield dict(zip(("user_id", "name", "email", "age"), row, strict=True))

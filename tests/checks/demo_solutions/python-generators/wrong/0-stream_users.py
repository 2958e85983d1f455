"""Stream the users one row at a time.

Typical mistake: fetchall() loads the whole table before the first row is yielded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any


def stream_users(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    """Yield each user as a dict, ordered by name."""
    rows = conn.execute("SELECT user_id, name, email, age FROM user_data ORDER BY name").fetchall()
    for row in rows:
        yield dict(row)

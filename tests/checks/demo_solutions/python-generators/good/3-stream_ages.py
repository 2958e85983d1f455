"""Average the users' ages without loading the table."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator

from seed import connect_db


def stream_user_ages(conn: sqlite3.Connection) -> Iterator[int]:
    """Yield each user's age."""
    for (age,) in conn.execute("SELECT age FROM user_data"):
        yield age


def average_age(conn: sqlite3.Connection) -> float:
    """The mean age, 0.0 for an empty table."""
    count = total = 0
    for age in stream_user_ages(conn):
        count += 1
        total += age
    return total / count if count else 0.0


if __name__ == "__main__":
    print(f"Average age of users: {average_age(connect_db(sys.argv[1])):.2f}")

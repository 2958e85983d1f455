"""Average the users' ages without loading the table.

Typical mistake: an empty table divides by zero.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator

from seed import connect_db


def stream_user_ages(conn: sqlite3.Connection) -> Iterator[int]:
    """Yield each user's age."""
    for row in conn.execute("SELECT age FROM user_data"):
        yield row[0]


def average_age(conn: sqlite3.Connection) -> float:
    """The mean age."""
    count = total = 0
    for age in stream_user_ages(conn):
        count += 1
        total += age
    return total / count


if __name__ == "__main__":
    print(f"Average age of users: {average_age(connect_db(sys.argv[1])):.2f}")

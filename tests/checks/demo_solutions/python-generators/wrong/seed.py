"""Create the users database and load user_data.csv into it.

Typical mistake: insert_data counts the rows it read, not the rows that were new.
"""

from __future__ import annotations

import csv
import sqlite3
import uuid


def connect_db(path: str) -> sqlite3.Connection:
    """Open the database at ``path``; rows come back as sqlite3.Row."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def create_table(conn: sqlite3.Connection) -> None:
    """Create user_data unless it exists."""
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS user_data (
            user_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT NOT NULL UNIQUE,
            age INTEGER NOT NULL
        )
        """
    )
    conn.commit()


def insert_data(conn: sqlite3.Connection, csv_path: str) -> int:
    """Insert every user of the CSV not already present."""
    with open(csv_path, newline="") as source:
        rows = [
            (str(uuid.uuid4()), row["name"], row["email"], int(row["age"]))
            for row in csv.DictReader(source)
        ]
    conn.executemany("INSERT OR IGNORE INTO user_data VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    return len(rows)

"""Task 0: seed.py creates the user_data table and loads user_data.csv into it."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

from conftest import load


def seeded(tmp_path: Path, users_csv: Path) -> tuple[sqlite3.Connection, int]:
    seed = load("seed")
    conn = seed.connect_db(str(tmp_path / "users.db"))
    seed.create_table(conn)
    return conn, seed.insert_data(conn, str(users_csv))


def test_connect_db_returns_rows_as_sqlite_rows(tmp_path: Path) -> None:
    """connect_db opens the database with row_factory set to sqlite3.Row"""
    conn = load("seed").connect_db(str(tmp_path / "users.db"))
    assert isinstance(conn, sqlite3.Connection)
    assert conn.row_factory is sqlite3.Row


def test_create_table_makes_the_four_columns(tmp_path: Path) -> None:
    """create_table makes user_data with user_id, name, email and age"""
    seed = load("seed")
    conn = seed.connect_db(str(tmp_path / "users.db"))
    seed.create_table(conn)
    columns = {row[1]: row for row in conn.execute("PRAGMA table_info(user_data)")}
    assert list(columns) == ["user_id", "name", "email", "age"]
    assert columns["user_id"][5] == 1, "user_id is the primary key"
    assert columns["age"][2].upper() == "INTEGER"
    assert all(columns[name][3] == 1 for name in ("name", "email", "age")), "NOT NULL"


def test_create_table_can_run_twice(tmp_path: Path) -> None:
    """Running create_table on an existing database is harmless"""
    seed = load("seed")
    conn = seed.connect_db(str(tmp_path / "users.db"))
    seed.create_table(conn)
    seed.create_table(conn)


def test_insert_data_loads_every_row(
    tmp_path: Path, users_csv: Path, users: list[dict[str, Any]]
) -> None:
    """insert_data loads every row of the CSV and says how many were new"""
    conn, inserted = seeded(tmp_path, users_csv)
    assert inserted == len(users)
    stored = {(r[0], r[1], r[2]) for r in conn.execute("SELECT name, email, age FROM user_data")}
    assert stored == {(u["name"], u["email"], u["age"]) for u in users}


def test_user_ids_are_uuid4(tmp_path: Path, users_csv: Path) -> None:
    """Every user_id is a UUID4"""
    conn, _ = seeded(tmp_path, users_csv)
    for (user_id,) in conn.execute("SELECT user_id FROM user_data"):
        assert uuid.UUID(user_id).version == 4, user_id


def test_inserting_twice_adds_nobody(tmp_path: Path, users_csv: Path) -> None:
    """Running insert_data a second time inserts nothing and returns 0"""
    conn, first = seeded(tmp_path, users_csv)
    again = load("seed").insert_data(conn, str(users_csv))
    assert again == 0
    assert conn.execute("SELECT count(*) FROM user_data").fetchone()[0] == first


def test_the_data_is_committed(tmp_path: Path, users_csv: Path) -> None:
    """Another connection sees the inserted users (they are committed)"""
    seeded(tmp_path, users_csv)
    other = sqlite3.connect(tmp_path / "users.db")
    assert other.execute("SELECT count(*) FROM user_data").fetchone()[0] > 0

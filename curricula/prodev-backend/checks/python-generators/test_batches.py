"""Task 2: 1-batch_processing.py yields users in batches, then only those older than 25."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import RecordingConnection, load


def test_batches_hold_at_most_batch_size_users(conn: RecordingConnection) -> None:
    """stream_users_in_batches yields lists of at most batch_size users"""
    batches = list(load("1-batch_processing").stream_users_in_batches(conn, 7))
    assert [len(batch) for batch in batches] == [7, 7, 7, 7, 2]


def test_batches_hold_user_dicts(conn: RecordingConnection) -> None:
    """Each user in a batch is a dict with user_id, name, email and age"""
    batch = next(load("1-batch_processing").stream_users_in_batches(conn, 5))
    assert all(type(user) is dict for user in batch)
    assert set(batch[0]) == {"user_id", "name", "email", "age"}


def test_batches_are_fetched_with_fetchmany(conn: RecordingConnection) -> None:
    """Batches come from cursor.fetchmany, never fetchall"""
    list(load("1-batch_processing").stream_users_in_batches(conn, 10))
    assert "fetchmany" in conn.calls
    assert "fetchall" not in conn.calls


def test_batch_processing_keeps_users_older_than_25(
    conn: RecordingConnection, users: list[dict[str, Any]]
) -> None:
    """batch_processing yields exactly the users older than 25"""
    older = list(load("1-batch_processing").batch_processing(conn, 4))
    assert sorted(user["email"] for user in older) == sorted(
        u["email"] for u in users if u["age"] > 25
    )


def test_users_aged_exactly_25_are_left_out(conn: RecordingConnection) -> None:
    """A user aged exactly 25 is not older than 25"""
    ages = [user["age"] for user in load("1-batch_processing").batch_processing(conn, 50)]
    assert 25 not in ages


@pytest.mark.parametrize("size", [0, -3])
def test_a_batch_size_below_one_is_refused(conn: RecordingConnection, size: int) -> None:
    """A batch size of 0 or less raises ValueError("batch_size must be positive")"""
    with pytest.raises(ValueError, match="batch_size must be positive"):
        list(load("1-batch_processing").stream_users_in_batches(conn, size))

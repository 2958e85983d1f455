"""Task 4: 3-stream_ages.py averages ages from a generator, without SQL aggregates."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RecordingConnection, load, make_database


def test_stream_user_ages_yields_every_age(
    conn: RecordingConnection, users: list[dict[str, Any]]
) -> None:
    """stream_user_ages yields each user's age, one int at a time"""
    ages = load("3-stream_ages").stream_user_ages(conn)
    assert not isinstance(ages, list)
    assert sorted(ages) == sorted(u["age"] for u in users)


def test_average_age_is_the_mean(conn: RecordingConnection, users: list[dict[str, Any]]) -> None:
    """average_age returns the mean age as a float"""
    average = load("3-stream_ages").average_age(conn)
    assert isinstance(average, float)
    assert average == pytest.approx(sum(u["age"] for u in users) / len(users))


def test_no_sql_aggregate_is_used(conn: RecordingConnection) -> None:
    """No AVG, COUNT or SUM in the SQL: Python does the sums"""
    load("3-stream_ages").average_age(conn)
    assert conn.selects(), "average_age ran no query"
    sql = " ".join(conn.selects()).upper().replace(" (", "(")
    for aggregate in ("AVG(", "COUNT(", "SUM("):
        assert aggregate not in sql


def test_an_empty_table_averages_zero(empty_conn: RecordingConnection) -> None:
    """An empty table averages 0.0 instead of raising ZeroDivisionError"""
    assert load("3-stream_ages").average_age(empty_conn) == 0.0


def test_average_age_consumes_stream_user_ages(
    conn: RecordingConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """average_age computes its mean from stream_user_ages"""
    mod = load("3-stream_ages")

    def ages(_conn: Any) -> Iterator[int]:
        yield from (20, 30, 40)

    monkeypatch.setattr(mod, "stream_user_ages", ages)
    assert mod.average_age(conn) == pytest.approx(30.0)


def test_the_script_prints_the_average(tmp_path: Path, users: list[dict[str, Any]]) -> None:
    """python3 3-stream_ages.py users.db prints the average with two decimals"""
    make_database(tmp_path / "users.db", users).close()
    script = Path(load("3-stream_ages").__file__)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "users.db")],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    expected = sum(u["age"] for u in users) / len(users)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Average age of users: {expected:.2f}"

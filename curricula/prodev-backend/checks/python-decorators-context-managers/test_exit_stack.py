"""Task 7: 7-exit_stack.py times a block and merges users from many databases with ExitStack."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from conftest import emails, is_closed, load, make_users_db

EU = [("u-1", "Aba Mensah", "aba@example.com", 34), ("u-2", "Kofi Asante", "kofi@example.com", 22)]
US = [("u-7", "Dalia Haile", "dalia@example.com", 31), ("u-8", "Obi Eze", "obi@example.com", 45)]


@pytest.fixture
def sources(tmp_path: Path) -> list[Path]:
    return [make_users_db(tmp_path / "eu.db", EU), make_users_db(tmp_path / "us.db", US)]


def test_timed_logs_how_long_the_block_took(caplog: pytest.LogCaptureFixture) -> None:
    """timed("copy") logs "copy took ...s" at INFO when the block ends"""
    with caplog.at_level(logging.INFO), load("7-exit_stack").timed("copy"):
        pass
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("copy took" in message and message.rstrip().endswith("s") for message in messages)


def test_copy_users_copies_every_user(sources: list[Path], tmp_path: Path) -> None:
    """Every user of every source ends up in the target, and the count is returned"""
    target = tmp_path / "all.db"
    assert load("7-exit_stack").copy_users([str(p) for p in sources], str(target)) == 4
    assert sorted(emails(target)) == sorted(user[2] for user in EU + US)


def test_a_user_in_two_sources_is_copied_once(tmp_path: Path) -> None:
    """A user found in two sources (same email) is inserted once"""
    again = make_users_db(tmp_path / "again.db", [("u-5", "Aba M.", "aba@example.com", 34)])
    first = make_users_db(tmp_path / "eu.db", EU)
    target = tmp_path / "all.db"
    assert load("7-exit_stack").copy_users([str(first), str(again)], str(target)) == 2
    assert sorted(emails(target)) == ["aba@example.com", "kofi@example.com"]


def test_every_source_is_closed(
    sources: list[Path], tmp_path: Path, connections: list[sqlite3.Connection]
) -> None:
    """Every connection copy_users opened is closed when it returns"""
    load("7-exit_stack").copy_users([str(p) for p in sources], str(tmp_path / "all.db"))
    assert len(connections) >= len(sources)
    assert all(is_closed(conn) for conn in connections)


def test_sources_are_closed_when_a_later_one_fails(
    sources: list[Path], tmp_path: Path, connections: list[sqlite3.Connection]
) -> None:
    """When opening a later source fails, the ones already open are closed"""
    missing = tmp_path / "no-such-folder" / "users.db"
    paths = [str(sources[0]), str(missing)]
    with pytest.raises(sqlite3.OperationalError):
        load("7-exit_stack").copy_users(paths, str(tmp_path / "all.db"))
    assert connections and all(is_closed(conn) for conn in connections)

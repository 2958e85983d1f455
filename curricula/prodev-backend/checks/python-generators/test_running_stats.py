"""Task 6: 5-running_stats.py keeps running statistics in a generator fed with send()."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from conftest import load


def primed() -> tuple[Any, Any]:
    """A running_stats generator, primed, and the statistics it yielded first."""
    stats = load("5-running_stats").running_stats()
    first = next(stats)
    return stats, first


def test_priming_yields_empty_statistics() -> None:
    """next() on a new generator yields Stats(0, 0.0, None, None)"""
    _, first = primed()
    assert tuple(first) == (0, 0.0, None, None)


def test_stats_is_a_named_tuple() -> None:
    """Stats is a named tuple of count, mean, minimum and maximum"""
    _, first = primed()
    assert first._fields == ("count", "mean", "minimum", "maximum")


def test_each_value_updates_the_statistics() -> None:
    """Sending 10 then 20 yields count 2, mean 15.0, minimum 10, maximum 20"""
    stats, _ = primed()
    assert tuple(stats.send(10)) == (1, 10.0, 10, 10)
    assert tuple(stats.send(20)) == (2, 15.0, 10, 20)
    assert tuple(stats.send(-5)) == (3, pytest.approx(25 / 3), -5, 20)


def test_a_non_number_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    """Sending a non-number logs a warning and changes nothing"""
    stats, _ = primed()
    before = stats.send(4)
    with caplog.at_level(logging.WARNING):
        after = stats.send("four")
    assert tuple(after) == tuple(before)
    assert any(record.levelno == logging.WARNING for record in caplog.records)
    assert tuple(stats.send(6)) == (2, 5.0, 4, 6)


def test_memory_stays_constant() -> None:
    """No list of past values is kept"""
    stats, _ = primed()
    for value in range(5_000):
        stats.send(value)
    kept = [v for v in stats.gi_frame.f_locals.values() if isinstance(v, list | tuple | dict)]
    assert all(len(v) < 10 for v in kept), "a collection grows with every value sent"

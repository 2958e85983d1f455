"""Task 3: 3-retry_on_failure.py retries transient failures, waiting longer each time."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import load


class Flaky:
    """Fails with ``error`` the first ``failures`` calls, then returns "ok"."""

    def __init__(self, failures: int, error: type[Exception] = sqlite3.OperationalError) -> None:
        self.failures, self.error = failures, error
        self.calls = 0
        self.raised: list[Exception] = []

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            self.raised.append(self.error(f"database is locked (call {self.calls})"))
            raise self.raised[-1]
        return "ok"


def retrying(flaky: Flaky, waits: list[float], **options: Any) -> Callable[[], str]:
    decorator = load("3-retry_on_failure").retry_on_failure(sleep=waits.append, **options)
    return decorator(flaky)


def test_it_retries_until_the_call_succeeds() -> None:
    """Two failures, then success: the caller gets the result"""
    flaky, waits = Flaky(failures=2), []
    assert retrying(flaky, waits, retries=3, delay=0.1)() == "ok"
    assert flaky.calls == 3


def test_the_wait_grows_by_backoff() -> None:
    """The waits are delay, delay x backoff, delay x backoff² ..."""
    waits: list[float] = []
    with pytest.raises(sqlite3.OperationalError):
        retrying(Flaky(failures=10), waits, retries=3, delay=1.0, backoff=2.0)()
    assert len(waits) in (2, 3), "one wait between two attempts"
    assert waits == pytest.approx([1.0, 2.0, 4.0][: len(waits)])


def test_the_last_failure_is_reraised() -> None:
    """After the last attempt, the last error itself is raised"""
    flaky, waits = Flaky(failures=10), []
    with pytest.raises(sqlite3.OperationalError) as raised:
        retrying(flaky, waits, retries=3, delay=0.1)()
    assert raised.value is flaky.raised[-1]
    assert flaky.calls in (3, 4)


def test_other_exceptions_are_not_retried() -> None:
    """An exception that is not listed propagates at once, without a retry"""
    flaky, waits = Flaky(failures=1, error=KeyError), []
    with pytest.raises(KeyError):
        retrying(flaky, waits, retries=3, delay=0.1)()
    assert flaky.calls == 1 and waits == []


def test_each_retry_is_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Each retry logs a WARNING with the attempt number"""
    flaky, waits = Flaky(failures=2), []
    with caplog.at_level(logging.WARNING):
        retrying(flaky, waits, retries=3, delay=0.1)()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "1" in warnings[0] and "2" in warnings[1]


def test_the_injected_sleep_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting goes through the sleep given to it, never time.sleep directly"""

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) was called instead of the injected sleep")

    monkeypatch.setattr(time, "sleep", no_sleep)
    flaky, waits = Flaky(failures=1), []
    assert retrying(flaky, waits, retries=3, delay=5.0)() == "ok"
    assert waits == [5.0]

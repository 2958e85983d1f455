"""Task 0: 0-log_queries.py logs the query of every call it decorates."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from conftest import load


def decorated(function: Callable[..., Any]) -> Callable[..., Any]:
    return load("0-log_queries").log_queries(function)


def fetch_all_users(query: str) -> list[tuple[Any, ...]]:
    """Pretend to run ``query``."""
    return [("u-1", query)]


def infos(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]


def test_a_keyword_query_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """fetch_all_users(query="SELECT ...") logs the query at INFO level"""
    with caplog.at_level(logging.INFO):
        decorated(fetch_all_users)(query="SELECT * FROM user_data")
    assert any("SELECT * FROM user_data" in message for message in infos(caplog))


def test_a_positional_query_is_logged_too(caplog: pytest.LogCaptureFixture) -> None:
    """A query passed positionally is logged as well"""
    with caplog.at_level(logging.INFO):
        decorated(fetch_all_users)("SELECT name FROM user_data")
    assert any("SELECT name FROM user_data" in message for message in infos(caplog))


def test_the_query_is_found_among_other_arguments(caplog: pytest.LogCaptureFixture) -> None:
    """The query is found wherever it sits in the signature"""

    def fetch(conn: object, query: str, limit: int = 10) -> None:
        """Pretend to run ``query`` on ``conn``."""

    with caplog.at_level(logging.INFO):
        decorated(fetch)(None, "SELECT email FROM user_data", limit=3)
    assert any("SELECT email FROM user_data" in message for message in infos(caplog))


def test_the_result_is_returned_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    """The decorated function returns what the function returns"""
    with caplog.at_level(logging.INFO):
        assert decorated(fetch_all_users)(query="SELECT 1") == [("u-1", "SELECT 1")]


def test_the_function_keeps_its_name() -> None:
    """fetch_all_users keeps its __name__ and docstring (functools.wraps)"""
    wrapped = decorated(fetch_all_users)
    assert wrapped.__name__ == "fetch_all_users"
    assert wrapped.__doc__ == fetch_all_users.__doc__


def test_the_modules_own_logger_is_used(caplog: pytest.LogCaptureFixture) -> None:
    """The message comes from logging.getLogger(__name__), not print or the root logger"""
    module = load("0-log_queries")
    with caplog.at_level(logging.INFO):
        module.log_queries(fetch_all_users)(query="SELECT 2")
    assert [r.name for r in caplog.records if "SELECT 2" in r.getMessage()] == [module.__name__]

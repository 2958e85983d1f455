"""Retry transient failures."""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


def retry_on_failure(
    retries: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    exceptions: tuple[type[BaseException], ...] = (sqlite3.OperationalError,),
    *,
    sleep: Callable[[float], Any] = time.sleep,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Retry up to ``retries`` times on ``exceptions``, waiting longer each time."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wait = delay
            for attempt in range(1, retries + 1):
                try:
                    return func(*args, **kwargs)
                except exceptions:
                    if attempt == retries:
                        raise
                    logger.warning("Attempt %d failed; retrying in %.1fs", attempt, wait)
                    sleep(wait)
                    wait *= backoff
            raise AssertionError("unreachable")

        return wrapper

    return decorator

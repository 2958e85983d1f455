"""Log the query of every call."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


def log_queries(func: Callable[..., Any]) -> Callable[..., Any]:
    """Log the ``query`` argument, wherever it is passed, before calling ``func``."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        query = signature.bind(*args, **kwargs).arguments.get("query")
        logger.info("Executing query: %s", query)
        return func(*args, **kwargs)

    return wrapper

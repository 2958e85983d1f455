"""Log the query of every call.

Typical mistake: no functools.wraps, and print() instead of the module's logger.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any


def log_queries(func: Callable[..., Any]) -> Callable[..., Any]:
    """Log the ``query`` argument before calling ``func``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        query = inspect.signature(func).bind(*args, **kwargs).arguments.get("query")
        logging.info("Executing query: %s", query)
        return func(*args, **kwargs)

    return wrapper

"""Log context and formats: every line carries the request id; none can be forged.

``RequestIdMiddleware`` (core/platform/middleware.py) puts the current request in a context
variable; ``RequestContextFilter`` copies its id, path and (when already known) user
id onto every record. In production ``JsonFormatter`` writes one JSON object per line,
so a value a user typed (a path, an email) is encoded and cannot start a line of its
own; in development ``PlainFormatter`` escapes line breaks and control characters in
the message for the same reason.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.utils.functional import empty

if TYPE_CHECKING:
    from django.http import HttpRequest

# The request being served by this thread or task, set by RequestIdMiddleware.
current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape_control(text: str) -> str:
    """``text`` with line breaks and other control characters written as escapes."""
    return _CONTROL.sub(_escape, text)


def known_user_id(request: HttpRequest | None) -> int | None:
    """The signed-in user's id if the request has already loaded its user, else None.

    Never loads the user itself: a log call must not run a query (which could log).
    """
    user = getattr(request, "user", None)
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    user_id: int = wrapped.pk
    return user_id


class RequestContextFilter(logging.Filter):
    """Adds ``request_id``, ``path`` and ``user_id`` of the current request to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request.get()
        record.request_id = current_request_id.get() or "-"
        record.path = getattr(request, "path", "") if request is not None else ""
        record.user_id = known_user_id(request)
        return True


class PlainFormatter(logging.Formatter):
    """Development format: one line per message; tracebacks still print as usual."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # logging API name
        record.message = escape_control(record.message)
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """Production format: one JSON object per line (UTC time, level, logger, message, …)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or None,
            "path": getattr(record, "path", None) or None,
            "user_id": getattr(record, "user_id", None),
        }
        if entry["request_id"] == "-":
            entry["request_id"] = None
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            entry["audit"] = audit
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii keeps every line break and control character escaped.
        return json.dumps(entry, ensure_ascii=True, default=str)

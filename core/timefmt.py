"""Human wording for time left, shared by templates and the countdown script."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def time_left(deadline: datetime, now: datetime | None = None) -> str:
    """'2 days 4 hours left', '3 hours 5 minutes left', 'less than a minute left', 'passed'.

    static/js/app.js words the ticking countdown the same way; keep them in step.
    """
    remaining: timedelta = deadline - (now or timezone.now())
    seconds = int(remaining.total_seconds())
    if seconds <= 0:
        return "deadline passed"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = _plural(days, "day") + (f" {_plural(hours, 'hour')}" if hours else "")
    elif hours:
        text = _plural(hours, "hour") + (f" {_plural(minutes, 'minute')}" if minutes else "")
    elif minutes:
        text = _plural(minutes, "minute")
    else:
        return "less than a minute left"
    return f"{text} left"

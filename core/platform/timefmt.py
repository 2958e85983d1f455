"""Human wording for time: time left (shared with the countdown script) and durations."""

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


def now_or(now: datetime | None) -> datetime:
    """``now`` when the caller has one (a batch's single instant, a frozen clock), else the
    current time."""
    return now or timezone.now()


def duration_label(value: timedelta | None) -> str:
    """'35 min', '4 h 10 min', '2 d 3 h' (a negative duration reads '0 min'; None '–')."""
    if value is None:
        return "–"
    minutes = max(0, int(value.total_seconds() // 60))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def seconds_label(seconds: float | None) -> str:
    """'0.4 s', '12 s', '3 min 5 s': for runs that last seconds (None '–')."""
    if seconds is None:
        return "–"
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{round(seconds)} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"

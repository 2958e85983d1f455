"""Small template helpers: Markdown, countdowns, dates in a cohort's time zone."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

from django import template
from django.templatetags.tz import do_timezone
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.platform.markdown import plain_excerpt, render_markdown
from core.platform.timefmt import seconds_label, time_left

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(source: str | None) -> SafeString:
    """Sanitized HTML from Markdown (cached by a hash of the source)."""
    return render_markdown(source)


@register.filter(name="plain_excerpt")
def plain_excerpt_filter(source: str | None, limit: int) -> str:
    """Markdown as plain text cut to ``limit`` characters (escaped like any text)."""
    return plain_excerpt(source, limit)


@register.filter
def datetime_attr(value: date | str | None) -> str:
    """``value`` for a ``<time datetime="…">`` attribute: UTC to the second, e.g.
    ``2026-10-01T06:00:00Z``.

    ``isoformat()`` and ``|date:"c"`` write microseconds, six digits, and HTML allows at
    most three (the Nu checker refuses the attribute); no page shows sub-second times.
    A date (not a datetime) is written as ``2026-10-01``; anything else (None, a missing
    variable) as the empty string.
    """
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            return value.replace(microsecond=0).isoformat()
        utc = value.astimezone(UTC).replace(microsecond=0, tzinfo=None)
        return f"{utc.isoformat()}Z"
    if isinstance(value, date):
        return value.isoformat()
    return ""


@register.simple_tag
def countdown(deadline: datetime | None, css_class: str = "") -> SafeString | str:
    """A <time> that says 'N days M hours left' and ticks in the browser (app.js)."""
    if deadline is None:
        return ""
    return format_html(
        '<time class="countdown {}" datetime="{}" data-countdown>{}</time>',
        css_class,
        datetime_attr(deadline),
        time_left(deadline),
    )


@register.filter
def in_zone(value: datetime | None, zone: str | zoneinfo.ZoneInfo) -> datetime | None:
    """``value`` converted to a cohort's time zone (for display with |date)."""
    if value is None:
        return None
    tz = zone if isinstance(zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(zone)
    # Marked so that |date does not convert it back to the active time zone. (It answers
    # "" only to a value that is not a datetime or to an unknown zone: never here.)
    converted: datetime = do_timezone(value, tz)
    return converted


@register.filter(name="seconds_label")
def seconds_label_filter(seconds: float | None) -> str:
    """'0.4 s', '12 s', '3 min 5 s'."""
    return seconds_label(seconds)


@register.filter
def ms_label(milliseconds: int | None) -> str:
    """A duration in milliseconds, worded like ``seconds_label``."""
    return seconds_label(None if milliseconds is None else milliseconds / 1000)

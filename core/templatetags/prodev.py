"""Small template helpers: Markdown, countdowns, dates in a cohort's time zone."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django import template
from django.templatetags.tz import do_timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.markdown import plain_excerpt, render_markdown
from core.timefmt import time_left

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(source: str | None) -> SafeString:
    """Sanitized HTML from Markdown (cached by a hash of the source)."""
    return render_markdown(source)


@register.filter(name="plain_excerpt")
def plain_excerpt_filter(source: str | None, limit: int) -> str:
    """Markdown as plain text cut to ``limit`` characters (escaped like any text)."""
    return plain_excerpt(source, limit)


@register.simple_tag
def countdown(deadline: datetime | None, css_class: str = "") -> SafeString | str:
    """A <time> that says 'N days M hours left' and ticks in the browser (app.js)."""
    if deadline is None:
        return ""
    return format_html(
        '<time class="countdown {}" datetime="{}" data-countdown>{}</time>',
        css_class,
        deadline.isoformat(),
        time_left(deadline),
    )


@register.filter
def in_zone(value: datetime | None, zone: str | zoneinfo.ZoneInfo) -> datetime | None:
    """``value`` converted to a cohort's time zone (for display with |date)."""
    if value is None:
        return None
    tz = zone if isinstance(zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(zone)
    # Marked so that |date does not convert it back to the active time zone.
    return do_timezone(value, tz)

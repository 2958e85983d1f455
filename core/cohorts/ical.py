"""A tiny iCalendar (RFC 5545) writer: just what the deadlines feed needs.

Written here rather than pulled in as a dependency because the feed uses a
handful of properties; the tests parse its output with the ``icalendar``
package to prove it is valid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

CRLF = "\r\n"
# RFC 5545 §3.1: lines SHOULD NOT be longer than 75 octets, excluding the line break.
MAX_LINE_OCTETS = 75
# TEXT values may not hold control characters other than HTAB (RFC 5545 §3.3.11).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_text(value: str) -> str:
    """A TEXT value with backslash, semicolon, comma and line breaks escaped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL_CHARACTERS.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """``line`` split into pieces of at most 75 octets, never inside a UTF-8 character."""
    if len(line.encode()) <= MAX_LINE_OCTETS:
        return line
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_LINE_OCTETS
    for character in line:
        width = len(character.encode())
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
            limit = MAX_LINE_OCTETS - 1  # a continuation line starts with a space
        current.append(character)
        size += width
    pieces.append("".join(current))
    return (CRLF + " ").join(pieces)


def format_utc(value: datetime) -> str:
    """A DATE-TIME in UTC form, e.g. 20260512T205900Z."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def format_duration(value: timedelta) -> str:
    """A DURATION such as -PT24H or PT15M (whole minutes)."""
    minutes = int(value.total_seconds()) // 60
    sign = "-" if minutes < 0 else ""
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}PT{hours}H{minutes}M" if minutes else f"{sign}PT{hours}H"


@dataclass(frozen=True)
class Event:
    """One VEVENT: a point in time (a deadline) or a span, with an optional reminder."""

    uid: str
    start: datetime
    summary: str
    end: datetime | None = None
    description: str = ""
    url: str = ""
    categories: tuple[str, ...] = ()
    remind_before: timedelta | None = None

    def lines(self, stamp: datetime) -> list[str]:
        lines = [
            "BEGIN:VEVENT",
            f"UID:{escape_text(self.uid)}",
            f"DTSTAMP:{format_utc(stamp)}",
            f"DTSTART:{format_utc(self.start)}",
            f"DTEND:{format_utc(self.end or self.start)}",
            f"SUMMARY:{escape_text(self.summary)}",
        ]
        if self.description:
            lines.append(f"DESCRIPTION:{escape_text(self.description)}")
        if self.url:
            # URL is a URI value, not TEXT: it is written as is.
            lines.append(f"URL:{self.url}")
        if self.categories:
            lines.append(f"CATEGORIES:{','.join(escape_text(c) for c in self.categories)}")
        # A deadline does not make anyone busy.
        lines.append("TRANSP:TRANSPARENT")
        if self.remind_before is not None:
            lines += [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                f"DESCRIPTION:{escape_text(self.summary)}",
                f"TRIGGER:{format_duration(-self.remind_before)}",
                "END:VALARM",
            ]
        lines.append("END:VEVENT")
        return lines


def calendar(
    *,
    prodid: str,
    name: str,
    events: Iterable[Event],
    description: str = "",
    time_zone: str = "",
    refresh: timedelta | None = None,
    stamp: datetime,
) -> str:
    """A whole VCALENDAR for publishing, folded, with CRLF line endings."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{escape_text(prodid)}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    if description:
        lines.append(f"X-WR-CALDESC:{escape_text(description)}")
    if time_zone:
        lines.append(f"X-WR-TIMEZONE:{escape_text(time_zone)}")
    if refresh is not None:
        # How often subscribers should poll: the standard property and Apple's older one.
        lines.append(f"REFRESH-INTERVAL;VALUE=DURATION:{format_duration(refresh)}")
        lines.append(f"X-PUBLISHED-TTL:{format_duration(refresh)}")
    for event in events:
        lines += event.lines(stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)

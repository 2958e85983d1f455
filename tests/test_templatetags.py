"""The ``datetime_attr`` filter writes values HTML accepts in ``<time datetime="…">``."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template

from core.templatetags.prodev import countdown, datetime_attr

# HTML's "valid global date and time string" as we write it: seconds, no fraction, UTC.
GLOBAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
NAIROBI = zoneinfo.ZoneInfo("Africa/Nairobi")


def test_it_drops_the_microseconds_and_writes_utc() -> None:
    value = datetime(2026, 10, 1, 9, 30, 15, 123456, tzinfo=NAIROBI)
    assert datetime_attr(value) == "2026-10-01T06:30:15Z"
    assert GLOBAL_DATETIME.match(datetime_attr(value))


def test_it_keeps_an_instant_already_in_utc() -> None:
    assert datetime_attr(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"


def test_it_writes_a_naive_datetime_as_a_local_date_and_time() -> None:
    assert datetime_attr(datetime(2026, 1, 2, 3, 4, 5, 999999)) == "2026-01-02T03:04:05"


def test_it_writes_a_date_as_a_date() -> None:
    assert datetime_attr(date(2026, 1, 2)) == "2026-01-02"


@pytest.mark.parametrize("value", [None, ""])
def test_it_writes_nothing_for_a_missing_value(value: str | None) -> None:
    assert datetime_attr(value) == ""


def test_it_works_in_a_template() -> None:
    template = Template('{% load prodev %}<time datetime="{{ when|datetime_attr }}">')
    when = datetime(2026, 10, 1, 9, 0, 0, 500, tzinfo=UTC)
    assert template.render(Context({"when": when})) == '<time datetime="2026-10-01T09:00:00Z">'


def test_the_countdown_uses_it() -> None:
    deadline = datetime(2030, 10, 1, 9, 0, 0, 123, tzinfo=UTC)
    assert 'datetime="2030-10-01T09:00:00Z"' in countdown(deadline)

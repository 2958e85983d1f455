"""The private iCalendar feed of a learner's deadlines, and the writer behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from core.cohorts import ical
from core.models import Cohort, Project, ProjectRelease, User
from tests.factories import (
    CohortFactory,
    ExtensionFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    UserFactory,
)


def feed_url(user: User) -> str:
    return f"/calendar/{user.calendar_token}.ics"


def parse(body: bytes) -> icalendar.Calendar:
    calendar = icalendar.Calendar.from_ical(body)
    for component in calendar.walk():
        assert not component.errors, component.errors
    return calendar


def events_by_uid(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def seconds(value: datetime) -> datetime:
    """iCalendar keeps whole seconds."""
    return value.replace(microsecond=0)


def test_it_serves_the_learners_deadlines(
    client: Client, learner: User, release: ProjectRelease
) -> None:
    response = client.get(feed_url(learner))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = parse(response.content)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//ProDev Hub//Deadlines//EN"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "ProDev Hub deadlines"
    assert str(calendar["X-WR-TIMEZONE"]) == "Africa/Nairobi"

    events = events_by_uid(calendar)
    assert set(events) == {
        f"release-{release.pk}-opens@prodev-hub",
        f"release-{release.pk}-first@prodev-hub",
        f"release-{release.pk}-second@prodev-hub",
    }
    first = events[f"release-{release.pk}-first@prodev-hub"]
    assert str(first["SUMMARY"]) == "First deadline: Python Generators"
    assert first.decoded("DTSTART") == seconds(release.first_deadline)
    assert first.decoded("DTEND") == seconds(release.first_deadline)
    assert first.decoded("DTSTAMP").tzinfo is not None
    second = events[f"release-{release.pk}-second@prodev-hub"]
    assert str(second["SUMMARY"]) == "Second deadline: Python Generators"
    assert second.decoded("DTSTART") == seconds(release.second_deadline)
    opens = events[f"release-{release.pk}-opens@prodev-hub"]
    assert str(opens["SUMMARY"]) == "Opens: Python Generators"
    assert opens.decoded("DTSTART") == seconds(release.opens_at)

    project_url = f"{settings.SITE_URL.rstrip('/')}/projects/python-generators/?cohort=cohort-7"
    assert str(first["URL"]) == project_url
    description = str(first["DESCRIPTION"])
    assert project_url in description
    assert "counts at 100%, before the second deadline at 65%, after it at 50%" in description
    assert " EAT" in description  # times in the cohort's zone
    [alarm] = first.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -timedelta(hours=24)
    assert not opens.walk("VALARM")


def test_it_writes_utc_times_with_crlf_line_endings(client: Client, learner: User) -> None:
    body = client.get(feed_url(learner)).content
    assert body.endswith(b"END:VCALENDAR\r\n")
    lines = body.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert all(len(line) <= 75 for line in lines)
    starts = [line for line in lines if line.startswith(b"DTSTART:")]
    assert len(starts) == 3
    assert all(
        line.endswith(b"Z") and len(line) == len(b"DTSTART:20260101T000000Z") for line in starts
    )


def test_it_applies_the_learners_latest_extension(
    client: Client, learner: User, release: ProjectRelease
) -> None:
    ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=release.first_deadline + timedelta(days=1),
        second_deadline=release.second_deadline + timedelta(days=1),
        created_at=timezone.now() - timedelta(days=1),
    )
    latest = ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=release.first_deadline + timedelta(days=4),
        second_deadline=release.second_deadline + timedelta(days=6),
    )
    events = events_by_uid(parse(client.get(feed_url(learner)).content))
    first = events[f"release-{release.pk}-first@prodev-hub"]
    second = events[f"release-{release.pk}-second@prodev-hub"]
    assert first.decoded("DTSTART") == seconds(latest.first_deadline)
    assert second.decoded("DTSTART") == seconds(latest.second_deadline)
    assert "You were granted an extension" in str(first["DESCRIPTION"])


def test_it_keeps_an_extension_to_its_learner(
    client: Client, learner: User, cohort: Cohort, release: ProjectRelease
) -> None:
    ExtensionFactory(release=release, learner=learner)
    classmate = UserFactory()
    MembershipFactory(user=classmate, cohort=cohort, role="learner")
    events = events_by_uid(parse(client.get(feed_url(classmate)).content))
    first = events[f"release-{release.pk}-first@prodev-hub"]
    assert first.decoded("DTSTART") == seconds(release.first_deadline)
    assert "extension" not in str(first["DESCRIPTION"])


def test_it_escapes_text(client: Client, learner: User, project: Project) -> None:
    project.title = "Lists, sets; and \\ back\nslashes"
    project.save()
    response = client.get(feed_url(learner))
    assert b"Lists\\, sets\\; and \\\\ back\\nslashes" in response.content.replace(b"\r\n ", b"")
    events = list(parse(response.content).walk("VEVENT"))
    summaries = {str(event["SUMMARY"]) for event in events}
    assert "First deadline: Lists, sets; and \\ back\nslashes" in summaries


def test_it_folds_long_lines(client: Client, learner: User, project: Project) -> None:
    # 150 characters (the column holds 160), with multi-byte characters to fold around.
    project.title = ("Asynchronous programming with ünïcödé and emoji 🚀 " * 3).strip()
    project.save()
    body = client.get(feed_url(learner)).content
    lines = body.split(b"\r\n")
    assert any(line.startswith(b" ") for line in lines)  # folded
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode()  # never split inside a UTF-8 character
    summaries = {str(event["SUMMARY"]) for event in parse(body).walk("VEVENT")}
    assert f"Opens: {project.title}" in summaries


def test_it_lists_only_cohorts_where_the_user_is_a_learner(
    client: Client, learner: User, mentor: User, release: ProjectRelease
) -> None:
    elsewhere = ProjectReleaseFactory(
        cohort=CohortFactory(slug="cohort-8"), project=ProjectFactory(title="Not Yours")
    )
    MembershipFactory(user=learner, cohort=elsewhere.cohort, role="mentor")
    learner_events = parse(client.get(feed_url(learner)).content).walk("VEVENT")
    assert len(learner_events) == 3
    assert all("Not Yours" not in str(event["SUMMARY"]) for event in learner_events)

    response = client.get(feed_url(mentor))
    assert response.status_code == 200
    assert parse(response.content).walk("VEVENT") == []


def test_it_stops_answering_the_old_link_after_a_reset(client: Client, learner: User) -> None:
    old_url = feed_url(learner)
    assert client.get(old_url).status_code == 200
    learner.reset_calendar_token()
    assert client.get(old_url).status_code == 404
    assert client.get(feed_url(learner)).status_code == 200


def test_it_answers_404_for_unknown_tokens(client: Client, learner: User) -> None:
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404
    assert client.get(f"/calendar/{learner.calendar_token}x.ics").status_code == 404


def test_it_answers_404_for_inactive_users(client: Client, learner: User) -> None:
    learner.is_active = False
    learner.save()
    assert client.get(feed_url(learner)).status_code == 404


def test_it_needs_no_session_and_is_never_cached(client: Client, learner: User) -> None:
    response = client.get(feed_url(learner))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert "sessionid" not in response.cookies


def test_it_refuses_post(client: Client, learner: User) -> None:
    assert client.post(feed_url(learner)).status_code == 405


@pytest.mark.parametrize("size", [1, 6])
def test_it_uses_a_constant_number_of_queries(
    client: Client,
    learner: User,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    # Explicit slug: the factory's sequence can produce the fixture's "cohort-7".
    other = CohortFactory(slug="cohort-8")
    MembershipFactory(user=learner, cohort=other, role="learner")
    for index in range(size):
        for target in (cohort, other):
            extended = ProjectReleaseFactory(cohort=target)
            if index % 2:
                ExtensionFactory(release=extended, learner=learner)
    # 1. the user by token  2. releases with cohort, project, module  3. the user's extensions
    with django_assert_num_queries(3):
        response = client.get(feed_url(learner))
    assert len(parse(response.content).walk("VEVENT")) == 3 * (1 + 2 * size)


def test_the_writer_escapes_and_folds() -> None:
    assert ical.escape_text("a\\b;c,d\ne\r\nf\x07") == "a\\\\b\\;c\\,d\\ne\\nf"
    line = "DESCRIPTION:" + "é" * 80
    folded = ical.fold(line)
    pieces = folded.split("\r\n")
    assert all(len(piece.encode()) <= 75 for piece in pieces)
    assert all(piece.startswith(" ") for piece in pieces[1:])
    assert "".join(piece.removeprefix(" ") for piece in pieces) == line
    assert ical.fold("SHORT:line") == "SHORT:line"


def test_the_writer_formats_times_and_durations() -> None:
    nairobi = datetime(2026, 5, 12, 23, 59, tzinfo=UTC).astimezone(timezone.get_fixed_timezone(180))
    assert ical.format_utc(nairobi) == "20260512T235900Z"
    assert ical.format_duration(-timedelta(hours=24)) == "-PT24H"
    assert ical.format_duration(timedelta(minutes=90)) == "PT1H30M"

"""The project page's cached dates: a write shows on the next request, the clock refreshes them.

The dates card (state, deadlines, extension, multipliers) is rendered once a minute at
most per user, keyed by the versions of the user, their cohorts' schedules and the
project. Run this file against Redis too, with ``REDIS_URL=redis://127.0.0.1:6379/7``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.cohorts.services import shift_cohort_deadlines
from core.models import Cohort, Iteration, Membership, Project, ProjectRelease, Task, User
from core.platform import cache as versioned
from core.platform.timefmt import time_left
from core.reviews.services import VerdictInput, claim_take, review_save
from core.templatetags.prodev import datetime_attr
from tests.conftest import client_for
from tests.factories import CohortFactory, ExtensionFactory, ProjectReleaseFactory
from tests.platform.test_healthz import UNREACHABLE_REDIS

URL = "/projects/python-generators/"


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    """A cache outage in one test must not make the next one skip the cache."""
    versioned.reset_backoff()
    yield
    versioned.reset_backoff()


def _get(client: Client, url: str = URL) -> tuple[str, bool]:
    """The page's body, and whether rendering it read any release (its dates were not cached)."""
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url).content.decode()
    return body, any('"core_projectrelease"' in query["sql"] for query in queries.captured_queries)


def _dates(client: Client, url: str = URL) -> str:
    """The dates card of the page (the rest of it carries a per-response CSP nonce)."""
    body = client.get(url).content.decode()
    return body[body.index('<section class="card schedule-card') : body.index("</section>")]


def _shows(release: ProjectRelease, field: str = "first_deadline") -> str:
    """The markup of a deadline as the dates card shows it."""
    return f'<time datetime="{datetime_attr(getattr(release, field))}">'


def test_the_dates_come_from_the_cache_between_writes(
    learner: User, release: ProjectRelease
) -> None:
    client = client_for(learner)
    assert _get(client)[1]
    # Written behind the signals' back: the cache still answers, which shows the page
    # reads it, and why every write path must bump a version.
    moved = release.first_deadline + timedelta(days=1)
    ProjectRelease.objects.filter(pk=release.pk).update(first_deadline=moved)
    body, read_releases = _get(client)
    assert not read_releases
    assert _shows(release) in body
    versioned.bump_version(f"schedule:{release.cohort_id}")
    release.refresh_from_db()
    assert _shows(release) in client.get(URL).content.decode()


def test_a_deadline_change_shows_on_the_next_request(
    learner: User, release: ProjectRelease, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(learner)
    assert '<span class="multiplier-value">65%</span>' in client.get(URL).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        release.first_deadline += timedelta(days=2)
        release.second_multiplier = Decimal("0.80")
        release.save()
    body = client.get(URL).content.decode()
    assert _shows(release) in body
    assert '<span class="multiplier-value">80%</span>' in body


def test_an_extension_shows_on_the_next_request(
    learner: User, release: ProjectRelease, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(learner)
    assert "Extended" not in client.get(URL).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        extension = ExtensionFactory(release=release, learner=learner, reason="Hospital stay")
    body = client.get(URL).content.decode()
    assert body.count('state-extended">Extended</span>') == 2
    assert _shows(extension) in body
    assert _shows(extension, "second_deadline") in body
    assert "Hospital stay" in body


def test_only_the_latest_extension_applies(
    learner: User, release: ProjectRelease, django_capture_on_commit_callbacks: Capture
) -> None:
    older = ExtensionFactory(release=release, learner=learner, reason="Older reason")
    with django_capture_on_commit_callbacks(execute=True):
        latest = ExtensionFactory(
            release=release,
            learner=learner,
            first_deadline=older.first_deadline + timedelta(days=1),
            reason="Latest reason",
        )
    body = client_for(learner).get(URL).content.decode()
    assert _shows(latest) in body
    assert "Latest reason" in body
    assert "Older reason" not in body


def test_a_review_decision_renders_the_dates_again(
    learner: User,
    mentor: User,
    project: Project,
    waiting: Iteration,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    client = client_for(learner)
    client.get(URL)
    assert not _get(client)[1]
    with django_capture_on_commit_callbacks(execute=True):
        claim_take(iteration=waiting, reviewer=mentor)
        review_save(
            iteration=waiting,
            reviewer=mentor,
            verdicts={
                task.pk: VerdictInput(passed=True) for task in Task.objects.filter(project=project)
            },
            feedback="Well done.",
            decision="approved",
            submit=True,
        )
    # The page shows no score yet, but nothing it caches about the learner outlives a
    # decision: the dates are read and rendered again.
    body, read_releases = _get(client)
    assert read_releases
    assert "Your dates" in body


def test_a_release_moved_later_hides_the_project_on_the_next_request(
    learner: User, release: ProjectRelease, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(learner)
    assert client.get(URL).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        release.opens_at = timezone.now() + timedelta(days=1)
        release.save()
    assert client.get(URL).status_code == 404


def test_leaving_the_cohort_hides_the_project_on_the_next_request(
    learner: User, cohort: Cohort, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(learner)
    assert client.get(URL).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.get(user=learner, cohort=cohort).delete()
    assert client.get(URL).status_code == 404


def test_a_role_change_shows_on_the_next_request(
    learner: User, cohort: Cohort, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(learner)
    assert "Your dates" in client.get(URL).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        membership = Membership.objects.get(user=learner, cohort=cohort)
        membership.role = Membership.Role.MENTOR
        membership.save()
    body = client.get(URL).content.decode()
    assert "Your dates" not in body
    assert "Submit your work" not in body


def test_a_cohort_edit_shows_on_the_next_request(
    learner: User, cohort: Cohort, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(learner)
    assert "Africa/Nairobi" in client.get(URL).content.decode()
    cohort.name = "Cohort Seven"
    cohort.time_zone = "America/Lima"
    with django_capture_on_commit_callbacks(execute=True):
        cohort.save()  # bumps the cohort's schedule version
    body = client.get(URL).content.decode()
    assert "Cohort Seven" in body
    assert "America/Lima" in body


def test_each_cohort_picked_has_its_own_dates(
    mentor: User, cohort: Cohort, project: Project
) -> None:
    other = CohortFactory(name="Cohort 8", slug="cohort-8", time_zone="America/Lima")
    Membership.objects.create(user=mentor, cohort=other, role="mentor")
    ProjectReleaseFactory(cohort=other, project=project)
    client = client_for(mentor)
    for _ in range(2):  # cold, then warm
        assert "America/Lima" in _dates(client, f"{URL}?cohort=cohort-8")
        assert "Africa/Nairobi" in _dates(client, f"{URL}?cohort=cohort-7")
        # A cohort that is not the user's shows the default dates, like no choice at all.
        assert _dates(client, f"{URL}?cohort=nope") == _dates(client)


def test_the_dates_are_rendered_at_most_a_minute_ago(
    learner: User, release: ProjectRelease
) -> None:
    start = timezone.now()
    release.first_deadline = start + timedelta(hours=3, seconds=10)
    release.save()
    client = client_for(learner)
    with time_machine.travel(start, tick=False):
        assert "3 hours left" in client.get(URL).content.decode()
    # 50 seconds on, a new rendering would say "2 hours 59 minutes": the card is served
    # as rendered (the browser ticks its countdowns) …
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        assert time_left(release.first_deadline) == "2 hours 59 minutes left"
        assert "3 hours left" in client.get(URL).content.decode()
    # … and once the minute is over it is rendered again.
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        assert "2 hours 58 minutes left" in client.get(URL).content.decode()


def test_an_opening_shows_before_the_minute_is_over(
    learner: User, mentor: User, release: ProjectRelease
) -> None:
    start = timezone.now()
    release.opens_at = start + timedelta(seconds=20)
    release.save()
    learner_client, mentor_client = client_for(learner), client_for(mentor)
    with time_machine.travel(start, tick=False):
        assert learner_client.get(URL).status_code == 404
        body = mentor_client.get(URL).content.decode()
        assert '<span class="state-pill state-upcoming">Upcoming</span>' in body
        assert "Opens in" in body
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert learner_client.get(URL).status_code == 200
        body = mentor_client.get(URL).content.decode()
        assert '<span class="state-pill state-current">Open</span>' in body
        assert "to the first deadline" in body


def test_a_deadline_passing_closes_the_project_before_the_minute_is_over(
    learner: User, release: ProjectRelease
) -> None:
    start = timezone.now()
    release.first_deadline = start - timedelta(days=1)
    release.second_deadline = start + timedelta(seconds=20)
    release.save()
    client = client_for(learner)
    with time_machine.travel(start, tick=False):
        assert "to the second deadline" in client.get(URL).content.decode()
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        body = client.get(URL).content.decode()
    assert '<span class="state-pill state-past">Closed</span>' in body
    assert "Both deadlines have passed" in body


def test_staff_see_a_release_to_any_cohort_on_the_next_request(
    staff: User, project: Project, release: ProjectRelease
) -> None:
    client = client_for(staff)
    assert "<option " not in client.get(URL).content.decode()
    # Staff belong to no cohort: their dates are rendered on every request.
    ProjectReleaseFactory(project=project, cohort=CohortFactory(name="Cohort 9"))
    assert client.get(URL).content.decode().count("<option ") == 2


def test_the_page_works_without_the_cache(
    learner: User, release: ProjectRelease, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(learner)
    with override_settings(CACHES=UNREACHABLE_REDIS), caplog.at_level(logging.WARNING):
        response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Your dates" in body
    assert _shows(release) in body
    assert "Stream rows" in body  # the brief
    # Logged as warnings (the cache, the Markdown cache), never as errors.
    assert any(record.levelno == logging.WARNING for record in caplog.records)
    assert all(record.levelno < logging.ERROR for record in caplog.records)


# Writes that go around save(): they bump the cohort's schedule version themselves.


def test_a_cohort_wide_shift_shows_on_the_next_request(
    learner: User,
    cohort: Cohort,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    client = client_for(learner)
    client.get(URL)
    with django_capture_on_commit_callbacks(execute=True):
        shift_cohort_deadlines(cohort=cohort, days=1)  # still open: it opened 2 days ago
    release.refresh_from_db()
    assert _shows(release) in client.get(URL).content.decode()


def test_a_deleted_extension_shows_on_the_next_request(
    learner: User, release: ProjectRelease, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        extension = ExtensionFactory(release=release, learner=learner)
    client = client_for(learner)
    assert "Extended" in client.get(URL).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        extension.delete()
    assert "Extended" not in client.get(URL).content.decode()

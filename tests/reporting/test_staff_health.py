"""Staff cohort health: throughput per day, review turnaround, completion, export panel."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from core.models import Cohort, Iteration, ProjectRelease, Review, User
from core.reporting.turnaround import percentile
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    UserFactory,
)

URL = "/staff/cohorts/cohort-7/"


def reviewed(
    release: ProjectRelease,
    mentor: User,
    *,
    took: timedelta,
    days_ago: float = 1,
    learner: User | None = None,
    score: str | None = None,
    kind: str = "mentor",
) -> Review:
    """A learner's iteration submitted ``days_ago`` and decided ``took`` later."""
    if learner is None:
        learner = UserFactory()
        MembershipFactory(user=learner, cohort=release.cohort, role="learner")
    attempt = AttemptFactory(
        learner=learner, release=release, score=Decimal(score) if score else None
    )
    submitted = timezone.now() - timedelta(days=days_ago)
    iteration = IterationFactory(
        attempt=attempt, number=1, submitted_at=submitted, status=Iteration.Status.REVIEWED
    )
    return ReviewFactory(
        iteration=iteration, reviewer=mentor, kind=kind, submitted_at=submitted + took
    )


def test_it_sends_anonymous_users_to_login(client: Client, cohort: Cohort) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["learner_client", "mentor_client", "outsider_client"])
def test_it_is_404_for_everyone_but_staff(
    who: str, request: pytest.FixtureRequest, db: None
) -> None:
    assert request.getfixturevalue(who).get(URL).status_code == 404


def test_it_is_404_for_an_unknown_cohort(staff_client: Client) -> None:
    assert staff_client.get("/staff/cohorts/nope/").status_code == 404


def test_it_refuses_post(staff_client: Client, cohort: Cohort) -> None:
    assert staff_client.post(URL).status_code == 405


def test_it_shows_the_chart_and_an_accessible_table(
    staff_client: Client, release: ProjectRelease, mentor: User
) -> None:
    # Noon in the cohort's time zone (Nairobi, UTC+3): submitted and reviewed two days
    # ago fall on the same local day whatever time the suite runs.
    noon = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
    with time_machine.travel(noon, tick=False):
        reviewed(release, mentor, took=timedelta(hours=2), days_ago=2)
        reviewed(release, mentor, took=timedelta(hours=3), days_ago=2)
        response = staff_client.get(URL)
        day = timezone.localdate(timezone.now() - timedelta(days=2), release.cohort.tz)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Cohort 7 · health" in body
    assert 'role="img"' in body
    assert "2 submissions and 2 reviews in all" in body
    assert body.count('class="health-chart-bar"') == 1  # one day had submissions
    assert f'<th scope="row">{day:%a} {day.day} {day:%b}</th><td>2</td><td>2</td>' in body
    assert "<script>" not in body and "style=" not in body  # strict CSP


def test_it_computes_turnaround_percentiles_exactly(
    staff_client: Client, release: ProjectRelease, mentor: User
) -> None:
    for hours in (1, 2, 3, 10):
        reviewed(release, mentor, took=timedelta(hours=hours))
    # Not counted: a peer review, a draft, and a decision older than the window.
    reviewed(release, mentor, took=timedelta(hours=50), kind="peer")
    draft = reviewed(release, mentor, took=timedelta(hours=60))
    Review.objects.filter(pk=draft.pk).update(submitted_at=None, decision="")
    reviewed(release, mentor, took=timedelta(hours=70), days_ago=40)
    body = staff_client.get(URL).content.decode()
    # p50 of 1, 2, 3, 10 h = 2.5 h; p90 = 3 h + 0.7 × 7 h = 7.9 h (percentile_cont).
    assert '<span class="health-stat-value" id="turnaround-p50">2 h 30 min</span>' in body
    assert '<span class="health-stat-value" id="turnaround-p90">7 h 54 min</span>' in body
    assert "4 mentor reviews" in body


def test_it_shows_completion_per_project(
    staff_client: Client, release: ProjectRelease, mentor: User, learner: User
) -> None:
    reviewed(release, mentor, took=timedelta(hours=1), learner=learner, score="80.00")
    reviewed(release, mentor, took=timedelta(hours=1), score="49.99")
    reviewed(release, mentor, took=timedelta(hours=1), score="50.00")
    MembershipFactory(cohort=release.cohort, role="learner")  # has not submitted
    body = staff_client.get(URL).content.decode()
    # 4 learners: 3 submitted, 2 passed (≥ 50%).
    assert '<td class="text-end d-none d-sm-table-cell">3</td>' in body
    assert '<td class="text-end">2</td>' in body
    assert '<rect class="health-rate-fill" width="50" height="8"/>' in body
    assert '<span class="health-rate-value">50%</span>' in body


def test_it_offers_the_export(staff_client: Client, cohort: Cohort) -> None:
    body = staff_client.get(URL).content.decode()
    assert 'hx-post="/staff/cohorts/cohort-7/export/"' in body
    assert "Export scores (CSV)" in body


def _data(release: ProjectRelease, mentor: User, n: int) -> None:
    for index in range(n):
        reviewed(release, mentor, took=timedelta(hours=index + 1), score="70.00")
        IterationFactory(attempt__release=release, number=1)  # waiting
        other = ProjectReleaseFactory(cohort=release.cohort)
        AttemptFactory(release=other, learner=MembershipFactory(cohort=release.cohort).user)


@pytest.mark.parametrize("size", [1, 10])
def test_its_query_count_does_not_grow_with_the_data(
    size: int,
    staff_client: Client,
    release: ProjectRelease,
    mentor: User,
    django_assert_num_queries: object,
) -> None:
    _data(release, mentor, size)
    # (The session comes from the cache.) 1 user, 2 cohort with its learner count,
    # 3 submissions per day, 4 reviews per day, 5 waiting count and oldest, 6 turnaround,
    # 7 opened releases, 8 attempts per release, 9 every cohort (the switcher),
    # 10 latest export.
    with django_assert_num_queries(10):  # type: ignore[operator]
        response = staff_client.get(URL)
    assert response.status_code == 200


def test_percentile_interpolates_like_percentile_cont() -> None:
    hours = [timedelta(hours=h) for h in (1, 2, 3, 10)]
    assert percentile(hours, 0.5) == timedelta(hours=2.5)
    assert percentile(hours, 0.9) == timedelta(hours=7.9)
    assert percentile([timedelta(minutes=5)], 0.9) == timedelta(minutes=5)
    assert percentile([], 0.5) is None


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares with PostgreSQL")
def test_percentile_agrees_with_postgresql(db: None) -> None:
    values = [timedelta(minutes=m) for m in (3, 17, 40, 41, 300, 1000, 1441)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v),"
            " percentile_cont(0.9) WITHIN GROUP (ORDER BY v) FROM unnest(%s::interval[]) v",
            [values],
        )
        p50, p90 = cursor.fetchone()
    assert (percentile(values, 0.5), percentile(values, 0.9)) == (p50, p90)


def test_the_day_table_is_hidden_in_a_box_so_it_cannot_widen_the_page(
    staff_client: Client, cohort: Cohort
) -> None:
    # A table is never narrower than its text: hidden itself, it kept 500 px of width and
    # scrolled a phone's page sideways (tests/e2e/test_cohort_health_journey.py measures it).
    body = staff_client.get(URL).content.decode()
    assert re.search(r'<div class="visually-hidden">\s*<table>\s*<caption>Submissions and', body)
    assert '<table class="visually-hidden">' not in body


# How staff get there: the navigation's link picks a cohort, the page switches between them.

PICK_URL = "/staff/cohorts/"


def test_the_navigation_link_opens_the_newest_started_cohort(
    staff_client: Client, cohort: Cohort
) -> None:
    today = timezone.localdate()
    CohortFactory(slug="older", start_date=today - timedelta(days=90))
    CohortFactory(slug="next-month", start_date=today + timedelta(days=30))
    response = staff_client.get("/dashboard/")
    assert f'href="{PICK_URL}"' in response.content.decode()
    response = staff_client.get(PICK_URL)
    assert response.status_code == 302
    assert response["Location"] == URL  # cohort 7 began 30 days ago; next month's has not


def test_the_navigation_link_opens_a_cohort_yet_to_start_when_that_is_all(
    staff_client: Client, db: None
) -> None:
    CohortFactory(slug="next-month", start_date=timezone.localdate() + timedelta(days=30))
    assert staff_client.get(PICK_URL)["Location"] == "/staff/cohorts/next-month/"


def test_the_navigation_link_says_when_there_is_no_cohort(staff_client: Client, db: None) -> None:
    response = staff_client.get(PICK_URL, follow=True)
    assert response.redirect_chain == [("/dashboard/", 302)]
    assert "There are no cohorts yet" in response.content.decode()


def test_the_switcher_opens_the_cohort_chosen(staff_client: Client, cohort: Cohort) -> None:
    CohortFactory(name="Cohort 8", slug="cohort-8")
    body = staff_client.get(URL).content.decode()
    assert f'action="{PICK_URL}"' in body
    assert '<option value="cohort-7" selected>Cohort 7</option>' in body
    assert '<option value="cohort-8">Cohort 8</option>' in body
    response = staff_client.get(PICK_URL, {"cohort": "cohort-8"})
    assert response["Location"] == "/staff/cohorts/cohort-8/"
    assert staff_client.get(PICK_URL, {"cohort": "nope"}).status_code == 404


def test_no_switcher_for_a_single_cohort(staff_client: Client, cohort: Cohort) -> None:
    assert 'id="health-cohort"' not in staff_client.get(URL).content.decode()


@pytest.mark.parametrize("who", ["learner_client", "mentor_client", "outsider_client"])
def test_the_navigation_link_is_404_for_everyone_but_staff(
    who: str, request: pytest.FixtureRequest, db: None
) -> None:
    client = request.getfixturevalue(who)
    assert client.get(PICK_URL).status_code == 404
    assert client.get(PICK_URL, {"cohort": "cohort-7"}).status_code == 404
    assert f'href="{PICK_URL}"' not in client.get("/dashboard/").content.decode()


def test_the_navigation_link_sends_anonymous_users_to_login(client: Client, db: None) -> None:
    response = client.get(PICK_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_navigation_link_refuses_post(staff_client: Client, cohort: Cohort) -> None:
    assert staff_client.post(PICK_URL).status_code == 405


def test_staff_home_links_each_cohort_to_its_health(staff_client: Client, cohort: Cohort) -> None:
    body = staff_client.get("/dashboard/").content.decode()
    assert f'href="{URL}"' in body


# The chart draws the days that have something to show.

NOON_IN_NAIROBI = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Mon 7 Dec, 12:00 EAT


def _chart_rows(body: str) -> list[str]:
    """The day table's rows: one per day the chart draws."""
    return re.findall(r'<tr><th scope="row">([^<]+)</th>', body)


@pytest.mark.parametrize(
    ("days_ago", "drawn", "quiet"),
    [
        # Only recent work: two weeks at least, the quiet ones before said in words.
        (3, 14, "from 8 Nov to 23 Nov, so the chart starts on 24 Nov"),
        # Work three weeks ago: the chart starts that day.
        (20, 21, "from 8 Nov to 16 Nov, so the chart starts on 17 Nov"),
        (21, 22, "from 8 Nov to 15 Nov, so the chart starts on 16 Nov"),
        # Work on the window's first day: all 30 days, nothing left out.
        (29, 30, None),
    ],
)
def test_the_chart_leaves_out_an_empty_start_and_says_so(
    staff_client: Client,
    release: ProjectRelease,
    mentor: User,
    days_ago: int,
    drawn: int,
    quiet: str | None,
) -> None:
    with time_machine.travel(NOON_IN_NAIROBI, tick=False):
        reviewed(release, mentor, took=timedelta(hours=1), days_ago=days_ago)
        reviewed(release, mentor, took=timedelta(hours=1), days_ago=1)
        body = staff_client.get(URL).content.decode()
    rows = _chart_rows(body)
    assert len(rows) == drawn
    assert rows[-1] == "Mon 7 Dec"
    assert "2 submissions and 2 reviews in all" in body  # the window's totals, all of them
    assert "in 30 days" in body
    if quiet is None:
        assert "health-chart-quiet" not in body
    else:
        assert f"Nothing was submitted or reviewed {quiet}." in body


def test_a_quiet_month_shows_all_its_days(staff_client: Client, release: ProjectRelease) -> None:
    with time_machine.travel(NOON_IN_NAIROBI, tick=False):
        body = staff_client.get(URL).content.decode()
    assert len(_chart_rows(body)) == 30
    assert "health-chart-quiet" not in body
    assert "0 submissions and 0 reviews in all" in body

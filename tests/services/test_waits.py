"""Expected wait: queue position against the cohort's review throughput (frozen clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core.models import Cohort, Iteration, ProjectRelease, User
from core.services.waits import expected_wait, wait_estimate, wait_label
from tests.factories import (
    AttemptFactory,
    IterationFactory,
    MembershipFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    UserFactory,
)

NOW = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _frozen_clock() -> None:
    with time_machine.travel(NOW, tick=False):
        yield


def _waiting(release: ProjectRelease, submitted_at: datetime) -> Iteration:
    """A waiting iteration of a new learner of the release's cohort."""
    learner = UserFactory()
    MembershipFactory(user=learner, cohort=release.cohort)
    attempt = AttemptFactory(learner=learner, release=release)
    return IterationFactory(attempt=attempt, number=1, submitted_at=submitted_at)


def _reviews(release: ProjectRelease, count: int, submitted_at: datetime, **kwargs: object) -> None:
    """``count`` decided reviews of other (reviewed) iterations of the release's cohort."""
    for _ in range(count):
        iteration = _waiting(release, submitted_at - HOUR)
        iteration.status = Iteration.Status.REVIEWED
        iteration.save()
        ReviewFactory(iteration=iteration, submitted_at=submitted_at, **kwargs)


@pytest.fixture
def mine(release: ProjectRelease) -> Iteration:
    return _waiting(release, NOW - 3 * HOUR)


def test_it_divides_the_queue_ahead_by_the_reviews_per_day(
    release: ProjectRelease, mine: Iteration
) -> None:
    _reviews(release, 14, NOW - timedelta(days=2))  # 14 in 7 days: 2 a day
    _waiting(release, NOW - 5 * HOUR)
    _waiting(release, NOW - 4 * HOUR)
    estimate = wait_estimate(mine)
    assert estimate.ahead == 2
    assert estimate.reviews == 14
    assert estimate.reviews_per_day == 2
    # Two ahead, then this one: 3 reviews at 2 a day.
    assert estimate.wait == timedelta(hours=36)
    assert expected_wait(mine) == timedelta(hours=36)
    assert wait_label(estimate.wait) == "about 2 days"


def test_first_in_line_waits_for_one_review(release: ProjectRelease, mine: Iteration) -> None:
    _reviews(release, 28, NOW - timedelta(days=1))  # 4 a day
    assert expected_wait(mine) == timedelta(hours=6)
    assert wait_label(expected_wait(mine)) == "about 6 hours"


def test_it_counts_only_this_cohorts_queue_and_reviews_in_the_window(
    release: ProjectRelease, mine: Iteration, mentor: User
) -> None:
    _reviews(release, 7, NOW - timedelta(days=6, hours=23))  # inside: 1 a day
    _reviews(release, 5, NOW - timedelta(days=7, hours=1))  # too old
    _reviews(release, 3, NOW - timedelta(days=1), kind="peer")  # peers do not empty the queue
    draft = _waiting(release, NOW - 10 * HOUR)
    draft.status = Iteration.Status.REVIEWED
    draft.save()
    ReviewFactory(iteration=draft, submitted_at=None, decision="")  # a draft is not a review
    other = ProjectReleaseFactory(
        cohort=Cohort.objects.create(
            program=release.cohort.program, name="Other", slug="other", start_date=NOW.date()
        ),
        project=release.project,
    )
    _reviews(other, 10, NOW - timedelta(days=1))  # another cohort's throughput
    _waiting(other, NOW - 9 * HOUR)  # another cohort's queue
    _waiting(release, NOW - HOUR)  # behind mine
    superseded = _waiting(release, NOW - 8 * HOUR)
    superseded.status = Iteration.Status.SUPERSEDED
    superseded.save()
    estimate = wait_estimate(mine)
    assert (estimate.ahead, estimate.reviews) == (0, 7)
    assert estimate.wait == timedelta(days=1)
    assert wait_label(estimate.wait) == "about 24 hours"


def test_same_second_submissions_queue_by_id(release: ProjectRelease, mine: Iteration) -> None:
    _reviews(release, 7, NOW - timedelta(days=1))
    twin = _waiting(release, mine.submitted_at)
    assert wait_estimate(mine).ahead == 0
    assert wait_estimate(twin).ahead == 1
    assert expected_wait(twin) == timedelta(days=2)


def test_without_reviews_in_the_window_there_is_no_estimate(
    release: ProjectRelease, mine: Iteration
) -> None:
    _reviews(release, 3, NOW - timedelta(days=8))
    _waiting(release, NOW - 5 * HOUR)
    estimate = wait_estimate(mine)
    assert (estimate.ahead, estimate.reviews, estimate.wait) == (1, 0, None)
    assert expected_wait(mine) is None


def test_the_window_is_a_setting(
    release: ProjectRelease, mine: Iteration, settings: object
) -> None:
    settings.EXPECTED_WAIT_WINDOW_DAYS = 2
    _reviews(release, 1, NOW - timedelta(days=1))
    _reviews(release, 4, NOW - timedelta(days=3))
    assert wait_estimate(mine).window_days == 2
    assert expected_wait(mine) == timedelta(days=2)


@pytest.mark.parametrize(
    ("wait", "label"),
    [
        (timedelta(minutes=20), "less than an hour"),
        (timedelta(minutes=40), "about an hour"),
        (timedelta(hours=6, minutes=29), "about 6 hours"),
        (timedelta(hours=35, minutes=29), "about 35 hours"),
        (timedelta(hours=36), "about 2 days"),
        (timedelta(days=2, hours=11), "about 2 days"),
        (timedelta(days=2, hours=12), "about 3 days"),
    ],
)
def test_it_words_the_wait(wait: timedelta, label: str) -> None:
    assert wait_label(wait) == label


def test_it_takes_two_queries(
    release: ProjectRelease, mine: Iteration, django_assert_num_queries: object
) -> None:
    _reviews(release, 7, NOW - timedelta(days=1))
    mine = Iteration.objects.select_related("attempt__release").get(pk=mine.pk)
    # 1. mentor reviews submitted in the window  2. waiting iterations ahead
    with django_assert_num_queries(2):
        wait_estimate(mine)

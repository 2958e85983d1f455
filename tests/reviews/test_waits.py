"""Expected wait: queue position against the cohort's review throughput (frozen clock)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core.models import Cohort, Iteration, ProjectRelease, User
from core.reviews.waits import (
    expected_wait,
    pace_label,
    wait_estimate,
    wait_quantile,
    wait_range_label,
)
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


def test_first_in_line_waits_for_one_review(release: ProjectRelease, mine: Iteration) -> None:
    _reviews(release, 28, NOW - timedelta(days=1))  # 4 a day
    assert expected_wait(mine) == timedelta(hours=6)


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


def test_it_takes_two_queries(
    release: ProjectRelease, mine: Iteration, django_assert_num_queries: object
) -> None:
    _reviews(release, 7, NOW - timedelta(days=1))
    mine = Iteration.objects.select_related("attempt__release").get(pk=mine.pk)
    # 1. mentor reviews submitted in the window  2. waiting iterations ahead
    with django_assert_num_queries(2):
        wait_estimate(mine)


# --- The range ----------------------------------------------------------------------------

WEEK = timedelta(days=7)


def test_it_gives_a_range_around_the_estimate(release: ProjectRelease, mine: Iteration) -> None:
    _reviews(release, 14, NOW - timedelta(days=2))  # 2 a day
    _waiting(release, NOW - 5 * HOUR)
    _waiting(release, NOW - 4 * HOUR)
    estimate = wait_estimate(mine)
    assert estimate.needed == 3
    assert estimate.low is not None and estimate.high is not None
    assert estimate.low < estimate.wait < estimate.high
    # 3 reviews to go at 2 a day (36 hours): between about 13 hours and 3 days.
    assert timedelta(hours=12) < estimate.low < timedelta(hours=13)
    assert timedelta(days=2, hours=23) < estimate.high < timedelta(days=3)
    assert wait_range_label(estimate.low, estimate.high) == "12 hours to 3 days"
    assert estimate.range_in_ten == 8


def test_without_reviews_there_is_no_range(release: ProjectRelease, mine: Iteration) -> None:
    estimate = wait_estimate(mine)
    assert (estimate.wait, estimate.low, estimate.high) == (None, None, None)


@pytest.mark.parametrize("reviews", [1, 2, 7, 50, 400])
@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_first_in_line_matches_the_closed_form(reviews: int, share: float) -> None:
    """One review to go: T / (T + window) ~ Beta(1, N), whose CDF is 1 - (1 - x)^N."""
    x = 1 - (1 - share) ** (1 / reviews)
    exact = WEEK * (x / (1 - x))
    found = wait_quantile(share, needed=1, reviews=reviews, window=WEEK)
    assert abs(found - exact) < timedelta(seconds=1)


def test_the_range_narrows_as_evidence_grows() -> None:
    """The same pace (1 review a day, 3 to go) seen over more reviews: a narrower range."""
    widths = [
        wait_quantile(0.9, needed=3, reviews=n, window=timedelta(days=n))
        - wait_quantile(0.1, needed=3, reviews=n, window=timedelta(days=n))
        for n in (3, 7, 30, 200)
    ]
    assert widths == sorted(widths, reverse=True)


def test_long_queues_take_the_normal_shortcut_without_a_jump() -> None:
    """Past 100 reviews needed and seen the range comes from the normal approximation;
    it agrees with the exact sum on either side of the switch."""
    exact = wait_quantile(0.9, needed=100, reviews=100, window=WEEK)
    normal = wait_quantile(0.9, needed=101, reviews=101, window=WEEK)
    assert math.isclose(exact / WEEK, normal / WEEK, rel_tol=0.01)


def test_it_refuses_what_it_cannot_estimate() -> None:
    for share, needed, reviews in ((0, 1, 1), (1, 1, 1), (0.5, 0, 1), (0.5, 1, 0)):
        with pytest.raises(ValueError):
            wait_quantile(share, needed=needed, reviews=reviews, window=WEEK)


@pytest.mark.parametrize(
    ("low", "high", "label"),
    [
        (timedelta(minutes=5), timedelta(minutes=50), "less than an hour"),
        (timedelta(minutes=30), timedelta(hours=4, minutes=10), "up to 5 hours"),
        (timedelta(hours=3, minutes=50), timedelta(hours=9), "3 to 9 hours"),
        (timedelta(hours=13), timedelta(days=2, hours=23), "13 hours to 3 days"),
        (timedelta(days=2, hours=1), timedelta(days=4, hours=2), "2 to 5 days"),
        (timedelta(days=11, hours=6), timedelta(days=35, hours=22), "11 days to 6 weeks"),
        (timedelta(days=6), timedelta(days=63, microseconds=6), "6 days to 9 weeks"),
        (timedelta(days=2), timedelta(days=2), "about 2 days"),
        (timedelta(hours=1), timedelta(hours=1, minutes=30), "1 to 2 hours"),
    ],
)
def test_it_words_the_range(low: timedelta, high: timedelta, label: str) -> None:
    assert wait_range_label(low, high) == label


@pytest.mark.parametrize(
    ("reviews", "days", "label"),
    [
        (14, 7, "about 2 a day"),
        (7, 7, "about 1 a day"),
        (5, 7, "about 1 a day"),
        (3, 7, "about 1 every 2 days"),
        (1, 7, "about 1 every 7 days"),
        (30, 7, "about 4 a day"),
    ],
)
def test_it_words_the_pace(reviews: int, days: int, label: str) -> None:
    assert pace_label(reviews, days) == label

"""The figures staff and learners read: the runs board's p50/p95 wait and duration, and
a queued run's "starts in about …", computed from known runs on a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from core.checks.models import CheckRun
from core.models import ProjectRelease, User
from tests.conftest import client_for
from tests.factories import LearnerCheckRunFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queue_only")]

NOW = datetime(2026, 10, 15, 9, 0, tzinfo=UTC)
BOARD_URL = "/staff/checks/"


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def classmate(release: ProjectRelease) -> User:
    user = UserFactory()
    MembershipFactory(user=user, cohort=release.cohort, role="learner")
    return user


def finished(
    release: ProjectRelease,
    *,
    ago: timedelta,
    wait: float | None,
    duration: float,
    status: str = "passed",
    worker: str = "worker-1:1",
) -> CheckRun:
    """A run that finished ``ago``, having waited ``wait`` s (None: it never started) and
    run ``duration`` s."""
    finished_at = NOW - ago
    started_at = None if wait is None else finished_at - timedelta(seconds=duration)
    requested_at = (started_at or finished_at) - timedelta(seconds=wait or 0)
    return LearnerCheckRunFactory(
        learner=classmate(release),
        release=release,
        status=status,
        requested_at=requested_at,
        started_at=started_at,
        finished_at=finished_at,
        worker=worker if wait is not None else "",
        tries=1,
    )


def stat(body: str, name: str) -> str:
    start = body.index(f'id="checks-{name}">') + len(f'id="checks-{name}">')
    return body[start : body.index("</span>", start)]


def test_the_board_shows_the_last_days_wait_and_duration_percentiles(
    staff_client: Client, release: ProjectRelease
) -> None:
    # Waits 2, 4, 6, 8, 100 s and durations 1, 2, 3, 4, 30 s in the last 24 hours:
    # p50 is the middle one; p95 lies 0.8 of the way from the 4th to the 5th.
    for hours, wait, duration in [(1, 8, 4), (2, 2, 1), (3, 100, 30), (20, 6, 3), (23, 4, 2)]:
        finished(release, ago=timedelta(hours=hours), wait=wait, duration=duration)
    # Not counted: an errored run that never started (counted as finished, no times), a
    # run of 25 hours ago, the queue and what runs now.
    finished(release, ago=timedelta(hours=4), wait=None, duration=0, status="errored")
    finished(release, ago=timedelta(hours=25), wait=5000, duration=5000)
    LearnerCheckRunFactory(
        learner=classmate(release), release=release, requested_at=NOW - timedelta(hours=2)
    )
    LearnerCheckRunFactory(
        learner=classmate(release),
        release=release,
        status="running",
        requested_at=NOW - timedelta(hours=3),
        started_at=NOW - timedelta(minutes=1),
        heartbeat_at=NOW,
        worker="worker-2:2",
    )

    body = staff_client.get(BOARD_URL).content.decode()

    assert stat(body, "finished") == "6"
    assert stat(body, "wait") == "6.0 s / 1 min 22 s"  # 8 + 0.8 × 92 = 81.6 s
    assert stat(body, "duration") == "3.0 s / 25 s"  # 4 + 0.8 × 26 = 24.8 s


def test_the_board_says_nothing_of_times_without_runs(
    staff_client: Client, release: ProjectRelease
) -> None:
    finished(release, ago=timedelta(hours=30), wait=3, duration=3)
    body = staff_client.get(BOARD_URL).content.decode()
    assert stat(body, "finished") == "0"
    assert stat(body, "wait") == "– / –"
    assert stat(body, "duration") == "– / –"


def test_a_queued_run_says_when_it_should_start(learner: User, release: ProjectRelease) -> None:
    # The last hour: runs of 10, 20 and 30 s (median 20 s) on two workers; older ones and
    # runs that never started do not count.
    finished(release, ago=timedelta(minutes=10), wait=1, duration=10, worker="worker-1:1")
    finished(release, ago=timedelta(minutes=20), wait=1, duration=20, worker="worker-2:2")
    finished(release, ago=timedelta(minutes=50), wait=1, duration=30, worker="worker-1:1")
    finished(release, ago=timedelta(minutes=70), wait=1, duration=900)
    for minutes in (3, 2):  # two runs ahead of the learner's
        LearnerCheckRunFactory(
            learner=classmate(release),
            release=release,
            requested_at=NOW - timedelta(minutes=minutes),
        )
    run = LearnerCheckRunFactory(learner=learner, release=release, requested_at=NOW)

    body = client_for(learner).get(f"/checks/{run.pk}/").content.decode()

    # Third in line: 20 s × 3 runs / 2 workers.
    assert "2 runs ahead · starts in about 30 s" in body


def test_a_queued_run_without_history_gives_no_estimate(
    learner: User, release: ProjectRelease
) -> None:
    finished(release, ago=timedelta(hours=2), wait=1, duration=10)
    run = LearnerCheckRunFactory(learner=learner, release=release, requested_at=NOW)

    body = client_for(learner).get(f"/checks/{run.pk}/").content.decode()

    assert "Next in line" in body
    assert "starts in about" not in body

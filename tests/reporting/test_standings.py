"""Standings: each learner's scores and missed deadlines, kept in a row per membership for
the matrix and the mentor's at-risk lists, refreshed by the read that finds one stale."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.models import Cohort, Iteration, Project, ProjectRelease, Standing, Task, User
from core.reporting.dashboards import cohorts as snapshots
from core.reviews.services import VerdictInput, claim_take, iteration_submit, review_save
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    ExtensionFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

MATRIX = "/cohorts/cohort-7/progress/"


def standing(user: User, cohort: Cohort) -> Standing:
    return Standing.objects.get(membership__user=user, membership__cohort=cohort)


def test_a_decision_on_one_learners_work_leaves_the_others_standings_as_they_were(
    learner: User,
    mentor: User,
    cohort: Cohort,
    project: Project,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    other = UserFactory(display_name="Bea Other")
    MembershipFactory(user=other, cohort=cohort)
    with django_capture_on_commit_callbacks(execute=True):
        iteration, _ = iteration_submit(
            learner=learner, release=release, repo_url="https://github.com/alice/generators"
        )
    client = client_for(mentor)
    client.get(MATRIX)
    before = standing(other, cohort)
    assert not before.stale and not standing(learner, cohort).stale

    with django_capture_on_commit_callbacks(execute=True):
        claim_take(iteration=iteration, reviewer=mentor)
        review_save(
            iteration=Iteration.objects.get(pk=iteration.pk),
            reviewer=mentor,
            verdicts={
                task.pk: VerdictInput(passed=not task.is_advanced)
                for task in Task.objects.filter(project=project)
            },
            feedback="Good.",
            decision="approved",
            submit=True,
        )
    assert standing(learner, cohort).stale
    after = standing(other, cohort)
    assert (after.stale, after.valid_until, after.overall) == (False, before.valid_until, None)
    body = client.get(MATRIX).content.decode()
    assert '<td class="matrix-total">100%</td>' in body
    assert standing(learner, cohort).overall == Decimal(100)


def test_a_deadline_moved_into_the_past_shows_at_once_for_the_whole_cohort(
    learner: User,
    mentor: User,
    cohort: Cohort,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    other = UserFactory(display_name="Bea Other")
    MembershipFactory(user=other, cohort=cohort)
    client = client_for(mentor)
    body = client.get(MATRIX).content.decode()
    assert '<td class="pm-od">' not in body
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        release.first_deadline = now - timedelta(hours=2)
        release.second_deadline = now - timedelta(hours=1)
        release.save()
    body = client.get(MATRIX).content.decode()
    assert body.count('<td class="pm-od">') == 2
    assert body.count('<td class="matrix-total">0%</td>') == 2  # nothing handed in counts 0
    assert "Behind schedule" in client.get("/dashboard/").content.decode()


def test_an_extension_takes_one_learner_off_the_at_risk_list(
    learner: User,
    mentor: User,
    cohort: Cohort,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    client = client_for(mentor)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        release.first_deadline = now - timedelta(hours=1)
        release.save()
    assert "Behind schedule" in client.get("/dashboard/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        ExtensionFactory(
            release=release,
            learner=learner,
            first_deadline=now + timedelta(days=3),
            second_deadline=now + timedelta(days=6),
        )
    assert "Behind schedule" not in client.get("/dashboard/").content.decode()
    assert '<td class="pm-od">' not in client.get(MATRIX).content.decode()


def test_a_standing_of_a_learner_in_two_cohorts_is_kept_per_cohort(
    learner: User, mentor: User, cohort: Cohort, release: ProjectRelease
) -> None:
    other_cohort = CohortFactory(slug="cohort-8")
    other_release = ProjectReleaseFactory(cohort=other_cohort, project=ProjectFactory())
    MembershipFactory(user=learner, cohort=other_cohort)
    MembershipFactory(user=mentor, cohort=other_cohort, role="mentor")
    AttemptFactory(learner=learner, release=other_release, status="approved", score=Decimal(70))
    client = client_for(mentor)
    assert '<td class="matrix-total">–</td>' in client.get(MATRIX).content.decode()
    body = client.get("/cohorts/cohort-8/progress/").content.decode()
    assert '<td class="matrix-total">70%</td>' in body
    assert standing(learner, cohort).overall is None
    assert standing(learner, other_cohort).overall == Decimal(70)


@pytest.mark.django_db(transaction=True)
def test_a_write_committed_while_a_standing_is_computed_leaves_it_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read computes from data read before the write's commit; the write's receiver,
    waiting on the read's lock, marks the stored standing stale after it."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    cohort = CohortFactory(slug="cohort-7")
    project = ProjectFactory()
    TaskFactory(project=project)
    release = ProjectReleaseFactory(cohort=cohort, project=project)
    learner = UserFactory()
    MembershipFactory(user=learner, cohort=cohort)
    mentor = UserFactory()
    MembershipFactory(user=mentor, cohort=cohort, role="mentor")

    def write() -> None:  # another request, its own connection and transaction
        try:
            AttemptFactory(learner=learner, release=release, status="approved", score=Decimal(80))
        finally:
            connections.close_all()

    real = snapshots._scores
    writer = threading.Thread(target=write)

    def scores_while_written(*args: Any, **kwargs: Any) -> Any:
        if writer.ident is None:  # once
            writer.start()
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            deadline = time.monotonic() + 10
            with connection.cursor() as cursor:
                while time.monotonic() < deadline:
                    cursor.execute(waiting)
                    if cursor.fetchone()[0]:  # the writer committed, and waits to mark it
                        break
                    time.sleep(0.02)
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshots, "_scores", scores_while_written)
    client = client_for(mentor)
    assert '<td class="matrix-total">–</td>' in client.get(MATRIX).content.decode()
    writer.join(10)
    assert standing(learner, cohort).stale
    monkeypatch.setattr(snapshots, "_scores", real)
    client.get(f"{MATRIX}?sort=score")  # another table: the cached one is older than the write
    assert standing(learner, cohort).overall == Decimal(80)

"""Races on PostgreSQL: one winner per claim, one review per submit, exact scores.

Each thread uses its own database connection, as concurrent requests do.
SQLite serializes writers on the whole file, so these run on PostgreSQL only.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from core.models import Attempt, Iteration, Review, ReviewClaim, Task, User
from core.reviews.scoring import attempt_receipts, best_receipt
from core.reviews.services import (
    ReviewFlowError,
    VerdictInput,
    claim_next,
    claim_take,
    iteration_submit,
    review_save,
)
from tests.factories import (
    AttemptFactory,
    IterationFactory,
    MembershipFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)
from tests.races import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def mentors_of(release, count: int) -> list[User]:  # type: ignore[no-untyped-def]
    mentors = UserFactory.create_batch(count)
    for mentor in mentors:
        MembershipFactory(user=mentor, cohort=release.cohort, role="mentor")
    return mentors


def test_twenty_mentors_claim_one_iteration_and_one_wins() -> None:
    iteration = IterationFactory()
    mentors = mentors_of(iteration.attempt.release, 20)
    results = run_together(
        [lambda m=m: claim_take(iteration=iteration, reviewer=m) for m in mentors]
    )
    wins = [r for r in results if isinstance(r, ReviewClaim)]
    refusals = [r for r in results if isinstance(r, ReviewFlowError)]
    assert len(wins) == 1, results
    assert len(refusals) == 19
    assert all("Already being reviewed by" in str(r) for r in refusals)
    assert ReviewClaim.objects.filter(iteration=iteration).count() == 1


def test_ten_mentors_take_ten_distinct_iterations_from_the_queue() -> None:
    release = ProjectReleaseFactory()
    for _ in range(10):
        IterationFactory(attempt=AttemptFactory(release=release), number=1)
    mentors = mentors_of(release, 10)
    results = run_together([lambda m=m: claim_next(reviewer=m) for m in mentors])
    assert all(isinstance(r, ReviewClaim) for r in results), results
    claimed = {r.iteration_id for r in results}  # type: ignore[union-attr]
    assert len(claimed) == 10
    assert ReviewClaim.objects.live().count() == 10


def all_pass(release) -> dict[int, VerdictInput]:  # type: ignore[no-untyped-def]
    return {t.pk: VerdictInput(True) for t in Task.objects.filter(project=release.project)}


def approve(iteration: Iteration, mentor: User) -> tuple[Review, bool]:
    """``mentor`` submits a review passing every task of ``iteration``."""
    return review_save(
        iteration=iteration,
        reviewer=mentor,
        verdicts=all_pass(iteration.attempt.release),
        feedback="Great.",
        decision="approved",
        submit=True,
    )


def test_two_concurrent_submissions_of_a_review_record_one() -> None:
    iteration = IterationFactory()
    release = iteration.attempt.release
    TaskFactory(project=release.project, number=0)
    [mentor] = mentors_of(release, 1)
    claim_take(iteration=iteration, reviewer=mentor)

    def submit() -> tuple[Review, bool]:
        return approve(iteration, mentor)

    results = run_together([submit, submit])
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(created for _, created in results) == [False, True]  # type: ignore[misc]
    assert Review.objects.filter(iteration=iteration).count() == 1


def wait_until_another_connection_waits_for_a_lock() -> None:
    with connection.cursor() as cursor:
        for _ in range(1000):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the other connection never waited for a lock")


def test_a_review_submitted_while_the_learner_resubmits_does_not_deadlock() -> None:
    """The resubmission holds the attempt and goes on to supersede the waiting iteration;
    the mentor's submit, reaching the iteration meanwhile, must wait for the attempt
    before it holds the iteration, or each waits on the other."""
    iteration = IterationFactory()
    attempt, release = iteration.attempt, iteration.attempt.release
    TaskFactory(project=release.project, number=0)
    [mentor] = mentors_of(release, 1)
    claim_take(iteration=iteration, reviewer=mentor)
    mentor_result: list[object] = []

    def mentor_submits() -> None:
        try:
            mentor_result.append(approve(iteration, mentor))
        except Exception as error:  # asserted on below
            mentor_result.append(error)
        finally:
            connection.close()

    submitting = threading.Thread(target=mentor_submits)
    with transaction.atomic():  # the learner's resubmission, paused after its first lock
        Attempt.objects.select_for_update().get(pk=attempt.pk)
        submitting.start()
        wait_until_another_connection_waits_for_a_lock()
        resubmitted, created = iteration_submit(
            learner=attempt.learner, release=release, repo_url="https://github.com/a/b"
        )
    submitting.join(timeout=60)

    assert created and resubmitted.number == iteration.number + 1
    [outcome] = mentor_result
    # The learner's new iteration took the claim away: the mentor is told so, and nothing
    # was decided on the superseded one.
    assert isinstance(outcome, ReviewFlowError), outcome
    iteration.refresh_from_db()
    assert iteration.status == Iteration.Status.SUPERSEDED
    assert not Review.objects.filter(iteration=iteration).exists()


def test_ten_concurrent_decisions_leave_the_exact_score() -> None:
    release = ProjectReleaseFactory()
    for number in range(3):
        TaskFactory(project=release.project, number=number, kind="mandatory")
    TaskFactory(project=release.project, number=3, kind="advanced")
    attempt = AttemptFactory(release=release)
    iterations = [IterationFactory(attempt=attempt, number=n + 1) for n in range(10)]
    mentors = mentors_of(release, 10)
    tasks = list(Task.objects.filter(project=release.project).order_by("number"))
    for iteration, mentor in zip(iterations, mentors, strict=True):
        claim_take(iteration=iteration, reviewer=mentor)

    def decide(index: int) -> object:
        # Iteration n passes the first n % 4 tasks: different scores per decision.
        verdicts = {t.pk: VerdictInput(i < index % 4) for i, t in enumerate(tasks)}
        return review_save(
            iteration=iterations[index],
            reviewer=mentors[index],
            verdicts=verdicts,
            feedback="",
            decision="changes_requested",
            submit=True,
        )

    results = run_together([lambda i=i: decide(i) for i in range(10)])
    assert all(isinstance(r, tuple) for r in results), results
    attempt = Attempt.objects.get(pk=attempt.pk)
    expected = best_receipt(attempt_receipts(attempt))
    assert expected is not None
    assert attempt.score == expected.score
    assert attempt.score == Decimal("100.00")
    assert Iteration.objects.filter(attempt=attempt, status="reviewed").count() == 10

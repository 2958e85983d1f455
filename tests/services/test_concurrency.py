"""Races on PostgreSQL: one winner per claim, one review per submit, exact scores.

Each thread uses its own database connection, as concurrent requests do.
SQLite serializes writers on the whole file, so these run on PostgreSQL only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from core.models import Attempt, Iteration, Review, ReviewClaim, Task, User
from core.services.reviews import (
    ReviewFlowError,
    VerdictInput,
    claim_next,
    claim_take,
    review_save,
)
from core.services.scoring import attempt_receipts, best_receipt
from tests.factories import (
    AttemptFactory,
    IterationFactory,
    MembershipFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def run_together(workers: list[Callable[[], object]]) -> list[object]:
    """Start every worker at the same moment; return each one's result or exception."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:  # collected and asserted on by the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


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


def test_two_concurrent_submissions_of_a_review_record_one() -> None:
    iteration = IterationFactory()
    release = iteration.attempt.release
    TaskFactory(project=release.project, number=0)
    [mentor] = mentors_of(release, 1)
    claim_take(iteration=iteration, reviewer=mentor)

    def submit() -> tuple[Review, bool]:
        return review_save(
            iteration=iteration,
            reviewer=mentor,
            verdicts=all_pass(release),
            feedback="Great.",
            decision="approved",
            submit=True,
        )

    results = run_together([submit, submit])
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(created for _, created in results) == [False, True]  # type: ignore[misc]
    assert Review.objects.filter(iteration=iteration).count() == 1


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

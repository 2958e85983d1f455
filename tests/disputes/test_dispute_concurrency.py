"""Races on PostgreSQL: two mentors deciding one dispute record one outcome.

Each thread uses its own database connection, as concurrent requests do. SQLite
serializes writers on the whole file, so these run on PostgreSQL only.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from core.disputes.services import DisputeError, dispute_claim, dispute_open, dispute_resolve
from core.models import AuditEvent, Dispute, User
from tests.disputes.scene import disputed_verdict
from tests.factories import CohortFactory, MembershipFactory, UserFactory
from tests.races import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def scene() -> tuple[Dispute, list[User]]:
    """Alice's dispute of Vera's verdict, and two other mentors of the cohort."""
    cohort = CohortFactory()
    learner = UserFactory(display_name="Alice Learner")
    MembershipFactory(user=learner, cohort=cohort, role="learner")
    mentors = UserFactory.create_batch(2)
    for mentor in mentors:
        MembershipFactory(user=mentor, cohort=cohort, role="mentor")
    return disputed_verdict(learner, cohort), mentors


def test_two_mentors_deciding_one_dispute_record_one_outcome() -> None:
    dispute, (first, second) = scene()

    def decide(mentor: User, outcome: str) -> Dispute:
        dispute_claim(dispute=dispute, user=mentor)
        return dispute_resolve(dispute=dispute, user=mentor, outcome=outcome, comment="Decided.")

    results = run_together([lambda: decide(first, "overturned"), lambda: decide(second, "upheld")])
    wins = [r for r in results if isinstance(r, Dispute)]
    refusals = [r for r in results if isinstance(r, DisputeError)]
    assert len(wins) == 1 and len(refusals) == 1, results
    dispute.refresh_from_db()
    assert dispute.status == wins[0].status
    assert AuditEvent.objects.filter(action="dispute_resolved").count() == 1
    verdict = dispute.verdict
    verdict.refresh_from_db()
    assert verdict.passed is (dispute.status == Dispute.Status.OVERTURNED)


def test_one_mentor_deciding_twice_at_once_records_one_outcome_and_its_score() -> None:
    """Two tabs of the same mentor, one overturning and one upholding: one wins, and the
    score matches the verdict that stands."""
    dispute, (mentor, _) = scene()
    dispute_claim(dispute=dispute, user=mentor)
    results = run_together(
        [
            lambda: dispute_resolve(
                dispute=dispute, user=mentor, outcome="overturned", comment="Yes."
            ),
            lambda: dispute_resolve(dispute=dispute, user=mentor, outcome="upheld", comment="No."),
        ]
    )
    assert sorted(type(r).__name__ for r in results) == ["Dispute", "DisputeError"], results
    dispute.refresh_from_db()
    attempt = dispute.attempt
    # Task 0 stays failed; task 1 (the disputed one) passes only if overturned.
    overturned = dispute.status == Dispute.Status.OVERTURNED
    expected = Decimal("50.00") if overturned else Decimal("0.00")
    assert attempt.score == expected


def test_two_learners_tabs_open_one_dispute_per_verdict() -> None:
    dispute, _ = scene()
    verdict = dispute.verdict.review.verdicts.get(task__number=0)
    learner = dispute.learner
    results = run_together(
        [
            lambda: dispute_open(learner=learner, verdict=verdict, reason="Done, see main.py."),
            lambda: dispute_open(learner=learner, verdict=verdict, reason="Done, see main.py."),
        ]
    )
    assert sorted(type(r).__name__ for r in results) == ["Dispute", "DisputeError"], results
    assert Dispute.objects.filter(verdict=verdict).count() == 1

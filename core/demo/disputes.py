"""Demo disputes: a classmate of the demo learner contests a verdict of the demo mentor's,
a day ago, so staff see it above their review queue and on the SLA board (the demo cohort
has one mentor, whose own verdicts go to staff). The demo learner's recent failed verdicts
are left for them to contest.

Like the other demo seeds, the row is written directly, in the past, and nobody is
notified; with any dispute in the cohort it does nothing, so seeding again changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.disputes.models import Dispute
from core.disputes.selectors import disputable_verdicts
from core.disputes.services import dispute_route
from core.models import Attempt, Cohort

DEMO_LEARNER = "learner@example.com"
REASON = (
    "The resolver for this task is in `schema.py` (commit on my main branch): the query "
    "returns the nested authors the task asks for. Could another mentor take a look?"
)


def seed_disputes(cohort: Cohort, now: datetime) -> int:
    """One open dispute in ``cohort`` (0 when it has one, or nothing to contest)."""
    if Dispute.objects.filter(cohort=cohort).exists():
        return 0
    attempts = (
        Attempt.objects.filter(release__cohort=cohort)
        .exclude(learner__email=DEMO_LEARNER)
        .select_related("release")
        .order_by("pk")
    )
    for attempt in attempts:
        verdict = disputable_verdicts(attempt, now).first()
        if verdict is None:
            continue
        Dispute.objects.create(
            attempt=attempt,
            verdict=verdict,
            learner=attempt.learner,
            cohort=cohort,
            verdict_author_id=verdict.review.reviewer_id,
            assigned_to=dispute_route(
                cohort_id=cohort.pk,
                verdict_author_id=verdict.review.reviewer_id,
                learner_id=attempt.learner_id,
            ),
            reason=REASON,
            was_passed=False,
            created_at=now - timedelta(days=1),
        )
        return 1
    return 0

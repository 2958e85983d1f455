"""A disputed verdict for the site-wide tests (authorization matrix, every page's HTML)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core.disputes.services import dispute_open
from core.models import Cohort, Dispute, User
from core.reviews.scoring import attempt_recompute_score
from tests.factories import (
    AttemptFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    TaskFactory,
    UserFactory,
    VerdictFactory,
)


def disputed_verdict(learner: User, cohort: Cohort) -> Dispute:
    """``learner``'s work on a second project of ``cohort``, reviewed an hour ago by Vera
    (another mentor of the cohort), who failed both tasks; the learner contests task 1."""
    author = UserFactory(email="vera@example.com", display_name="Vera Mentor")
    MembershipFactory(user=author, cohort=cohort, role="mentor")
    project = ProjectFactory(title="Async Comprehensions", slug="async-comprehensions")
    tasks = [
        TaskFactory(project=project, number=number, title=title)
        for number, title in ((0, "Async generator"), (1, "Async comprehension"))
    ]
    release = ProjectReleaseFactory(cohort=cohort, project=project)
    hour_ago = timezone.now() - timedelta(hours=1)
    iteration = IterationFactory(
        attempt=AttemptFactory(learner=learner, release=release),
        number=1,
        submitted_at=hour_ago - timedelta(hours=3),
    )
    review = ReviewFactory(
        iteration=iteration, reviewer=author, decision="changes_requested", submitted_at=hour_ago
    )
    verdicts = [
        VerdictFactory(review=review, task=task, passed=False, comment="Not awaited.")
        for task in tasks
    ]
    attempt_recompute_score(attempt=iteration.attempt)  # 0%: as a decision leaves it
    return dispute_open(
        learner=learner,
        verdict=verdicts[1],
        reason="It **is** awaited: see `main.py` line 4.",
    )

"""A staff override in the demo: the demo learner meets "adjusted by staff" on a receipt.

On the demo learner's most recent scored attempt that failed a task (on time, with its
grade not held), staff (the demo staff account) pass the last such task, with a reason,
through the same service as the staff page, so the receipt, the score and the audit log
agree. Idempotent: a cohort that has an override already gets none.
"""

from __future__ import annotations

from core.models import Attempt, Cohort, ScoreOverride, User
from core.peer.services import grade_hold
from core.reviews.overrides import score_override_set
from core.reviews.scoring import attempt_receipts, best_receipt

LEARNER = "learner@example.com"
STAFF = "staff@example.com"
REASON = (
    "Checked again by staff with your mentor: the work meets this task's requirements, "
    "so it **passes**. The score is recomputed with it."
)


def seed_staff_override(cohort: Cohort) -> int:
    """Give the demo learner one staff verdict override; returns how many were made (0 or 1)."""
    staff = User.objects.filter(email=STAFF, is_staff=True).first()
    if staff is None or ScoreOverride.objects.filter(attempt__release__cohort=cohort).exists():
        return 0
    attempts = list(
        Attempt.objects.filter(release__cohort=cohort, learner__email=LEARNER)
        .exclude(score=None)
        .select_related("release__project", "release__cohort", "learner")
        .order_by("-release__opens_at")
    )
    # The oldest project stays the model receipt (every mandatory task passed on time).
    for attempt in attempts[:-1]:
        best = best_receipt(attempt_receipts(attempt))
        failed = [line for line in best.lines if not line.passed] if best else []
        # A held grade would hide the receipt from the learner (core/peer/services.py).
        if not failed or best is None or best.multiplier < 1 or grade_hold(attempt).held:
            continue
        score_override_set(
            attempt=attempt, by=staff, task=failed[-1].task, passed=True, reason=REASON
        )
        return 1
    return 0

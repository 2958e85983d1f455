"""The disputes' writes: open one, claim it, decide it.

Each runs in one transaction that locks the attempt before anything under it (as
``Iteration.objects.lock`` and the scoring do), so two mentors deciding one dispute at
once record one outcome, and an overturned verdict's score is recomputed with it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.disputes import signals
from core.disputes.models import Dispute
from core.disputes.selectors import deciding_reviews, dispute_window
from core.models import Attempt, Membership, Task, User, Verdict
from core.platform.audit import audit
from core.platform.cache import bump_on_commit
from core.reviews.scoring import attempt_recompute_score


class DisputeError(Exception):
    """A dispute request refused, with a message for the user."""


def _lock_attempt(attempt_id: int) -> Attempt:
    # Only the attempt's row (of self): the joined release is read, not locked.
    return (
        Attempt.objects.select_for_update(of=("self",)).select_related("release").get(pk=attempt_id)
    )


def _checked_text(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise DisputeError(f"Write {what} first.")
    if len(text) > settings.MARKDOWN_MAX_CHARS:
        raise DisputeError(f"Keep {what} under {settings.MARKDOWN_MAX_CHARS:,} characters.")
    return text


def dispute_route(*, cohort_id: int, verdict_author_id: int, learner_id: int) -> User | None:
    """The cohort's mentor with the fewest open disputes who did not give the verdict (and
    is not the learner); None when there is none, and staff decide."""
    mentors = (
        User.objects.filter(
            is_active=True,
            memberships__cohort_id=cohort_id,
            memberships__role=Membership.Role.MENTOR,
        )
        .exclude(pk__in=[verdict_author_id, learner_id])
        .annotate(
            open_disputes=Count(
                "disputes_assigned", filter=Q(disputes_assigned__status=Dispute.Status.OPEN)
            )
        )
        .order_by("open_disputes", "pk")
    )
    return mentors.first()


@transaction.atomic
def dispute_open(*, learner: User, verdict: Verdict, reason: str) -> Dispute:
    """``learner`` contests a failed verdict of their decided work, within the window."""
    reason = _checked_text(reason, "why you contest this verdict")
    attempt_id = (
        Verdict.objects.filter(pk=verdict.pk)
        .values_list("review__iteration__attempt_id", flat=True)
        .first()
    )
    if attempt_id is None:
        raise DisputeError("This verdict no longer exists.")
    attempt = _lock_attempt(attempt_id)
    if attempt.learner_id != learner.pk:
        raise DisputeError("You can only contest verdicts on your own work.")
    locked = (
        Verdict.objects.select_for_update(of=("self",))
        .select_related("review", "task")
        .get(pk=verdict.pk)
    )
    review = locked.review
    if locked.task.grading == Task.Grading.CHECKS:
        raise DisputeError("This task is graded by its checks: run them again instead.")
    if not deciding_reviews(attempt).filter(pk=review.pk).exists():
        raise DisputeError(
            "Only a mentor's verdicts that count towards your score can be contested."
        )
    if locked.passed is not False:
        raise DisputeError("Only a failed verdict can be contested.")
    now = timezone.now()
    assert review.submitted_at is not None  # a deciding review is submitted
    if now > review.submitted_at + dispute_window():
        raise DisputeError(
            f"Verdicts can be contested for {settings.DISPUTE_WINDOW_DAYS} days after the "
            "review; this one is older."
        )
    if Dispute.objects.filter(verdict=locked, status=Dispute.Status.OPEN).exists():
        raise DisputeError("This verdict is already disputed; wait for the outcome.")
    if Dispute.objects.filter(attempt=attempt).count() >= settings.DISPUTES_PER_ATTEMPT:
        raise DisputeError(
            f"A project can carry {settings.DISPUTES_PER_ATTEMPT} disputes at most; this one "
            "has reached it. Ask your mentor in the discussion instead."
        )
    dispute = Dispute.objects.create(
        attempt=attempt,
        verdict=locked,
        learner=learner,
        cohort_id=attempt.release.cohort_id,
        verdict_author_id=review.reviewer_id,
        assigned_to=dispute_route(
            cohort_id=attempt.release.cohort_id,
            verdict_author_id=review.reviewer_id,
            learner_id=learner.pk,
        ),
        reason=reason,
        was_passed=False,
        created_at=now,
    )
    audit(
        actor=learner,
        action="dispute_opened",
        obj=dispute,
        detail={
            "attempt": attempt.pk,
            "verdict": locked.pk,
            "task": locked.task.number,
            "assigned_to": dispute.assigned_to_id,
        },
    )
    transaction.on_commit(
        lambda: signals.dispute_opened.send(Dispute, dispute=dispute), robust=True
    )
    return dispute


def _lock_dispute(dispute: Dispute) -> Dispute:
    """The dispute locked, after its attempt (the order every writer takes them in)."""
    attempt_id = Dispute.objects.filter(pk=dispute.pk).values_list("attempt_id", flat=True).get()
    _lock_attempt(attempt_id)
    return Dispute.objects.select_for_update().get(pk=dispute.pk)


@transaction.atomic
def dispute_claim(*, dispute: Dispute, user: User) -> Dispute:
    """Lease the dispute to ``user`` for CLAIM_MINUTES; nobody else may decide it meanwhile.
    (Callers check that ``user`` may handle it.)"""
    locked = _lock_dispute(dispute)
    if not locked.is_open:
        raise DisputeError("This dispute is decided already.")
    now = timezone.now()
    if locked.claim_is_live(now) and locked.claimed_by_id != user.pk:
        assert locked.claimed_by is not None
        raise DisputeError(
            f"{locked.claimed_by.name} is deciding this dispute "
            f"({locked.minutes_left(now)} min left)."
        )
    locked.claimed_by = user
    locked.claim_expires_at = now + timedelta(minutes=settings.CLAIM_MINUTES)
    locked.save(update_fields=["claimed_by", "claim_expires_at"])
    audit(actor=user, action="dispute_claimed", obj=locked)
    return locked


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, user: User, outcome: str, comment: str) -> Dispute:
    """Decide the dispute: ``upheld`` keeps the verdict, ``overturned`` reverses it and
    recomputes the score in this same transaction. Only the claim's holder may decide."""
    comment = _checked_text(comment, "a comment for the learner")
    if outcome not in (Dispute.Status.UPHELD, Dispute.Status.OVERTURNED):
        raise DisputeError("Choose an outcome: upheld or overturned.")
    locked = _lock_dispute(dispute)
    if not locked.is_open:
        raise DisputeError("This dispute is decided already.")
    now = timezone.now()
    if not locked.held_by(user, now):
        raise DisputeError("Claim this dispute before deciding it (your claim may have expired).")
    attempt = Attempt.objects.get(pk=locked.attempt_id)  # locked by _lock_dispute
    score_before: Decimal | None = attempt.score
    if outcome == Dispute.Status.OVERTURNED:
        verdict = Verdict.objects.select_for_update().get(pk=locked.verdict_id)
        verdict.passed = not locked.was_passed
        verdict.save(update_fields=["passed"])
        attempt_recompute_score(attempt=attempt)
        bump_on_commit(cohorts=[locked.cohort_id], learners=[locked.learner_id])
    locked.status = outcome
    locked.outcome_comment = comment
    locked.resolved_by = user
    locked.resolved_at = now
    locked.claim_expires_at = now  # the claim ends with the decision
    locked.save(
        update_fields=[
            "status",
            "outcome_comment",
            "resolved_by",
            "resolved_at",
            "claim_expires_at",
        ]
    )
    audit(
        actor=user,
        action="dispute_resolved",
        obj=locked,
        detail={
            "outcome": outcome,
            "verdict": locked.verdict_id,
            "score": [score_before, attempt.score],
        },
    )
    transaction.on_commit(
        lambda: signals.dispute_resolved.send(Dispute, dispute=locked), robust=True
    )
    return locked

"""Staff overrides: set or clear a task verdict or the final score of an attempt.

An override stands until staff clear it (see ``ScoreOverride``); each change recomputes
the score under the attempt's row lock, as a review decision does, and is audited with
the score and verdict before and after.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.models import Attempt, AuditEvent, ScoreOverride, Task, User
from core.platform.audit import audit
from core.platform.cache import bump_on_commit
from core.reviews.scoring import (
    attempt_receipts,
    attempt_recompute_score,
    best_receipt,
    standing_overrides,
)
from core.reviews.services import ReviewFlowError

MAX_SCORE = Decimal(200)


class OverrideRefused(ReviewFlowError):
    """An override staff may not make (nothing reviewed yet, a score out of range ...)."""


def _verdict_word(passed: bool | None) -> str | None:
    return None if passed is None else ("pass" if passed else "fail")


def _locked(attempt: Attempt) -> Attempt:
    return (
        # Only the attempt's row (of self): what it joins is read, not locked.
        Attempt.objects.select_for_update(of=("self",))
        .select_related("release__project", "release__cohort", "learner")
        .get(pk=attempt.pk)
    )


def _audit_change(
    *,
    attempt: Attempt,
    by: User,
    override: ScoreOverride,
    score_before: Decimal | None,
    **more: object,
) -> None:
    audit(
        actor=by,
        action=AuditEvent.Action.SCORE_OVERRIDE,
        obj=attempt,
        detail={
            "override": override.pk,
            "kind": override.kind,
            "score_before": score_before,
            "score_after": attempt.score,
            **more,
        },
    )
    bump_on_commit(cohorts=[attempt.release.cohort_id], learners=[attempt.learner_id])


@transaction.atomic
def score_override_set(
    *,
    attempt: Attempt,
    by: User,
    reason: str,
    score: Decimal | None = None,
    task: Task | None = None,
    passed: bool | None = None,
) -> ScoreOverride:
    """Staff set the final ``score`` or ``task``'s verdict (``passed``) of ``attempt``.

    A standing override of the same thing is cleared by the new one (both kept).
    """
    if not by.is_staff:
        raise OverrideRefused("Only staff can adjust a score.")
    if not reason.strip():
        raise OverrideRefused("Say why: the learner reads the reason on their receipt.")
    if (score is None) == (task is None):
        raise OverrideRefused("Adjust either the final score or one task's verdict.")
    locked = _locked(attempt)
    standing = standing_overrides(locked)
    best = best_receipt(attempt_receipts(locked, standing=standing))
    if best is None:
        raise OverrideRefused("No iteration has been reviewed yet: there is no score to adjust.")
    now = timezone.now()
    before: dict[str, object] = {}
    if score is not None:
        if not Decimal(0) <= score <= MAX_SCORE:
            raise OverrideRefused("A score is between 0% and 200%.")
        replaced = standing.score
        override = ScoreOverride(
            attempt=locked, kind=ScoreOverride.Kind.SCORE, score=score, reason=reason
        )
    else:
        assert task is not None
        if task.project_id != locked.release.project_id or passed is None:
            raise OverrideRefused("Choose a task of this project and its verdict.")
        replaced = standing.verdicts.get(task.pk)
        line = next(line for line in best.lines if line.task.pk == task.pk)
        before = {
            "task": task.number,
            "verdict_before": _verdict_word(line.passed),
            "verdict_after": _verdict_word(passed),
        }
        override = ScoreOverride(
            attempt=locked,
            kind=ScoreOverride.Kind.VERDICT,
            task=task,
            passed=passed,
            reason=reason,
        )
    if replaced is not None:
        replaced.cleared_at, replaced.cleared_by = now, by
        replaced.save(update_fields=["cleared_at", "cleared_by"])
    override.created_by, override.created_at = by, now
    override.full_clean()
    override.save()
    score_before = locked.score
    attempt_recompute_score(attempt=locked)
    _audit_change(
        attempt=locked,
        by=by,
        override=override,
        score_before=score_before,
        reason=reason,
        replaced=replaced.pk if replaced else None,
        **before,
    )
    attempt.score, attempt.scored_iteration = locked.score, locked.scored_iteration
    return override


@transaction.atomic
def score_override_clear(*, override: ScoreOverride, by: User) -> ScoreOverride:
    """Staff clear a standing override: the reviews' verdict or score applies again."""
    if not by.is_staff:
        raise OverrideRefused("Only staff can clear an adjustment.")
    locked = _locked(override.attempt)
    current = ScoreOverride.objects.select_for_update().get(pk=override.pk)
    if current.cleared_at is not None:
        raise OverrideRefused("This adjustment was already cleared.")
    current.cleared_at, current.cleared_by = timezone.now(), by
    current.save(update_fields=["cleared_at", "cleared_by"])
    score_before = locked.score
    attempt_recompute_score(attempt=locked)
    more: dict[str, object] = {"cleared": True}
    if current.kind == ScoreOverride.Kind.VERDICT:
        more["task"] = current.task.number if current.task else None
    _audit_change(attempt=locked, by=by, override=current, score_before=score_before, **more)
    override.cleared_at, override.cleared_by = current.cleared_at, by
    return current

"""The review loop's writes: submit, claim, extend, release, draft and decide.

Every function takes keyword arguments only, runs in one transaction, and
locks the rows it decides on, so concurrent requests cannot create two claims,
two reviews or a stale score.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import signals
from core.models import (
    Attachment,
    Attempt,
    Iteration,
    Project,
    ProjectRelease,
    Review,
    ReviewClaim,
    Task,
    User,
    Verdict,
)
from core.querysets import IterationQuerySet
from core.services.scoring import attempt_recompute_score


class ReviewFlowError(Exception):
    """A request the review loop refuses, with a message for the user."""


class ClaimLimitReached(ReviewFlowError):
    """The reviewer already holds MAX_CLAIMS live claims."""


def review_due_times(project: Project, submitted_at: datetime) -> dict[str, datetime | None]:
    """The SLA due times the project's review policy gives an iteration."""
    peer_due = (
        submitted_at + timedelta(hours=project.peer_sla_hours)
        if project.peer_reviews_required
        else None
    )
    return {
        "peer_due_at": peer_due,
        "mentor_due_at": submitted_at + timedelta(hours=project.mentor_sla_hours),
    }


@contextmanager
def _files_removed_on_error() -> Iterator[list[str]]:
    """Names of files written to storage; if the block fails (and so the transaction
    rolls back) they are deleted, so no upload outlives the rows that named it."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        storage = Attachment._meta.get_field("file").storage
        for name in stored:
            storage.delete(name)
        raise


@transaction.atomic
def iteration_submit(
    *,
    learner: User,
    release: ProjectRelease,
    repo_url: str,
    commit_sha: str = "",
    notes: str = "",
    tasks_claimed: Iterable[Task] = (),
    attachments: Iterable[UploadedFile] = (),
    submit_token: uuid.UUID | None = None,
) -> tuple[Iteration, bool]:
    """Record a new iteration; returns (iteration, created).

    The same ``submit_token`` twice returns the first iteration (double-submit
    guard). An earlier iteration still waiting is superseded, never replaced.
    """
    if submit_token is not None:
        existing = Iteration.objects.filter(submit_token=submit_token).first()
        if existing is not None:
            return existing, False
    attempt, _ = Attempt.objects.get_or_create(learner=learner, release=release)
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if submit_token is not None:  # re-check under the attempt's lock
        existing = Iteration.objects.filter(submit_token=submit_token).first()
        if existing is not None:
            return existing, False
    now = timezone.now()
    waiting = list(attempt.iterations.filter(status=Iteration.Status.WAITING))
    for old in waiting:
        old.status = Iteration.Status.SUPERSEDED
        old.save(update_fields=["status"])
        ReviewClaim.objects.filter(iteration=old, released_at=None).update(released_at=now)
        old.peer_assignments.filter(completed_at=None, released_at=None).update(released_at=now)
    number = (
        attempt.iterations.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    iteration = Iteration(
        attempt=attempt,
        number=number,
        repo_url=repo_url,
        commit_sha=commit_sha,
        notes=notes,
        submitted_at=now,
        submit_token=submit_token,
        **review_due_times(release.project, now),
    )
    iteration.full_clean(exclude=["attempt", "submit_token"])
    try:
        with transaction.atomic():
            iteration.save()
    except IntegrityError:  # the same token raced us between the checks
        return Iteration.objects.get(submit_token=submit_token), False
    iteration.tasks_claimed.set(tasks_claimed)
    with _files_removed_on_error() as stored:
        for upload in attachments:
            attachment = Attachment(
                iteration=iteration,
                original_name=upload.name[:200],
                content_type=getattr(upload, "content_type", "") or "application/octet-stream",
                size=upload.size,
            )
            attachment.file.save(upload.name, upload, save=False)
            stored.append(attachment.file.name)
            attachment.save()
        attempt.status = Attempt.Status.WAITING
        attempt.save(update_fields=["status", "updated_at"])
    transaction.on_commit(
        lambda: signals.iteration_submitted.send(Iteration, iteration=iteration), robust=True
    )
    return iteration, True


def _live_claim(iteration: Iteration, now) -> ReviewClaim | None:  # type: ignore[no-untyped-def]
    """The iteration's open claim if still live; an expired one is closed on the way."""
    claim = (
        ReviewClaim.objects.filter(iteration=iteration, released_at=None)
        .select_related("reviewer")
        .first()
    )
    if claim is not None and claim.expires_at <= now:
        claim.released_at = claim.expires_at
        claim.save(update_fields=["released_at"])
        return None
    return claim


@transaction.atomic
def claim_take(*, iteration: Iteration, reviewer: User) -> ReviewClaim:
    """Lease ``iteration`` to ``reviewer`` for CLAIM_MINUTES; exactly one wins a race."""
    now = timezone.now()
    # Lock the reviewer first (serializes their own claims, for the cap), then the iteration.
    User.objects.select_for_update().filter(pk=reviewer.pk).first()
    locked = Iteration.objects.select_for_update().get(pk=iteration.pk)
    if locked.status != Iteration.Status.WAITING:
        raise ReviewFlowError("This iteration no longer needs a review.")
    claim = _live_claim(locked, now)
    if claim is not None:
        if claim.reviewer_id == reviewer.pk:
            return claim
        raise ReviewFlowError(
            f"Already being reviewed by {claim.reviewer.name} ({claim.minutes_left(now)} min left)."
        )
    held = ReviewClaim.objects.filter(reviewer=reviewer).live(now).count()
    if held >= settings.MAX_CLAIMS:
        raise ClaimLimitReached(
            f"You already hold {held} claims (the limit is {settings.MAX_CLAIMS}). "
            "Finish or release one first."
        )
    claim = ReviewClaim.objects.create(
        iteration=locked,
        reviewer=reviewer,
        claimed_at=now,
        expires_at=now + timedelta(minutes=settings.CLAIM_MINUTES),
    )
    transaction.on_commit(lambda: signals.claim_taken.send(ReviewClaim, claim=claim), robust=True)
    return claim


def _held_claim(iteration: Iteration, reviewer: User) -> ReviewClaim:
    now = timezone.now()
    claim = (
        ReviewClaim.objects.select_for_update()
        .filter(iteration=iteration, reviewer=reviewer)
        .live(now)
        .first()
    )
    if claim is None:
        raise ReviewFlowError("You do not hold a claim on this iteration (it may have expired).")
    return claim


@transaction.atomic
def claim_extend(*, iteration: Iteration, reviewer: User) -> ReviewClaim:
    """Give the reviewer's live claim a fresh CLAIM_MINUTES from now."""
    claim = _held_claim(iteration, reviewer)
    claim.expires_at = timezone.now() + timedelta(minutes=settings.CLAIM_MINUTES)
    claim.save(update_fields=["expires_at"])
    return claim


@transaction.atomic
def claim_release(*, iteration: Iteration, reviewer: User) -> None:
    """Hand the iteration back to the queue."""
    claim = _held_claim(iteration, reviewer)
    claim.released_at = timezone.now()
    claim.save(update_fields=["released_at"])


@dataclass(frozen=True)
class VerdictInput:
    passed: bool | None
    comment: str = ""


def write_review(
    *,
    iteration: Iteration,
    reviewer: User,
    kind: str,
    verdicts: Mapping[int, VerdictInput],
    feedback: str,
    decision: str,
    submit: bool,
    confidence: int | None = None,
) -> Review:
    """Store a draft or a submitted review's verdicts (callers lock and authorize).

    Shared by mentor and peer reviews; on submit every task needs a verdict and
    the review a decision.
    """
    review = Review.objects.filter(iteration=iteration, reviewer=reviewer).first()
    if review is None:
        review = Review.objects.create(iteration=iteration, reviewer=reviewer, kind=kind)
    review.feedback = feedback
    review.confidence = confidence
    tasks = {task.pk: task for task in iteration.attempt.release.project.tasks.all()}
    existing = {verdict.task_id: verdict for verdict in review.verdicts.all()}
    for task_id, value in verdicts.items():
        if task_id not in tasks:
            continue
        verdict = existing.get(task_id) or Verdict(review=review, task=tasks[task_id])
        verdict.passed, verdict.comment = value.passed, value.comment
        verdict.save()
    if not submit:
        review.save(update_fields=["feedback", "confidence"])
        return review
    missing = [tasks[pk] for pk in tasks if verdicts.get(pk) is None or verdicts[pk].passed is None]
    if missing:
        raise ReviewFlowError(
            "Give a pass or fail for every task before submitting: "
            + ", ".join(str(task.number) for task in sorted(missing, key=lambda t: t.number))
        )
    if decision not in Review.Decision.values:
        raise ReviewFlowError("Choose a decision: approved or changes requested.")
    review.decision, review.submitted_at = decision, timezone.now()
    review.save(update_fields=["feedback", "confidence", "decision", "submitted_at"])
    return review


def iteration_decide(*, iteration: Iteration, decision: str, review: Review | None) -> None:
    """Close ``iteration`` with ``decision``, recompute the score, tell the learner."""
    iteration.status = Iteration.Status.REVIEWED
    iteration.save(update_fields=["status"])
    ReviewClaim.objects.filter(iteration=iteration, released_at=None).update(
        released_at=timezone.now()
    )
    attempt = iteration.attempt
    attempt.status = (
        Attempt.Status.APPROVED
        if decision == Review.Decision.APPROVED
        else Attempt.Status.CHANGES_REQUESTED
    )
    attempt.save(update_fields=["status", "updated_at"])
    attempt_recompute_score(attempt=attempt)
    if review is not None:
        transaction.on_commit(
            lambda: signals.review_decided.send(Review, review=review), robust=True
        )


@transaction.atomic
def review_save(
    *,
    iteration: Iteration,
    reviewer: User,
    verdicts: Mapping[int, VerdictInput],
    feedback: str,
    decision: str = "",
    submit: bool,
) -> tuple[Review, bool]:
    """Save the mentor's draft, or submit it; returns (review, submitted now).

    Only the holder of a live claim may save. Submitting twice records one
    review: the second call finds it submitted and changes nothing. A mentor's
    decision always overrides peer verdicts.
    """
    # Locks the iteration AND its attempt (select_related joins them in one FOR
    # UPDATE), the same rows iteration_submit takes: keep both, or the two can deadlock.
    locked = Iteration.objects.select_for_update().select_related("attempt").get(pk=iteration.pk)
    review = Review.objects.filter(iteration=locked, reviewer=reviewer).first()
    if review is not None and review.submitted_at is not None:
        return review, False
    claim = _held_claim(locked, reviewer)
    review = write_review(
        iteration=locked,
        reviewer=reviewer,
        kind=Review.Kind.MENTOR,
        verdicts=verdicts,
        feedback=feedback,
        decision=decision,
        submit=submit,
    )
    if not submit:
        return review, False
    claim.released_at = review.submitted_at
    claim.save(update_fields=["released_at"])
    iteration_decide(iteration=locked, decision=decision, review=review)
    return review, True


def claim_next(*, reviewer: User, queue: IterationQuerySet | None = None) -> ReviewClaim | None:
    """Claim the oldest waiting iteration of ``queue`` nobody holds; None when all are taken.

    Candidates are tried oldest first; a lost race on one simply moves on to the next.
    """
    candidates = queue if queue is not None else Iteration.objects.reviewable_by(reviewer)
    now = timezone.now()
    free = (
        candidates.waiting()
        .for_mentor_queue(now)
        .exclude(claims__in=ReviewClaim.objects.live(now))
        .order_by("submitted_at", "id")
        .values_list("pk", flat=True)
    )
    for pk in free[: settings.MAX_CLAIMS * 5]:
        try:
            return claim_take(iteration=Iteration(pk=pk), reviewer=reviewer)
        except ClaimLimitReached:
            raise
        except ReviewFlowError:
            continue  # taken by someone else a moment ago: try the next one
    return None

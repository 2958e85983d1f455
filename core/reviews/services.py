"""The review loop's writes: submit, claim, extend, release, draft and decide.

Every function takes keyword arguments only, runs in one transaction, and
locks the rows it decides on, so concurrent requests cannot create two claims,
two reviews or a stale score.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.checks.models import CheckRun, CheckTaskResult
from core.checks.selectors import graded_by_checks_only
from core.checks.services import iteration_checks_request
from core.models import (
    Attachment,
    Attempt,
    Comment,
    Iteration,
    Project,
    ProjectRelease,
    Review,
    ReviewClaim,
    Task,
    User,
    Verdict,
)
from core.reviews import signals
from core.reviews.models import IterationQuerySet
from core.reviews.scoring import attempt_recompute_score


class ReviewFlowError(Exception):
    """A request the review loop refuses, with a message for the user."""


class ClaimLimitReached(ReviewFlowError):
    """The reviewer already holds MAX_CLAIMS live claims."""


class NothingChanged(ReviewFlowError):
    """A resubmission that hands in the previous iteration's work again, not confirmed."""

    def __init__(self, previous: Iteration) -> None:
        super().__init__(f"Nothing changed since iteration {previous.number}.")
        self.previous = previous


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


def _iteration_for_token(
    learner: User, release: ProjectRelease, submit_token: uuid.UUID
) -> tuple[uuid.UUID, Iteration | None]:
    """The token this learner's form stores, and their iteration already submitted with it.

    ``submit_token`` is unique across all iterations, so a form carrying someone
    else's token (a page restored after they signed out on a shared computer)
    cannot store it again, and must never be answered with their iteration. It
    stores a token derived from the posted one, the learner and the release
    instead: the same form posted twice still yields one iteration.
    """
    holder = Iteration.objects.filter(submit_token=submit_token).select_related("attempt").first()
    if holder is None:
        return submit_token, None
    if (holder.attempt.learner_id, holder.attempt.release_id) == (learner.pk, release.pk):
        return submit_token, holder
    own = uuid.uuid5(submit_token, f"learner:{learner.pk}:release:{release.pk}")
    return own, Iteration.objects.filter(
        submit_token=own, attempt__learner=learner, attempt__release=release
    ).first()


@transaction.atomic
def iteration_submit(
    *,
    learner: User,
    release: ProjectRelease,
    repo_url: str,
    commit_sha: str = "",
    notes: str = "",
    tasks_claimed: Iterable[Task] = (),
    attachments: Iterable[UploadedFile[bytes]] = (),
    submit_token: uuid.UUID | None = None,
    allow_unchanged: bool = True,
) -> tuple[Iteration, bool]:
    """Record a new iteration; returns (iteration, created).

    The same ``submit_token`` twice from the same learner on the same release
    returns the first iteration (double-submit guard). An earlier iteration still
    waiting is superseded, never replaced. With ``allow_unchanged=False`` (the
    submit page, until the learner confirms) a new iteration that would hand in
    the latest one's work again raises ``NothingChanged`` and nothing is written.
    """
    claimed, uploads = list(tasks_claimed), list(attachments)  # each read twice below
    posted = submit_token
    if posted is not None:
        submit_token, existing = _iteration_for_token(learner, release, posted)
        if existing is not None:
            return existing, False
    attempt, _ = Attempt.objects.get_or_create(learner=learner, release=release)
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if posted is not None:  # re-check under the attempt's lock
        submit_token, existing = _iteration_for_token(learner, release, posted)
        if existing is not None:
            return existing, False
    previous = attempt.iterations.order_by("-number").first()
    if (
        not allow_unchanged
        and previous is not None
        and previous.handed_in_again_by(
            repo_url=repo_url,
            commit_sha=commit_sha,
            notes=notes,
            task_ids={task.pk for task in claimed},
            files=len(uploads),
        )
    ):
        raise NothingChanged(previous)
    now = timezone.now()
    waiting = list(
        attempt.iterations.filter(status__in=[Iteration.Status.WAITING, Iteration.Status.CHECKING])
    )
    for old in waiting:
        old.status = Iteration.Status.SUPERSEDED
        old.save(update_fields=["status"])
        ReviewClaim.objects.filter(iteration=old, released_at=None).update(released_at=now)
        old.peer_assignments.filter(completed_at=None, released_at=None).update(released_at=now)
    number = (previous.number if previous is not None else 0) + 1
    iteration = Iteration(
        attempt=attempt,
        number=number,
        repo_url=repo_url,
        commit_sha=commit_sha,
        notes=notes,
        submitted_at=now,
        submit_token=submit_token,
        # Checks alone grade the project: no person is asked until they could not run.
        status=(
            Iteration.Status.CHECKING
            if graded_by_checks_only(release.project)
            else Iteration.Status.WAITING
        ),
        **review_due_times(release.project, now),
    )
    iteration.full_clean(exclude=["attempt", "submit_token"])
    try:
        with transaction.atomic():
            iteration.save()
    except IntegrityError:  # the same token raced us between the checks
        if posted is None:
            raise
        _, existing = _iteration_for_token(learner, release, posted)
        if existing is None:  # someone else holds it: never theirs, and nothing half-saved
            raise ValidationError(
                "This form has expired: reload the page and submit again."
            ) from None
        return existing, False
    iteration.tasks_claimed.set(claimed)
    with _files_removed_on_error() as stored:
        for upload in uploads:
            # Django names and sizes every file it reads from a request (the form cleans the name).
            assert upload.name is not None and upload.size is not None
            attachment = Attachment(
                iteration=iteration,
                original_name=upload.name[:200],
                content_type=getattr(upload, "content_type", "") or "application/octet-stream",
                size=upload.size,
            )
            attachment.file.save(upload.name, upload, save=False)
            assert attachment.file.name is not None  # save() gives it the stored name
            stored.append(attachment.file.name)
            attachment.save()
        attempt.status = Attempt.Status.WAITING
        attempt.save(update_fields=["status", "updated_at"])
    iteration_checks_request(iteration=iteration, requested_by=learner)
    transaction.on_commit(
        lambda: signals.iteration_submitted.send(Iteration, iteration=iteration), robust=True
    )
    return iteration, True


def _live_claim(iteration: Iteration, now: datetime) -> ReviewClaim | None:
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
    source: str = Verdict.Source.PERSON
    checks_passed: bool | None = None  # what the checks said, when they had
    override_reason: str = ""  # a person's verdict against the checks: why


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
        verdict.source, verdict.checks_passed = value.source, value.checks_passed
        verdict.override_reason = value.override_reason
        verdict.save()
    if not submit:  # the decision chosen so far is kept too; it counts only once submitted
        review.decision = decision if decision in Review.Decision.values else ""
        review.save(update_fields=["feedback", "confidence", "decision"])
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
    locked = Iteration.objects.select_related("attempt").lock(iteration.pk)
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


@transaction.atomic
def comment_post(*, attempt: Attempt, author: User, body: str) -> Comment:
    """Add ``author``'s Markdown ``body`` to the attempt's thread; tell the others on commit.

    Who may post is the caller's check (the view loads the attempt for its user).
    """
    body = body.strip()
    if not body:
        raise ValidationError("Write a message first.")
    limit = settings.MARKDOWN_MAX_CHARS
    if len(body) > limit:
        raise ValidationError(f"A message can be at most {limit:,} characters.")
    comment = Comment.objects.create(attempt=attempt, author=author, body=body)
    transaction.on_commit(
        lambda: signals.comment_posted.send(Comment, comment=comment), robust=True
    )
    return comment


def checks_bot() -> User:
    """The account that signs the decisions of projects graded by checks alone."""
    bot, _ = User.objects.get_or_create(
        email=settings.CHECKS_BOT_EMAIL,
        defaults={"display_name": "Automated checks", "is_active": False},
    )
    return bot


@transaction.atomic
def iteration_checks_decide(*, run: CheckRun, results: Sequence[CheckTaskResult]) -> None:
    """A submitted iteration's checks finished (inside the run's finishing transaction).

    A project graded by checks alone is decided by them: every task's verdict is its
    checks' outcome, approved when every mandatory task passes. When the checks could not
    run, the iteration goes to the mentor queue instead, so nobody waits forever. A run of
    an iteration decided already recomputes its score: checks' verdicts follow the newest
    run, never lowering what a mentor approved (core.reviews.scoring.checks_line).
    """
    # A run of a submitted iteration: the receiver (decide_checked_iteration) skips the others.
    assert run.iteration_id is not None
    iteration = Iteration.objects.select_related("attempt__release__project").lock(run.iteration_id)
    if iteration.status != Iteration.Status.CHECKING:
        if run.status != CheckRun.Status.ERRORED and iteration.status == Iteration.Status.REVIEWED:
            _checks_decision_follows(iteration, results)
        return
    if run.status == CheckRun.Status.ERRORED:
        iteration.status = Iteration.Status.WAITING
        iteration.save(update_fields=["status"])
        # Mentors were not told at submission (the checks were to decide): now they are.
        transaction.on_commit(
            lambda: signals.iteration_submitted.send(Iteration, iteration=iteration), robust=True
        )
        return
    passed = {result.task_id: result.passed for result in results}
    tasks = list(iteration.attempt.release.project.tasks.all())
    review = Review.objects.create(
        iteration=iteration,
        reviewer=checks_bot(),
        kind=Review.Kind.CHECKS,
        decision=_checks_decision(tasks, passed),
        submitted_at=timezone.now(),
    )
    Verdict.objects.bulk_create(
        Verdict(
            review=review,
            task=task,
            passed=passed.get(task.pk, False),
            source=Verdict.Source.CHECKS,
            checks_passed=passed.get(task.pk, False),
        )
        for task in tasks
    )
    iteration_decide(iteration=iteration, decision=review.decision, review=review)


def _checks_decision(tasks: Sequence[Task], passed: Mapping[int, bool]) -> str:
    """The checks approve when every mandatory task passes."""
    approved = all(passed.get(task.pk, False) for task in tasks if not task.is_advanced)
    return Review.Decision.APPROVED if approved else Review.Decision.CHANGES_REQUESTED


def _checks_decision_follows(iteration: Iteration, results: Sequence[CheckTaskResult]) -> None:
    """A newer run of a decided iteration: its score follows the newest checks (scoring's
    rule), and so does a decision the checks made alone (a person's stands)."""
    decision = (
        Review.objects.filter(iteration=iteration, submitted_at__isnull=False)
        .exclude(kind=Review.Kind.PEER)
        .order_by("-submitted_at", "-id")
        .first()
    )
    if decision is not None and decision.kind == Review.Kind.CHECKS:
        tasks = list(iteration.attempt.release.project.tasks.all())
        now = _checks_decision(tasks, {result.task_id: result.passed for result in results})
        if now != decision.decision:
            decision.decision = now
            decision.save(update_fields=["decision"])
            attempt = iteration.attempt
            newest = attempt.iterations.order_by("-number").values_list("pk", flat=True).first()
            if newest == iteration.pk:  # the attempt's state is its newest iteration's
                attempt.status = (
                    Attempt.Status.APPROVED
                    if now == Review.Decision.APPROVED
                    else Attempt.Status.CHANGES_REQUESTED
                )
                attempt.save(update_fields=["status", "updated_at"])
    attempt_recompute_score(attempt=iteration.attempt)

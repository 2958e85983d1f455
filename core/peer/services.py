"""Peer review: who may review, continuous allocation, outcomes, holds and reliability.

An iteration of a project with N peer reviews required is offered the moment
it is submitted. Eligible reviewers ask for work and receive the oldest
iteration that still needs reviews and that they may review; the assignment is
a lease (PEER_ASSIGNMENT_HOURS). When its N reviews are in, the per-task
majority decides (unless a mentor must review anyway); a tie goes to the mentor
queue, and so does an iteration past its peer SLA. A mentor always overrides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from core.models import (
    Attempt,
    Iteration,
    Membership,
    PeerAssignment,
    Project,
    Review,
    User,
    Verdict,
)
from core.peer.majority import PeerOutcome, peer_outcome
from core.reviews.services import (
    ReviewFlowError,
    VerdictInput,
    iteration_decide,
    write_review,
)

# How many candidates one "next review" request looks at before giving up.
CANDIDATE_SCAN = 50


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def learner_may_peer_review(*, approved: bool, submitted: bool, project: Project) -> bool:
    """Whether a learner of the cohort may peer-review classmates' work on ``project``:
    once their own is approved, or once submitted when the project allows it.

    For a page that has the learner's attempt loaded already; ``peer_reviewable_iterations``
    is the same rule as a filter (tests/peer/test_services.py proves they agree).
    """
    return approved or (submitted and project.submitters_may_review)


def peer_reviewable_iterations(reviewer: User) -> QuerySet[Iteration]:
    """Waiting iterations ``reviewer`` may peer-review (ignoring how many slots are left).

    Reviewers (role) of the cohort may review any of its peer-reviewed projects;
    learners of the cohort as ``learner_may_peer_review`` says. Never their own work,
    never an iteration they were already assigned.
    """
    cohort_member = Membership.objects.filter(
        cohort=OuterRef("attempt__release__cohort"), user=reviewer
    )
    passed_same_project = Attempt.objects.filter(
        learner=reviewer,
        release__cohort=OuterRef("attempt__release__cohort"),
        release__project=OuterRef("attempt__release__project"),
    )
    eligible = Exists(cohort_member.filter(role=Membership.Role.REVIEWER)) | Exists(
        cohort_member.filter(role=Membership.Role.LEARNER)
    ) & (
        Exists(passed_same_project.filter(status=Attempt.Status.APPROVED))
        | (
            Q(attempt__release__project__submitters_may_review=True)
            & Exists(passed_same_project.filter(iterations__isnull=False))
        )
    )
    return (
        Iteration.objects.waiting()
        .filter(attempt__release__project__peer_reviews_required__gt=0)
        .filter(eligible)
        .exclude(attempt__learner=reviewer)
        .exclude(peer_assignments__reviewer=reviewer)
    )


def _slots_taken(iteration: Iteration, now: datetime) -> int:
    return iteration.peer_assignments.held(now).count()


def _close_expired(reviewer: User, now: datetime) -> None:
    """Expired leases go back to the pool (checked on read; no scheduler needed)."""
    PeerAssignment.objects.open().filter(reviewer=reviewer, expires_at__lte=now).update(
        released_at=F("expires_at")
    )


def _try_assign(iteration: Iteration, reviewer: User, now: datetime) -> PeerAssignment | None:
    project = iteration.attempt.release.project
    if iteration.status != Iteration.Status.WAITING:
        return None
    if _slots_taken(iteration, now) >= project.peer_reviews_required:
        return None
    if PeerAssignment.objects.open().filter(reviewer=reviewer, project=project).exists():
        return None
    try:
        with transaction.atomic():
            return PeerAssignment.objects.create(
                iteration=iteration,
                project=project,
                reviewer=reviewer,
                assigned_at=now,
                expires_at=now + timedelta(hours=settings.PEER_ASSIGNMENT_HOURS),
            )
    except IntegrityError:  # one open per project / once per iteration, raced
        return None


@transaction.atomic
def peer_next(*, reviewer: User, now: datetime | None = None) -> PeerAssignment | None:
    """Give ``reviewer`` the oldest iteration that still needs them; None if none does.

    Candidates are locked with SKIP LOCKED so concurrent requests spread over
    different iterations; one whose lock we skipped is then waited for and
    re-counted, so an iteration needing N reviews gets exactly N, never more.
    """
    now = _now(now)
    _close_expired(reviewer, now)
    busy_projects = PeerAssignment.objects.live(now).filter(reviewer=reviewer).values("project")
    candidates = list(
        peer_reviewable_iterations(reviewer)
        .exclude(attempt__release__project__in=busy_projects)
        .order_by("submitted_at", "id")
        .values_list("pk", flat=True)[:CANDIDATE_SCAN]
    )
    skipped = []
    for pk in candidates:
        iteration = (
            Iteration.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("attempt__release__project")
            .filter(pk=pk)
            .first()
        )
        if iteration is None:
            skipped.append(pk)
            continue
        assignment = _try_assign(iteration, reviewer, now)
        if assignment is not None:
            return assignment
    for pk in skipped:  # someone else held these: wait our turn, then count again
        iteration = (
            Iteration.objects.select_for_update(of=("self",))
            .select_related("attempt__release__project")
            .get(pk=pk)
        )
        assignment = _try_assign(iteration, reviewer, now)
        if assignment is not None:
            return assignment
    return None


def _live_assignment(iteration: Iteration, reviewer: User) -> PeerAssignment:
    assignment = (
        PeerAssignment.objects.select_for_update()
        .filter(iteration=iteration, reviewer=reviewer)
        .live()
        .first()
    )
    if assignment is None:
        raise ReviewFlowError("This review is no longer assigned to you (it may have expired).")
    return assignment


@transaction.atomic
def peer_review_save(
    *,
    iteration: Iteration,
    reviewer: User,
    verdicts: Mapping[int, VerdictInput],
    feedback: str,
    decision: str = "",
    confidence: int | None = None,
    submit: bool,
) -> tuple[Review, bool]:
    """Save or submit a peer review (same verdict form as mentors, plus confidence)."""
    locked = Iteration.objects.select_related("attempt__release__project").lock(iteration.pk)
    review = Review.objects.filter(iteration=locked, reviewer=reviewer).first()
    if review is not None and review.submitted_at is not None:
        return review, False
    assignment = _live_assignment(locked, reviewer)
    if submit and confidence is None:
        raise ReviewFlowError("Say how confident you are in this review.")
    review = write_review(
        iteration=locked,
        reviewer=reviewer,
        kind=Review.Kind.PEER,
        verdicts=verdicts,
        feedback=feedback,
        decision=decision,
        submit=submit,
        confidence=confidence,
    )
    if not submit:
        return review, False
    assignment.completed_at = review.submitted_at
    assignment.save(update_fields=["completed_at"])
    peer_outcome_apply(iteration=locked)
    return review, True


def peer_outcome_apply(*, iteration: Iteration) -> PeerOutcome:
    """After a peer review: decide by majority, or flag a tie for the mentor queue."""
    project = iteration.attempt.release.project
    reviews = list(
        iteration.reviews.filter(kind=Review.Kind.PEER)
        .exclude(submitted_at=None)
        .prefetch_related("verdicts")
    )
    outcome = peer_outcome(
        reviews, project.tasks.values_list("pk", flat=True), project.peer_reviews_required
    )
    if not outcome.complete:
        return outcome
    if outcome.tie:
        iteration.peer_tie = True
        iteration.save(update_fields=["peer_tie"])
        return outcome
    if project.mentor_review_required:
        return outcome  # a mentor decides; the peers' majority is advice until then
    if iteration.reviews.filter(kind=Review.Kind.MENTOR).exclude(submitted_at=None).exists():
        return outcome  # a mentor already decided: mentors override peers
    assert outcome.decision is not None  # not a tie, so the peers decided
    iteration_decide(iteration=iteration, decision=outcome.decision, review=outcome.reviews[-1])
    return outcome


@dataclass(frozen=True)
class GradeHold:
    given: int
    owed: int

    @property
    def held(self) -> bool:
        return self.given < self.owed

    @property
    def remaining(self) -> int:
        return max(0, self.owed - self.given)


def reviews_given(learner: User, project: Project, cohort_id: int) -> int:
    """Peer reviews ``learner`` has given on ``project`` in the cohort (see ``given_by``)."""
    return PeerAssignment.objects.given_by(learner, project=project, cohort=cohort_id).count()


def grade_hold(attempt: Attempt) -> GradeHold:
    """Whether the learner still owes peer reviews on this project before seeing the grade."""
    project = attempt.release.project
    if not project.peer_reviews_owed:
        return GradeHold(0, 0)
    given = reviews_given(attempt.learner, project, attempt.release.cohort_id)
    return GradeHold(min(given, project.peer_reviews_owed), project.peer_reviews_owed)


def is_escalated(iteration: Iteration, now: datetime | None = None) -> bool:
    """Past its peer SLA while still waiting for its peers (computed on read).

    A tie is not late: its peers all reviewed it and disagreed, so it is shown as tied.
    """
    return (
        iteration.status == Iteration.Status.WAITING
        and not iteration.peer_tie
        and iteration.peer_due_at is not None
        and iteration.peer_due_at <= _now(now)
    )


@dataclass(frozen=True)
class Agreement:
    reviewer_id: int
    compared: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


def reviewer_agreement(reviewer_ids: Iterable[int] | None = None) -> dict[int, Agreement]:
    """Per peer reviewer: how often their task verdicts matched the mentor's (one query)."""
    mentor_verdict = (
        Verdict.objects.filter(
            review__iteration=OuterRef("review__iteration"),
            task=OuterRef("task"),
            review__kind=Review.Kind.MENTOR,
            review__submitted_at__isnull=False,
        )
        .order_by("-review__submitted_at")
        .values("passed")[:1]
    )
    verdicts = Verdict.objects.filter(
        review__kind=Review.Kind.PEER, review__submitted_at__isnull=False
    )
    if reviewer_ids is not None:
        verdicts = verdicts.filter(review__reviewer_id__in=list(reviewer_ids))
    rows = (
        verdicts.annotate(mentor_passed=Subquery(mentor_verdict))
        .exclude(mentor_passed=None)
        .values("review__reviewer_id")
        .annotate(compared=Count("id"), agreed=Count("id", filter=Q(passed=F("mentor_passed"))))
    )
    return {
        row["review__reviewer_id"]: Agreement(
            row["review__reviewer_id"], row["compared"], row["agreed"]
        )
        for row in rows
    }


def peer_reviews_owed_total(learner: User) -> int:
    """Peer reviews ``learner`` still owes across their attempts (one query)."""
    given = PeerAssignment.objects.given_count(
        learner, project=OuterRef("release__project"), cohort=OuterRef("release__cohort")
    )
    rows = (
        Attempt.objects.filter(learner=learner, release__project__peer_reviews_owed__gt=0)
        .annotate(given=given)
        .values_list("release__project__peer_reviews_owed", "given")
    )
    return sum(max(0, owed - done) for owed, done in rows)

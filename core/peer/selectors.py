"""Reads of peer review: what the reviewer's dashboard lists (reviews owed, given and
held) and what the peer review page shows of one assignment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, cast

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from core.models import (
    Attachment,
    Attempt,
    Cohort,
    Iteration,
    Membership,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    Task,
)
from core.peer.services import Agreement, learner_may_peer_review, reviewer_agreement
from core.reviews.selectors.review import commit_url

if TYPE_CHECKING:
    from core.models import User

# How many of the reviews one has given the dashboard lists.
RECENT_GIVEN = 10
PEER_ROLES = {Membership.Role.LEARNER, Membership.Role.REVIEWER}


@dataclass(frozen=True)
class OwedRow:
    """One project whose grade waits on the reviews the learner gives to peers."""

    release: ProjectRelease
    given: int
    owed: int
    attempt_id: int | None
    attempt_status: str | None
    submitted: bool

    @property
    def remaining(self) -> int:
        return max(0, self.owed - self.given)

    @property
    def done(self) -> bool:
        return self.given >= self.owed

    @property
    def may_review(self) -> bool:
        """Whether the learner may already review this project."""
        return learner_may_peer_review(
            approved=self.attempt_status == Attempt.Status.APPROVED,
            submitted=self.submitted,
            project=self.release.project,
        )


def user_memberships(user: User) -> list[Membership]:
    """The user's memberships, passed on as ``nav_memberships`` (the nav reads their roles)."""
    return list(Membership.objects.filter(user=user).select_related("cohort"))


class OwedMarks(TypedDict):
    """What ``owed_rows`` annotates on each release."""

    given: int
    attempt_id: int | None
    attempt_status: str | None
    submitted: bool


type ReleaseOwed = WithAnnotations[ProjectRelease, OwedMarks]


def owed_rows(user: User, cohort_ids: list[int], now: datetime) -> list[OwedRow]:
    """Open releases of the user's learner cohorts whose project asks for reviews (one query)."""
    if not cohort_ids:
        return []
    given = PeerAssignment.objects.given_count(
        user, project=OuterRef("project"), cohort=OuterRef("cohort")
    )
    attempt = Attempt.objects.filter(release=OuterRef("pk"), learner=user)
    # The rows carry what annotate adds; the stubs lose it on a custom queryset.
    releases = cast(
        "QuerySet[ReleaseOwed]",
        ProjectRelease.objects.opened(now)
        .filter(cohort_id__in=cohort_ids, project__peer_reviews_owed__gt=0)
        .select_related("project", "cohort")
        .annotate(
            given=given,
            attempt_id=Subquery(attempt.values("pk")[:1]),
            attempt_status=Subquery(attempt.values("status")[:1]),
            submitted=Exists(attempt.filter(iterations__isnull=False)),
        )
        .order_by("opens_at", "pk"),
    )
    return [
        OwedRow(
            release=release,
            given=min(release.given, release.project.peer_reviews_owed),
            owed=release.project.peer_reviews_owed,
            attempt_id=release.attempt_id,
            attempt_status=release.attempt_status,
            submitted=release.submitted,
        )
        for release in releases
    ]


def _open_assignments(user: User, now: datetime) -> list[PeerAssignment]:
    """The user's live assignments, soonest to expire first, with whether a draft is saved."""
    draft = Review.objects.filter(iteration=OuterRef("iteration"), reviewer=user)
    return list(
        PeerAssignment.objects.live(now)
        .filter(reviewer=user)
        .select_related("iteration__attempt__learner", "project")
        .annotate(has_draft=Exists(draft))
        .order_by("expires_at", "pk")
    )


def assignments_context(user: User, memberships: list[Membership]) -> dict[str, object]:
    now = timezone.now()
    return {
        "open_assignments": _open_assignments(user, now),
        "may_peer_review": any(m.role in PEER_ROLES for m in memberships),
        "now": now,
    }


def dashboard_context(user: User, memberships: list[Membership]) -> dict[str, object]:
    """Reviews owed and given, open assignments, ratings received and agreement with mentors."""
    context: dict[str, object] = {
        "memberships": memberships,
        "nav_memberships": memberships,
        "may_peer_review": any(m.role in PEER_ROLES for m in memberships),
    }
    if not memberships:
        return context
    now = timezone.now()
    learner_cohorts = [m.cohort_id for m in memberships if m.role == Membership.Role.LEARNER]
    given = Review.objects.filter(reviewer=user, kind=Review.Kind.PEER, submitted_at__isnull=False)
    stats = given.aggregate(
        given=Count("pk"),
        helpful=Count("pk", filter=Q(rating__helpful=True)),
        not_helpful=Count("pk", filter=Q(rating__helpful=False)),
    )
    assignment = PeerAssignment.objects.filter(
        iteration=OuterRef("iteration"), reviewer=user
    ).values("pk")[:1]
    recent = list(
        given.select_related("iteration__attempt__learner", "iteration__attempt__release__project")
        .annotate(assignment_id=Subquery(assignment), helpful=F("rating__helpful"))
        .order_by("-submitted_at", "-pk")[:RECENT_GIVEN]
    )
    agreement = reviewer_agreement([user.pk]).get(user.pk, Agreement(user.pk, 0, 0))
    return context | {
        "owed": owed_rows(user, learner_cohorts, now),
        "stats": stats,
        "recent_given": recent,
        "agreement": agreement,
        "open_assignments": _open_assignments(user, now),
        "now": now,
    }


# The peer review page.


def _assignment_state(assignment: PeerAssignment, now: datetime) -> str:
    """'live', 'completed', 'superseded' or 'expired'."""
    if assignment.completed_at is not None:
        return "completed"
    if assignment.is_live(now):
        return "live"
    if assignment.iteration.status == Iteration.Status.SUPERSEDED:
        return "superseded"
    return "expired"


class ReviewContext(TypedDict):
    """What the peer review page shows of one assignment."""

    assignment: PeerAssignment
    iteration: Iteration
    project: Project
    cohort: Cohort
    learner: User
    tasks: list[Task]
    claimed_ids: set[int]
    attachments: list[Attachment]
    commit_url: str
    own_review: Review | None
    state: str
    editable: bool
    now: datetime


def review_context(user: User, assignment: PeerAssignment) -> ReviewContext:
    """This iteration only: never the attempt's other iterations, score or others' reviews."""
    now = timezone.now()
    iteration = assignment.iteration
    attempt = iteration.attempt
    project = attempt.release.project
    own_review = (
        Review.objects.filter(iteration=iteration, reviewer=user)
        .prefetch_related("verdicts")
        .first()
    )
    state = _assignment_state(assignment, now)
    submitted = own_review is not None and not own_review.is_draft
    return {
        "assignment": assignment,
        "iteration": iteration,
        "project": project,
        "cohort": attempt.release.cohort,
        "learner": attempt.learner,
        "tasks": list(project.tasks.all()),
        "claimed_ids": {task.pk for task in iteration.tasks_claimed.all()},
        "attachments": list(iteration.attachments.all()),
        "commit_url": commit_url(iteration.repo_url, iteration.commit_sha),
        "own_review": own_review,
        "state": "completed" if submitted else state,
        "editable": state == "live" and not submitted,
        "now": now,
    }

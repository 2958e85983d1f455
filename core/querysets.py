"""Reads: who may see what, and which releases are current, upcoming or past."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone

if TYPE_CHECKING:
    from core.models import User


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


class MembershipQuerySet(models.QuerySet):
    def learners(self) -> MembershipQuerySet:
        return self.filter(role="learner")

    def staffing(self) -> MembershipQuerySet:
        """Mentors and reviewers: the people who review rather than submit."""
        return self.filter(role__in=["mentor", "reviewer"])


class ProjectReleaseQuerySet(models.QuerySet):
    def opened(self, now: datetime | None = None) -> ProjectReleaseQuerySet:
        return self.filter(opens_at__lte=_now(now))

    def upcoming(self, now: datetime | None = None) -> ProjectReleaseQuerySet:
        return self.filter(opens_at__gt=_now(now))

    def current(self, now: datetime | None = None) -> ProjectReleaseQuerySet:
        """Open and not past the cohort's second deadline (extensions aside)."""
        now = _now(now)
        return self.filter(opens_at__lte=now, second_deadline__gt=now)

    def past(self, now: datetime | None = None) -> ProjectReleaseQuerySet:
        return self.filter(second_deadline__lte=_now(now))

    def visible_to(self, user: User, now: datetime | None = None) -> ProjectReleaseQuerySet:
        """Releases ``user`` may open: learners once open, staffing any time, staff all."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        from core.models import Membership

        member = Membership.objects.filter(cohort=OuterRef("cohort"), user=user)
        return self.filter(
            Exists(member.staffing()) | (Exists(member.learners()) & Q(opens_at__lte=_now(now)))
        )

    def with_deadlines_for(self, user: User) -> ProjectReleaseQuerySet:
        """Prefetch ``user``'s latest extension so ``release.deadlines`` applies it."""
        from core.models import Extension

        latest = Extension.objects.filter(learner=user).order_by("-created_at", "-id")
        return self.prefetch_related(
            Prefetch("extensions", queryset=latest, to_attr="learner_extensions")
        )


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user: User, now: datetime | None = None) -> ProjectQuerySet:
        """Projects with a release ``user`` may open (see ProjectReleaseQuerySet)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        from core.models import ProjectRelease

        releases = ProjectRelease.objects.filter(project=OuterRef("pk")).visible_to(user, now)
        return self.filter(Exists(releases))


class AttemptQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> AttemptQuerySet:
        """Own attempts for learners; the cohort's for its mentors; all for staff."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        from core.models import Membership

        mentors = Membership.objects.filter(
            cohort=OuterRef("release__cohort"), user=user, role="mentor"
        )
        return self.filter(Q(learner=user) | Exists(mentors))


def mentor_queue_q(now: datetime | None = None) -> Q:
    """Iterations mentors should see: mentor-reviewed projects, and peer-reviewed ones
    that escalated (past their peer SLA) or whose peers tied."""
    return (
        Q(peer_due_at__isnull=True)
        | Q(attempt__release__project__mentor_review_required=True)
        | Q(peer_due_at__lte=_now(now))
        | Q(peer_tie=True)
    )


class IterationQuerySet(models.QuerySet):
    def waiting(self) -> IterationQuerySet:
        """Iterations that still need a review decision."""
        return self.filter(status="waiting")

    def for_mentor_queue(self, now: datetime | None = None) -> IterationQuerySet:
        """What mentors should see (see ``mentor_queue_q``)."""
        return self.filter(mentor_queue_q(now))

    def past_mentor_sla(self, now: datetime | None = None) -> IterationQuerySet:
        """Waiting iterations whose mentor SLA has passed (the staff board)."""
        return self.waiting().filter(mentor_due_at__lte=_now(now))

    def reviewable_by(self, user: User, cohort_ids: list[int] | None = None) -> IterationQuerySet:
        """Iterations ``user`` may review as a mentor: their cohorts', never their own.

        ``cohort_ids``, when the caller has already read the user's mentored cohorts,
        saves the subquery: with the ids as literals PostgreSQL reads the waiting work
        of those cohorts from one index (``iteration_waiting_cohort``) instead of
        joining every attempt of theirs.
        """
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.exclude(attempt__learner=user)
        from core.models import Membership

        cohorts = cohort_ids
        if cohorts is None:
            cohorts = Membership.objects.filter(user=user, role="mentor").values("cohort_id")
        return self.filter(cohort_id__in=cohorts).exclude(attempt__learner=user)


class ReviewClaimQuerySet(models.QuerySet):
    def live(self, now: datetime | None = None) -> ReviewClaimQuerySet:
        """Claims still held: not released and not expired (expiry is checked on read)."""
        return self.filter(released_at__isnull=True, expires_at__gt=_now(now))


class NotificationQuerySet(models.QuerySet):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class PeerAssignmentQuerySet(models.QuerySet):
    def live(self, now: datetime | None = None) -> PeerAssignmentQuerySet:
        """Open, unexpired assignments (expiry is checked on read)."""
        return self.filter(
            completed_at__isnull=True, released_at__isnull=True, expires_at__gt=_now(now)
        )

    def open(self) -> PeerAssignmentQuerySet:
        """Not completed nor released (may be expired but not yet noticed)."""
        return self.filter(completed_at__isnull=True, released_at__isnull=True)

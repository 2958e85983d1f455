"""Peer review: assignments (leases on an iteration), ratings and abuse reports."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.curriculum.models import Project
from core.platform.timefmt import now_or
from core.reviews.models import Iteration, Review

if TYPE_CHECKING:
    from core.accounts.models import User
    from core.cohorts.models import Cohort


class PeerAssignmentQuerySet(models.QuerySet["PeerAssignment"]):
    def live(self, now: datetime | None = None) -> PeerAssignmentQuerySet:
        """Open, unexpired assignments (expiry is checked on read)."""
        return self.filter(
            completed_at__isnull=True, released_at__isnull=True, expires_at__gt=now_or(now)
        )

    def open(self) -> PeerAssignmentQuerySet:
        """Not completed nor released (may be expired but not yet noticed)."""
        return self.filter(completed_at__isnull=True, released_at__isnull=True)

    def held(self, now: datetime | None = None) -> PeerAssignmentQuerySet:
        """Completed, or still live: the assignments that take one of their iteration's
        peer-review slots, and whose reviewer may fetch its attachments."""
        live = Q(released_at__isnull=True, expires_at__gt=now_or(now))
        return self.filter(Q(completed_at__isnull=False) | live)

    def given_by(
        self, reviewer: User, *, project: Project | int | OuterRef, cohort: Cohort | int | OuterRef
    ) -> PeerAssignmentQuerySet:
        """The peer reviews ``reviewer`` has given on ``project`` to work of ``cohort``:
        what counts towards the reviews they owe there (``project.peer_reviews_owed``).
        ``project`` and ``cohort`` are objects, ids or ``OuterRef``s."""
        return self.filter(
            reviewer=reviewer,
            project=project,
            completed_at__isnull=False,
            iteration__attempt__release__cohort=cohort,
        )

    def given_count(self, reviewer: User, *, project: OuterRef, cohort: OuterRef) -> Coalesce:
        """How many ``given_by`` reviews, as an expression for ``annotate()`` (0 for none)."""
        given = (
            self.given_by(reviewer, project=project, cohort=cohort)
            .order_by()
            .values("reviewer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(given), Value(0))


class PeerAssignment(models.Model):
    """An iteration offered to one peer reviewer, held for PEER_ASSIGNMENT_HOURS."""

    iteration = models.ForeignKey(
        Iteration, on_delete=models.PROTECT, related_name="peer_assignments"
    )
    # Denormalized from the iteration so "one open assignment per project" is a constraint.
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="peer_assignments"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # Set when the lease lapses (found expired on read) or the iteration is superseded.
    released_at = models.DateTimeField(null=True, blank=True)

    objects = PeerAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-assigned_at"]
        constraints = [
            # Never the same iteration twice for one reviewer.
            models.UniqueConstraint(
                fields=["iteration", "reviewer"], name="peer_assignment_once_per_iteration"
            ),
            # At most one open assignment per reviewer and project.
            models.UniqueConstraint(
                fields=["reviewer", "project"],
                condition=Q(completed_at__isnull=True, released_at__isnull=True),
                name="peer_assignment_one_open_per_project",
            ),
        ]
        indexes = [
            models.Index(fields=["iteration", "completed_at"], name="peer_assignment_iteration"),
            models.Index(fields=["reviewer", "completed_at"], name="peer_assignment_reviewer"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} reviews {self.iteration}"

    def is_live(self, now: datetime | None = None) -> bool:
        """Open and not expired: the reviewer may still submit."""
        return (
            self.completed_at is None
            and self.released_at is None
            and self.expires_at > (now or timezone.now())
        )


class ReviewRating(models.Model):
    """The reviewed learner's verdict on a peer review: helpful or not."""

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="rating")
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_ratings"
    )
    helpful = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{'Helpful' if self.helpful else 'Not helpful'}: {self.review}"


class ReviewReport(models.Model):
    """A learner's report of an abusive peer review, for staff to handle."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_reports"
    )
    reason = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["resolved_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "reporter"], name="review_report_once")
        ]

    def __str__(self) -> str:
        return f"Report on {self.review}"

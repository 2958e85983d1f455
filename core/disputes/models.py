"""A learner's dispute of one task verdict, and its outcome.

The verdict a dispute overturns is changed in place (the receipt and the score read
verdicts), and the dispute keeps what it was: nothing of the history is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.cohorts.models import mentored_cohort_ids
from core.platform.timefmt import now_or
from core.reviews.models import Attempt, Verdict

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from core.accounts.models import User


class DisputeQuerySet(models.QuerySet["Dispute"]):
    def open(self) -> DisputeQuerySet:
        return self.filter(status=Dispute.Status.OPEN)

    def handled_by(
        self, user: User | AnonymousUser, cohort_ids: list[int] | None = None
    ) -> DisputeQuerySet:
        """Disputes ``user`` may decide: their cohorts' (all for staff), never one of their
        own verdicts or their own work.

        ``cohort_ids``, when the caller has already read the cohorts the user mentors,
        saves the subquery (as ``IterationQuerySet.reviewable_by``'s does).
        """
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            disputes = self
        elif cohort_ids is None:
            disputes = self.filter(cohort_id__in=mentored_cohort_ids(user))
        else:
            disputes = self.filter(cohort_id__in=cohort_ids)
        return disputes.exclude(verdict_author=user).exclude(learner=user)

    def visible_to(self, user: User | AnonymousUser) -> DisputeQuerySet:
        """The learner's own disputes, and those ``user`` may decide."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(learner=user) | self.handled_by(user)


class Dispute(models.Model):
    """A learner contests one task verdict of a decided review, with a reason."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Upheld"
        OVERTURNED = "overturned", "Overturned"

    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="disputes")
    verdict = models.ForeignKey(Verdict, on_delete=models.PROTECT, related_name="disputes")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes"
    )
    # Copied at opening: the queue filters on them without joining the review and release.
    cohort = models.ForeignKey("core.Cohort", on_delete=models.PROTECT, related_name="+")
    verdict_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The mentor it was routed to (null: the cohort has no other mentor, so staff decide).
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes_assigned",
    )
    reason = models.TextField(max_length=settings.MARKDOWN_MAX_CHARS, help_text="Markdown.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    was_passed = models.BooleanField(help_text="The verdict when the dispute was opened.")
    created_at = models.DateTimeField(default=timezone.now)
    # Its own claim: a lease like a review claim, so two mentors never decide it together.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome_comment = models.TextField(
        blank=True, max_length=settings.MARKDOWN_MAX_CHARS, help_text="Markdown."
    )

    objects = DisputeQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["verdict"], condition=Q(status="open"), name="dispute_one_open_per_verdict"
            ),
            models.CheckConstraint(
                condition=Q(status="open")
                | (Q(resolved_at__isnull=False) & ~Q(outcome_comment="")),
                name="dispute_resolved_has_outcome",
            ),
        ]
        indexes = [
            models.Index(
                fields=["cohort", "created_at"],
                condition=Q(status="open"),
                name="dispute_open_cohort",
            ),
            models.Index(fields=["attempt", "created_at"], name="dispute_attempt"),
        ]

    def __str__(self) -> str:
        return f"Dispute of {self.verdict} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("dispute_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def claim_is_live(self, now: datetime | None = None) -> bool:
        return (
            self.claimed_by_id is not None
            and self.claim_expires_at is not None
            and self.claim_expires_at > now_or(now)
        )

    def held_by(self, user: User, now: datetime | None = None) -> bool:
        return self.claimed_by_id == user.pk and self.claim_is_live(now)

    def minutes_left(self, now: datetime | None = None) -> int:
        if self.claim_expires_at is None:
            return 0
        return max(0, int((self.claim_expires_at - now_or(now)).total_seconds() // 60))

"""Schedule: cohorts, who is in them, and when each project opens and is due."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from core.models.curriculum import Program, Project
from core.querysets import MembershipQuerySet, ProjectReleaseQuerySet


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (for example Africa/Nairobi).")


class Cohort(models.Model):
    """A group of learners who follow one program on one calendar."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    start_date = models.DateField()
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Deadlines are shown in this time zone, e.g. Africa/Nairobi.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="cohorts"
    )

    class Meta:
        ordering = ["-start_date", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("cohort_schedule", args=[self.slug])

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Membership(models.Model):
    """A user's role in one cohort: learner, mentor or reviewer."""

    class Role(models.TextChoices):
        LEARNER = "learner", "Learner"
        MENTOR = "mentor", "Mentor"
        REVIEWER = "reviewer", "Reviewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.LEARNER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["cohort", "role", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "cohort"], name="membership_one_per_cohort"),
            models.CheckConstraint(
                condition=Q(role__in=["learner", "mentor", "reviewer"]),
                name="membership_role_valid",
                violation_error_message="The role is learner, mentor or reviewer.",
            ),
        ]
        indexes = [models.Index(fields=["cohort", "role"], name="membership_cohort_role")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.cohort}"


MULTIPLIER = {
    "max_digits": 3,
    "decimal_places": 2,
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
}


@dataclass(frozen=True)
class Deadlines:
    """The dates that apply to one learner for one release."""

    opens_at: datetime
    first_deadline: datetime
    second_deadline: datetime
    extension: Extension | None = None

    def state(self, now: datetime | None = None) -> str:
        """'upcoming', 'current' or 'past'."""
        now = now or timezone.now()
        if now < self.opens_at:
            return "upcoming"
        if now < self.second_deadline:
            return "current"
        return "past"

    def next_deadline(self, now: datetime | None = None) -> datetime | None:
        """The deadline the learner is racing now, if any."""
        now = now or timezone.now()
        if now < self.first_deadline:
            return self.first_deadline
        if now < self.second_deadline:
            return self.second_deadline
        return None


class ProjectRelease(models.Model):
    """A project on a cohort's calendar, with its deadlines and lateness multipliers."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="releases")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="releases")
    opens_at = models.DateTimeField()
    first_deadline = models.DateTimeField()
    second_deadline = models.DateTimeField()
    first_multiplier = models.DecimalField(default=Decimal("1.00"), **MULTIPLIER)
    second_multiplier = models.DecimalField(default=Decimal("0.65"), **MULTIPLIER)
    late_multiplier = models.DecimalField(default=Decimal("0.50"), **MULTIPLIER)

    objects = ProjectReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["cohort", "opens_at", "project__module__order", "project__order"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "project"], name="release_one_per_cohort"),
            models.CheckConstraint(
                condition=Q(opens_at__lt=F("first_deadline")),
                name="release_opens_before_first_deadline",
                violation_error_message="The project must open before its first deadline.",
            ),
            models.CheckConstraint(
                condition=Q(first_deadline__lte=F("second_deadline")),
                name="release_first_deadline_not_after_second",
                violation_error_message="The second deadline cannot be before the first.",
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{field}__gte": 0, f"{field}__lte": 1}),
                    name=f"release_{field}_between_0_and_1",
                    violation_error_message=f"The {field.replace('_', ' ')} must be 0–1.",
                )
                for field in ("first_multiplier", "second_multiplier", "late_multiplier")
            ],
        ]
        indexes = [
            models.Index(fields=["cohort", "opens_at"], name="release_cohort_opens"),
            models.Index(fields=["project", "cohort"], name="release_project_cohort"),
        ]

    def __str__(self) -> str:
        return f"{self.project} · {self.cohort}"

    def deadlines_for(self, extension: Extension | None = None) -> Deadlines:
        """The release's dates, with ``extension`` (the learner's latest) applied."""
        if extension is None:
            return Deadlines(self.opens_at, self.first_deadline, self.second_deadline)
        return Deadlines(
            self.opens_at, extension.first_deadline, extension.second_deadline, extension
        )

    @cached_property
    def deadlines(self) -> Deadlines:
        """Dates for the learner the release was loaded for (see ``with_deadlines_for``)."""
        extensions = getattr(self, "learner_extensions", None)
        return self.deadlines_for(extensions[0] if extensions else None)

    def shift(self, days: int) -> None:
        """Move every date of this release by ``days`` (negative moves earlier)."""
        delta = timedelta(days=days)
        self.opens_at += delta
        self.first_deadline += delta
        self.second_deadline += delta


class Extension(models.Model):
    """New deadlines for one learner on one release; a ledger (latest applies)."""

    release = models.ForeignKey(ProjectRelease, on_delete=models.CASCADE, related_name="extensions")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="extensions"
    )
    first_deadline = models.DateTimeField()
    second_deadline = models.DateTimeField()
    reason = models.CharField(max_length=300)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="extensions_granted",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_deadline__lte=F("second_deadline")),
                name="extension_first_deadline_not_after_second",
                violation_error_message="The second deadline cannot be before the first.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["release", "learner", "-created_at"], name="extension_release_learner"
            ),
            models.Index(fields=["learner"], name="extension_learner"),
        ]

    def __str__(self) -> str:
        return f"Extension for {self.learner} on {self.release}"

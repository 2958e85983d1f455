"""Schedule: cohorts, who is in them, and when each project opens and is due."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import BaseValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from core.curriculum.models import Program, Project
from core.platform.timefmt import now_or

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from core.accounts.models import User


class MembershipQuerySet(models.QuerySet["Membership"]):
    def learners(self) -> MembershipQuerySet:
        return self.filter(role=Membership.Role.LEARNER)

    def mentors(self) -> MembershipQuerySet:
        return self.filter(role=Membership.Role.MENTOR)


class CohortIdRow(TypedDict):
    cohort_id: int


def mentored_cohort_ids(user: User) -> models.QuerySet[Membership, CohortIdRow]:
    """Ids of the cohorts ``user`` mentors, as a subquery (``cohort_id__in=``). Being staff
    makes nobody a mentor: callers that let staff see everything say so themselves."""
    return Membership.objects.filter(user=user).mentors().values("cohort_id")


def learning_cohort_ids(user: User) -> models.QuerySet[Membership, CohortIdRow]:
    """Ids of the cohorts ``user`` learns in, as a subquery (``cohort_id__in=``)."""
    return Membership.objects.filter(user=user).learners().values("cohort_id")


class CohortQuerySet(models.QuerySet["Cohort"]):
    def mentored_by(self, user: User | AnonymousUser) -> CohortQuerySet:
        """Cohorts ``user`` mentors."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(pk__in=mentored_cohort_ids(user))

    def with_learner_count(self) -> CohortQuerySet:
        """Annotate ``learner_count``: the cohort's learners (its mentors and reviewers aside)."""
        learners = Q(memberships__role=Membership.Role.LEARNER)
        return self.annotate(learner_count=Count("memberships", filter=learners))

    def overseen_by(self, user: User | AnonymousUser) -> CohortQuerySet:
        """Cohorts whose mentor pages (schedule, queue, progress) ``user`` may open: the
        ones they mentor, every cohort for staff."""
        if user.is_authenticated and user.is_staff:
            return self
        return self.mentored_by(user)


class ProjectReleaseQuerySet(models.QuerySet["ProjectRelease"]):
    def opened(self, now: datetime | None = None) -> ProjectReleaseQuerySet:
        return self.filter(opens_at__lte=now_or(now))

    def upcoming(self, now: datetime | None = None) -> ProjectReleaseQuerySet:
        return self.filter(opens_at__gt=now_or(now))

    def current(self, now: datetime | None = None) -> ProjectReleaseQuerySet:
        """Open and not past the cohort's second deadline (extensions aside)."""
        now = now_or(now)
        return self.filter(opens_at__lte=now, second_deadline__gt=now)

    def past(self, now: datetime | None = None) -> ProjectReleaseQuerySet:
        return self.filter(second_deadline__lte=now_or(now))

    def visible_to(
        self, user: User | AnonymousUser, now: datetime | None = None
    ) -> ProjectReleaseQuerySet:
        """Releases ``user`` may open: ``RELEASE_ACCESS`` as a filter (staff open all).

        ``may_open_release`` is the same rule for one release and a role already loaded.
        """
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        member = Membership.objects.filter(cohort=OuterRef("cohort"), user=user)
        any_time = member.filter(role__in=_roles_with(ANY_TIME))
        once_open = member.filter(role__in=_roles_with(ONCE_OPEN))
        return self.filter(Exists(any_time) | (Exists(once_open) & Q(opens_at__lte=now_or(now))))

    def of_learner(self, user: User) -> ProjectReleaseQuerySet:
        """Releases of the cohorts ``user`` learns in."""
        return self.filter(cohort_id__in=learning_cohort_ids(user))

    def with_deadlines_for(self, user: User) -> ProjectReleaseQuerySet:
        """Prefetch ``user``'s extensions, latest first, so ``release.deadlines`` applies
        the latest (one query more, whatever the number of releases)."""
        latest = Extension.objects.filter(learner=user).latest_first()
        return self.prefetch_related(
            Prefetch("extensions", queryset=latest, to_attr="learner_extensions")
        )

    def with_latest_extension_for(self, user: User) -> ProjectReleaseQuerySet:
        """``user``'s latest extension on each release, in the release's own row (no query
        more): ``latest_extension_<field>`` for the fields of ``LATEST_EXTENSION_FIELDS``,
        all None without one; ``release.deadlines`` applies it."""
        latest = Extension.objects.latest_on_outer_release(user)
        return self.annotate(
            **{
                f"latest_extension_{field}": Subquery(latest.values(field)[:1])
                for field in LATEST_EXTENSION_FIELDS
            }
        )

    def open_for(self, user: User, now: datetime | None = None) -> ProjectReleaseQuerySet:
        """Releases open now for ``user``: opened, and before the second deadline that
        applies to them (their latest extension's, else the cohort's), even when the
        extension moved it earlier; ``Deadlines.state() == "current"`` as a filter."""
        now = now_or(now)
        latest = Extension.objects.latest_on_outer_release(user)
        second = Coalesce(Subquery(latest.values("second_deadline")[:1]), F("second_deadline"))
        return (
            self.opened(now)
            .alias(applying_second_deadline=second)
            .filter(applying_second_deadline__gt=now)
        )


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

    objects = CohortQuerySet.as_manager()

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

    # What a save changes, kept by a pre_save receiver for the audit (cohorts/receivers.py).
    _audit_previous: dict[str, object] | None

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


STAFFING_ROLES = frozenset({Membership.Role.MENTOR, Membership.Role.REVIEWER})

# Who may open a release, by their role in its cohort: written once, read both by
# ``ProjectRelease.objects.visible_to`` (a filter) and by ``may_open_release`` (one release,
# for pages that hold the user's memberships already). Staff open every release; someone
# with no role in the cohort opens none of its releases.
ANY_TIME = "any_time"  # upcoming releases too: mentors and reviewers prepare ahead
ONCE_OPEN = "once_open"  # from ``opens_at`` on
RELEASE_ACCESS: dict[str, str] = {
    Membership.Role.LEARNER: ONCE_OPEN,
    **dict.fromkeys(STAFFING_ROLES, ANY_TIME),
}


def _roles_with(access: str) -> list[str]:
    return sorted(role for role, allowed in RELEASE_ACCESS.items() if allowed == access)


def may_open_release(
    release: ProjectRelease, role: str | None, *, is_staff: bool, now: datetime
) -> bool:
    """Whether someone with ``role`` in the release's cohort (None: no role) may open it."""
    if is_staff:
        return True
    access = RELEASE_ACCESS.get(role) if role else None
    return access == ANY_TIME or (access == ONCE_OPEN and release.opens_at <= now)


# What ``with_latest_extension_for`` loads of the extension: what its pages show of it.
LATEST_EXTENSION_FIELDS = ("id", "learner_id", "first_deadline", "second_deadline", "reason")


class DecimalFieldOptions(TypedDict):
    max_digits: int
    decimal_places: int
    validators: list[BaseValidator]


MULTIPLIER: DecimalFieldOptions = {
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

    # Kept by pre_save receivers for the post_save ones (cohorts/receivers.py): the stored
    # dates, for the audit, and the stored cohort, for a release moved to another.
    _audit_previous: dict[str, object] | None
    _saved_cohort_id: int | None

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
        """Dates for the learner the release was loaded for, their latest extension applied
        (see ``with_deadlines_for`` and ``with_latest_extension_for``)."""
        return self.deadlines_for(self._loaded_extension())

    def _loaded_extension(self) -> Extension | None:
        if hasattr(self, "learner_extensions"):  # prefetched, latest first
            return self.learner_extensions[0] if self.learner_extensions else None
        if getattr(self, "latest_extension_id", None) is None:  # none, or not loaded
            return None
        fields = {
            field: getattr(self, f"latest_extension_{field}") for field in LATEST_EXTENSION_FIELDS
        }
        return Extension(release=self, **fields)

    def shift(self, days: int) -> None:
        """Move every date of this release by ``days`` (negative moves earlier)."""
        delta = timedelta(days=days)
        self.opens_at += delta
        self.first_deadline += delta
        self.second_deadline += delta


class ExtensionQuerySet(models.QuerySet["Extension"]):
    """The extension ledger. Its rule, written here once: on a release, a learner's latest
    extension (newest ``created_at``, then highest id) applies, even when it moved a
    deadline earlier; older ones are history."""

    def latest_first(self) -> ExtensionQuerySet:
        """The ledger's order: the first row of a learner on a release is the one that applies."""
        return self.order_by("-created_at", "-id")

    def latest_for(self, learner: User | int, release: ProjectRelease | int) -> Extension | None:
        """The extension that applies to ``learner`` on ``release``, if any (one query)."""
        return self.filter(learner=learner, release=release).latest_first().first()

    def latest_on_outer_release(self, learner: User) -> ExtensionQuerySet:
        """``learner``'s extensions on the release of the outer query, latest first: take
        ``[:1]`` of it in a ``Subquery`` to annotate releases (no query more)."""
        return self.filter(release=OuterRef("pk"), learner=learner).latest_first()

    def latest_by_release_and_learner(self) -> dict[tuple[int, int], Extension]:
        """The extension that applies to each (release id, learner id) among these rows,
        for a batch (one query; narrow it with ``only()``)."""
        latest: dict[tuple[int, int], Extension] = {}
        for extension in self.latest_first():
            latest.setdefault((extension.release_id, extension.learner_id), extension)
        return latest


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

    objects = ExtensionQuerySet.as_manager()

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


class JoinCodeQuerySet(models.QuerySet["JoinCode"]):
    def usable(self, now: datetime | None = None) -> JoinCodeQuerySet:
        """Codes that let someone join now: not revoked, not expired, uses left."""
        return self.filter(
            revoked_at__isnull=True, expires_at__gt=now_or(now), uses__lt=F("max_uses")
        )


class JoinCode(models.Model):
    """A code (and its link, /join/<code>/) that lets people join a cohort as learners.

    Only a SHA-256 digest of the code is stored (``digest``, unique, so a lookup is one
    index probe): someone who reads the table cannot join with it. Staff see the code
    once, when they create it; ``hint`` (its first group) tells codes apart afterwards.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"
        USED_UP = "used_up", "Used up"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="join_codes")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=8, editable=False, help_text="The code's first group.")
    expires_at = models.DateTimeField(help_text="Nobody can join with the code from then on.")
    max_uses = models.PositiveIntegerField(
        "maximum uses",
        validators=[MinValueValidator(1)],
        help_text="How many people may join with it (each person once).",
    )
    uses = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = JoinCodeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_uses__gte=1),
                name="join_code_max_uses_positive",
                violation_error_message="A join code allows at least one use.",
            ),
            models.CheckConstraint(
                condition=Q(uses__lte=F("max_uses")),
                name="join_code_uses_within_max",
                violation_error_message="A join code cannot be used more than its maximum.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hint}… · {self.cohort}"

    def state(self, now: datetime | None = None) -> JoinCode.State:
        """Whether the code lets someone join now, and if not, why (revoked first)."""
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= now_or(now):
            return self.State.EXPIRED
        if self.uses >= self.max_uses:
            return self.State.USED_UP
        return self.State.ACTIVE

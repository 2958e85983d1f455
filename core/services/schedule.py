"""Writes to a cohort's calendar: releasing projects and moving deadlines."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import signals
from core.audit import audit
from core.cache import bump_cohorts
from core.models import Cohort, Extension, Project, ProjectRelease
from core.services.scoring import release_recompute_scores

# A shift larger than this is almost certainly a typo (a year has 366 days at most).
MAX_SHIFT_DAYS = 366
# A calendar date outside these years is a typo; year 1 or 9999 cannot even be turned
# into UTC (or shifted), so it would crash the save or every page that reads it later.
CALENDAR_YEARS = range(2000, 2101)


def check_calendar_dates(**dates: datetime | None) -> None:
    """Refuse dates outside CALENDAR_YEARS with a ValidationError naming each field."""
    first, last = CALENDAR_YEARS[0], CALENDAR_YEARS[-1]
    errors = {
        name: f"Pick a date between the years {first} and {last}."
        for name, value in dates.items()
        if value is not None and value.year not in CALENDAR_YEARS
    }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def release_project(
    *,
    cohort: Cohort,
    project: Project,
    opens_at: datetime,
    first_deadline: datetime,
    second_deadline: datetime,
    first_multiplier: Decimal = Decimal("1.00"),
    second_multiplier: Decimal = Decimal("0.65"),
    late_multiplier: Decimal = Decimal("0.50"),
) -> ProjectRelease:
    """Put ``project`` on ``cohort``'s calendar; bad dates raise ValidationError."""
    if project.module.program_id != cohort.program_id:
        raise ValidationError(
            {"project": f"“{project}” is not part of {cohort.program}, the cohort's program."}
        )
    check_calendar_dates(
        opens_at=opens_at, first_deadline=first_deadline, second_deadline=second_deadline
    )
    release = ProjectRelease(
        cohort=cohort,
        project=project,
        opens_at=opens_at,
        first_deadline=first_deadline,
        second_deadline=second_deadline,
        first_multiplier=first_multiplier,
        second_multiplier=second_multiplier,
        late_multiplier=late_multiplier,
    )
    # Model validation checks the same constraints the database enforces, so bad
    # input surfaces as a ValidationError with a message instead of an IntegrityError.
    release.full_clean()
    release.save()
    announce_release(release)
    return release


def announce_release(release: ProjectRelease) -> None:
    """Tell the cohort about a new release (``project_released``) once it is committed."""
    transaction.on_commit(
        lambda: signals.project_released.send(ProjectRelease, release=release), robust=True
    )


def _shift(value: datetime, days: int, tz: zoneinfo.ZoneInfo) -> datetime:
    # Add days on the cohort's wall clock: a 23:59 deadline stays 23:59 across a DST change.
    return (timezone.localtime(value, tz) + timedelta(days=days)).astimezone(value.tzinfo)


@transaction.atomic
def shift_cohort_deadlines(
    *, cohort: Cohort, days: int, only_open: bool = False, now: datetime | None = None
) -> int:
    """Move every date of ``cohort``'s releases by ``days``; returns how many moved.

    With ``only_open``, releases already closed (second deadline passed) stay put.
    Extensions granted on a moved release move with it, so nobody's extension ends up
    earlier than the cohort's new deadline.
    """
    if not isinstance(days, int) or isinstance(days, bool):
        raise ValidationError({"days": "Enter a whole number of days."})
    if days == 0:
        raise ValidationError({"days": "Shift by at least one day (or use a negative number)."})
    if abs(days) > MAX_SHIFT_DAYS:
        raise ValidationError({"days": f"Shift by at most {MAX_SHIFT_DAYS} days at once."})

    releases = ProjectRelease.objects.select_for_update().filter(cohort=cohort)
    if only_open:
        releases = releases.filter(second_deadline__gt=now or timezone.now())
    releases = list(releases.order_by("pk"))
    if not releases:
        return 0
    tz = cohort.tz
    for release in releases:
        release.opens_at = _shift(release.opens_at, days, tz)
        release.first_deadline = _shift(release.first_deadline, days, tz)
        release.second_deadline = _shift(release.second_deadline, days, tz)
        # The cohort and project are unchanged, so skip their lookups.
        release.full_clean(exclude=["cohort", "project"], validate_unique=False)
    ProjectRelease.objects.bulk_update(releases, ["opens_at", "first_deadline", "second_deadline"])

    extensions = list(
        Extension.objects.select_for_update().filter(release__in=releases).order_by("pk")
    )
    for extension in extensions:
        extension.first_deadline = _shift(extension.first_deadline, days, tz)
        extension.second_deadline = _shift(extension.second_deadline, days, tz)
        extension.full_clean(exclude=["release", "learner", "granted_by"], validate_unique=False)
    Extension.objects.bulk_update(extensions, ["first_deadline", "second_deadline"])

    # bulk_update sends no post_save, so recompute here what moving a deadline changes,
    # then invalidate what the cohort's pages cached (core/cache.py).
    for release in releases:
        transaction.on_commit(partial(release_recompute_scores, release=release), robust=True)
    transaction.on_commit(partial(bump_cohorts, [cohort.pk]), robust=True)
    audit(
        action="deadline_shift",
        obj=cohort,
        detail={
            "days": days,
            "only_open": only_open,
            "releases": [release.pk for release in releases],
            "extensions": len(extensions),
        },
    )
    return len(releases)

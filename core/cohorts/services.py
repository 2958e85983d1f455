"""Writes to a cohort's calendar: releasing projects and moving deadlines."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.cohorts import signals
from core.models import Cohort, Deadlines, Extension, Project, ProjectRelease
from core.platform.admin_helpers import in_zone
from core.platform.audit import audit
from core.platform.cache import bump_on_commit
from core.reviews.scoring import release_recompute_scores

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


def announce_schedule(
    cohort: Cohort, releases: list[ProjectRelease], moved: list[ProjectRelease] | None = None
) -> None:
    """Tell the cohort about releases made at once, and releases not opened yet that moved
    (``schedule_released``), once committed: one message per learner for the lot, however
    many projects it holds."""
    moved = moved or []
    if len(releases) == 1 and not moved:
        announce_release(releases[0])
    elif releases or moved:
        transaction.on_commit(
            partial(
                signals.schedule_released.send,
                Cohort,
                cohort=cohort,
                releases=releases,
                moved=moved,
            ),
            robust=True,
        )


class ExtensionChange(StrEnum):
    """What happened to a learner's extension (``extension_changed``'s ``change``)."""

    GRANTED = "granted"
    CHANGED = "changed"
    WITHDRAWN = "withdrawn"


def announce_extension(extension: Extension, change: ExtensionChange) -> None:
    """Tell the learner their deadlines on the release changed, once it is committed."""
    transaction.on_commit(
        partial(signals.extension_changed.send, Extension, extension=extension, change=change),
        robust=True,
    )


def _shift(value: datetime, days: int, tz: zoneinfo.ZoneInfo) -> datetime:
    # Add days on the cohort's wall clock: a 23:59 deadline stays 23:59 across a DST change.
    return (timezone.localtime(value, tz) + timedelta(days=days)).astimezone(value.tzinfo)


def shift_closes_open(
    releases: Iterable[ProjectRelease],
    *,
    days: int,
    move_openings: bool,
    now: datetime,
    tz: zoneinfo.ZoneInfo,
) -> list[ProjectRelease]:
    """Releases open to learners at ``now`` that the shift would close (open later, or
    due already): what staff must acknowledge before shifting."""
    closing = []
    for release in releases:
        if release.deadlines_for().state(now) != "current":
            continue
        after = Deadlines(
            _shift(release.opens_at, days, tz) if move_openings else release.opens_at,
            _shift(release.first_deadline, days, tz),
            _shift(release.second_deadline, days, tz),
        )
        if after.state(now) != "current":
            closing.append(release)
    return closing


@transaction.atomic
def shift_cohort_deadlines(
    *,
    cohort: Cohort,
    days: int,
    only_open: bool = False,
    move_openings: bool = False,
    confirm_closing: bool = False,
    now: datetime | None = None,
) -> list[ProjectRelease]:
    """Move the deadlines of ``cohort``'s releases by ``days``; returns the moved releases.

    Openings stay where they are unless ``move_openings``: an open project must not close
    to its learners as a side effect. A shift that would still close a project open now
    (opening moved later, or the second deadline moved into the past) is refused unless
    ``confirm_closing``. With ``only_open``, releases already closed (second deadline
    passed) stay put. Extensions granted on a moved release move with it, so nobody's
    extension ends up earlier than the cohort's new deadline.
    """
    if not isinstance(days, int) or isinstance(days, bool):
        raise ValidationError({"days": "Enter a whole number of days."})
    if days == 0:
        raise ValidationError({"days": "Shift by at least one day (or use a negative number)."})
    if abs(days) > MAX_SHIFT_DAYS:
        raise ValidationError({"days": f"Shift by at most {MAX_SHIFT_DAYS} days at once."})

    now = now or timezone.now()
    selected = (
        ProjectRelease.objects.select_for_update(of=("self",))
        .filter(cohort=cohort)
        .select_related("project")
    )
    if only_open:
        selected = selected.filter(second_deadline__gt=now)
    releases = list(selected.order_by("pk"))
    if not releases:
        return []
    tz = cohort.tz
    closing = shift_closes_open(releases, days=days, move_openings=move_openings, now=now, tz=tz)
    if closing and not confirm_closing:
        titles = ", ".join(f"“{release.project.title}”" for release in closing)
        raise ValidationError(
            {
                "confirm_closing": (
                    f"This shift closes {len(closing)} project"
                    f"{'s' if len(closing) != 1 else ''} that {cohort}'s learners have open "
                    f"now: {titles}. Tick to confirm, or change the shift."
                )
            },
            code="closes_open",
        )
    for release in releases:
        if move_openings:
            release.opens_at = _shift(release.opens_at, days, tz)
        release.first_deadline = _shift(release.first_deadline, days, tz)
        release.second_deadline = _shift(release.second_deadline, days, tz)
        if release.first_deadline <= release.opens_at:
            raise ValidationError(
                {
                    "days": (
                        f"“{release.project.title}” would be due before it opens "
                        f"({in_zone(release.opens_at, tz)}): shift by fewer days, "
                        "or also move openings."
                    )
                }
            )
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
    # then invalidate what the cohort's pages cached (core/platform/cache.py).
    for release in releases:
        transaction.on_commit(partial(release_recompute_scores, release=release), robust=True)
    bump_on_commit(schedules=[cohort.pk])
    # One event for the whole shift, so each learner hears of it once.
    transaction.on_commit(
        partial(
            signals.deadlines_shifted.send,
            Cohort,
            cohort=cohort,
            releases=releases,
            days=days,
            move_openings=move_openings,
        ),
        robust=True,
    )
    audit(
        action="deadline_shift",
        obj=cohort,
        detail={
            "days": days,
            "only_open": only_open,
            "move_openings": move_openings,
            "closed_open": [release.pk for release in closing],
            "releases": [release.pk for release in releases],
            "extensions": len(extensions),
        },
    )
    return releases

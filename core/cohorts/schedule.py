"""The schedule generator: a module's or a program's releases for a cohort, planned in
one step (``plan_schedule``, pure) and applied in one transaction (``schedule_apply``)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.cohorts.services import (
    CALENDAR_YEARS,
    MAX_SHIFT_DAYS,
    announce_schedule,
    check_calendar_dates,
)
from core.models import Cohort, Module, Project, ProjectRelease
from core.platform.audit import audit
from core.platform.cache import bump_on_commit
from core.reviews.scoring import release_recompute_scores

# Offsets, lengths and gaps longer than a year are typos, as for a shift.
MAX_SCHEDULE_DAYS = MAX_SHIFT_DAYS
DATE_FIELDS = ("opens_at", "first_deadline", "second_deadline")
MULTIPLIER_FIELDS = ("first_multiplier", "second_multiplier", "late_multiplier")
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class ScheduleSpec:
    """What staff ask of the generator: dates on the cohort's wall clock, in days."""

    start: date
    project_days: int = 7
    gap_days: int = 0
    first_deadline_days: int = 6
    second_deadline_days: int = 13
    opens_time: time = time(9, 0)
    deadline_time: time = time(23, 59)
    skip_weekdays: frozenset[int] = frozenset()  # 0 is Monday, as date.weekday()
    skip_dates: frozenset[date] = frozenset()
    first_multiplier: Decimal = Decimal("1.00")
    second_multiplier: Decimal = Decimal("0.65")
    late_multiplier: Decimal = Decimal("0.50")

    def errors(self) -> dict[str, str]:
        """What is wrong with the spec itself, by field (empty when it can be planned)."""
        errors: dict[str, str] = {}
        for name in ("project_days", "first_deadline_days", "second_deadline_days"):
            if not 1 <= getattr(self, name) <= MAX_SCHEDULE_DAYS:
                errors[name] = f"Between 1 and {MAX_SCHEDULE_DAYS} days."
        if not 0 <= self.gap_days <= MAX_SCHEDULE_DAYS:
            errors["gap_days"] = f"Between 0 and {MAX_SCHEDULE_DAYS} days."
        if "second_deadline_days" not in errors and (
            self.second_deadline_days < self.first_deadline_days
        ):
            errors["second_deadline_days"] = "The second deadline cannot be before the first."
        if len(self.skip_weekdays) >= len(WEEKDAYS):
            errors["skip_weekdays"] = "Leave at least one day of the week to schedule on."
        if len(self.skip_dates) > settings.SCHEDULE_MAX_SKIPPED_DATES:
            errors["skip_dates"] = f"Skip at most {settings.SCHEDULE_MAX_SKIPPED_DATES} dates."
        for name in ("first_multiplier", "second_multiplier", "late_multiplier"):
            if not Decimal(0) <= getattr(self, name) <= Decimal(1):
                errors[name] = "Between 0 and 1."
        if self.start.year not in CALENDAR_YEARS:
            errors["start"] = (
                f"Pick a date between the years {CALENDAR_YEARS[0]} and {CALENDAR_YEARS[-1]}."
            )
        return errors

    def next_day_on(self, day: date) -> date:
        """``day``, or the first day after it that is neither a skipped weekday nor date."""
        while day.weekday() in self.skip_weekdays or day in self.skip_dates:
            day += timedelta(days=1)
        return day


class Change(StrEnum):
    """What applying the plan does to one project's release."""

    ADDED = "added"  # not on the cohort's calendar yet
    UPDATED = "updated"  # released, not opened yet: new dates
    UNCHANGED = "unchanged"  # released, not opened yet, already on these dates
    KEPT = "kept"  # already open (or closed): the generator never moves it


@dataclass(frozen=True)
class PlannedRelease:
    """One project of the plan: the dates it gets (or keeps), and what changes."""

    project: Project
    change: Change
    opens_at: datetime
    first_deadline: datetime
    second_deadline: datetime
    existing: ProjectRelease | None = None


@dataclass(frozen=True)
class SchedulePlan:
    """Every project in scope, in curriculum order, with its dates and its change."""

    cohort: Cohort
    spec: ScheduleSpec
    rows: list[PlannedRelease] = field(default_factory=list)

    def count(self, change: Change) -> int:
        return sum(1 for row in self.rows if row.change == change)

    @property
    def changes(self) -> list[PlannedRelease]:
        """The rows applying writes: added and updated."""
        return [row for row in self.rows if row.change in (Change.ADDED, Change.UPDATED)]


def _on(day: date, at: time, tz: zoneinfo.ZoneInfo) -> datetime:
    # On the cohort's wall clock (23:59 stays 23:59 across a DST change), then in UTC:
    # Python subtracts two datetimes of one zone on the wall clock, ignoring the change.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def plan_schedule(
    *,
    cohort: Cohort,
    projects: Iterable[Project],
    existing: Mapping[int, ProjectRelease],
    spec: ScheduleSpec,
    now: datetime,
) -> SchedulePlan:
    """The releases the generator would make: pure (no query), so the preview and the
    apply share it. ``projects`` in curriculum order; ``existing`` the cohort's releases
    by project id. Raises ValidationError for a spec that cannot be planned."""
    errors = spec.errors()
    if errors:
        raise ValidationError(errors)
    projects = list(projects)
    if len(projects) > settings.SCHEDULE_MAX_PROJECTS:
        raise ValidationError(
            {"module": f"At most {settings.SCHEDULE_MAX_PROJECTS} projects at once: pick a module."}
        )
    tz = cohort.tz
    rows: list[PlannedRelease] = []
    # Projects already open keep their dates and take no slot: the start date is when
    # the first of the others opens, so a re-run mid-program schedules what is left.
    day = spec.next_day_on(spec.start)
    for project in projects:
        release = existing.get(project.pk)
        if release is not None and release.opens_at <= now:
            rows.append(
                PlannedRelease(
                    project,
                    Change.KEPT,
                    release.opens_at,
                    release.first_deadline,
                    release.second_deadline,
                    release,
                )
            )
            continue
        opens_at = _on(day, spec.opens_time, tz)
        first_day = spec.next_day_on(day + timedelta(days=spec.first_deadline_days))
        second_day = spec.next_day_on(day + timedelta(days=spec.second_deadline_days))
        first = _on(first_day, spec.deadline_time, tz)
        second = _on(max(first_day, second_day), spec.deadline_time, tz)
        if second_day.year not in CALENDAR_YEARS:
            raise ValidationError(
                {"start": f"“{project.title}” would end after {CALENDAR_YEARS[-1]}."}
            )
        if release is None:
            change = Change.ADDED
        elif (release.opens_at, release.first_deadline, release.second_deadline) == (
            opens_at,
            first,
            second,
        ) and _multipliers(release) == _multipliers(spec):
            change = Change.UNCHANGED
        else:
            change = Change.UPDATED
        rows.append(PlannedRelease(project, change, opens_at, first, second, release))
        day = spec.next_day_on(day + timedelta(days=spec.project_days + spec.gap_days))
    return SchedulePlan(cohort=cohort, spec=spec, rows=rows)


def _multipliers(source: ProjectRelease | ScheduleSpec) -> tuple[Decimal, Decimal, Decimal]:
    return (source.first_multiplier, source.second_multiplier, source.late_multiplier)


def projects_in_scope(cohort: Cohort, module: Module | None) -> list[Project]:
    """The projects the generator schedules, in curriculum order (one query); one more
    than SCHEDULE_MAX_PROJECTS at most, so the plan can refuse a program too large."""
    projects = Project.objects.of_program(cohort.program_id)
    if module is not None:
        projects = projects.filter(module=module)
    ordered = projects.select_related("module").order_by("module__order", "order", "pk")
    return list(ordered[: settings.SCHEDULE_MAX_PROJECTS + 1])


def releases_by_project(cohort: Cohort, projects: list[Project]) -> dict[int, ProjectRelease]:
    """The cohort's releases of ``projects``, by project id (one query)."""
    releases = ProjectRelease.objects.filter(cohort=cohort, project__in=projects)
    return {release.project_id: release for release in releases}


def schedule_plan(
    *, cohort: Cohort, module: Module | None, spec: ScheduleSpec, now: datetime
) -> SchedulePlan:
    """What the generator would do now for ``module`` (None: the whole program), read
    from the database and planned; nothing written. Raises ValidationError for a bad spec."""
    projects = projects_in_scope(cohort, module)
    existing = releases_by_project(cohort, projects)
    return plan_schedule(cohort=cohort, projects=projects, existing=existing, spec=spec, now=now)


@transaction.atomic
def schedule_apply(
    *, cohort: Cohort, module: Module | None, spec: ScheduleSpec, now: datetime | None = None
) -> SchedulePlan:
    """Plan again under lock and write it: add missing releases, move the ones not opened
    yet, keep the opened ones; a constant number of queries whatever the program's size.
    Returns the plan applied. Raises ValidationError (nothing written) for a bad spec."""
    now = now or timezone.now()
    # One generator run per cohort at a time: the second waits, then sees the first's
    # releases as existing instead of adding them twice.
    Cohort.objects.select_for_update().filter(pk=cohort.pk).values_list("pk").first()
    plan = schedule_plan(cohort=cohort, module=module, spec=spec, now=now)
    added: list[ProjectRelease] = []
    updated: list[ProjectRelease] = []
    for row in plan.changes:
        check_calendar_dates(
            opens_at=row.opens_at,
            first_deadline=row.first_deadline,
            second_deadline=row.second_deadline,
        )
        release = row.existing or ProjectRelease(cohort=cohort, project=row.project)
        release.project = row.project  # loaded already: the announcement names it
        release.opens_at = row.opens_at
        release.first_deadline = row.first_deadline
        release.second_deadline = row.second_deadline
        release.first_multiplier = spec.first_multiplier
        release.second_multiplier = spec.second_multiplier
        release.late_multiplier = spec.late_multiplier
        (added if row.existing is None else updated).append(release)
    # The plan holds the model's constraints (opens before the first deadline, the second
    # not before the first, multipliers 0-1), so no per-row validation query is needed.
    ProjectRelease.objects.bulk_create(added)
    ProjectRelease.objects.bulk_update(updated, [*DATE_FIELDS, *MULTIPLIER_FIELDS])
    announce_schedule(cohort, added, moved=updated)
    # bulk_update sends no post_save: recompute and bump here, as a shift does.
    for release in updated:
        transaction.on_commit(partial(release_recompute_scores, release=release), robust=True)
    if added or updated:
        bump_on_commit(schedules=[cohort.pk])
        audit(
            action="deadline_shift",
            obj=cohort,
            detail={
                "schedule": "module" if module else "program",
                "module_id": module.pk if module else None,
                "added": [release.pk for release in added],
                "updated": [release.pk for release in updated],
            },
        )
    return plan

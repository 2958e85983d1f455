"""The curriculum domain's reads: a cohort's program as the user sees it, and which
releases of a project they may open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, cast

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from core.cohorts.models import may_open_release
from core.models import Attempt, Cohort, Deadlines, Membership, Module, Project, ProjectRelease
from core.reporting.dashboards.common import next_change

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from core.models import User

LEARNER = Membership.Role.LEARNER


class ProjectDone(TypedDict):
    is_done: bool


if TYPE_CHECKING:  # WithAnnotations takes a TypedDict for type checkers only
    # A project read through ``with_projects_done``.
    ProjectWithDone = WithAnnotations[Project, ProjectDone]


def with_projects_done(projects: QuerySet[Project], user: User) -> QuerySet[ProjectWithDone]:
    """Annotate ``is_done``: whether ``user`` has an attempt scored at least PASSING_SCORE.

    An ``Exists()`` annotation, so the curriculum page stays at a constant number of queries.
    """
    passing = Attempt.objects.filter(
        learner=user, release__project=OuterRef("pk"), score__gte=settings.PASSING_SCORE
    )
    return projects.annotate(is_done=Exists(passing))


@dataclass(frozen=True)
class CohortChoice:
    """A cohort the user may look at, with their role in it (None: staff, not a member)."""

    cohort: Cohort
    role: str | None

    @property
    def role_label(self) -> str:
        return Membership.Role(self.role).label if self.role else "Staff"


@dataclass(frozen=True)
class ProjectEntry:
    """One project as the user sees it on one cohort's calendar."""

    project: ProjectWithDone
    release: ProjectRelease | None
    deadlines: Deadlines | None
    state: str  # "upcoming", "current", "past" or "unscheduled"
    can_open: bool
    next_deadline: datetime | None

    @property
    def racing_first_deadline(self) -> bool:
        return self.deadlines is not None and self.next_deadline == self.deadlines.first_deadline


@dataclass(frozen=True)
class ModuleProgress:
    """A module, its projects in order, and how many of them the user has done."""

    module: Module
    entries: list[ProjectEntry]

    @property
    def total(self) -> int:
        return len(self.entries)

    @property
    def done(self) -> int:
        return sum(1 for entry in self.entries if entry.project.is_done)

    @property
    def hours(self) -> int:
        return sum(entry.project.estimated_hours for entry in self.entries)


def cohort_choices(user: User, memberships: list[Membership]) -> list[CohortChoice]:
    """Cohorts the user may pick: their own, or every cohort (newest first) for staff."""
    if user.is_staff:
        roles = {membership.cohort_id: membership.role for membership in memberships}
        cohorts = Cohort.objects.select_related("program")
        return [CohortChoice(cohort, roles.get(cohort.pk)) for cohort in cohorts]
    return [CohortChoice(membership.cohort, membership.role) for membership in memberships]


def _project_entry(
    project: ProjectWithDone,
    release: ProjectRelease | None,
    choice: CohortChoice,
    user: User,
    now: datetime,
) -> ProjectEntry:
    """Where ``project`` stands for ``user`` on the chosen cohort's calendar."""
    if release is None:
        deadlines, state, next_deadline = None, "unscheduled", None
        can_open = user.is_staff  # staff open any project page, even one not scheduled
    else:
        deadlines = release.deadlines
        state = deadlines.state(now)
        next_deadline = deadlines.next_deadline(now) if state == "current" else None
        can_open = may_open_release(release, choice.role, is_staff=user.is_staff, now=now)
    return ProjectEntry(
        project=project,
        release=release,
        deadlines=deadlines,
        state=state,
        can_open=can_open,
        next_deadline=next_deadline,
    )


def modules_for(choice: CohortChoice, user: User, now: datetime) -> list[ModuleProgress]:
    """The cohort's program, module by module, with each project's state for ``user``."""
    # The brief's long fields are for the project page, not this overview.
    # Archived modules and projects (dropped from the program's files, kept for their
    # history) are not part of the program any more; their attempts' pages still open.
    projects: QuerySet[Project] = (
        Project.objects.filter(archived=False)
        .order_by("order")
        .defer("description", "concepts", "objectives", "requirements")
    )
    projects = with_projects_done(projects, user)
    modules = (
        Module.objects.filter(program_id=choice.cohort.program_id, archived=False)
        .order_by("order")
        .prefetch_related(Prefetch("projects", queryset=projects))
    )
    releases = ProjectRelease.objects.filter(cohort=choice.cohort).order_by()
    if choice.role == LEARNER:
        releases = releases.with_deadlines_for(user)
    by_project = {release.project_id: release for release in releases}
    # ``projects`` was prefetched through with_projects_done: each one has ``is_done``.
    return [
        ModuleProgress(
            module=module,
            entries=[
                _project_entry(project, by_project.get(project.pk), choice, user, now)
                for project in cast("QuerySet[ProjectWithDone]", module.projects.all())
            ],
        )
        for module in modules
    ]


def project_releases_for(
    user: User, project: Project, memberships: list[Membership], now: datetime
) -> tuple[list[ProjectRelease], datetime | None]:
    """``project``'s releases the user may open, with their latest extension applied
    (``release.deadlines``), newest cohort first; and when that list or their states
    next change by the clock alone (an opening or a deadline).

    Who may open which release is ``may_open_release`` (the rule behind
    ``ProjectRelease.objects.visible_to``), checked against ``memberships`` (the user's,
    already loaded). One query: the latest extension comes in each release's row.
    """
    roles = {membership.cohort_id: membership.role for membership in memberships}
    releases = ProjectRelease.objects.filter(project=project)
    if not user.is_staff:
        releases = releases.filter(cohort_id__in=list(roles))
    rows = (
        releases.select_related("cohort")
        .with_latest_extension_for(user)
        .order_by("-cohort__start_date", "cohort__name", "pk")
    )
    visible: list[ProjectRelease] = []
    times: list[datetime] = []
    for release in rows:
        deadlines = release.deadlines
        times += [deadlines.opens_at, deadlines.first_deadline, deadlines.second_deadline]
        if may_open_release(release, roles.get(release.cohort_id), is_staff=user.is_staff, now=now):
            visible.append(release)
    return visible, next_change(times, now)

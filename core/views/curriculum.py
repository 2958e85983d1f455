"""The learner's pages: the curriculum of their cohort and each project's brief."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe

from core.cache import (
    cache_version,
    cached_fragment,
    entry_timeout,
    fragment_key,
    fresh_until,
    project_version_name,
)
from core.models import (
    Attempt,
    Cohort,
    Deadlines,
    Membership,
    Module,
    Project,
    ProjectRelease,
)

if TYPE_CHECKING:
    from core.models import User

LEARNER = Membership.Role.LEARNER
STAFFING_ROLES = frozenset({Membership.Role.MENTOR, Membership.Role.REVIEWER})
# A table of contents helps once a project has more tasks than fit on one screen.
TOC_MIN_TASKS = 4


def with_projects_done(projects: QuerySet[Project], user: User) -> QuerySet[Project]:
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

    project: Project
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


def _memberships(user: User) -> list[Membership]:
    # The same rows the nav's lazy ``nav_memberships`` would load: views pass
    # this list on as ``nav_memberships`` so the page does not load it twice.
    return list(Membership.objects.filter(user=user).select_related("cohort__program"))


def _cohort_choices(user: User, memberships: list[Membership]) -> list[CohortChoice]:
    """Cohorts the user may pick: their own, or every cohort (newest first) for staff."""
    if user.is_staff:
        roles = {membership.cohort_id: membership.role for membership in memberships}
        cohorts = Cohort.objects.select_related("program")
        return [CohortChoice(cohort, roles.get(cohort.pk)) for cohort in cohorts]
    return [CohortChoice(membership.cohort, membership.role) for membership in memberships]


def _get_cohort_for_user(request: HttpRequest, choices: list[CohortChoice]) -> CohortChoice:
    """The cohort named by ``?cohort=`` (404 if not the user's), else the default one."""
    slug = request.GET.get("cohort")
    if slug:
        for choice in choices:
            if choice.cohort.slug == slug:
                return choice
        raise Http404("No such cohort for this user.")
    if not request.user.is_staff:
        for choice in choices:
            if choice.role == LEARNER:
                return choice
    return choices[0]


def _can_open(state: str, role: str | None, is_staff: bool) -> bool:
    """Mirror of ``Project.objects.visible_to`` for one release, without a query."""
    if is_staff:
        return True
    if state == "unscheduled":
        return False
    return role in STAFFING_ROLES or state != "upcoming"


def _project_entry(
    project: Project,
    release: ProjectRelease | None,
    choice: CohortChoice,
    user: User,
    now: datetime,
) -> ProjectEntry:
    """Where ``project`` stands for ``user`` on the chosen cohort's calendar."""
    if release is None:
        deadlines, state, next_deadline = None, "unscheduled", None
    else:
        deadlines = release.deadlines
        state = deadlines.state(now)
        next_deadline = deadlines.next_deadline(now) if state == "current" else None
    return ProjectEntry(
        project=project,
        release=release,
        deadlines=deadlines,
        state=state,
        can_open=_can_open(state, choice.role, user.is_staff),
        next_deadline=next_deadline,
    )


def _modules_for(choice: CohortChoice, user: User, now: datetime) -> list[ModuleProgress]:
    """The cohort's program, module by module, with each project's state for ``user``."""
    # The brief's long fields are for the project page, not this overview.
    projects = Project.objects.order_by("order").defer(
        "description", "concepts", "objectives", "requirements"
    )
    projects = with_projects_done(projects, user)
    modules = (
        Module.objects.filter(program_id=choice.cohort.program_id)
        .order_by("order")
        .prefetch_related(Prefetch("projects", queryset=projects))
    )
    releases = ProjectRelease.objects.filter(cohort=choice.cohort).order_by()
    if choice.role == LEARNER:
        releases = releases.with_deadlines_for(user)
    by_project = {release.project_id: release for release in releases}
    return [
        ModuleProgress(
            module=module,
            entries=[
                _project_entry(project, by_project.get(project.pk), choice, user, now)
                for project in module.projects.all()
            ],
        )
        for module in modules
    ]


@require_safe
@login_required
def curriculum(request: HttpRequest) -> HttpResponse:
    """The program of the user's cohort: modules in order and where each project stands."""
    memberships = _memberships(request.user)
    choices = _cohort_choices(request.user, memberships)
    ctx: dict[str, object] = {"choices": choices, "nav_memberships": memberships}
    if choices:
        choice = _get_cohort_for_user(request, choices)
        ctx["show_switcher"] = len(choices) > 1
        ctx["cohort"] = choice.cohort
        ctx["is_learner"] = choice.role == LEARNER
        ctx["modules"] = _modules_for(choice, request.user, timezone.now())
    return render(request, "core/curriculum.html", ctx)


def _get_project_for_user(request: HttpRequest, slug: str) -> Project:
    """The project with ``slug`` if the user may see it, else 404."""
    projects = Project.objects.visible_to(request.user).select_related("module")
    return get_object_or_404(projects, slug=slug)


def _release_for_user(
    request: HttpRequest, releases: list[ProjectRelease]
) -> ProjectRelease | None:
    """The release whose dates the page shows: ``?cohort=``'s if visible, else the first."""
    slug = request.GET.get("cohort")
    for release in releases:
        if slug and release.cohort.slug == slug:
            return release
    return releases[0] if releases else None


@dataclass(frozen=True)
class ProjectBrief:
    """The part of a project page that is the same for every viewer, rendered."""

    body: SafeString  # overview, concepts, objectives, resources, requirements, tasks
    toc: SafeString  # links to those sections, for the phone and desktop contents
    task_count: int


def _project_brief(request: HttpRequest, project: Project) -> ProjectBrief:
    """The project's brief, rendered once per project version (bumped when the project,
    a task or a resource changes); its tasks and resources are read only then."""
    version = cache_version(project_version_name(project.pk))
    key = None if version is None else fragment_key("project-brief", project.pk, version)
    now = timezone.now()

    def build() -> tuple[tuple[str, str, int], datetime]:
        # Explicit orders: the models' default ones join the project to sort.
        tasks = list(project.tasks.order_by("number"))
        resources = list(project.resources.order_by("order", "id"))
        context = {"project": project, "tasks": tasks, "resources": resources}
        body = render_to_string("core/_project_brief.html", context, request)
        toc = render_to_string("core/_project_toc.html", context, request)
        return (body, toc, len(tasks)), fresh_until(None, now, entry_timeout())

    body, toc, task_count = cached_fragment(key, now, build)
    return ProjectBrief(mark_safe(body), mark_safe(toc), task_count)


@require_safe
@login_required
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A project's brief, the user's dates for it, and its tasks."""
    project = _get_project_for_user(request, slug)
    memberships = _memberships(request.user)
    roles = {membership.cohort_id: membership.role for membership in memberships}
    releases = list(
        ProjectRelease.objects.filter(project=project)
        .visible_to(request.user)
        .select_related("cohort")
        .with_deadlines_for(request.user)
        .order_by("-cohort__start_date", "cohort__name")
    )
    # The learner's own cohort first, then the cohorts they mentor or review.
    rank = {LEARNER: 0, **dict.fromkeys(STAFFING_ROLES, 1)}
    releases.sort(key=lambda release: rank.get(roles.get(release.cohort_id, ""), 2))
    release = _release_for_user(request, releases)
    now = timezone.now()
    role = roles.get(release.cohort_id) if release else None
    deadlines = release.deadlines if release else None
    state = deadlines.state(now) if deadlines else "unscheduled"
    brief = _project_brief(request, project)
    ctx = {
        "project": project,
        "module": project.module,
        "brief": brief,
        "release": release,
        "cohort": release.cohort if release else None,
        "release_choices": [
            CohortChoice(other.cohort, roles.get(other.cohort_id)) for other in releases
        ],
        "role": role,
        "deadlines": deadlines,
        # Only the learner's own extension is ever loaded, so its reason is theirs to see.
        "extension": deadlines.extension if deadlines and role == LEARNER else None,
        "state": state,
        "next_deadline": deadlines.next_deadline(now) if state == "current" else None,
        "show_toc": brief.task_count >= TOC_MIN_TASKS,
        "nav_memberships": memberships,
    }
    return render(request, "core/project_detail.html", ctx)

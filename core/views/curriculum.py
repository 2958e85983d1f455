"""The learner's pages: the curriculum of their cohort and each project's brief."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, F, FilteredRelation, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe

from core.cache import (
    FRAGMENT_MAX_SECONDS,
    cache_versions,
    cached_fragment,
    cohort_version_name,
    entry_timeout,
    fragment_key,
    fresh_until,
    project_version_name,
)
from core.models import (
    Attempt,
    Cohort,
    Deadlines,
    Extension,
    Membership,
    Module,
    Project,
    ProjectRelease,
)
from core.services.dashboards.common import next_change

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
    # Views pass this list on as ``nav_memberships``: the nav needs only each row's role,
    # so the page then makes no query of its own for it.
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


def _page_memberships(user: User) -> list[Membership]:
    """The user's memberships with their cohorts: who may open what, and the nav's links.

    Unordered by the database: the default order joins the user only to sort by email.
    """
    return list(Membership.objects.filter(user=user).select_related("cohort").order_by())


def _releases_for_user(
    user: User, project: Project, memberships: list[Membership], now: datetime
) -> tuple[list[ProjectRelease], datetime | None]:
    """``project``'s releases the user may open, with their latest extension applied
    (``release.deadlines``), newest cohort first; and when that list or their states
    next change by the clock alone (an opening or a deadline).

    The same rules as ``ProjectRelease.objects.visible_to`` (staff see every cohort's,
    mentors and reviewers their cohorts' at any time, learners their cohort's once open),
    checked against the memberships already loaded. One query: the user's extensions
    come joined, a row each, newest first.
    """
    roles = {membership.cohort_id: membership.role for membership in memberships}
    releases = ProjectRelease.objects.filter(project=project)
    if not user.is_staff:
        releases = releases.filter(cohort_id__in=list(roles))
    rows = (
        releases.select_related("cohort")
        .annotate(mine=FilteredRelation("extensions", condition=Q(extensions__learner=user)))
        .annotate(
            extension_id=F("mine__id"),
            extension_first_deadline=F("mine__first_deadline"),
            extension_second_deadline=F("mine__second_deadline"),
            extension_reason=F("mine__reason"),
        )
        .order_by("-cohort__start_date", "cohort__name", "pk", "-mine__created_at", "-mine__id")
    )
    visible: list[ProjectRelease] = []
    times: list[datetime] = []
    seen: set[int] = set()
    for release in rows:
        if release.pk in seen:  # an older extension of a release already taken
            continue
        seen.add(release.pk)
        latest: list[Extension] = []
        if release.extension_id is not None:
            latest = [
                Extension(
                    pk=release.extension_id,
                    release=release,
                    learner=user,
                    first_deadline=release.extension_first_deadline,
                    second_deadline=release.extension_second_deadline,
                    reason=release.extension_reason,
                )
            ]
        release.learner_extensions = latest
        deadlines = release.deadlines
        times += [deadlines.opens_at, deadlines.first_deadline, deadlines.second_deadline]
        role = roles.get(release.cohort_id)
        if user.is_staff or role in STAFFING_ROLES or (role == LEARNER and now >= release.opens_at):
            visible.append(release)
    return visible, next_change(times, now)


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


def _project_brief(request: HttpRequest, project: Project, version: int | None) -> ProjectBrief:
    """The project's brief, rendered once per project ``version`` (bumped when the project,
    a task or a resource changes); its tasks and resources are read only then."""
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


@dataclass(frozen=True)
class ProjectDates:
    """The part of a project page that depends on the viewer and the clock, rendered."""

    state: str  # of the release shown: "upcoming", "current", "past" or "unscheduled"
    curriculum_cohort: str  # the cohort the breadcrumb's curriculum link picks ("": default)
    card: SafeString  # the dates card: opening, deadlines, extension, multipliers


def _project_dates(
    request: HttpRequest,
    project: Project,
    memberships: list[Membership],
    versions: dict[str, int] | None,
) -> ProjectDates:
    """The user's dates for ``project``, rendered at most once a minute; 404 if the user
    may not open the project.

    Like the home page's sections (``_home_section``): the key holds the user, the
    project's version and their cohorts' versions, bumped by every change to a cohort,
    a release, an extension or a membership, so a change shows on the next request; only
    the clock's words ("3 hours left") may be a minute old, and less when an opening or
    a deadline comes sooner. A fragment is only ever stored for a user who may open the
    project. Staff see every cohort's releases, whose versions are not read here, so
    their card is rendered on each request.
    """
    user = request.user
    now = timezone.now()
    key = None
    if versions is not None and not user.is_staff:
        parts = [f"{m.cohort_id}.{versions[cohort_version_name(m.cohort_id)]}" for m in memberships]
        # Any other ?cohort= shows the default dates: one entry, however many are tried.
        slug = request.GET.get("cohort", "")
        picked = slug if any(m.cohort.slug == slug for m in memberships) else ""
        key = fragment_key(
            "project-dates",
            user.pk,
            project.pk,
            versions[project_version_name(project.pk)],
            *sorted(parts),
            picked,
        )

    def build() -> tuple[tuple[str, str, str], datetime]:
        releases, valid_until = _releases_for_user(user, project, memberships, now)
        if not releases and not user.is_staff:
            raise Http404("No such project for this user.")
        roles = {membership.cohort_id: membership.role for membership in memberships}
        # The learner's own cohort first, then the cohorts they mentor or review.
        rank = {LEARNER: 0, **dict.fromkeys(STAFFING_ROLES, 1)}
        releases.sort(key=lambda release: rank.get(roles.get(release.cohort_id, ""), 2))
        release = _release_for_user(request, releases)
        role = roles.get(release.cohort_id) if release else None
        deadlines = release.deadlines if release else None
        state = deadlines.state(now) if deadlines else "unscheduled"
        context = {
            "project": project,
            "release": release,
            "cohort": release.cohort if release else None,
            "release_choices": [
                CohortChoice(other.cohort, roles.get(other.cohort_id)) for other in releases
            ],
            "role": role,
            "deadlines": deadlines,
            # Only the user's own extension is ever loaded, so its reason is theirs to see.
            "extension": deadlines.extension if deadlines and role == LEARNER else None,
            "state": state,
            "next_deadline": deadlines.next_deadline(now) if state == "current" else None,
        }
        card = render_to_string("core/_project_dates.html", context, request).strip()
        curriculum_cohort = release.cohort.slug if release and len(releases) > 1 else ""
        return (state, curriculum_cohort, card), fresh_until(valid_until, now, FRAGMENT_MAX_SECONDS)

    state, curriculum_cohort, card = cached_fragment(key, now, build)
    return ProjectDates(state, curriculum_cohort, mark_safe(card))


@require_safe
@login_required
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A project's brief, the user's dates for it, and its tasks."""
    user = request.user
    project = get_object_or_404(Project.objects.select_related("module"), slug=slug)
    memberships = _page_memberships(user)
    if not memberships and not user.is_staff:
        raise Http404("No such project for this user.")  # no cohort, no release to open
    names = [cohort_version_name(membership.cohort_id) for membership in memberships]
    versions = cache_versions([project_version_name(project.pk), *names])
    dates = _project_dates(request, project, memberships, versions)
    version = None if versions is None else versions[project_version_name(project.pk)]
    brief = _project_brief(request, project, version)
    ctx = {
        "project": project,
        "module": project.module,
        "brief": brief,
        "dates": dates,
        "show_toc": brief.task_count >= TOC_MIN_TASKS,
        "nav_memberships": memberships,
    }
    return render(request, "core/project_detail.html", ctx)

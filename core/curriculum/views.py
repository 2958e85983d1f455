"""The learner's pages: the curriculum of their cohort and each project's brief."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe

from core.checks.selectors import SuiteCounts, checks_panel, suite_counts
from core.cohorts.models import STAFFING_ROLES
from core.curriculum.selectors import (
    CohortChoice,
    cohort_choices,
    modules_for,
    project_releases_for,
)
from core.models import Membership, Project, ProjectRelease
from core.platform.access import AuthedRequest
from core.platform.cache import (
    FRAGMENT_MAX_SECONDS,
    cache_versions,
    cached_fragment,
    entry_timeout,
    fragment_key,
    fresh_until,
    key_parts,
    learner_version_names,
    shape_of,
    version_name,
)

if TYPE_CHECKING:
    from core.models import User

LEARNER = Membership.Role.LEARNER
# A table of contents helps once a project has more tasks than fit on one screen.
TOC_MIN_TASKS = 4


def _memberships(user: User) -> list[Membership]:
    # Views pass this list on as ``nav_memberships``: the nav needs only each row's role,
    # so the page then makes no query of its own for it.
    return list(Membership.objects.filter(user=user).select_related("cohort__program"))


def _get_cohort_for_user(request: AuthedRequest, choices: list[CohortChoice]) -> CohortChoice:
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


@require_safe
@login_required
def curriculum(request: AuthedRequest) -> HttpResponse:
    """The program of the user's cohort: modules in order and where each project stands."""
    memberships = _memberships(request.user)
    choices = cohort_choices(request.user, memberships)
    ctx: dict[str, object] = {"choices": choices, "nav_memberships": memberships}
    if choices:
        choice = _get_cohort_for_user(request, choices)
        ctx["show_switcher"] = len(choices) > 1
        ctx["cohort"] = choice.cohort
        ctx["is_learner"] = choice.role == LEARNER
        ctx["modules"] = modules_for(choice, request.user, timezone.now())
    return render(request, "core/curriculum/curriculum.html", ctx)


def _page_memberships(user: User) -> list[Membership]:
    """The user's memberships with their cohorts: who may open what, and the nav's links.

    Unordered by the database: the default order joins the user only to sort by email.
    """
    return list(Membership.objects.filter(user=user).select_related("cohort").order_by())


def _release_for_user(
    request: AuthedRequest, releases: list[ProjectRelease]
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
    checks: SuiteCounts  # its automated checks (none: the page reads nothing of checks)


def _project_brief(request: AuthedRequest, project: Project, version: int | None) -> ProjectBrief:
    """The project's brief, rendered once per project ``version`` (bumped when the project,
    a task or a resource changes); its tasks and resources are read only then."""
    name = f"project-brief-{shape_of(SuiteCounts)}"  # the one dataclass the value holds
    key = None if version is None else fragment_key(name, project.pk, version)
    now = timezone.now()

    def build() -> tuple[tuple[str, str, int, SuiteCounts], datetime]:
        # Explicit orders: the models' default ones join the project to sort.
        tasks = list(project.tasks.order_by("number"))
        resources = list(project.resources.order_by("order", "id"))
        context = {"project": project, "tasks": tasks, "resources": resources}
        body = render_to_string("core/curriculum/_project_brief.html", context, request)
        toc = render_to_string("core/curriculum/_project_toc.html", context, request)
        checks = suite_counts(project)
        return (body, toc, len(tasks), checks), fresh_until(None, now, entry_timeout())

    body, toc, task_count, checks = cached_fragment(key, now, build)
    return ProjectBrief(mark_safe(body), mark_safe(toc), task_count, checks)


@dataclass(frozen=True)
class ProjectDates:
    """The part of a project page that depends on the viewer and the clock, rendered."""

    state: str  # of the release shown: "upcoming", "current", "past" or "unscheduled"
    curriculum_cohort: str  # the cohort the breadcrumb's curriculum link picks ("": default)
    card: SafeString  # the dates card: opening, deadlines, extension, multipliers


def _project_dates(
    request: AuthedRequest,
    project: Project,
    memberships: list[Membership],
    versions: dict[str, int] | None,
) -> ProjectDates:
    """The user's dates for ``project``, rendered at most once a minute; 404 if the user
    may not open the project.

    Like the home page's sections (``_home_section``): the key holds the user and
    ``versions`` (the project's, the user's own and their cohorts' schedules), so a change
    shows on the next request; only the clock's words ("3 hours left") may be a minute
    old, and less when an opening or a deadline comes sooner. A fragment is only ever
    stored for a user who may open the project. Staff see every cohort's releases, whose
    versions are not read here, so their card is rendered on each request.
    """
    user = request.user
    now = timezone.now()
    key = None
    if versions is not None and not user.is_staff:
        parts = key_parts(versions)
        # Any other ?cohort= shows the default dates: one entry, however many are tried.
        slug = request.GET.get("cohort", "")
        picked = slug if any(m.cohort.slug == slug for m in memberships) else ""
        key = fragment_key("project-dates", user.pk, project.pk, *parts, picked)

    def build() -> tuple[tuple[str, str, str], datetime]:
        releases, valid_until = project_releases_for(user, project, memberships, now)
        if not releases and not user.is_staff:
            raise Http404("No such project for this user.")
        roles = {membership.cohort_id: membership.role for membership in memberships}
        # The learner's own cohort first, then the cohorts they mentor or review.
        rank: dict[str, int] = {LEARNER: 0, **dict.fromkeys(STAFFING_ROLES, 1)}
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
            "next_deadline": (
                deadlines.next_deadline(now) if deadlines and state == "current" else None
            ),
        }
        card = render_to_string("core/curriculum/_project_dates.html", context, request).strip()
        curriculum_cohort = release.cohort.slug if release and len(releases) > 1 else ""
        return (state, curriculum_cohort, card), fresh_until(valid_until, now, FRAGMENT_MAX_SECONDS)

    state, curriculum_cohort, card = cached_fragment(key, now, build)
    return ProjectDates(state, curriculum_cohort, mark_safe(card))


@require_safe
@login_required
def project_detail(request: AuthedRequest, slug: str) -> HttpResponse:
    """A project's brief, the user's dates for it, and its tasks."""
    user = request.user
    project = get_object_or_404(Project.objects.select_related("module"), slug=slug)
    memberships = _page_memberships(user)
    if not memberships and not user.is_staff:
        raise Http404("No such project for this user.")  # no cohort, no release to open
    brief_version = version_name("project", project.pk)
    names = learner_version_names(user.pk, [membership.cohort_id for membership in memberships])
    versions = cache_versions([brief_version, *names])
    dates = _project_dates(request, project, memberships, versions)
    version = None if versions is None else versions[brief_version]
    brief = _project_brief(request, project, version)
    ctx = {
        "project": project,
        "module": project.module,
        "brief": brief,
        "dates": dates,
        "show_toc": brief.task_count >= TOC_MIN_TASKS,
        "nav_memberships": memberships,
        "checks": (
            checks_panel(user, project, brief.checks)
            if brief.checks.suites and dates.state in ("current", "past")
            else None
        ),
    }
    return render(request, "core/curriculum/project_detail.html", ctx)

"""The landing page for visitors and the signed-in home page."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe

from core.cohorts.forms import JoinCodeForm
from core.models import Cohort, Membership, ProjectRelease, User
from core.platform.access import AuthedRequest, Request
from core.platform.cache import (
    FRAGMENT_MAX_SECONDS,
    cached_html,
    fragment_key,
    fresh_until,
    learner_version_names,
    version_name,
)
from core.reporting.dashboards import LearnerHome, MentorHome, learner_home, mentor_home
from core.reporting.dashboards.common import version_parts

# Staff see the most recent cohorts on their home page; the admin lists them all.
HOME_STAFF_COHORTS = 12


@require_safe
def landing(request: Request) -> HttpResponse:
    """What ProDev Hub is, for visitors; signed-in users go to their home page."""
    if request.user.is_authenticated:
        return redirect("home")
    return render(request, "core/reporting/landing.html")


def _open_releases(user: User, memberships: list[Membership]) -> dict[int, list[ProjectRelease]]:
    """The releases open now in the user's cohorts, by cohort id, with the user's deadlines."""
    if not memberships:
        return {}
    now = timezone.now()
    releases = (
        ProjectRelease.objects.filter(cohort__in=[m.cohort_id for m in memberships])
        .visible_to(user, now)
        .open_for(user, now)
        .select_related("project__module")
        .with_deadlines_for(user)
        .order_by("first_deadline", "pk")
    )
    by_cohort: dict[int, list[ProjectRelease]] = defaultdict(list)
    for release in releases:
        by_cohort[release.cohort_id].append(release)
    return by_cohort


def _home_section(
    request: AuthedRequest,
    role: str,
    cohorts: list[Cohort],
    now: datetime,
    read_model: Callable[[User, list[Cohort], datetime], LearnerHome | MentorHome],
    **context: object,
) -> SafeString:
    """One role's part of the home page, rendered at most once a minute.

    The key holds the user and the versions the section shows (a learner's own and their
    cohorts' schedules; a mentor's cohorts'), so a change shows on the next request; only
    the clock's words ("3 hours left") may be a minute old, and less when a deadline, an
    opening or a peer SLA comes sooner.
    """
    user = request.user
    cohort_ids = [cohort.pk for cohort in cohorts]
    names = (
        learner_version_names(user.pk, cohort_ids)
        if role == "learner"
        else [version_name("cohort", pk) for pk in cohort_ids]
    )
    parts = version_parts(names)
    key = None if parts is None else fragment_key(f"home-{role}", user.pk, *parts)

    def build() -> tuple[str, datetime]:
        home = read_model(user, cohorts, now)
        html = render_to_string(
            f"core/reporting/dashboard_{role}.html", {"home": home, "now": now, **context}, request
        )
        return html, fresh_until(home.valid_until, now, FRAGMENT_MAX_SECONDS)

    return cached_html(key, now, build)


def _with_open_releases(user: User, reviewing: list[Membership]) -> list[Membership]:
    """The user's reviewer memberships, each with its cohort's releases open to peer review
    (``open_releases``, for the template; one query)."""
    open_releases = _open_releases(user, reviewing)
    for membership in reviewing:
        releases = open_releases.get(membership.cohort_id, [])
        membership.open_releases = releases  # type: ignore[attr-defined]  # for the template
    return reviewing


@require_safe
@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """The signed-in user's starting point: a section per role they hold (learner, mentor …)."""
    user = request.user
    now = timezone.now()
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("cohort__program")
        .order_by("-cohort__start_date", "cohort__name")
    )
    by_role: dict[str, list[Membership]] = defaultdict(list)
    for membership in memberships:
        by_role[membership.role].append(membership)
    learning = [membership.cohort for membership in by_role[Membership.Role.LEARNER]]
    mentoring = [membership.cohort for membership in by_role[Membership.Role.MENTOR]]
    reviewing = _with_open_releases(user, by_role[Membership.Role.REVIEWER])
    staff_cohorts = (
        list(Cohort.objects.select_related("program")[:HOME_STAFF_COHORTS]) if user.is_staff else []
    )
    context: dict[str, object] = {
        "memberships": memberships,
        "nav_memberships": memberships,
        "learner_section": (
            _home_section(request, "learner", learning, now, learner_home) if learning else ""
        ),
        "mentor_section": (
            _home_section(
                request,
                "mentor",
                mentoring,
                now,
                mentor_home,
                at_risk_score=settings.AT_RISK_SCORE,
            )
            if mentoring
            else ""
        ),
        "reviewer_memberships": reviewing,
        "staff_cohorts": staff_cohorts,
        "now": now,
    }
    if not memberships and not user.is_staff:  # "not in a cohort yet": what to do about it
        context["join_form"] = JoinCodeForm()
        context["program_contact_email"] = settings.PROGRAM_CONTACT_EMAIL
    return render(request, "core/reporting/home.html", context)

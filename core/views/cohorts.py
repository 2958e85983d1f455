"""A cohort's calendar, for the mentors of that cohort and for staff."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from core.models import Cohort, Membership


def _get_cohort_for_mentor(request: HttpRequest, slug: str) -> Cohort:
    """The cohort if the user mentors it or is staff, else 404; with its learner count."""
    cohorts = Cohort.objects.select_related("program").annotate(
        learner_count=Count("memberships", filter=Q(memberships__role="learner"))
    )
    if not request.user.is_staff:
        mentors = Membership.objects.filter(cohort=OuterRef("pk"), user=request.user)
        cohorts = cohorts.filter(Exists(mentors.filter(role="mentor")))
    return get_object_or_404(cohorts, slug=slug)


def _zone_label(cohort: Cohort, now: datetime) -> str:
    """'EAT, UTC+03:00': the zone's abbreviation and offset right now."""
    local = timezone.localtime(now, cohort.tz)
    offset = local.strftime("%z")
    return f"{local.tzname()}, UTC{offset[:3]}:{offset[3:]}"


@require_safe
@login_required
def cohort_schedule(request: HttpRequest, slug: str) -> HttpResponse:
    """Every release of the cohort in calendar order, with its dates and extensions."""
    cohort = _get_cohort_for_mentor(request, slug)
    releases = (
        cohort.releases.select_related("project__module")
        .annotate(
            extension_count=Count("extensions"),
            extended_learner_count=Count("extensions__learner", distinct=True),
        )
        .order_by("opens_at", "first_deadline", "project__module__order", "project__order")
    )
    context = {
        "cohort": cohort,
        "releases": releases,
        "tz_label": _zone_label(cohort, timezone.now()),
    }
    return render(request, "core/cohort_schedule.html", context)

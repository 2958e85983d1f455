"""Staff pages: a cohort's health (throughput, turnaround, completion) and score exports."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from core.models import Cohort, ScoreExport
from core.platform.access import AuthedRequest, require_staff
from core.platform.ratelimit import ratelimit
from core.reporting.exports import export_file_name
from core.reporting.selectors import CohortWithLearnerCount, cohort_health, export_context
from core.reporting.services import score_export_start, score_exports_prune

HEALTH_TEMPLATE = "core/reporting/staff_cohort_health.html"


def _get_cohort_for_staff(request: AuthedRequest, slug: str) -> CohortWithLearnerCount:
    """The cohort, with its learner count, for staff; 404 for everyone else."""
    require_staff(request)
    cohorts = Cohort.objects.select_related("program").with_learner_count()
    # with_learner_count() says it returns cohorts; they carry the count it annotates.
    return cast(CohortWithLearnerCount, get_object_or_404(cohorts, slug=slug))


def _get_export_for_staff(request: AuthedRequest, pk: int) -> ScoreExport:
    """The export, for staff; 404 for everyone else."""
    require_staff(request)
    return get_object_or_404(ScoreExport.objects.select_related("cohort"), pk=pk)


# --- Pages ------------------------------------------------------------------------------


@require_safe
@login_required
def staff_cohorts(request: AuthedRequest) -> HttpResponse:
    """The navigation's way to cohort health: the cohort asked for (``?cohort=``), else the
    newest cohort that has started (the one staff watch most), else the newest one."""
    require_staff(request)
    slug = request.GET.get("cohort")
    if slug:
        cohort = get_object_or_404(Cohort.objects.only("slug"), slug=slug)
        return redirect("staff_cohort_health", slug=cohort.slug)
    today = timezone.localdate()
    cohorts = Cohort.objects.only("slug")  # newest first (Cohort.Meta.ordering)
    newest = cohorts.filter(start_date__lte=today).first() or cohorts.first()
    if newest is None:
        messages.info(request, "There are no cohorts yet: create one in the admin first.")
        return redirect("home")
    return redirect("staff_cohort_health", slug=newest.slug)


@require_safe
@login_required
def staff_cohort_health(request: AuthedRequest, slug: str) -> HttpResponse:
    """Throughput, review turnaround and completion of one cohort, and its score export."""
    cohort = _get_cohort_for_staff(request, slug)
    return render(request, HEALTH_TEMPLATE, cohort_health(cohort, timezone.now()))


@require_POST
@login_required
@ratelimit("exports")
def staff_export_start(request: AuthedRequest, slug: str) -> HttpResponse:
    """Start a CSV export of the cohort's scores (or show the one in progress)."""
    cohort = _get_cohort_for_staff(request, slug)
    score_exports_prune()
    export, _ = score_export_start(cohort=cohort, requested_by=request.user)
    if not request.htmx:
        return redirect(reverse("staff_cohort_health", args=[cohort.slug]) + "#export")
    export.refresh_from_db()  # the immediate task backend has already run it
    return render(request, f"{HEALTH_TEMPLATE}#export-status", export_context(cohort, export))


@require_safe
@login_required
@never_cache
@vary_on_headers("HX-Request")
def staff_export_status(request: AuthedRequest, pk: int) -> HttpResponse:
    """The export's progress, polled by the health page until it is done or failed."""
    export = _get_export_for_staff(request, pk)
    if not request.htmx:
        return redirect(reverse("staff_cohort_health", args=[export.cohort.slug]) + "#export")
    return render(
        request, f"{HEALTH_TEMPLATE}#export-status", export_context(export.cohort, export)
    )


@require_safe
@login_required
@never_cache
def staff_export_download(request: AuthedRequest, pk: int) -> HttpResponse | FileResponse:
    """The finished CSV as an attachment; 410 once expired (and the file is deleted)."""
    export = _get_export_for_staff(request, pk)
    state = export.state()
    if state == "expired":
        score_exports_prune()
        return HttpResponse(
            "This export has expired. Start a new one from the cohort health page.",
            status=410,
            content_type="text/plain; charset=utf-8",
        )
    if state != "done" or not export.file:
        raise Http404("This export is not ready.")
    return FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=export_file_name(export),
        content_type="text/csv; charset=utf-8",
    )

"""The checks' pages: "check my code" on a project, a run's live status, the runs board."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from core.checks.forms import CheckRequestForm
from core.checks.models import CheckRun
from core.checks.selectors import checks_panel, run_view, runs_board, suite_counts
from core.checks.services import CheckRequestRefused, check_run_request
from core.checks.tasks import recover_stale_runs
from core.platform.access import AuthedRequest, require_staff
from core.platform.ratelimit import ratelimit
from core.reviews.views.submissions import get_release_for_learner

PANEL_TEMPLATE = "core/checks/_checks_panel.html"
RUN_TEMPLATE = "core/checks/run.html"


@require_POST
@login_required
@ratelimit("checks")
def project_checks(request: AuthedRequest, slug: str) -> HttpResponse:
    """Queue "check my code" on the learner's repository or zip; show the run live."""
    release = get_release_for_learner(request, slug)
    if isinstance(release, HttpResponse):
        return release
    counts = suite_counts(release.project)
    if not counts.suites:
        raise Http404("This project has no automated checks.")
    form: CheckRequestForm | None  # None once queued: the panel then offers a fresh form
    form = CheckRequestForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            check_run_request(
                learner=request.user,
                release=release,
                repo_url=data["repo_url"],
                commit_sha=data["commit_sha"],
                archive=data["archive"],
            )
        except (CheckRequestRefused, ValidationError) as error:
            form.add_error(None, error)
        else:
            if not request.htmx:
                messages.success(request, "Your code is queued for checking.")
                return redirect(reverse("project_detail", args=[slug]) + "#checks")
            form = None
    panel = checks_panel(request.user, release.project, counts, form=form)
    status = 200 if form is None or form.is_valid() else 400
    if not request.htmx:
        return render(request, RUN_TEMPLATE, {"panel": panel, "run": None}, status=status)
    # The panel's form names its project, as on the project page it is part of.
    context = {"panel": panel, "project": release.project}
    return render(request, PANEL_TEMPLATE, context, status=status)


def _get_run_for_user(request: AuthedRequest, pk: int) -> CheckRun:
    """The run if the user may see it (their own, their cohort's as a mentor, staff)."""
    return get_object_or_404(
        CheckRun.objects.visible_to(request.user).select_related(
            "release__project", "release__cohort", "learner", "iteration__attempt"
        ),
        pk=pk,
    )


@require_safe
@login_required
@never_cache
def check_run(request: AuthedRequest, pk: int) -> HttpResponse:
    """A run's status and results. Polled by HTMX with the stamp it shows: 204 while
    nothing changed, the fragment once something did."""
    run = _get_run_for_user(request, pk)
    if run.is_live:
        recover_stale_runs()  # a dead worker's run, or a lost one, is sent again
        run.refresh_from_db()
    if request.htmx and request.GET.get("stamp") == str(run.stamp):
        return HttpResponse(status=204)
    context = {"run": run_view(run, request.user, timezone.now())}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "core/checks/_run.html", context)
    return render(request, RUN_TEMPLATE, context | {"panel": None})


@require_safe
@login_required
def staff_checks(request: AuthedRequest) -> HttpResponse:
    """Staff: the queue, the running, and the last day's finished runs with their times."""
    require_staff(request)
    recover_stale_runs()
    return render(request, "core/checks/staff_checks.html", {"board": runs_board(timezone.now())})

"""Disputes: the learner's form to contest a verdict, and the page where it is decided."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.disputes.forms import DisputeForm, ResolveForm
from core.disputes.models import Dispute, DisputeQuerySet
from core.disputes.selectors import disputable_verdicts
from core.disputes.services import DisputeError, dispute_claim, dispute_open, dispute_resolve
from core.models import Attempt
from core.platform.access import AuthedRequest
from core.platform.ratelimit import ratelimit

DETAIL_TEMPLATE = "core/disputes/dispute_detail.html"


def _get_own_attempt(request: AuthedRequest, pk: int) -> Attempt:
    """The attempt if it is the user's own work, else 404 (only its learner disputes)."""
    attempts = Attempt.objects.filter(learner=request.user).select_related(
        "release__project", "release__cohort"
    )
    return get_object_or_404(attempts, pk=pk)


def _get_dispute_for_user(request: AuthedRequest, pk: int) -> Dispute:
    """The dispute if the user is its learner or may decide it, else 404."""
    return get_object_or_404(_with_page_data(Dispute.objects.visible_to(request.user)), pk=pk)


def _get_dispute_to_handle(request: AuthedRequest, pk: int) -> Dispute:
    """The dispute if the user may decide it (never its verdict's author), else 404."""
    return get_object_or_404(_with_page_data(Dispute.objects.handled_by(request.user)), pk=pk)


def _with_page_data(disputes: DisputeQuerySet) -> DisputeQuerySet:
    return disputes.select_related(
        "learner",
        "attempt__release__project",
        "attempt__release__cohort",
        "verdict__task",
        "verdict__review__iteration",
        "verdict__review__reviewer",
        "assigned_to",
        "claimed_by",
        "resolved_by",
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@ratelimit("comments")
def dispute_new(request: AuthedRequest, pk: int) -> HttpResponse:
    """The learner contests one failed verdict of their attempt, with a reason."""
    attempt = _get_own_attempt(request, pk)
    verdicts = disputable_verdicts(attempt)
    form = DisputeForm(request.POST or None, verdicts=verdicts)
    if request.method == "POST" and form.is_valid():
        try:
            dispute_open(
                learner=request.user,
                verdict=form.cleaned_data["verdict"],
                reason=form.cleaned_data["reason"],
            )
        except DisputeError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                "Dispute sent: a mentor who did not give this verdict will decide it. "
                "You will be notified of the outcome.",
            )
            return redirect(f"{attempt.get_absolute_url()}#disputes")
    context = {
        "attempt": attempt,
        "project": attempt.release.project,
        "cohort": attempt.release.cohort,
        "form": form,
        "has_choices": verdicts.exists() if not form.is_bound else True,
        "dispute_window_days": settings.DISPUTE_WINDOW_DAYS,
        "disputes_per_attempt": settings.DISPUTES_PER_ATTEMPT,
    }
    return render(request, "core/disputes/dispute_new.html", context)


def _detail_context(
    request: AuthedRequest, dispute: Dispute, form: ResolveForm | None = None
) -> dict[str, object]:
    user = request.user
    now = timezone.now()
    handles = dispute.learner_id != user.pk
    return {
        "dispute": dispute,
        "attempt": dispute.attempt,
        "project": dispute.attempt.release.project,
        "cohort": dispute.attempt.release.cohort,
        "verdict": dispute.verdict,
        "task": dispute.verdict.task,
        "review": dispute.verdict.review,
        "iteration": dispute.verdict.review.iteration,
        "handles": handles,
        "claim_live": dispute.claim_is_live(now),
        "held": dispute.held_by(user, now),
        "minutes_left": dispute.minutes_left(now),
        "form": form or ResolveForm(),
    }


@require_safe
@login_required
def dispute_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """One dispute: the verdict, the learner's reason, its claim and its outcome."""
    dispute = _get_dispute_for_user(request, pk)
    return render(request, DETAIL_TEMPLATE, _detail_context(request, dispute))


@require_POST
@login_required
@ratelimit("review_requests")
def dispute_claim_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """Take the dispute for CLAIM_MINUTES, so nobody else decides it meanwhile."""
    dispute = _get_dispute_to_handle(request, pk)
    try:
        dispute_claim(dispute=dispute, user=request.user)
    except DisputeError as error:
        messages.error(request, str(error))
    return redirect(dispute.get_absolute_url())


@require_POST
@login_required
@ratelimit("review_requests")
def dispute_resolve_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """Uphold or overturn the verdict, with a comment for the learner."""
    dispute = _get_dispute_to_handle(request, pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            decided = dispute_resolve(
                dispute=dispute,
                user=request.user,
                outcome=form.cleaned_data["outcome"],
                comment=form.cleaned_data["comment"],
            )
        except DisputeError as error:
            messages.error(request, str(error))
            return redirect(dispute.get_absolute_url())
        messages.success(
            request,
            f"Dispute {decided.get_status_display().lower()}: {dispute.learner.name} is notified.",
        )
        return redirect(decided.get_absolute_url())
    return render(request, DETAIL_TEMPLATE, _detail_context(request, dispute, form))

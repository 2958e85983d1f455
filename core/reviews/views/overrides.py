"""Staff's adjustment page: set or clear a task verdict or the final score of an attempt."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from core.models import MAX_ID, Attempt, ScoreOverride
from core.platform.access import AuthedRequest, require_staff
from core.reviews.forms import ScoreOverrideForm, VerdictOverrideForm
from core.reviews.overrides import OverrideRefused, score_override_clear, score_override_set
from core.reviews.scoring import (
    Receipt,
    StandingOverrides,
    attempt_receipts,
    best_receipt,
    final_score,
)

TEMPLATE = "core/reviews/attempt_adjust.html"


def _standing(overrides: list[ScoreOverride]) -> StandingOverrides:
    """The standing ones among ``overrides`` (already loaded: no query)."""
    standing = [override for override in overrides if override.is_standing]
    return StandingOverrides(
        verdicts={
            override.task_id: override
            for override in standing
            if override.kind == ScoreOverride.Kind.VERDICT and override.task_id is not None
        },
        score=next((o for o in standing if o.kind == ScoreOverride.Kind.SCORE), None),
    )


def _context(
    attempt: Attempt,
    score_form: ScoreOverrideForm | None = None,
    verdict_form: VerdictOverrideForm | None = None,
) -> dict[str, object]:
    overrides = list(attempt.overrides.select_related("task", "created_by", "cleared_by"))
    standing = _standing(overrides)
    best: Receipt | None = best_receipt(attempt_receipts(attempt, standing=standing))
    tasks = [line.task for line in best.lines] if best else []
    return {
        "attempt": attempt,
        "learner": attempt.learner,
        "project": attempt.release.project,
        "cohort": attempt.release.cohort,
        "best": best,
        "score": final_score(best, standing),
        "standing": [override for override in overrides if override.is_standing],
        "cleared": [override for override in overrides if not override.is_standing],
        "score_form": score_form or ScoreOverrideForm(prefix="score"),
        "verdict_form": verdict_form or VerdictOverrideForm(prefix="verdict", tasks=tasks),
    }


def _post(request: AuthedRequest, attempt: Attempt) -> HttpResponse:
    action = request.POST.get("action")
    if action == "clear":
        override_id = request.POST.get("override", "")
        if not override_id.isdigit() or int(override_id) > MAX_ID:
            return HttpResponseBadRequest("Which adjustment?")
        override = get_object_or_404(attempt.overrides.standing(), pk=int(override_id))
        try:
            score_override_clear(override=override, by=request.user)
        except OverrideRefused as error:  # cleared by someone else meanwhile
            messages.error(request, str(error))
        else:
            messages.success(request, "Adjustment cleared: the reviews’ verdicts apply again.")
        return redirect(f"{attempt.get_absolute_url()}#score-receipt")
    if action == "score":
        score_form = ScoreOverrideForm(request.POST, prefix="score")
        if score_form.is_valid():
            try:
                score_override_set(
                    attempt=attempt,
                    by=request.user,
                    score=score_form.cleaned_data["score"],
                    reason=score_form.cleaned_data["reason"],
                )
            except OverrideRefused as error:
                score_form.add_error(None, str(error))
            else:
                messages.success(request, "Score adjusted. The learner sees it on the receipt.")
                return redirect(f"{attempt.get_absolute_url()}#score-receipt")
        return render(request, TEMPLATE, _context(attempt, score_form=score_form))
    if action == "verdict":
        tasks = list(attempt.release.project.tasks.order_by("number"))
        verdict_form = VerdictOverrideForm(request.POST, prefix="verdict", tasks=tasks)
        if verdict_form.is_valid():
            try:
                score_override_set(
                    attempt=attempt,
                    by=request.user,
                    task=verdict_form.cleaned_data["task"],
                    passed=verdict_form.cleaned_data["passed"],
                    reason=verdict_form.cleaned_data["reason"],
                )
            except OverrideRefused as error:
                verdict_form.add_error(None, str(error))
            else:
                messages.success(request, "Verdict adjusted. The learner sees it on the receipt.")
                return redirect(f"{attempt.get_absolute_url()}#score-receipt")
        return render(request, TEMPLATE, _context(attempt, verdict_form=verdict_form))
    return HttpResponseBadRequest("Choose what to adjust.")


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def attempt_adjust(request: AuthedRequest, pk: int) -> HttpResponse:
    """Staff set or clear a task verdict or the final score of an attempt, with a reason."""
    require_staff(request)
    attempt = get_object_or_404(
        Attempt.objects.select_related("learner", "release__project", "release__cohort"), pk=pk
    )
    if request.method == "POST":
        return _post(request, attempt)
    return render(request, TEMPLATE, _context(attempt))

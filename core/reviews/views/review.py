"""The mentor's review loop: the queue, claims on iterations, and the review page."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from core.checks.selectors import iteration_checks
from core.disputes.selectors import DISPUTES_SHOWN, disputes_to_handle
from core.models import Cohort, Iteration, Review, ReviewClaim
from core.platform.access import AuthedRequest
from core.platform.cache import (
    CSRF_PLACEHOLDER,
    FRAGMENT_MAX_SECONDS,
    cached_fragment,
    fragment_key,
    fresh_until,
    version_name,
    with_csrf_token,
)
from core.platform.paging import page_number
from core.platform.ratelimit import ratelimit
from core.reporting.dashboards.common import version_parts
from core.reviews.forms import QueueFilterForm, ReviewForm
from core.reviews.selectors.review import (
    QueueFilters,
    ReviewContext,
    filtered_queue,
    queue_context,
    released_projects,
    review_context,
)
from core.reviews.services import (
    ReviewFlowError,
    claim_extend,
    claim_next,
    claim_release,
    claim_take,
    review_save,
)

QUEUE_TEMPLATE = "core/reviews/review_queue.html"


def _queue_filters(request: AuthedRequest, params: QueryDict) -> QueueFilters:
    """The user's mentored cohorts (all for staff) and the chosen filters; 404 for non-mentors."""
    user = request.user
    cohort_list = list(Cohort.objects.overseen_by(user).order_by("name"))
    if not cohort_list and not user.is_staff:
        raise Http404("Only mentors have a review queue.")
    versions = version_parts(version_name("cohort", cohort.pk) for cohort in cohort_list)
    projects = released_projects(cohort_list, versions, timezone.now())
    form = QueueFilterForm(params, cohorts=cohort_list, projects=projects)
    return QueueFilters(form=form, cohorts=cohort_list, chosen=form.filters(), versions=versions)


def _queue_table(request: AuthedRequest, filters: QueueFilters) -> SafeString:
    """The queue table, rendered at most once a minute per mentor, filters and page.

    The key holds the versions of the cohorts the table lists: a submission, a claim
    taken, extended or released, a review or a decision bumps them, so the next request
    shows it. Only the clock's words ("2 hours", "12 min left") may be a minute old, and
    less when a claim expires or peer work escalates sooner. The CSRF token is never
    cached: each request puts its own in.
    """
    user = request.user
    now = timezone.now()
    page = page_number(request.GET.get("page"))
    key = None
    if filters.versions is not None:
        key = fragment_key("queue", user.pk, filters.query, page, *filters.versions)

    def build() -> tuple[str, datetime]:
        context = queue_context(user, filters, request.GET, now)
        html = render_to_string(
            f"{QUEUE_TEMPLATE}#queue-table", {**context, "csrf_token": CSRF_PLACEHOLDER}
        )
        if context["page_obj"].number != page:
            # A page past the last shows the last: not stored under its own number, so
            # ?page=2, 3, 4 … cannot fill the cache with copies of one table.
            return html, now
        return html, fresh_until(context["valid_until"], now, FRAGMENT_MAX_SECONDS)

    return with_csrf_token(cached_fragment(key, now, build), request)


def _wants_fragment(request: AuthedRequest) -> bool:
    # A history restore asks for the whole page even though it is an HTMX request.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _queue_url(params: QueryDict | dict[str, str]) -> str:
    """The queue with the filters (and page) found in ``params``."""
    kept = {name: params[name] for name in ("cohort", "project", "page") if params.get(name)}
    url = reverse("review_queue")
    return f"{url}?{urlencode(kept)}" if kept else url


def _back(request: AuthedRequest) -> HttpResponse:
    """Back where the form was posted from: a safe ``next`` URL, else the filtered queue."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if target and safe else _queue_url(request.POST))


def _queue_fragment(request: AuthedRequest) -> HttpResponse:
    """The refreshed queue table with this request's messages shown inside it (HTMX)."""
    filters = _queue_filters(request, request.POST)
    context = queue_context(request.user, filters, request.POST, timezone.now())
    return render(request, f"{QUEUE_TEMPLATE}#queue-table", context | {"inline_messages": True})


def _after_claim_action(request: AuthedRequest) -> HttpResponse:
    return _queue_fragment(request) if request.htmx else _back(request)


def _get_iteration_for_user(request: AuthedRequest, pk: int) -> Iteration:
    """The iteration if the user may review it (their cohorts', never their own), else 404."""
    return get_object_or_404(Iteration.objects.reviewable_by(request.user), pk=pk)


@require_safe
@login_required
@vary_on_headers("HX-Request")
def review_queue(request: AuthedRequest) -> HttpResponse:
    """Waiting iterations of the mentor's cohorts, oldest first, with who is reviewing what."""
    filters = _queue_filters(request, request.GET)
    table = _queue_table(request, filters)
    if _wants_fragment(request):
        return HttpResponse(table)
    context = {"filter_form": filters.form, "queue_table": table}
    # Open disputes this mentor may decide, above the queue (core/disputes).
    context["disputes"] = disputes_to_handle(
        request.user, DISPUTES_SHOWN, [cohort.pk for cohort in filters.cohorts]
    )
    return render(request, QUEUE_TEMPLATE, context)


@require_POST
@login_required
@ratelimit("review_requests")
def review_claim(request: AuthedRequest, pk: int) -> HttpResponse:
    """Take the iteration for CLAIM_MINUTES and open its review page."""
    iteration = _get_iteration_for_user(request, pk)
    try:
        claim_take(iteration=iteration, reviewer=request.user)
    except ReviewFlowError as error:
        messages.error(request, str(error))
        return _after_claim_action(request)
    url = reverse("review_detail", args=[iteration.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_POST
@login_required
def review_extend(request: AuthedRequest, pk: int) -> HttpResponse:
    """Give the user's claim on the iteration a fresh CLAIM_MINUTES."""
    iteration = _get_iteration_for_user(request, pk)
    try:
        claim = claim_extend(iteration=iteration, reviewer=request.user)
    except ReviewFlowError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Claim extended: you hold iteration {iteration.number} of "
            f"{iteration.attempt.learner.name}'s work for {claim.minutes_left()} more minutes.",
        )
    return _after_claim_action(request)


@require_POST
@login_required
def review_release(request: AuthedRequest, pk: int) -> HttpResponse:
    """Hand the iteration back to the queue for another mentor."""
    iteration = _get_iteration_for_user(request, pk)
    try:
        claim_release(iteration=iteration, reviewer=request.user)
    except ReviewFlowError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Released: {iteration.attempt.learner.name}'s iteration {iteration.number} "
            "is back in the queue.",
        )
    return _after_claim_action(request)


@require_POST
@login_required
@ratelimit("review_requests")
def review_claim_next(request: AuthedRequest) -> HttpResponse:
    """Claim the oldest free iteration of the (filtered) queue and open it."""
    filters = _queue_filters(request, request.POST)
    try:
        claim = claim_next(reviewer=request.user, queue=filtered_queue(request.user, filters))
    except ReviewFlowError as error:
        messages.error(request, str(error))
        return redirect(_queue_url(filters.chosen))
    if claim is None:
        messages.info(request, "Nothing to claim: every waiting iteration is being reviewed.")
        return redirect(_queue_url(filters.chosen))
    return redirect("review_detail", pk=claim.iteration_id)


# The review page.


def _get_iteration_for_review(request: AuthedRequest, pk: int) -> Iteration:
    """The iteration with what the review page shows of it, if the user may review it."""
    iterations = (
        Iteration.objects.reviewable_by(request.user)
        .select_related("attempt__learner", "attempt__release__project", "attempt__release__cohort")
        .prefetch_related("tasks_claimed", "attachments")
    )
    return get_object_or_404(iterations, pk=pk)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def review_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """The learner's iteration beside the verdict form; the claim holder saves or submits."""
    iteration = _get_iteration_for_review(request, pk)
    context = review_context(request.user, iteration, timezone.now())
    tasks, own_review, checks = context["tasks"], context["own_review"], context["checks"]
    if request.method != "POST":
        initial = ReviewForm.initial_for(own_review)
        form = ReviewForm(
            initial=initial, tasks=tasks, disabled=not context["editable"], checks=checks
        )
        return render(request, "core/reviews/review_detail.html", context | {"form": form})

    if own_review is not None and not own_review.is_draft:
        messages.info(request, "This review was already submitted.")
        return redirect("review_queue")
    form = ReviewForm(request.POST, tasks=tasks, checks=checks)
    if form.is_valid():
        try:
            review, submitted_now = review_save(
                iteration=iteration,
                reviewer=request.user,
                verdicts=form.verdicts(),
                feedback=form.cleaned_data["feedback"],
                decision=form.cleaned_data.get("decision", ""),
                submit=form.submitting,
            )
        except ReviewFlowError as error:
            form.add_error(None, str(error))
        else:
            return _after_review_saved(request, iteration, review, submitted_now, context)
    return render(request, "core/reviews/review_detail.html", context | {"form": form})


@require_POST
@login_required
def review_draft(request: AuthedRequest, pk: int) -> HttpResponse:
    """Keep the claim holder's review as a draft while they type (the form's autosave,
    over HTMX); answers with the line that says whether it was saved."""
    iteration = _get_iteration_for_review(request, pk)
    now = timezone.now()
    tasks = list(iteration.attempt.release.project.tasks.all())
    checks = iteration_checks(iteration, request.user, now)
    form = ReviewForm(request.POST, tasks=tasks, checks=checks)  # no action: a draft
    context = {"cohort": iteration.attempt.release.cohort, "saved_at": now}
    if not form.is_valid():
        context["error"] = "some answers are too long; see the fields when you save."
    else:
        try:
            review, _ = review_save(
                iteration=iteration,
                reviewer=request.user,
                verdicts=form.verdicts(),
                feedback=form.cleaned_data["feedback"],
                decision=form.cleaned_data.get("decision", ""),
                submit=False,
            )
        except ReviewFlowError:
            context["error"] = (
                "you no longer hold this review. What you typed is still on this page; "
                "claim the review again (or copy your text) to keep it."
            )
        else:
            if not review.is_draft:  # a late keystroke after "Submit review"
                context["error"] = "this review was submitted already."
    return render(request, "core/reviews/_draft_status.html", context)


def _after_review_saved(
    request: AuthedRequest,
    iteration: Iteration,
    review: Review,
    submitted_now: bool,
    context: ReviewContext,
) -> HttpResponse:
    """Submitted: back to the queue. Draft: back to the page, the claim still held."""
    if review.is_draft:
        claim = context["claim"]
        minutes = claim.minutes_left() if isinstance(claim, ReviewClaim) else 0
        messages.success(
            request, f"Draft saved. You still hold this review for {minutes} more minutes."
        )
        return redirect("review_detail", pk=iteration.pk)
    if not submitted_now:  # the other tab or the double click won
        messages.info(request, "This review was already submitted.")
        return redirect("review_queue")
    learner = iteration.attempt.learner.name
    messages.success(
        request,
        f"Review submitted: {review.get_decision_display().lower()}. {learner} has been notified.",
    )
    return redirect("review_queue")


@require_safe
@login_required
@never_cache
def review_checks(request: AuthedRequest, pk: int) -> HttpResponse:
    """The review page's checks card, polled while they run (204 while nothing changed);
    its answer also refreshes every task's checks in the form."""
    iteration = _get_iteration_for_review(request, pk)
    checks = iteration_checks(iteration, request.user, timezone.now())
    if checks is None:
        raise Http404("This iteration was never checked.")
    if not request.htmx:
        return redirect("review_detail", pk=iteration.pk)
    if request.GET.get("stamp") == str(checks.run.run.stamp):
        return HttpResponse(status=204)
    form = ReviewForm(tasks=list(iteration.attempt.release.project.tasks.all()), checks=checks)
    return render(
        request,
        "core/checks/_review_checks.html",
        {"checks": checks, "iteration": iteration, "rows": form.task_rows, "oob": True},
    )

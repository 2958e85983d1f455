"""The mentor's review loop: the queue, claims on iterations, and the review page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Min, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from core.cache import (
    CSRF_PLACEHOLDER,
    FRAGMENT_MAX_SECONDS,
    cached_fragment,
    entry_timeout,
    fragment_key,
    fresh_until,
    versioned_key,
    with_csrf_token,
)
from core.forms import QueueFilterForm, ReviewForm
from core.models import (
    Cohort,
    Iteration,
    Membership,
    Project,
    ProjectRelease,
    Review,
    ReviewClaim,
    Verdict,
)
from core.ratelimit import ratelimit
from core.services.dashboards import queue_stats
from core.services.dashboards.common import cohort_version_parts
from core.services.peer import is_escalated
from core.services.reviews import (
    ReviewFlowError,
    claim_extend,
    claim_next,
    claim_release,
    claim_take,
    review_save,
)

if TYPE_CHECKING:
    from core.models import User

QUEUE_PAGE_SIZE = 25
QUEUE_DEFERRED = [
    "notes",
    "attempt__learner__password",
    *(
        f"attempt__release__project__{name}"
        for name in ("summary", "description", "concepts", "objectives", "requirements")
    ),
]
QUEUE_TEMPLATE = "core/review_queue.html"


@dataclass(frozen=True)
class QueueFilters:
    """The cohorts and projects a mentor may filter by, and the filters chosen."""

    form: QueueFilterForm
    cohorts: list[Cohort]
    chosen: dict[str, str]
    # ``<cohort id>.<version>`` of each cohort, for cache keys; None if the cache is down.
    versions: list[str] | None

    @property
    def query(self) -> str:
        """The chosen filters as a query string, for links that must keep them."""
        return urlencode(self.chosen)


def _released_projects(
    cohorts: list[Cohort], versions: list[str] | None, now: datetime
) -> list[Project]:
    """The projects open in ``cohorts``, by title; cached until the cohorts change or the
    next release opens."""
    key = None if versions is None else versioned_key("queue-projects", *versions)

    def build() -> tuple[list[Project], datetime]:
        releases = ProjectRelease.objects.filter(cohort__in=cohorts).select_related("project")
        releases = releases.only("opens_at", "project__slug", "project__title")
        opened = {r.project_id: r.project for r in releases if r.opens_at <= now}
        opening = [r.opens_at for r in releases if r.opens_at > now]
        projects = sorted(opened.values(), key=lambda project: (project.title, project.pk))
        return projects, fresh_until(min(opening, default=None), now, entry_timeout())

    return cached_fragment(key, now, build)


def _queue_filters(request: HttpRequest, params: QueryDict) -> QueueFilters:
    """The user's mentored cohorts (all for staff) and the chosen filters; 404 for non-mentors."""
    user = request.user
    cohorts = Cohort.objects.order_by("name")
    if not user.is_staff:
        cohorts = cohorts.filter(memberships__user=user, memberships__role=Membership.Role.MENTOR)
    cohort_list = list(cohorts)
    if not cohort_list and not user.is_staff:
        raise Http404("Only mentors have a review queue.")
    versions = cohort_version_parts(cohort.pk for cohort in cohort_list)
    projects = _released_projects(cohort_list, versions, timezone.now())
    form = QueueFilterForm(params, cohorts=cohort_list, projects=projects)
    return QueueFilters(form=form, cohorts=cohort_list, chosen=form.filters(), versions=versions)


def _filtered_queue(user: User, filters: QueueFilters) -> QuerySet[Iteration]:
    """Waiting iterations the user may review, narrowed to the chosen cohort and project."""
    cohort_ids = [cohort.pk for cohort in filters.cohorts]
    queue = Iteration.objects.reviewable_by(user, cohort_ids).waiting().for_mentor_queue()
    if "cohort" in filters.chosen:
        queue = queue.filter(cohort__slug=filters.chosen["cohort"])
    if "project" in filters.chosen:
        queue = queue.filter(attempt__release__project__slug=filters.chosen["project"])
    return queue


def _queue_context(
    user: User, filters: QueueFilters, params: QueryDict, now: datetime
) -> dict[str, object]:
    """Everything the queue table shows, oldest iteration first, and until when it is right."""
    queue = _filtered_queue(user, filters)
    summary = queue.aggregate(total=Count("pk"), oldest=Min("submitted_at"))
    live_claims = ReviewClaim.objects.live(now).select_related("reviewer")
    rows = (
        queue.select_related(
            "attempt__learner", "attempt__release__project", "attempt__release__cohort"
        )
        # The queue shows titles and names: leave the briefs and notes in the database.
        .defer(*QUEUE_DEFERRED)
        .prefetch_related(Prefetch("claims", queryset=live_claims, to_attr="live_claims"))
        .order_by("submitted_at", "pk")
    )
    paginator = Paginator(rows, QUEUE_PAGE_SIZE)
    paginator.count = summary["total"]  # already counted above: no second COUNT query
    page = paginator.get_page(params.get("page"))
    for iteration in page:  # past the peer SLA: the row says "Escalated"
        iteration.escalated = is_escalated(iteration, now)  # type: ignore[attr-defined]
    held = list(
        ReviewClaim.objects.filter(reviewer=user).live(now).values_list("expires_at", flat=True)
    )
    # The table changes by itself when a claim it shows (or one of the user's) expires,
    # or when peer work escalates into the queue.
    changes = [claim.expires_at for iteration in page for claim in iteration.live_claims]
    changes += held
    changes += [
        stats.valid_until
        for stats in queue_stats([cohort.pk for cohort in filters.cohorts], now).values()
        if stats.valid_until is not None
    ]
    return {
        "user": user,
        "filters": filters.chosen,
        "filter_query": filters.query,
        "show_cohort": len(filters.cohorts) > 1,
        "page_obj": page,
        "summary": summary,
        "held_count": len(held),
        "max_claims": settings.MAX_CLAIMS,
        "claim_minutes": settings.CLAIM_MINUTES,
        "now": now,
        "valid_until": min(changes, default=None),
    }


def _page_number(params: QueryDict) -> int:
    """The page asked for, as the paginator reads it (anything else is the first page)."""
    try:
        return max(int(params.get("page", 1)), 1)
    except ValueError:
        return 1


def _queue_table(request: HttpRequest, filters: QueueFilters) -> SafeString:
    """The queue table, rendered at most once a minute per mentor, filters and page.

    The key holds the versions of the cohorts the table lists: a submission, a claim
    taken, extended or released, a review or a decision bumps them, so the next request
    shows it. Only the clock's words ("2 hours", "12 min left") may be a minute old, and
    less when a claim expires or peer work escalates sooner. The CSRF token is never
    cached: each request puts its own in.
    """
    user = request.user
    now = timezone.now()
    key = None
    if filters.versions is not None:
        page = _page_number(request.GET)
        key = fragment_key("queue", user.pk, filters.query, page, *filters.versions)

    def build() -> tuple[str, datetime]:
        context = _queue_context(user, filters, request.GET, now)
        html = render_to_string(
            f"{QUEUE_TEMPLATE}#queue-table", {**context, "csrf_token": CSRF_PLACEHOLDER}
        )
        return html, fresh_until(context["valid_until"], now, FRAGMENT_MAX_SECONDS)

    return with_csrf_token(cached_fragment(key, now, build), request)


def _wants_fragment(request: HttpRequest) -> bool:
    # A history restore asks for the whole page even though it is an HTMX request.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _queue_url(params: QueryDict | dict[str, str]) -> str:
    """The queue with the filters (and page) found in ``params``."""
    kept = {name: params[name] for name in ("cohort", "project", "page") if params.get(name)}
    url = reverse("review_queue")
    return f"{url}?{urlencode(kept)}" if kept else url


def _back(request: HttpRequest) -> HttpResponse:
    """Back where the form was posted from: a safe ``next`` URL, else the filtered queue."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if target and safe else _queue_url(request.POST))


def _queue_fragment(request: HttpRequest) -> HttpResponse:
    """The refreshed queue table with this request's messages shown inside it (HTMX)."""
    filters = _queue_filters(request, request.POST)
    context = _queue_context(request.user, filters, request.POST, timezone.now())
    context["inline_messages"] = True
    return render(request, f"{QUEUE_TEMPLATE}#queue-table", context)


def _after_claim_action(request: HttpRequest) -> HttpResponse:
    return _queue_fragment(request) if request.htmx else _back(request)


def _get_iteration_for_user(request: HttpRequest, pk: int) -> Iteration:
    """The iteration if the user may review it (their cohorts', never their own), else 404."""
    return get_object_or_404(Iteration.objects.reviewable_by(request.user), pk=pk)


@require_safe
@login_required
@vary_on_headers("HX-Request")
def review_queue(request: HttpRequest) -> HttpResponse:
    """Waiting iterations of the mentor's cohorts, oldest first, with who is reviewing what."""
    filters = _queue_filters(request, request.GET)
    table = _queue_table(request, filters)
    if _wants_fragment(request):
        return HttpResponse(table)
    return render(request, QUEUE_TEMPLATE, {"filter_form": filters.form, "queue_table": table})


@require_POST
@login_required
@ratelimit("review_requests")
def review_claim(request: HttpRequest, pk: int) -> HttpResponse:
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
def review_extend(request: HttpRequest, pk: int) -> HttpResponse:
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
def review_release(request: HttpRequest, pk: int) -> HttpResponse:
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
def review_claim_next(request: HttpRequest) -> HttpResponse:
    """Claim the oldest free iteration of the (filtered) queue and open it."""
    filters = _queue_filters(request, request.POST)
    try:
        claim = claim_next(reviewer=request.user, queue=_filtered_queue(request.user, filters))
    except ReviewFlowError as error:
        messages.error(request, str(error))
        return redirect(_queue_url(filters.chosen))
    if claim is None:
        messages.info(request, "Nothing to claim: every waiting iteration is being reviewed.")
        return redirect(_queue_url(filters.chosen))
    return redirect("review_detail", pk=claim.iteration_id)


# The review page.

_COMMIT_PATHS = {
    "github.com": "/commit/",
    "gitlab.com": "/-/commit/",
    "bitbucket.org": "/commits/",
    "codeberg.org": "/commit/",
}


def commit_url(repo_url: str, sha: str) -> str:
    """The commit's page on the repository's host, or '' when we do not know the host."""
    host = (urlsplit(repo_url).hostname or "").lower()
    if not sha or host not in _COMMIT_PATHS:
        return ""
    base = repo_url.rstrip("/").removesuffix(".git")
    return f"{base}{_COMMIT_PATHS[host]}{sha}"


def _get_iteration_for_review(request: HttpRequest, pk: int) -> Iteration:
    """The iteration with what the review page shows of it, if the user may review it."""
    iterations = (
        Iteration.objects.reviewable_by(request.user)
        .select_related("attempt__learner", "attempt__release__project", "attempt__release__cohort")
        .prefetch_related("tasks_claimed", "attachments")
    )
    return get_object_or_404(iterations, pk=pk)


def _review_context(request: HttpRequest, iteration: Iteration, now: datetime) -> dict[str, object]:
    """The iteration's tasks, claim, the user's own review and the attempt's other iterations."""
    attempt = iteration.attempt
    submitted = Review.objects.filter(submitted_at__isnull=False).select_related("reviewer")
    history = list(
        attempt.iterations.prefetch_related(
            Prefetch("reviews", queryset=submitted, to_attr="submitted_reviews")
        ).order_by("-number")
    )
    current = next(item for item in history if item.pk == iteration.pk)
    claim = (
        ReviewClaim.objects.filter(iteration=iteration).live(now).select_related("reviewer").first()
    )
    own_review = (
        Review.objects.filter(iteration=iteration, reviewer=request.user)
        .prefetch_related("verdicts")
        .first()
    )
    holds_claim = claim is not None and claim.reviewer_id == request.user.pk
    waiting = iteration.status == Iteration.Status.WAITING
    return {
        "iteration": iteration,
        "attempt": attempt,
        "release": attempt.release,
        "project": attempt.release.project,
        "cohort": attempt.release.cohort,
        "learner": attempt.learner,
        "tasks": list(attempt.release.project.tasks.all()),
        "claimed_ids": {task.pk for task in iteration.tasks_claimed.all()},
        "commit_url": commit_url(iteration.repo_url, iteration.commit_sha),
        "other_iterations": [item for item in history if item.pk != iteration.pk],
        "latest_iteration": history[0],
        "submitted_reviews": current.submitted_reviews,
        "peer_reviews": _peer_reviews(current.submitted_reviews),
        "claim": claim,
        "holds_claim": holds_claim,
        "own_review": own_review,
        "waiting": waiting,
        "editable": waiting and holds_claim and (own_review is None or own_review.is_draft),
        "now": now,
    }


def _peer_reviews(submitted: list[Review]) -> list[Review]:
    """The iteration's submitted peer reviews with their verdicts, for the mentor's context.

    Their verdicts are fetched only when there are peer reviews (one query then).
    """
    peers = [review for review in submitted if review.kind == Review.Kind.PEER]
    if peers:
        verdicts: dict[int, list[Verdict]] = {}
        for verdict in Verdict.objects.filter(review__in=peers).select_related("task"):
            verdicts.setdefault(verdict.review_id, []).append(verdict)
        for review in peers:
            review.peer_verdicts = sorted(  # type: ignore[attr-defined]
                verdicts.get(review.pk, []), key=lambda verdict: verdict.task.number
            )
    return peers


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The learner's iteration beside the verdict form; the claim holder saves or submits."""
    iteration = _get_iteration_for_review(request, pk)
    context = _review_context(request, iteration, timezone.now())
    tasks, own_review = context["tasks"], context["own_review"]
    if request.method != "POST":
        initial = ReviewForm.initial_for(own_review)
        form = ReviewForm(initial=initial, tasks=tasks, disabled=not context["editable"])
        return render(request, "core/review_detail.html", context | {"form": form})

    if own_review is not None and not own_review.is_draft:
        messages.info(request, "This review was already submitted.")
        return redirect("review_queue")
    form = ReviewForm(request.POST, tasks=tasks)
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
    return render(request, "core/review_detail.html", context | {"form": form})


def _after_review_saved(
    request: HttpRequest,
    iteration: Iteration,
    review: Review,
    submitted_now: bool,
    context: dict[str, object],
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

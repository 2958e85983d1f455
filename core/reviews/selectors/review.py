"""Reads of the mentor's review loop: the queue table and the review page, as they show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, cast
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, Min, Prefetch, QuerySet
from django.http import QueryDict

from core.checks.selectors import ChecksBadge, IterationChecks, checks_badges, iteration_checks
from core.models import (
    Attempt,
    Cohort,
    Iteration,
    Project,
    ProjectRelease,
    Review,
    ReviewClaim,
    Task,
    Verdict,
)
from core.peer.services import is_escalated
from core.platform.cache import cached_fragment, entry_timeout, fresh_until, versioned_key
from core.platform.paging import page_number
from core.reviews.forms import QueueFilterForm
from core.reviews.models import IterationQuerySet

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

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


class HeldClaims(TypedDict):
    live_claims: list[ReviewClaim]  # its claims still held (prefetched)


class QueueRowMarks(HeldClaims):
    escalated: bool  # past its peer SLA (set for the table)
    checks: ChecksBadge | None  # its newest check run, summed up (set for the table)


class SubmittedReviews(TypedDict):
    submitted_reviews: list[Review]  # prefetched


if TYPE_CHECKING:  # WithAnnotations takes two arguments for mypy only
    QueueRow = WithAnnotations[Iteration, HeldClaims]
    MarkedQueueRow = WithAnnotations[Iteration, QueueRowMarks]
    IterationWithReviews = WithAnnotations[Iteration, SubmittedReviews]


class QueueContext(TypedDict):
    """What the queue table renders."""

    user: User
    filters: dict[str, str]
    filter_query: str
    show_cohort: bool
    page_obj: Page[QueueRow]
    summary: dict[str, object]
    held_count: int
    max_claims: int
    claim_minutes: int
    now: datetime
    valid_until: datetime | None


class ReviewContext(TypedDict):
    """What the review page renders."""

    checks: IterationChecks | None
    iteration: Iteration
    attempt: Attempt
    release: ProjectRelease
    project: Project
    cohort: Cohort
    learner: User
    tasks: list[Task]
    claimed_ids: set[int]
    commit_url: str
    other_iterations: list[IterationWithReviews]
    latest_iteration: IterationWithReviews
    submitted_reviews: list[Review]
    peer_reviews: list[Review]
    claim: ReviewClaim | None
    holds_claim: bool
    own_review: Review | None
    waiting: bool
    editable: bool
    now: datetime


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


def released_projects(
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


def filtered_queue(user: User, filters: QueueFilters) -> IterationQuerySet:
    """Waiting iterations the user may review, narrowed to the chosen cohort and project."""
    cohort_ids = [cohort.pk for cohort in filters.cohorts]
    queue = Iteration.objects.reviewable_by(user, cohort_ids).waiting().for_mentor_queue()
    if "cohort" in filters.chosen:
        queue = queue.filter(cohort__slug=filters.chosen["cohort"])
    if "project" in filters.chosen:
        queue = queue.filter(attempt__release__project__slug=filters.chosen["project"])
    return queue


def queue_context(
    user: User, filters: QueueFilters, params: QueryDict, now: datetime
) -> QueueContext:
    """Everything the queue table shows, oldest iteration first, and until when it is right."""
    queue = filtered_queue(user, filters)
    summary = queue.aggregate(total=Count("pk"), oldest=Min("submitted_at"))
    live_claims = ReviewClaim.objects.live(now).select_related("reviewer")
    # A plain QuerySet: the stubs type a custom one's prefetched rows as bare iterations.
    waiting: QuerySet[Iteration] = queue
    rows: QuerySet[QueueRow] = (
        # The cohorts are the filters' (set on the rows below): one join fewer to plan.
        waiting.select_related("attempt__learner", "attempt__release__project")
        # The queue shows titles and names: leave the briefs and notes in the database.
        .defer(*QUEUE_DEFERRED)
        .prefetch_related(Prefetch("claims", queryset=live_claims, to_attr="live_claims"))
        .order_by("submitted_at", "pk")
    )
    paginator = Paginator(rows, QUEUE_PAGE_SIZE)
    paginator.count = summary["total"]  # already counted above: no second COUNT query
    page = paginator.get_page(page_number(params.get("page")))  # as the cache key reads it
    badges = checks_badges([iteration.pk for iteration in page])
    # The page's rows (the same objects), with the marks set on them just below.
    shown = cast("list[MarkedQueueRow]", list(page))
    cohorts = {cohort.pk: cohort for cohort in filters.cohorts}
    for iteration in shown:  # past the peer SLA: the row says "Escalated"
        release = iteration.attempt.release
        if release.cohort_id in cohorts:  # always (its iteration's cohort is one of them)
            release.cohort = cohorts[release.cohort_id]
        iteration.escalated = is_escalated(iteration, now)
        iteration.checks = badges.get(iteration.pk)
    held = list(
        ReviewClaim.objects.filter(reviewer=user).live(now).values_list("expires_at", flat=True)
    )
    # The table changes by itself when a claim it shows (or one of the user's) expires,
    # or when peer work escalates into the queue.
    changes = [claim.expires_at for iteration in shown for claim in iteration.live_claims]
    changes += held
    # Peer work escalates into the queue at its peer SLA.
    changes += [
        due
        for due in Iteration.objects.waiting()
        .filter(cohort_id__in=[cohort.pk for cohort in filters.cohorts], peer_due_at__gt=now)
        .aggregate(next=Min("peer_due_at"))
        .values()
        if due is not None
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


# The review page.

COMMIT_PATHS = {
    "github.com": "/commit/",
    "gitlab.com": "/-/commit/",
    "bitbucket.org": "/commits/",
    "codeberg.org": "/commit/",
}


def commit_url(repo_url: str, sha: str) -> str:
    """The commit's page on the repository's host, or '' when we do not know the host."""
    host = (urlsplit(repo_url).hostname or "").lower()
    if not sha or host not in COMMIT_PATHS:
        return ""
    base = repo_url.rstrip("/").removesuffix(".git")
    return f"{base}{COMMIT_PATHS[host]}{sha}"


def review_context(user: User, iteration: Iteration, now: datetime) -> ReviewContext:
    """The iteration's tasks, claim, the user's own review and the attempt's other iterations."""
    attempt = iteration.attempt
    submitted = Review.objects.filter(submitted_at__isnull=False).select_related("reviewer")
    # A plain QuerySet: the stubs type a custom one's prefetched rows as bare iterations.
    newest_first: QuerySet[Iteration] = attempt.iterations.order_by("-number")
    history: list[IterationWithReviews] = list(
        newest_first.prefetch_related(
            Prefetch("reviews", queryset=submitted, to_attr="submitted_reviews")
        )
    )
    current = next(item for item in history if item.pk == iteration.pk)
    claim = (
        ReviewClaim.objects.filter(iteration=iteration).live(now).select_related("reviewer").first()
    )
    own_review = (
        Review.objects.filter(iteration=iteration, reviewer=user)
        .prefetch_related("verdicts")
        .first()
    )
    holds_claim = claim is not None and claim.reviewer_id == user.pk
    waiting = iteration.status == Iteration.Status.WAITING
    return {
        "checks": iteration_checks(iteration, user, now),
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
            review.peer_verdicts = sorted(  # type: ignore[attr-defined]  # for the template
                verdicts.get(review.pk, []), key=lambda verdict: verdict.task.number
            )
    return peers

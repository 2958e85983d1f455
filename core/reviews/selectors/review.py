"""Reads of the mentor's review loop: the queue table and the review page, as they show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, cast
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.http import QueryDict
from django.utils.formats import date_format
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.timezone import localtime

from core.accounts.models import name_of
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
from core.platform.links import link_parts
from core.platform.paging import page_number
from core.reviews.forms import QueueFilterForm
from core.reviews.models import IterationQuerySet, claim_minutes_left, queue_counts
from core.templatetags.prodev import datetime_attr

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from core.models import User

QUEUE_PAGE_SIZE = 25


@dataclass(frozen=True)
class QueueClaim:
    """Who holds a queue row's iteration, as the row says it."""

    reviewer_name: str
    mine: bool  # held by the user the table is for
    minutes_left: int


@dataclass(frozen=True)
class QueueRow:
    """A waiting iteration as its row of the queue table shows it.

    Read as values and flattened here: the table prints 25 of these, and model rows
    four relations deep cost more to build, and to look up in the template, than to show.
    """

    pk: int
    number: int
    submitted_at: str  # for <time datetime="…">
    submitted_on: str  # "7 Dec 2026, 14:05 UTC", in the viewer's time zone
    waiting: str  # "2 hours, 5 minutes"
    detail_url: str  # the review page
    claim_url: str
    extend_url: str
    release_url: str
    project_title: str
    peer_sla_hours: int
    learner_name: str
    cohort_name: str
    escalated: bool  # past its peer SLA
    peer_tie: bool
    checks: ChecksBadge | None  # its newest check run, summed up
    claim: QueueClaim | None


# What a queue row reads of an iteration and its attempt's learner, release and project.
QUEUE_ROW_FIELDS = (
    "pk",
    "number",
    "submitted_at",
    "status",
    "peer_tie",
    "peer_due_at",
    "cohort_id",
    "attempt__learner__display_name",
    "attempt__learner__email",
    "attempt__release__project__title",
    "attempt__release__project__peer_sla_hours",
)


class SubmittedReviews(TypedDict):
    submitted_reviews: list[Review]  # prefetched


if TYPE_CHECKING:  # WithAnnotations takes two arguments for mypy only
    IterationWithReviews = WithAnnotations[Iteration, SubmittedReviews]


class QueueContext(TypedDict):
    """What the queue table renders."""

    user: User
    filters: dict[str, str]
    filter_query: str
    show_cohort: bool
    page_obj: Page[QueueRow]
    queue_state: SafeString  # hidden inputs: the filters and page, for the table's forms
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
) -> list[tuple[str, str]]:
    """``(slug, title)`` of the projects open in ``cohorts``, by title; cached until the
    cohorts change or the next release opens. Plain pairs, not models: the queue reads
    them on every request, and unpickling 70 projects took longer than the query."""
    key = None if versions is None else versioned_key("queue-project-choices", *versions)

    def build() -> tuple[list[tuple[str, str]], datetime]:
        releases = ProjectRelease.objects.filter(cohort__in=cohorts).values_list(
            "opens_at", "project_id", "project__slug", "project__title"
        )
        opened = {
            pk: (title, pk, slug) for opens_at, pk, slug, title in releases if opens_at <= now
        }
        opening = [opens_at for opens_at, *_ in releases if opens_at > now]
        projects = [(slug, title) for title, _, slug in sorted(opened.values())]
        return projects, fresh_until(min(opening, default=None), now, entry_timeout())

    return cached_fragment(key, now, build)


def filtered_queue(user: User, filters: QueueFilters) -> IterationQuerySet:
    """Waiting iterations the user may review, narrowed to the chosen cohort and project:
    the queue's, and those still with their peers (``mentor_queue_q`` tells them apart)."""
    cohort_ids = [cohort.pk for cohort in filters.cohorts]
    queue = Iteration.objects.reviewable_by(user, cohort_ids).waiting()
    if "cohort" in filters.chosen:
        queue = queue.filter(cohort__slug=filters.chosen["cohort"])
    if "project" in filters.chosen:
        queue = queue.filter(attempt__release__project__slug=filters.chosen["project"])
    return queue


def queue_context(
    user: User, filters: QueueFilters, params: QueryDict, now: datetime
) -> QueueContext:
    """Everything the queue table shows, oldest iteration first, and until when it is right."""
    waiting = filtered_queue(user, filters)
    # One query for the counts and the clock: the queue's length and oldest, and when work
    # still with its peers escalates into it (the table changes by itself then).
    summary = waiting.aggregate(**queue_counts(now))
    ordered = waiting.for_mentor_queue(now).order_by("submitted_at", "pk").values(*QUEUE_ROW_FIELDS)
    paginator = Paginator(ordered, QUEUE_PAGE_SIZE)
    paginator.count = summary["waiting"]  # already counted above: no second COUNT query
    page = paginator.get_page(page_number(params.get("page")))  # as the cache key reads it
    values = list(page)
    shown = [row["pk"] for row in values]
    badges = checks_badges(shown)
    # The live claims on the rows shown, and the user's own wherever they are: one query.
    claim_rows = list(
        ReviewClaim.objects.live(now)
        .filter(Q(iteration_id__in=shown) | Q(reviewer=user))
        .values_list(
            "iteration_id", "reviewer_id", "reviewer__display_name", "reviewer__email", "expires_at"
        )
    )
    on_page = set(shown)
    claims = {
        iteration_id: QueueClaim(
            name_of(name, email), reviewer_id == user.pk, claim_minutes_left(expires_at, now)
        )
        for iteration_id, reviewer_id, name, email, expires_at in claim_rows
        if iteration_id in on_page
    }
    held = [expires_at for _, reviewer_id, *_, expires_at in claim_rows if reviewer_id == user.pk]
    cohort_names = {cohort.pk: cohort.name for cohort in filters.cohorts}
    review, claim, extend, release = map(
        link_parts, ("review_detail", "review_claim", "review_extend", "review_release")
    )
    rows = [
        QueueRow(
            pk=row["pk"],
            number=row["number"],
            submitted_at=datetime_attr(row["submitted_at"]),
            submitted_on=date_format(localtime(row["submitted_at"]), "j M Y, H:i e"),
            waiting=timesince(row["submitted_at"], now),
            detail_url=f"{review[0]}{row['pk']}{review[1]}",
            claim_url=f"{claim[0]}{row['pk']}{claim[1]}",
            extend_url=f"{extend[0]}{row['pk']}{extend[1]}",
            release_url=f"{release[0]}{row['pk']}{release[1]}",
            project_title=row["attempt__release__project__title"],
            peer_sla_hours=row["attempt__release__project__peer_sla_hours"],
            learner_name=name_of(
                row["attempt__learner__display_name"], row["attempt__learner__email"]
            ),
            cohort_name=cohort_names.get(row["cohort_id"], ""),
            # The peer rule reads these three fields of an iteration, and only those.
            escalated=is_escalated(
                Iteration(
                    status=row["status"], peer_tie=row["peer_tie"], peer_due_at=row["peer_due_at"]
                ),
                now,
            ),
            peer_tie=row["peer_tie"],
            checks=badges.get(row["pk"]),
            claim=claims.get(row["pk"]),
        )
        for row in values
    ]
    # The same page of the same paginator, holding the rows built from its values.
    page = Page(rows, page.number, cast("Paginator[QueueRow]", paginator))
    # The table changes by itself when a claim it shows (or one of the user's) expires,
    # or when peer work escalates into the queue (at its peer SLA).
    changes = [expires_at for *_, expires_at in claim_rows]
    if summary["escalates"] is not None:
        changes.append(summary["escalates"])
    # What every form in the table posts back so the queue comes back as it was.
    state = [*filters.chosen.items(), *([("page", page.number)] if page.number > 1 else [])]
    return {
        "user": user,
        "queue_state": format_html_join("", '<input type="hidden" name="{}" value="{}">', state),
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

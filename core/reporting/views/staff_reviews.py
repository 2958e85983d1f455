"""Staff pages of peer review: the review SLA board and the reviewers' reliability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from core.disputes.selectors import open_disputes_summary
from core.models import (
    Cohort,
    Iteration,
    Membership,
    PeerAssignment,
    Project,
    Review,
    ReviewClaim,
    ReviewRating,
    ReviewReport,
    User,
)
from core.peer.services import Agreement, reviewer_agreement
from core.platform.access import AuthedRequest, Request, require_staff
from core.platform.timefmt import duration_label
from core.reporting.turnaround import Turnaround, review_took
from core.reviews.escalation import sla_breaches
from core.reviews.forms import QueueFilterForm

SLA_TEMPLATE = "core/reporting/staff_sla.html"
REVIEWERS_TEMPLATE = "core/reporting/staff_reviewers.html"
SLA_PAGE_SIZE = 50
REVIEWERS_PAGE_SIZE = 50
TURNAROUND_WINDOWS = (7, 30)  # days
# Fewer task verdicts compared with a mentor's than this say nothing about a reviewer.
MIN_COMPARED = 5
# Below this agreement rate a reviewer is flagged as an outlier.
LOW_AGREEMENT = 0.7

BREACHED = "breached"
ESCALATED = "escalated"


def _wants_fragment(request: Request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


# --- The SLA board ---------------------------------------------------------------------


@dataclass(frozen=True)
class TurnaroundRow:
    kind: str  # "Mentor reviews" / "Peer reviews"
    cells: list[Turnaround]  # one per TURNAROUND_WINDOWS entry


def _turnaround(reviews: QuerySet[Review], now: datetime) -> list[TurnaroundRow]:
    """Submission-to-review time percentiles per kind and window, from one query."""
    longest = now - timedelta(days=max(TURNAROUND_WINDOWS))
    rows = (
        reviews.filter(submitted_at__gt=longest, submitted_at__lte=now)
        .annotate(took=review_took())
        .values_list("kind", "submitted_at", "took")
        .order_by()
    )
    by_kind: dict[str, list[tuple[datetime, timedelta]]] = {}
    for kind, submitted_at, duration in rows:
        assert submitted_at is not None  # submitted_at__gt above leaves out the unsubmitted
        by_kind.setdefault(kind, []).append((submitted_at, duration))
    table = []
    for kind, label in ((Review.Kind.MENTOR, "Mentor reviews"), (Review.Kind.PEER, "Peer reviews")):
        cells = []
        for days in TURNAROUND_WINDOWS:
            since = now - timedelta(days=days)
            cells.append(Turnaround.of(d for at, d in by_kind.get(kind, []) if at > since))
        table.append(TurnaroundRow(label, cells))
    return table


def _sla_filters(params: QueryDict) -> QueueFilterForm:
    """Every cohort, and every project released to one, as optional filters."""
    cohorts = list(Cohort.objects.order_by("name"))
    projects = Project.objects.filter(releases__isnull=False).distinct().order_by("title", "pk")
    choices = projects.values_list("slug", "title")
    return QueueFilterForm(params or None, cohorts=cohorts, projects=choices)


def _sla_rows(breaches: QuerySet[Iteration], now: datetime) -> QuerySet[Iteration]:
    """The breaches, oldest first, with who holds them: a live mentor claim, live peers."""
    live_claims = ReviewClaim.objects.live(now).select_related("reviewer")
    live_peers = PeerAssignment.objects.live(now).select_related("reviewer").order_by("assigned_at")
    return (
        breaches.select_related(
            "attempt__learner", "attempt__release__project", "attempt__release__cohort"
        )
        .prefetch_related(
            Prefetch("claims", queryset=live_claims, to_attr="live_claims"),
            Prefetch("peer_assignments", queryset=live_peers, to_attr="live_peers"),
        )
        .order_by("submitted_at", "pk")
    )


def _sla_state(now: datetime) -> Case:
    return Case(
        When(mentor_due_at__lte=now, then=Value(BREACHED)),
        default=Value(ESCALATED),
        output_field=CharField(),
    )


def _sla_context(request: AuthedRequest) -> dict[str, object]:
    now = timezone.now()
    form = _sla_filters(request.GET)
    chosen = form.filters()
    breaches = sla_breaches(now)
    reviews = Review.objects.exclude(submitted_at=None)
    if "cohort" in chosen:
        breaches = breaches.filter(attempt__release__cohort__slug=chosen["cohort"])
        reviews = reviews.filter(iteration__attempt__release__cohort__slug=chosen["cohort"])
    if "project" in chosen:
        breaches = breaches.filter(attempt__release__project__slug=chosen["project"])
        reviews = reviews.filter(iteration__attempt__release__project__slug=chosen["project"])

    # Counts per cohort and project, in one grouped query.
    counts = (
        breaches.annotate(sla_state=_sla_state(now))
        .values(
            "attempt__release__cohort__slug",
            "attempt__release__cohort__name",
            "attempt__release__project__slug",
            "attempt__release__project__title",
        )
        .annotate(
            escalated=Count("pk", filter=Q(sla_state=ESCALATED)),
            breached=Count("pk", filter=Q(sla_state=BREACHED)),
        )
        .order_by("attempt__release__cohort__name", "attempt__release__project__title")
    )
    groups = [
        {
            "cohort_slug": row["attempt__release__cohort__slug"],
            "cohort": row["attempt__release__cohort__name"],
            "project_slug": row["attempt__release__project__slug"],
            "project": row["attempt__release__project__title"],
            "escalated": row["escalated"],
            "breached": row["breached"],
        }
        for row in counts
    ]
    page = Paginator(_sla_rows(breaches, now), SLA_PAGE_SIZE).get_page(request.GET.get("page"))
    # The ignores below: attributes for this page's template, which Iteration does not declare.
    for iteration in page:
        breached = iteration.mentor_due_at is not None and iteration.mentor_due_at <= now
        due = iteration.mentor_due_at if breached else iteration.peer_due_at
        iteration.sla_state = BREACHED if breached else ESCALATED  # type: ignore[attr-defined]
        iteration.past_due = duration_label(now - due) if due else ""  # type: ignore[attr-defined]
        iteration.waited = duration_label(now - iteration.submitted_at)  # type: ignore[attr-defined]
    return {
        "filter_form": form,
        "filters": chosen,
        "filter_query": urlencode(chosen),
        "groups": groups,
        "total_escalated": sum(group["escalated"] for group in groups),
        "total_breached": sum(group["breached"] for group in groups),
        "page_obj": page,
        "turnaround": _turnaround(reviews, now),
        "windows": TURNAROUND_WINDOWS,
        "now": now,
        **_dispute_stats(chosen.get("cohort"), now),
    }


def _dispute_stats(cohort_slug: str | None, now: datetime) -> dict[str, object]:
    """Open disputes and the age of the oldest (core/disputes), one query."""
    summary = open_disputes_summary(cohort_slug)
    oldest = summary["oldest"]
    return {
        "open_disputes": summary["count"],
        "oldest_dispute_age": duration_label(now - oldest) if isinstance(oldest, datetime) else "",
    }


@require_safe
@login_required
@vary_on_headers("HX-Request")
def staff_sla(request: AuthedRequest) -> HttpResponse:
    """Waiting work past its review SLA, by cohort and project, and review turnaround."""
    require_staff(request)
    context = _sla_context(request)
    template = f"{SLA_TEMPLATE}#sla-board" if _wants_fragment(request) else SLA_TEMPLATE
    return render(request, template, context)


# --- Reviewers -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerRow:
    """One peer reviewer's record: volume, agreement with mentors, ratings, reports."""

    user: User
    memberships: list[Membership]
    volume: int
    helpful: int
    not_helpful: int
    open_reports: int
    agreement: Agreement | None

    @property
    def compared(self) -> int:
        return self.agreement.compared if self.agreement else 0

    @property
    def enough_data(self) -> bool:
        return self.compared >= MIN_COMPARED

    @property
    def rate(self) -> float | None:
        return self.agreement.rate if self.agreement and self.enough_data else None

    @property
    def percent(self) -> int | None:
        return round(self.rate * 100) if self.rate is not None else None

    @property
    def low(self) -> bool:
        return self.rate is not None and self.rate < LOW_AGREEMENT


def _count(queryset: QuerySet[Model], user_field: str) -> Coalesce:
    """A correlated count of ``queryset`` rows whose ``user_field`` is the outer user."""
    counted = (
        queryset.filter(**{user_field: OuterRef("pk")})
        .order_by()
        .values(user_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _reviewer_rows() -> list[ReviewerRow]:
    """Everyone who peer-reviews: reviewers of a cohort, and whoever submitted a peer review."""
    peer_reviews = Review.objects.filter(kind=Review.Kind.PEER, submitted_at__isnull=False)
    memberships = Membership.objects.select_related("cohort").order_by("cohort__name")
    users = (
        User.objects.filter(
            Q(memberships__role=Membership.Role.REVIEWER)
            | Q(pk__in=peer_reviews.values("reviewer"))
        )
        .distinct()
        .annotate(
            volume=_count(peer_reviews, "reviewer"),
            helpful=_count(ReviewRating.objects.filter(helpful=True), "review__reviewer"),
            not_helpful=_count(ReviewRating.objects.filter(helpful=False), "review__reviewer"),
            open_reports=_count(
                ReviewReport.objects.filter(resolved_at__isnull=True), "review__reviewer"
            ),
        )
        .prefetch_related(Prefetch("memberships", queryset=memberships))
    )
    reviewers = list(users)
    # Every peer reviewer's agreement at once (cheaper than a long IN list of ids).
    agreement = reviewer_agreement() if reviewers else {}
    return [
        ReviewerRow(
            user=user,
            memberships=list(user.memberships.all()),
            volume=user.volume,
            helpful=user.helpful,
            not_helpful=user.not_helpful,
            open_reports=user.open_reports,
            agreement=agreement.get(user.pk),
        )
        for user in reviewers
    ]


def _sorted(rows: list[ReviewerRow], sort: str) -> list[ReviewerRow]:
    """By agreement (outliers first, then those without enough data), or by volume."""
    if sort == "volume":
        return sorted(rows, key=lambda row: (-row.volume, row.user.name.lower()))
    return sorted(
        rows,
        key=lambda row: (
            row.rate is None,
            row.rate if row.rate is not None else 0,
            -row.volume,
            row.user.name.lower(),
        ),
    )


@require_safe
@login_required
def staff_reviewers(request: AuthedRequest) -> HttpResponse:
    """Every peer reviewer: agreement with mentors (outliers first), volume, ratings, reports."""
    require_staff(request)
    sort = "volume" if request.GET.get("sort") == "volume" else "agreement"
    rows = _sorted(_reviewer_rows(), sort)
    page = Paginator(rows, REVIEWERS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page_obj": page,
        "sort": sort,
        "sort_query": "sort=volume" if sort == "volume" else "",  # the pager keeps the sort
        "reviewer_count": len(rows),
        "outliers": sum(1 for row in rows if row.low),
        "open_reports": sum(row.open_reports for row in rows),
        "min_compared": MIN_COMPARED,
        "low_percent": round(LOW_AGREEMENT * 100),
    }
    return render(request, REVIEWERS_TEMPLATE, context)

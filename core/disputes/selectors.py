"""Reads of disputes: which verdicts a learner may still contest, the disputes of a page."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, Count, Min, OuterRef, QuerySet, Subquery, Value, When

from core.disputes.models import Dispute, DisputeQuerySet
from core.models import Attempt, Review, Task, User, Verdict
from core.platform.timefmt import now_or

# How many open disputes the queue page lists (the routed ones first).
DISPUTES_SHOWN = 20


def dispute_window() -> timedelta:
    return timedelta(days=settings.DISPUTE_WINDOW_DAYS)


def deciding_reviews(attempt: Attempt) -> QuerySet[Review]:
    """The submitted mentor reviews that decide their iteration (its latest non-peer one):
    the reviews whose verdicts the receipt counts, and so the only ones worth contesting.
    A lazy queryset, used as a subquery."""
    latest = (
        Review.objects.filter(iteration_id=OuterRef("iteration_id"), submitted_at__isnull=False)
        .exclude(kind=Review.Kind.PEER)
        .order_by("-submitted_at", "-id")
        .values("pk")[:1]
    )
    return Review.objects.filter(
        iteration__attempt=attempt, kind=Review.Kind.MENTOR, pk=Subquery(latest)
    )


def disputable_verdicts(attempt: Attempt, now: datetime | None = None) -> QuerySet[Verdict]:
    """Failed task verdicts of the attempt's deciding mentor reviews, still within the
    dispute window, graded by a person, and with no dispute open (one query)."""
    since = now_or(now) - dispute_window()
    return (
        Verdict.objects.filter(
            review__in=deciding_reviews(attempt),
            review__submitted_at__gte=since,
            passed=False,
        )
        # A task graded by checks alone is decided by its checks: re-run them instead.
        .exclude(task__grading=Task.Grading.CHECKS)
        .exclude(disputes__status=Dispute.Status.OPEN)
        .select_related("task", "review__iteration", "review__reviewer")
        .order_by("-review__iteration__number", "task__number")
    )


def attempt_disputes(attempt: Attempt) -> list[Dispute]:
    """Every dispute of the attempt, oldest first, with what its lines show (one query)."""
    return list(
        Dispute.objects.filter(attempt=attempt)
        .select_related("verdict__task", "verdict__review__iteration", "resolved_by")
        .order_by("created_at", "pk")
    )


def disputes_to_handle(
    user: User, limit: int, cohort_ids: list[int] | None = None
) -> list[Dispute]:
    """Open disputes ``user`` may decide, the ones routed to them first, then the oldest;
    ``cohort_ids``: the cohorts they mentor, when the caller has read them already.

    Found first with no join, then loaded with what the list shows: that query's eight
    joins cost PostgreSQL about 7 ms of planning on the large data set, on every request
    to the review queue, while most mentors have no dispute to see. Given the cohorts,
    whether any of them has an open dispute is asked first: that question costs half of
    building the query that orders the ones to show, and is most mentors' answer.
    """
    if (
        cohort_ids is not None
        and not Dispute.objects.open().filter(cohort_id__in=cohort_ids).exists()
    ):
        return []
    disputes: DisputeQuerySet = Dispute.objects.open().handled_by(user, cohort_ids)
    found = list(
        disputes.order_by(
            Case(When(assigned_to=user, then=Value(0)), default=Value(1)), "created_at", "pk"
        ).values_list("pk", flat=True)[:limit]
    )
    if not found:
        return []
    loaded = Dispute.objects.select_related(
        "learner", "attempt__release__project", "verdict__task", "assigned_to", "claimed_by"
    ).in_bulk(found)
    return [loaded[pk] for pk in found]


def open_disputes_summary(cohort_slug: str | None = None) -> dict[str, object]:
    """How many disputes are open and since when the oldest waits (staff SLA board)."""
    disputes = Dispute.objects.open()
    if cohort_slug:
        disputes = disputes.filter(cohort__slug=cohort_slug)
    return disputes.aggregate(count=Count("pk"), oldest=Min("created_at"))


def attempt_page_disputes(attempt: Attempt, role: str, shows_receipts: bool) -> dict[str, object]:
    """What the attempt page shows of disputes: the list beside the receipt, and whether
    its learner may contest a verdict now (one query, two for its learner)."""
    if not shows_receipts:
        return {"disputes": [], "can_dispute": False}
    disputes = attempt_disputes(attempt)
    can_dispute = (
        role == "learner"
        and len(disputes) < settings.DISPUTES_PER_ATTEMPT
        and disputable_verdicts(attempt).exists()
    )
    return {"disputes": disputes, "can_dispute": can_dispute}

"""Expected wait: how long a waiting iteration will likely wait, from recent throughput.

The estimate is deliberately simple and explainable: the cohort's mentors
submitted N reviews over the last EXPECTED_WAIT_WINDOW_DAYS days, so they review
N / days iterations a day; this iteration needs everything ahead of it in the
cohort's queue reviewed, and then itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.models import Iteration, Review


@dataclass(frozen=True)
class WaitEstimate:
    """The numbers behind an expected wait, so the page can show its working."""

    ahead: int  # waiting iterations of the cohort submitted before this one
    reviews: int  # mentor reviews submitted in the cohort during the window
    window_days: int
    wait: timedelta | None  # None when there is no throughput to estimate from

    @property
    def reviews_per_day(self) -> Decimal:
        return Decimal(self.reviews) / Decimal(self.window_days)


def wait_estimate(iteration: Iteration, *, now: datetime | None = None) -> WaitEstimate:
    """Queue position and recent throughput of ``iteration``'s cohort (two count queries)."""
    now = now or timezone.now()
    days = settings.EXPECTED_WAIT_WINDOW_DAYS
    cohort_id = iteration.attempt.release.cohort_id
    reviews = Review.objects.filter(
        kind=Review.Kind.MENTOR,
        submitted_at__gt=now - timedelta(days=days),
        submitted_at__lte=now,
        iteration__attempt__release__cohort_id=cohort_id,
    ).count()
    ahead = (
        Iteration.objects.waiting()
        .filter(attempt__release__cohort_id=cohort_id)
        .filter(
            Q(submitted_at__lt=iteration.submitted_at)
            | Q(submitted_at=iteration.submitted_at, pk__lt=iteration.pk)
        )
        .count()
    )
    # Everything ahead gets reviewed first, then this one: ahead + 1 reviews.
    wait = timedelta(days=days) * (ahead + 1) / reviews if reviews else None
    return WaitEstimate(ahead=ahead, reviews=reviews, window_days=days, wait=wait)


def expected_wait(iteration: Iteration, *, now: datetime | None = None) -> timedelta | None:
    """How much longer ``iteration`` will likely wait for a review; None without data."""
    return wait_estimate(iteration, now=now).wait


def wait_label(wait: timedelta) -> str:
    """'less than an hour', 'about an hour', 'about 6 hours', 'about 2 days'."""
    hours = int(wait.total_seconds() / 3600 + 0.5)
    if hours < 1:
        return "less than an hour"
    if hours == 1:
        return "about an hour"
    if hours < 36:
        return f"about {hours} hours"
    days = int(hours / 24 + 0.5)
    return f"about {days} days"

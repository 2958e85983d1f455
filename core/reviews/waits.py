"""Expected wait: how long a waiting iteration will likely wait, from recent throughput.

The estimate is deliberately simple and explainable: the cohort's mentors
submitted N reviews over the last EXPECTED_WAIT_WINDOW_DAYS days, so they review
N / days iterations a day; this iteration needs everything ahead of it in the
cohort's queue reviewed, and then itself.

A single number hides how little a week of reviews tells, so the page shows a
range meant to hold 8 waits in 10: the 10th and 90th percentiles of the wait if
mentors go on reviewing at a pace like the one seen. Reviews are taken to come at
random (a Poisson process) at a rate the N reviews of the window only suggest:
with the uninformative prior 1/rate, the rate is Gamma(N, days), and the time T
until the K = ahead + 1 reviews needed satisfies T / (T + days) ~ Beta(K, N).
Few reviews give a wide range, many a narrow one: the range says what the
numbers support, not a promise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import NormalDist

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.models import Iteration, Review

# The range shown: between the waits that 10% and 90% of outcomes stay under.
RANGE_LOW_SHARE = 0.1
RANGE_HIGH_SHARE = 0.9
# Halvings of the search for each end of the range (2**-40 of the scale: far below a minute).
_SEARCH_STEPS = 40
# Past this many reviews both needed and seen, Beta(K, N) is as good as normal, and summing
# its terms would cost a page milliseconds for nothing.
_NORMAL_FROM = 100


@dataclass(frozen=True)
class WaitEstimate:
    """The numbers behind an expected wait, so the page can show its working."""

    ahead: int  # waiting iterations of the cohort submitted before this one
    reviews: int  # mentor reviews submitted in the cohort during the window
    window_days: int
    wait: timedelta | None  # None when there is no throughput to estimate from
    # The likely range (RANGE_LOW_SHARE to RANGE_HIGH_SHARE of outcomes); None with wait.
    low: timedelta | None = None
    high: timedelta | None = None

    @property
    def reviews_per_day(self) -> Decimal:
        return Decimal(self.reviews) / Decimal(self.window_days)

    @property
    def range_in_ten(self) -> int:
        """How many waits in ten the range should hold (8 for 10% to 90%)."""
        return round((RANGE_HIGH_SHARE - RANGE_LOW_SHARE) * 10)

    @property
    def needed(self) -> int:
        """Reviews to go until this iteration's is done: those ahead, then its own."""
        return self.ahead + 1


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
    if not reviews:
        return WaitEstimate(ahead=ahead, reviews=0, window_days=days, wait=None)
    window = timedelta(days=days)
    # Everything ahead gets reviewed first, then this one: ahead + 1 reviews.
    return WaitEstimate(
        ahead=ahead,
        reviews=reviews,
        window_days=days,
        wait=window * (ahead + 1) / reviews,
        low=wait_quantile(RANGE_LOW_SHARE, needed=ahead + 1, reviews=reviews, window=window),
        high=wait_quantile(RANGE_HIGH_SHARE, needed=ahead + 1, reviews=reviews, window=window),
    )


def expected_wait(iteration: Iteration, *, now: datetime | None = None) -> timedelta | None:
    """How much longer ``iteration`` will likely wait for a review; None without data."""
    return wait_estimate(iteration, now=now).wait


def _beta_cdf(x: float, a: int, b: int) -> float:
    """P(X <= x) for X ~ Beta(a, b), a and b whole: P(Binomial(a + b - 1, x) >= a).

    Sums whichever tail of the binomial has fewer terms, in logarithms (no overflow)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    n = a + b - 1
    log_x, log_rest, log_n = math.log(x), math.log1p(-x), math.lgamma(n + 1)

    def term(j: int) -> float:
        return math.exp(
            log_n - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * log_x + (n - j) * log_rest
        )

    if a <= b:  # a terms below a, b terms from a to n
        return max(0.0, 1.0 - math.fsum(term(j) for j in range(a)))
    return min(1.0, math.fsum(term(j) for j in range(a, n + 1)))


def wait_quantile(share: float, *, needed: int, reviews: int, window: timedelta) -> timedelta:
    """The wait that ``share`` of outcomes stay under, for ``needed`` reviews to go when
    ``reviews`` were submitted in ``window`` (see the module's docstring)."""
    if not 0 < share < 1 or needed < 1 or reviews < 1:
        raise ValueError("share in (0, 1), and at least one review needed and one seen")
    # T / (T + window) ~ Beta(needed, reviews), and its CDF grows with x: halve the interval.
    if min(needed, reviews) > _NORMAL_FROM:
        total = needed + reviews
        spread = math.sqrt(needed * reviews / (total * total * (total + 1)))
        x = NormalDist(needed / total, spread).inv_cdf(share)
    else:
        low, high = 0.0, 1.0
        for _ in range(_SEARCH_STEPS):
            middle = (low + high) / 2
            if _beta_cdf(middle, needed, reviews) < share:
                low = middle
            else:
                high = middle
        x = (low + high) / 2
    return window * (x / (1 - x))


def _amount(wait: timedelta, rounding: str) -> tuple[int, str]:
    """``wait`` in hours (under 36 hours), days (under 3 weeks) or weeks, rounded ``down``
    (a range's start) or ``up`` (its end), so the range never claims more than it knows."""
    hours = wait.total_seconds() / 3600
    value, unit = (hours, "hour") if hours < 36 else (hours / 24, "day")
    if unit == "day" and value >= 21:
        value, unit = value / 7, "week"
    # (A hair past a whole number is float noise: 63 days are 9 weeks, not 10.)
    if rounding == "down":
        return math.floor(value + 1e-6), unit
    return math.ceil(value - 1e-6), unit


def _amount_text(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def wait_range_label(low: timedelta, high: timedelta) -> str:
    """'less than an hour', 'up to 5 hours', '3 to 9 hours', '14 hours to 3 days',
    '2 to 5 days', '11 days to 6 weeks'."""
    if high <= timedelta(hours=1):
        return "less than an hour"
    top, top_unit = _amount(high, "up")
    if low < timedelta(hours=1):
        return f"up to {_amount_text(top, top_unit)}"
    bottom, bottom_unit = _amount(low, "down")
    if bottom_unit == top_unit:
        if bottom == top:
            return f"about {_amount_text(top, top_unit)}"
        return f"{bottom} to {_amount_text(top, top_unit)}"
    return f"{_amount_text(bottom, bottom_unit)} to {_amount_text(top, top_unit)}"


def pace_label(reviews: int, window_days: int) -> str:
    """'about 2 a day', 'about 1 a day', 'about 1 every 3 days' (``reviews`` > 0 in the window)."""
    per_day = reviews / window_days
    every = int(window_days / reviews + 0.5)
    if every <= 1:
        return f"about {max(1, int(per_day + 0.5))} a day"
    return f"about 1 every {every} days"

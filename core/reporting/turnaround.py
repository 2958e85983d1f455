"""Review turnaround: how long a review took, from its iteration's submission to its own
submission, and the percentiles the staff pages and the mentor's home show of it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import DurationField, ExpressionWrapper, F
from django.db.models.expressions import CombinedExpression

from core.platform.timefmt import duration_label


def review_took() -> ExpressionWrapper[CombinedExpression]:
    """A review's turnaround, as an expression to annotate ``Review`` rows with."""
    return ExpressionWrapper(
        F("submitted_at") - F("iteration__submitted_at"), output_field=DurationField()
    )


def percentile(values: list[timedelta], fraction: float) -> timedelta | None:
    """The continuous percentile of sorted ``values`` (as PostgreSQL's percentile_cont)."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


@dataclass(frozen=True)
class Turnaround:
    """How many reviews took how long: the median (p50) and the p90 of their turnarounds."""

    count: int
    p50: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, durations: Iterable[timedelta]) -> Turnaround:
        values = sorted(durations)
        return cls(len(values), percentile(values, 0.5), percentile(values, 0.9))

    @property
    def p50_label(self) -> str:
        return duration_label(self.p50)

    @property
    def p90_label(self) -> str:
        return duration_label(self.p90)

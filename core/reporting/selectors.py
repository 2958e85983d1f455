"""The reporting domain's reads for staff: a cohort's health (throughput, review
turnaround, completion) and the state of its score export.

The dashboards and the progress matrix, which are cached per cohort version, are read
models of their own in ``core/reporting/dashboards/``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.timesince import timesince
from django_stubs_ext import WithAnnotations

from core.models import Attempt, Cohort, Iteration, Membership, ProjectRelease, Review, ScoreExport
from core.platform.timefmt import duration_label
from core.reporting.exports import export_file_name
from core.reporting.turnaround import Turnaround, review_took

HEALTH_WINDOW_DAYS = 30
# The chart leaves out the window's opening days without a submission or a review (and
# says so), keeping at least two weeks: activity is drawn wide, not squeezed to one side.
CHART_MIN_DAYS = 14
# The chart's drawing area, in SVG user units (it scales with the page).
CHART_WIDTH, CHART_HEIGHT = 720, 200
CHART_LEFT, CHART_BOTTOM, CHART_TOP = 36, 24, 8


class LearnerCount(TypedDict):
    """What ``CohortQuerySet.with_learner_count`` annotates."""

    learner_count: int


type CohortWithLearnerCount = WithAnnotations[Cohort, LearnerCount]


# --- Throughput chart -------------------------------------------------------------------


@dataclass(frozen=True)
class ChartDay:
    """One day of the chart: its counts and where they are drawn."""

    day: date
    submissions: int
    reviews: int
    x: float  # left edge of the day's slot
    center: float
    bar_y: float
    bar_height: float
    line_y: float
    label: bool  # whether the x axis names this day


@dataclass(frozen=True)
class Chart:
    """Submissions (bars) and reviews (line) per day, laid out for inline SVG."""

    days: list[ChartDay]
    peak: int
    slot: float
    # The window's opening days left out for having nothing to draw, first and last.
    quiet: tuple[date, date] | None = None
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = CHART_LEFT
    bottom: int = CHART_HEIGHT - CHART_BOTTOM
    top: int = CHART_TOP

    @property
    def first_day(self) -> date:
        return self.days[0].day

    @property
    def last_day(self) -> date:
        return self.days[-1].day

    @property
    def bar_width(self) -> float:
        return round(self.slot * 0.62, 2)

    @property
    def line_points(self) -> str:
        return " ".join(f"{day.center:.1f},{day.line_y:.1f}" for day in self.days)

    @property
    def gridlines(self) -> list[tuple[int, float]]:
        """(value, y) for 0, half the peak and the peak."""
        values = sorted({0, self.peak // 2, self.peak})
        return [(value, self._y(value)) for value in values]

    @property
    def total_submissions(self) -> int:
        return sum(day.submissions for day in self.days)

    @property
    def total_reviews(self) -> int:
        return sum(day.reviews for day in self.days)

    def _y(self, value: int) -> float:
        span = self.bottom - self.top
        return round(self.bottom - span * value / self.peak, 1)


def _nice_ceiling(value: int) -> int:
    """A round axis maximum at or above ``value`` (… 5, 6, 8, 10, 20, 30 …)."""
    if value <= 1:
        return 1
    magnitude: int = 10 ** int(math.log10(value))  # int ** int is Any to mypy (10 ** -1)
    for step in (1, 2, 3, 4, 5, 6, 8, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _chart(window: list[date], submissions: dict[date, int], reviews: dict[date, int]) -> Chart:
    active = [index for index, day in enumerate(window) if submissions.get(day) or reviews.get(day)]
    skipped = min(active[0], len(window) - CHART_MIN_DAYS) if active else 0
    days = window[skipped:]
    quiet = (window[0], window[skipped - 1]) if skipped > 0 else None
    peak = _nice_ceiling(max([*submissions.values(), *reviews.values(), 1]))
    slot = (CHART_WIDTH - CHART_LEFT) / len(days)
    bottom = CHART_HEIGHT - CHART_BOTTOM
    span = bottom - CHART_TOP
    chart_days = []
    for index, day in enumerate(days):
        count = submissions.get(day, 0)
        height = round(span * count / peak, 1)
        chart_days.append(
            ChartDay(
                day=day,
                submissions=count,
                reviews=reviews.get(day, 0),
                x=round(CHART_LEFT + index * slot + slot * 0.19, 2),
                center=round(CHART_LEFT + (index + 0.5) * slot, 2),
                bar_y=round(bottom - height, 1),
                bar_height=height,
                line_y=round(bottom - span * reviews.get(day, 0) / peak, 1),
                label=index % 7 == 0,
            )
        )
    return Chart(days=chart_days, peak=peak, slot=round(slot, 2), quiet=quiet)


class DayCount(TypedDict):
    day: date
    n: int


def _daily_counts(
    release_ids: list[int], since: datetime, cohort: Cohort
) -> tuple[dict[date, int], dict[date, int]]:
    """Submissions and reviews of the releases per day of the cohort's calendar since
    ``since`` (two queries)."""
    submissions = (
        Iteration.objects.filter(attempt__release_id__in=release_ids, submitted_at__gte=since)
        .annotate(day=TruncDate("submitted_at", tzinfo=cohort.tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    reviews = (
        Review.objects.filter(
            iteration__attempt__release_id__in=release_ids, submitted_at__gte=since
        )
        .annotate(day=TruncDate("submitted_at", tzinfo=cohort.tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return _per_day(submissions), _per_day(reviews)


def _per_day(rows: Iterable[DayCount]) -> dict[date, int]:
    return {row["day"]: row["n"] for row in rows}


# --- Turnaround -------------------------------------------------------------------------


def _turnaround(release_ids: list[int], since: datetime, now: datetime) -> Turnaround:
    """How long submitted mentor reviews in the window took, from submission to decision."""
    return Turnaround.of(
        Review.objects.filter(
            iteration__attempt__release_id__in=release_ids,
            kind=Review.Kind.MENTOR,
            submitted_at__gte=since,
            submitted_at__lte=now,
        )
        .annotate(took=review_took())
        .values_list("took", flat=True)
        .order_by()
    )


# --- Completion -------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    """One opened release: how many of the cohort's learners submitted and passed it."""

    release: ProjectRelease
    submitted: int
    passed: int
    learners: int

    @property
    def rate(self) -> int:
        """Share of the cohort's learners with a passing score, as a whole percentage."""
        return self.passed * 100 // self.learners if self.learners else 0


def _completion(
    cohort: CohortWithLearnerCount, releases: list[ProjectRelease], now: datetime
) -> list[Completion]:
    learner = Membership.objects.filter(
        cohort=cohort, role=Membership.Role.LEARNER, user=OuterRef("learner_id")
    )
    counts = (
        Attempt.objects.filter(Exists(learner), release_id__in=[r.pk for r in releases])
        .values("release_id")
        .annotate(
            submitted=Count("pk"),
            passed=Count("pk", filter=Q(score__gte=Decimal(settings.PASSING_SCORE))),
        )
        .order_by()
    )
    submitted = {row["release_id"]: row["submitted"] for row in counts}
    passed = {row["release_id"]: row["passed"] for row in counts}
    return [
        Completion(
            release=release,
            submitted=submitted.get(release.pk, 0),
            passed=passed.get(release.pk, 0),
            learners=cohort.learner_count,
        )
        for release in releases
        if release.opens_at <= now
    ]


# --- Score export -----------------------------------------------------------------------


def _latest_export(cohort: Cohort) -> ScoreExport | None:
    return ScoreExport.objects.filter(cohort=cohort).first()


def export_context(cohort: Cohort, export: ScoreExport | None) -> dict[str, object]:
    """What the page's export card shows of ``export``: its state and age, nothing once expired."""
    now = timezone.now()
    state = export.state(now) if export is not None else None
    age = ""
    if state == "done" and export is not None and export.finished_at:
        seconds = (now - export.finished_at).total_seconds()
        age = "just now" if seconds < 60 else f"{timesince(export.finished_at, now)} ago"
    return {
        "cohort": cohort,
        "export_age": age,
        "export": export if state != "expired" else None,
        "export_state": state if state != "expired" else None,
        "export_file_name": (
            export_file_name(export) if export is not None and state == "done" else ""
        ),
        "now": now,
    }


# --- The page ---------------------------------------------------------------------------


def cohort_health(cohort: CohortWithLearnerCount, now: datetime) -> dict[str, object]:
    """Throughput, review turnaround and completion of one cohort over the last
    HEALTH_WINDOW_DAYS, what waits for review, and its score export."""
    tz = cohort.tz
    today = timezone.localdate(now, tz)
    days = [today - timedelta(days=offset) for offset in range(HEALTH_WINDOW_DAYS - 1, -1, -1)]
    since = datetime.combine(days[0], datetime.min.time(), tz)
    # Filtering by the releases' ids lets PostgreSQL use the foreign-key indexes; joined to
    # the release's cohort instead, it hash-joins a scan of every attempt (tests/test_explain).
    releases = list(
        ProjectRelease.objects.filter(cohort=cohort)
        .select_related("project__module")
        .order_by("opens_at", "project__module__order", "project__order")
    )
    release_ids = [release.pk for release in releases]
    queue = Iteration.objects.filter(attempt__release_id__in=release_ids).waiting()
    waiting = queue.aggregate(count=Count("pk"), oldest=Min("submitted_at"))
    context = {
        "chart": _chart(days, *_daily_counts(release_ids, since, cohort)),
        "turnaround": _turnaround(release_ids, since, now),
        "completion": _completion(cohort, releases, now),
        "waiting": waiting,
        "oldest_wait": duration_label(now - waiting["oldest"]) if waiting["oldest"] else "",
        "window_days": HEALTH_WINDOW_DAYS,
        "passing_score": settings.PASSING_SCORE,
        # Every cohort, for the switcher (staff run a handful at a time).
        "cohort_choices": list(Cohort.objects.only("name", "slug", "start_date")),
        **export_context(cohort, _latest_export(cohort)),
    }
    return context

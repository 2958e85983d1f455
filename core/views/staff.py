"""Staff pages: a cohort's health (throughput, turnaround, completion) and score exports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, Min, OuterRef, Q
from django.db.models.functions import TruncDate
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from core.models import (
    Attempt,
    Cohort,
    Iteration,
    Membership,
    ProjectRelease,
    Review,
    ScoreExport,
)
from core.ratelimit import ratelimit
from core.services.exports import (
    export_file_name,
    score_export_start,
    score_exports_prune,
)

HEALTH_TEMPLATE = "core/staff_cohort_health.html"
HEALTH_WINDOW_DAYS = 30
# The chart's drawing area, in SVG user units (it scales with the page).
CHART_WIDTH, CHART_HEIGHT = 720, 200
CHART_LEFT, CHART_BOTTOM, CHART_TOP = 36, 24, 8


def _get_cohort_for_staff(request: HttpRequest, slug: str) -> Cohort:
    """The cohort, with its learner count, for staff; 404 for everyone else."""
    if not request.user.is_staff:
        raise Http404("Staff pages are for staff.")
    cohorts = Cohort.objects.select_related("program").annotate(
        learner_count=Count("memberships", filter=Q(memberships__role=Membership.Role.LEARNER))
    )
    return get_object_or_404(cohorts, slug=slug)


def _get_export_for_staff(request: HttpRequest, pk: int) -> ScoreExport:
    """The export, for staff; 404 for everyone else."""
    if not request.user.is_staff:
        raise Http404("Exports are for staff.")
    return get_object_or_404(ScoreExport.objects.select_related("cohort"), pk=pk)


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
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = CHART_LEFT
    bottom: int = CHART_HEIGHT - CHART_BOTTOM
    top: int = CHART_TOP

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
    magnitude = 10 ** int(math.log10(value))
    for step in (1, 2, 3, 4, 5, 6, 8, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _chart(days: list[date], submissions: dict[date, int], reviews: dict[date, int]) -> Chart:
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
    return Chart(days=chart_days, peak=peak, slot=round(slot, 2))


def _per_day(rows: object) -> dict[date, int]:
    return {row["day"]: row["n"] for row in rows}  # type: ignore[attr-defined]


# --- Turnaround -------------------------------------------------------------------------


def percentile(values: list[timedelta], fraction: float) -> timedelta | None:
    """The continuous percentile of sorted ``values`` (as PostgreSQL's percentile_cont)."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


def duration_label(value: timedelta | None) -> str:
    """'3 d 4 h', '5 h 20 min', '12 min' — short enough for a stat card."""
    if value is None:
        return "–"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@dataclass(frozen=True)
class Turnaround:
    """How long submitted mentor reviews in the window took, from submission to decision."""

    count: int
    p50: timedelta | None
    p90: timedelta | None

    @property
    def p50_label(self) -> str:
        return duration_label(self.p50)

    @property
    def p90_label(self) -> str:
        return duration_label(self.p90)


def _turnaround(release_ids: list[int], since: datetime, now: datetime) -> Turnaround:
    took = ExpressionWrapper(
        F("submitted_at") - F("iteration__submitted_at"), output_field=DurationField()
    )
    values = sorted(
        Review.objects.filter(
            iteration__attempt__release_id__in=release_ids,
            kind=Review.Kind.MENTOR,
            submitted_at__gte=since,
            submitted_at__lte=now,
        )
        .annotate(took=took)
        .values_list("took", flat=True)
        .order_by()
    )
    return Turnaround(len(values), percentile(values, 0.5), percentile(values, 0.9))


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


def _completion(cohort: Cohort, releases: list[ProjectRelease], now: datetime) -> list[Completion]:
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
    by_release = {row["release_id"]: row for row in counts}
    return [
        Completion(
            release=release,
            submitted=by_release.get(release.pk, {}).get("submitted", 0),
            passed=by_release.get(release.pk, {}).get("passed", 0),
            learners=cohort.learner_count,  # type: ignore[attr-defined]
        )
        for release in releases
        if release.opens_at <= now
    ]


# --- Pages ------------------------------------------------------------------------------


def _latest_export(cohort: Cohort) -> ScoreExport | None:
    return ScoreExport.objects.filter(cohort=cohort).first()


def _export_context(cohort: Cohort, export: ScoreExport | None) -> dict[str, object]:
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
        "export_file_name": export_file_name(export) if state == "done" else "",
        "now": now,
    }


@require_safe
@login_required
def staff_cohort_health(request: HttpRequest, slug: str) -> HttpResponse:
    """Throughput, review turnaround and completion of one cohort, and its score export."""
    cohort = _get_cohort_for_staff(request, slug)
    now = timezone.now()
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

    submissions = (
        Iteration.objects.filter(attempt__release_id__in=release_ids, submitted_at__gte=since)
        .annotate(day=TruncDate("submitted_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    reviews = (
        Review.objects.filter(
            iteration__attempt__release_id__in=release_ids, submitted_at__gte=since
        )
        .annotate(day=TruncDate("submitted_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    queue = Iteration.objects.filter(attempt__release_id__in=release_ids).waiting()
    waiting = queue.aggregate(count=Count("pk"), oldest=Min("submitted_at"))
    context = {
        "chart": _chart(days, _per_day(submissions), _per_day(reviews)),
        "turnaround": _turnaround(release_ids, since, now),
        "completion": _completion(cohort, releases, now),
        "waiting": waiting,
        "oldest_wait": duration_label(now - waiting["oldest"]) if waiting["oldest"] else "",
        "window_days": HEALTH_WINDOW_DAYS,
        "passing_score": settings.PASSING_SCORE,
        **_export_context(cohort, _latest_export(cohort)),
    }
    return render(request, HEALTH_TEMPLATE, context)


@require_POST
@login_required
@ratelimit("exports")
def staff_export_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a CSV export of the cohort's scores (or show the one in progress)."""
    cohort = _get_cohort_for_staff(request, slug)
    score_exports_prune()
    export, _ = score_export_start(cohort=cohort, requested_by=request.user)
    if not request.htmx:
        return redirect(reverse("staff_cohort_health", args=[cohort.slug]) + "#export")
    export.refresh_from_db()  # the immediate task backend has already run it
    return render(request, f"{HEALTH_TEMPLATE}#export-status", _export_context(cohort, export))


@require_safe
@login_required
@never_cache
@vary_on_headers("HX-Request")
def staff_export_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The export's progress, polled by the health page until it is done or failed."""
    export = _get_export_for_staff(request, pk)
    if not request.htmx:
        return redirect(reverse("staff_cohort_health", args=[export.cohort.slug]) + "#export")
    return render(
        request, f"{HEALTH_TEMPLATE}#export-status", _export_context(export.cohort, export)
    )


@require_safe
@login_required
@never_cache
def staff_export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The finished CSV as an attachment; 410 once expired (and the file is deleted)."""
    export = _get_export_for_staff(request, pk)
    state = export.state()
    if state == "expired":
        score_exports_prune()
        return HttpResponse(
            "This export has expired. Start a new one from the cohort health page.",
            status=410,
            content_type="text/plain; charset=utf-8",
        )
    if state != "done" or not export.file:
        raise Http404("This export is not ready.")
    return FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=export_file_name(export),
        content_type="text/csv; charset=utf-8",
    )

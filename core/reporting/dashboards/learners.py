"""Per learner: open projects, scores, the score chart, feedback and the workload radar."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import dateformat, timezone
from django.utils.safestring import SafeString, mark_safe

from core.accounts.models import name_of
from core.models import (
    Attempt,
    Cohort,
    Deadlines,
    Extension,
    Project,
    ProjectRelease,
    Review,
)
from core.platform.markup import text
from core.reporting.dashboards.common import (
    CELL_STATES,
    NOT_STARTED,
    Counted,
    counted_score,
    join_titles,
    local_label,
    next_change,
    percent_label,
    roll_up,
)

if TYPE_CHECKING:
    from core.models import User

# The workload radar looks this many calendar days ahead, today included.
RADAR_DAYS = 14
# Two deadlines of different projects this close together clash.
CLASH_WINDOW = timedelta(hours=48)


# ---------------------------------------------------------------------------
# Learner dashboard


def peer_reviews_owed(user: User) -> int:
    """How many peer reviews ``user`` owes now, across their attempts."""
    from core.peer.services import peer_reviews_owed_total

    return peer_reviews_owed_total(user)


@dataclass(frozen=True)
class LearnerRelease:
    """A release of the learner's cohort with the learner's dates and attempt."""

    release_id: int
    cohort_id: int
    project_id: int
    title: str
    slug: str
    module_id: int
    module_title: str
    weight: int
    opens_at: datetime
    first_deadline: datetime  # the learner's: their latest extension applied
    second_deadline: datetime
    extended: bool
    attempt_id: int | None
    status: str  # NOT_STARTED or the attempt's status
    score: Decimal | None
    reviewed_at: datetime | None  # when the review behind the score was submitted

    @property
    def deadlines(self) -> Deadlines:
        return Deadlines(self.opens_at, self.first_deadline, self.second_deadline)

    @property
    def score_label(self) -> str:
        return percent_label(self.score)

    @property
    def status_label(self) -> str:
        return CELL_STATES.get(self.status, self.status)


@dataclass(frozen=True)
class ModuleProgress:
    """A module of the program: projects done (score ≥ PASSING_SCORE) and its score."""

    module_id: int
    title: str
    done: int
    total: int
    score: Decimal | None

    @property
    def score_label(self) -> str:
        return percent_label(self.score)


@dataclass(frozen=True)
class FeedbackItem:
    """A decided review of the learner's work."""

    attempt_id: int
    project_title: str
    iteration_number: int
    decision: str
    kind: str
    reviewer_name: str
    submitted_at: datetime
    feedback: str

    @property
    def decision_label(self) -> str:
        return Review.Decision(self.decision).label


@dataclass(frozen=True)
class LearnerCohort:
    """The learner's standing in one cohort."""

    cohort_id: int
    releases: tuple[LearnerRelease, ...]
    modules: tuple[ModuleProgress, ...]
    overall: Decimal | None
    counted: int  # projects that count towards the overall score

    @property
    def overall_label(self) -> str:
        return percent_label(self.overall)


@dataclass(frozen=True)
class LearnerData:
    """Everything about one learner's work: their cohorts and their latest feedback."""

    cohorts: dict[int, LearnerCohort]
    feedback: tuple[FeedbackItem, ...]
    valid_until: datetime | None


def learner_data(user: User, cohorts: list[Cohort], now: datetime) -> LearnerData:
    """The learner's read model: five queries whatever the number of cohorts and projects.

    Not cached by itself: the home page caches the section rendered from it, under the
    same versions."""
    cohort_ids = [cohort.pk for cohort in cohorts]
    releases = (
        ProjectRelease.objects.filter(cohort_id__in=cohort_ids)
        .order_by("opens_at", "project__module__order", "project__order", "pk")
        .values_list(
            "pk",
            "cohort_id",
            "opens_at",
            "first_deadline",
            "second_deadline",
            "project_id",
            "project__title",
            "project__slug",
            "project__module_id",
            "project__module__title",
            "project__weight",
        )
    )
    # The learner's own deadlines where an extension applies: one query, not five
    # subqueries per release (300 on a cohort of 60 projects).
    extended = (
        Extension.objects.filter(release__cohort_id__in=cohort_ids, learner=user)
        .only("release_id", "learner_id", "first_deadline", "second_deadline")
        .latest_by_release_and_learner()
    )
    scored_review = Review.objects.filter(
        iteration_id=OuterRef("scored_iteration_id"), submitted_at__isnull=False
    ).order_by("-submitted_at")
    attempts = {
        release_id: (pk, status, score, reviewed_at)
        for pk, release_id, status, score, reviewed_at in Attempt.objects.filter(
            learner=user, release__cohort_id__in=cohort_ids
        )
        .annotate(reviewed_at=Subquery(scored_review.values("submitted_at")[:1]))
        .order_by()
        .values_list("pk", "release_id", "status", "score", "reviewed_at")
    }
    programs = {cohort.program_id for cohort in cohorts}
    projects = (
        Project.objects.filter(module__program_id__in=programs, archived=False)
        .order_by("module__order", "order")
        .values_list("pk", "module_id", "module__program_id", "module__title")
    )
    # The learner's latest three reviews; their projects' titles come from the releases
    # (two joins fewer: PostgreSQL spent 2 ms planning the six-table join).
    latest_reviews = (
        Review.objects.filter(
            iteration__attempt__learner=user,
            iteration__cohort_id__in=cohort_ids,
            submitted_at__isnull=False,
        )
        .order_by("-submitted_at", "-pk")
        .values_list(
            "iteration__attempt_id",
            "iteration__attempt__release_id",
            "iteration__number",
            "decision",
            "kind",
            "reviewer__display_name",
            "reviewer__email",
            "submitted_at",
            "feedback",
        )[:3]
    )

    by_cohort: dict[int, list[LearnerRelease]] = defaultdict(list)
    times: list[datetime] = []
    for (
        pk,
        cohort_id,
        opens,
        first,
        second,
        project_id,
        title,
        slug,
        module_id,
        module,
        weight,
    ) in releases:
        extension = extended.get((pk, user.pk))
        if extension is not None:
            first, second = extension.first_deadline, extension.second_deadline
        times += [opens, first, second]
        attempt_id, status, score, reviewed_at = attempts.get(pk, (None, NOT_STARTED, None, None))
        by_cohort[cohort_id].append(
            LearnerRelease(
                pk,
                cohort_id,
                project_id,
                title,
                slug,
                module_id,
                module,
                weight,
                opens,
                first,
                second,
                extension is not None,
                attempt_id,
                status,
                score,
                reviewed_at,
            )
        )
    title_of = {
        release.release_id: release.title for rows in by_cohort.values() for release in rows
    }
    feedback = tuple(
        FeedbackItem(
            attempt_id,
            title_of[release_id],
            number,
            decision,
            kind,
            name_of(name, email),
            at,
            feedback_text,
        )
        for attempt_id, release_id, number, decision, kind, name, email, at, feedback_text in (
            latest_reviews
        )
        if at is not None  # always (submitted_at__isnull=False), but mypy cannot know
    )
    modules_of: dict[int, dict[int, tuple[str, list[int]]]] = defaultdict(dict)
    for project_id, module_id, program_id, module_title in projects:
        modules_of[program_id].setdefault(module_id, (module_title, []))[1].append(project_id)

    passing = Decimal(settings.PASSING_SCORE)
    data: dict[int, LearnerCohort] = {}
    for cohort in cohorts:
        cohort_releases = by_cohort[cohort.pk]
        counted = []
        passed: set[int] = set()
        for release in cohort_releases:
            if release.opens_at > now:
                continue
            score = counted_score(
                score=release.score,
                handed_in=release.attempt_id is not None,
                second_deadline=release.second_deadline,
                now=now,
            )
            if score is not None:
                counted.append(Counted(release.module_id, release.weight, score))
            if release.score is not None and release.score >= passing:
                passed.add(release.project_id)
        module_scores, overall = roll_up(counted)
        modules = tuple(
            ModuleProgress(
                module_id,
                title,
                sum(1 for project_id in project_ids if project_id in passed),
                len(project_ids),
                module_scores.get(module_id),
            )
            for module_id, (title, project_ids) in modules_of[cohort.program_id].items()
        )
        data[cohort.pk] = LearnerCohort(
            cohort.pk, tuple(cohort_releases), modules, overall, len(counted)
        )
    return LearnerData(data, feedback, next_change(times, now))


# Render-time views over the read model (they depend on the clock).


def current_releases(cohort: LearnerCohort, now: datetime) -> list[LearnerRelease]:
    """Releases open now for the learner (their extension applied), nearest deadline first."""
    current = [r for r in cohort.releases if r.deadlines.state(now) == "current"]
    current.sort(key=lambda release: (release.deadlines.next_deadline(now), release.release_id))
    return current


@dataclass
class RadarEntry:
    """A deadline on the radar and the other deadlines it clashes with."""

    release: LearnerRelease
    cohort: Cohort
    due: datetime
    which: str  # "first" or "second"
    opened: bool
    clashes: list[RadarEntry] = field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        return self.cohort.tz

    @property
    def clash_text(self) -> str:
        """'Within 48 hours of A (Tue 14 May, 23:59) and B (…)'."""
        parts = [
            f"{other.release.title} ({local_label(other.due, other.tz, 'D j M, H:i')})"
            for other in self.clashes
        ]
        return (
            f"Within {int(CLASH_WINDOW.total_seconds() // 3600)} hours of {join_titles(parts, 5)}"
        )


@dataclass(frozen=True)
class RadarDay:
    """One calendar day of the radar strip, with its labels ("Tue", "14", "Tuesday 14 May")."""

    day: date
    count: int
    clash: bool
    is_today: bool
    weekday: str
    number: str
    label: str


@dataclass(frozen=True)
class WorkloadRadar:
    """Deadlines still to meet in the next RADAR_DAYS days, and which of them clash."""

    days: list[RadarDay]
    entries: list[RadarEntry]
    clash_pairs: int
    tz: ZoneInfo

    @property
    def clash_hours(self) -> int:
        return int(CLASH_WINDOW.total_seconds() // 3600)

    @property
    def span(self) -> int:
        return len(self.days)


def workload_radar(
    releases: Iterable[tuple[LearnerRelease, Cohort]], now: datetime, tz: ZoneInfo
) -> WorkloadRadar:
    """Deadlines the learner still has to meet from now to the end of the RADAR_DAYS-th day.

    Each release contributes the deadline it is racing (the first, or the second once the
    first has passed), extension applied. Work handed in (waiting for review or approved)
    is left out: only what is still to hand in makes workload. Deadlines of two different
    projects within CLASH_WINDOW of each other clash.
    """
    today = timezone.localtime(now, tz).date()
    end_day = today + timedelta(days=RADAR_DAYS)
    end = datetime.combine(end_day, datetime.min.time(), tzinfo=tz)
    to_do = {NOT_STARTED, Attempt.Status.CHANGES_REQUESTED}
    entries: list[RadarEntry] = []
    for release, cohort in releases:
        if release.status not in to_do:
            continue
        due = release.deadlines.next_deadline(now)
        if due is None or due >= end:
            continue
        which = "first" if due == release.first_deadline else "second"
        entries.append(RadarEntry(release, cohort, due, which, release.opens_at <= now))
    entries.sort(key=lambda entry: (entry.due, entry.release.release_id))
    pairs = 0
    for index, entry in enumerate(entries):
        for other in entries[index + 1 :]:
            if other.due - entry.due > CLASH_WINDOW:
                break
            if other.release.release_id != entry.release.release_id:
                entry.clashes.append(other)
                other.clashes.append(entry)
                pairs += 1
    for entry in entries:
        entry.clashes.sort(key=lambda other: other.due)
    per_day: dict[date, list[RadarEntry]] = defaultdict(list)
    for entry in entries:
        per_day[timezone.localtime(entry.due, tz).date()].append(entry)
    days = []
    for day in (today + timedelta(days=offset) for offset in range(RADAR_DAYS)):
        weekday, number, label = dateformat.format(day, "D|j|l j F").split("|")
        days.append(
            RadarDay(
                day,
                len(per_day[day]),
                any(entry.clashes for entry in per_day[day]),
                day == today,
                weekday,
                number,
                label,
            )
        )
    return WorkloadRadar(days, entries, pairs, tz)


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    title: str
    attempt_id: int
    score: Decimal
    reviewed_at: datetime
    reviewed_label: str  # "14 May 2026" in the cohort's time zone

    @property
    def score_label(self) -> str:
        return percent_label(self.score)


@dataclass(frozen=True)
class ScoreChart:
    """Geometry of the score-over-time chart, computed here so the SVG template only draws."""

    points: list[ChartPoint]
    line: str  # the polyline's "x,y x,y …"
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str, str]]  # x, label, text-anchor (kept inside the box)
    pass_y: float
    summary: str
    # The points drawn, and again as rows of the table that screen readers get: built
    # here, not looped over in the template, where 60 points took longer than the rest.
    dots: SafeString
    table_rows: SafeString

    width: int = 640
    height: int = 220
    left: int = 64
    right: int = 624
    top: int = 12
    bottom: int = 188


CHART_MAX = Decimal(200)


def score_chart(releases: Iterable[LearnerRelease], tz: ZoneInfo) -> ScoreChart | None:
    """Score per project (y, 0–200%) by the date its scoring review was submitted (x)."""
    # (when, score, release) of the scored releases, by when.
    scored = sorted(
        (
            (r.reviewed_at, r.score, r)
            for r in releases
            if r.score is not None and r.reviewed_at is not None
        ),
        key=lambda item: (item[0], item[2].release_id),
    )
    if not scored:
        return None
    chart = ScoreChart([], "", [], [], 0.0, "", SafeString(), SafeString())
    left, right, top, bottom = chart.left, chart.right, chart.top, chart.bottom

    def y_of(score: Decimal) -> float:
        ratio = float(min(score, CHART_MAX) / CHART_MAX)
        return round(bottom - ratio * (bottom - top), 1)

    first, last = scored[0][0], scored[-1][0]
    span = (last - first).total_seconds()
    pad = 16

    def x_of(moment: datetime) -> float:
        if span <= 0:
            return round((left + right) / 2, 1)
        ratio = (moment - first).total_seconds() / span
        return round(left + pad + ratio * (right - left - 2 * pad), 1)

    points = [
        ChartPoint(
            x_of(at),
            y_of(score),
            r.title,
            r.attempt_id or 0,
            score,
            at,
            local_label(at, tz, "j M Y"),
        )
        for at, score, r in scored
    ]
    y_ticks = [(y_of(Decimal(value)), f"{value}%") for value in (0, 50, 100, 150, 200)]
    if span > 0:
        x_ticks = [
            (points[0].x - 4, local_label(first, tz, "j M"), "start"),
            (points[-1].x + 4, local_label(last, tz, "j M"), "end"),
        ]
    else:
        x_ticks = [(points[0].x, local_label(first, tz, "j M"), "middle")]
    latest = points[-1]
    summary = (
        f"Score per project over time: {len(points)} project{'s' if len(points) != 1 else ''} "
        f"scored, from {percent_label(min(p.score for p in points))} to "
        f"{percent_label(max(p.score for p in points))}; latest {latest.title} "
        f"{latest.score_label}."
    )
    return ScoreChart(
        points=points,
        line=" ".join(f"{p.x},{p.y}" for p in points),
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        pass_y=y_of(Decimal(settings.PASSING_SCORE)),
        summary=summary,
        dots=mark_safe(
            "\n".join(
                f'<circle class="chart-point" cx="{p.x}" cy="{p.y}" r="5"><title>{text(p.title)}:'
                f" {text(p.score_label)}, reviewed {text(p.reviewed_label)}</title></circle>"
                for p in points
            )
        ),
        table_rows=mark_safe(
            "\n".join(
                f'<tr><td>{text(p.reviewed_label)}</td><th scope="row">{text(p.title)}</th>'
                f"<td>{text(p.score_label)}</td></tr>"
                for p in points
            )
        ),
    )


@dataclass(frozen=True)
class LearnerCohortView:
    """One learner cohort as the home page shows it."""

    cohort: Cohort
    data: LearnerCohort
    current: list[LearnerRelease]
    chart: ScoreChart | None


@dataclass(frozen=True)
class LearnerHome:
    cohorts: list[LearnerCohortView]
    radar: WorkloadRadar
    feedback: tuple[FeedbackItem, ...]
    peer_reviews_owed: int
    passing_score: int
    valid_until: datetime | None  # when the clock alone would change what it shows


def learner_home(user: User, cohorts: list[Cohort], now: datetime | None = None) -> LearnerHome:
    """The learner's home: per cohort their projects and scores; across cohorts the radar."""
    now = now or timezone.now()
    data = learner_data(user, cohorts, now)
    views = []
    radar_input: list[tuple[LearnerRelease, Cohort]] = []
    for cohort in cohorts:
        standing = data.cohorts[cohort.pk]
        views.append(
            LearnerCohortView(
                cohort,
                standing,
                current_releases(standing, now),
                score_chart(standing.releases, cohort.tz),
            )
        )
        radar_input += [(release, cohort) for release in standing.releases]
    return LearnerHome(
        cohorts=views,
        radar=workload_radar(radar_input, now, cohorts[0].tz),
        feedback=data.feedback,
        peer_reviews_owed=peer_reviews_owed(user),
        passing_score=settings.PASSING_SCORE,
        valid_until=data.valid_until,
    )

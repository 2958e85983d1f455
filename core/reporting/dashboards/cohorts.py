"""Per cohort: the progress matrix's snapshot, the at-risk list and the mentor's home."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from core.accounts.models import name_of
from core.models import (
    Attempt,
    Cohort,
    Extension,
    Iteration,
    Membership,
    ProjectRelease,
    Review,
    Standing,
)
from core.platform.cache import entry_timeout, fresh_until
from core.platform.links import link_parts
from core.platform.timefmt import duration_label
from core.reporting.dashboards.common import (
    CELL_STATES,
    NOT_STARTED,
    Counted,
    counted_score,
    join_titles,
    next_change,
    percent_label,
    roll_up,
)
from core.reporting.turnaround import Turnaround, review_took
from core.reviews.models import queue_counts

if TYPE_CHECKING:
    from core.models import User

# The mentor's own review statistics cover this many days back from now.
REVIEW_STATS_DAYS = 7
# At most this many learners at risk are listed per cohort; the matrix has them all.
AT_RISK_LISTED = 6


# ---------------------------------------------------------------------------
# The cohort snapshot: the matrix, and the at-risk list derived from it


@dataclass(frozen=True)
class Column:
    """A project the cohort has opened: one column of the matrix."""

    release_id: int
    title: str
    slug: str
    module_id: int
    module_slug: str
    module_title: str
    weight: int
    first_deadline: datetime
    second_deadline: datetime


@dataclass(frozen=True)
class LearnerRow:
    """A learner of the cohort and their scores (their ``Standing``)."""

    learner_id: int
    name: str
    module_scores: dict[str, str]  # as the standing stores them: module id → score, as text
    overall: Decimal | None
    overdue: tuple[int, ...]  # columns past the learner's first deadline, nothing handed in

    @property
    def sort_name(self) -> str:
        return self.name.casefold()

    def module_score(self, module_id: int) -> Decimal | None:
        """The learner's score in the module, if one counts yet. Read from the stored text
        when asked: a page reads one module's, of one page of learners, if any."""
        score = self.module_scores.get(str(module_id))
        return None if score is None else Decimal(score)


@dataclass(frozen=True)
class AtRisk:
    """A learner the mentor should look at, and why, in words."""

    learner_id: int
    name: str
    overall: Decimal | None
    reasons: tuple[str, ...]

    @property
    def overall_label(self) -> str:
        return percent_label(self.overall)


@dataclass(frozen=True)
class CohortSnapshot:
    """Learners × opened projects of one cohort, with scores; the matrix's rows."""

    cohort_id: int
    columns: tuple[Column, ...]
    rows: tuple[LearnerRow, ...]
    valid_until: datetime | None

    def modules(self) -> list[tuple[str, str]]:
        """(slug, title) of the modules that have a column, in column order."""
        return list(dict.fromkeys((c.module_slug, c.module_title) for c in self.columns))

    def at_risk(self) -> list[AtRisk]:
        """Learners behind schedule or below AT_RISK_SCORE, the most worrying first."""
        threshold = Decimal(settings.AT_RISK_SCORE)
        found = []
        for row in self.rows:
            reasons = []
            if row.overdue:
                titles = [self.columns[index].title for index in row.overdue]
                if len(titles) == 1:
                    late = f"{titles[0]}, past its first deadline"
                else:
                    late = (
                        f"{len(titles)} projects past their first deadline ({join_titles(titles)})"
                    )
                reasons.append(f"Behind schedule: nothing handed in for {late}")
            if row.overall is not None and row.overall < threshold:
                reasons.append(
                    f"Overall score {percent_label(row.overall)} is below "
                    f"{percent_label(threshold)}"
                )
            if reasons:
                found.append(AtRisk(row.learner_id, row.name, row.overall, tuple(reasons)))
        lowest_first = Decimal(1000)
        found.sort(
            key=lambda risk: (
                -len(risk.reasons),
                risk.overall if risk.overall is not None else lowest_first,
                risk.name.casefold(),
            )
        )
        return found


class Kept(NamedTuple):
    """What a ``Standing`` holds, as stored."""

    overall: Decimal | None
    module_scores: dict[str, str]
    overdue: list[int]
    valid_until: datetime | None


def _build_snapshots(cohort_ids: list[int], now: datetime) -> dict[int, CohortSnapshot]:
    """Snapshots of several cohorts from two queries (releases, learners with their
    standings), and those standings that are missing, stale or out of date refreshed."""
    releases = (
        ProjectRelease.objects.filter(cohort_id__in=cohort_ids)
        .order_by("cohort_id", "project__module__order", "project__order", "pk")
        .values_list(
            "pk",
            "cohort_id",
            "project__title",
            "project__slug",
            "project__weight",
            "project__module_id",
            "project__module__slug",
            "project__module__title",
            "opens_at",
            "first_deadline",
            "second_deadline",
        )
    )
    columns: dict[int, list[Column]] = defaultdict(list)
    times: dict[int, list[datetime]] = defaultdict(list)
    for (
        pk,
        cohort_id,
        title,
        slug,
        weight,
        module_id,
        m_slug,
        m_title,
        opens,
        first,
        second,
    ) in releases:
        times[cohort_id] += [opens, first, second]
        if opens <= now:
            columns[cohort_id].append(
                Column(pk, title, slug, module_id, m_slug, m_title, weight, first, second)
            )
    learners = list(
        Membership.objects.learners()
        .filter(cohort_id__in=cohort_ids)
        .order_by()
        .values_list(
            "pk",
            "cohort_id",
            "user_id",
            "user__display_name",
            "user__email",
            "standing__stale",
            "standing__valid_until",
            "standing__overall",
            "standing__module_scores",
            "standing__overdue",
        )
    )
    kept = {
        membership_id: Kept(overall, module_scores, overdue, valid_until)
        for membership_id, _, _, _, _, stale, valid_until, overall, module_scores, overdue in (
            learners
        )
        if stale is False and (valid_until is None or valid_until > now)
    }
    outdated = [
        (pk, cohort_id, user_id) for pk, cohort_id, user_id, *_ in learners if pk not in kept
    ]
    if outdated:
        kept |= _refresh_standings(outdated, columns, times, now)

    rows: dict[int, list[LearnerRow]] = defaultdict(list)
    valid: dict[int, list[datetime]] = defaultdict(list)
    index_of = {
        column.release_id: index for cols in columns.values() for index, column in enumerate(cols)
    }
    for membership_id, cohort_id, learner_id, display_name, email, *_ in learners:
        standing = kept[membership_id]
        rows[cohort_id].append(
            LearnerRow(
                learner_id,
                name_of(display_name, email),
                standing.module_scores,
                standing.overall,
                tuple(index_of[pk] for pk in standing.overdue if pk in index_of),
            )
        )
        if standing.valid_until is not None:
            valid[cohort_id].append(standing.valid_until)
    return {
        cohort_id: CohortSnapshot(
            cohort_id=cohort_id,
            columns=tuple(columns[cohort_id]),
            rows=tuple(sorted(rows[cohort_id], key=lambda row: (row.sort_name, row.learner_id))),
            valid_until=next_change([*times[cohort_id], *valid[cohort_id]], now),
        )
        for cohort_id in cohort_ids
    }


def _refresh_standings(
    outdated: list[tuple[int, int, int]],
    columns: dict[int, list[Column]],
    times: dict[int, list[datetime]],
    now: datetime,
) -> dict[int, Kept]:
    """These (membership, cohort, learner) standings computed afresh, and stored.

    Each is locked while it is computed, so that a write committed meanwhile, whose
    receiver marks it stale once committed, waits and marks it stale after this stores
    it: what was stored from data read before that commit is never taken as fresh.
    Standings another request is computing (locked) are computed here too, not stored.
    """
    Standing.objects.bulk_create(
        [Standing(membership_id=pk) for pk, _, _ in outdated], ignore_conflicts=True
    )
    learner_ids = {learner_id for _, _, learner_id in outdated}
    opened = {
        "release_id__in": [column.release_id for pk in columns for column in columns[pk]],
        "learner_id__in": learner_ids,
    }
    fresh: dict[int, Kept] = {}
    with transaction.atomic():
        locked = set(
            Standing.objects.select_for_update(skip_locked=True)
            .filter(pk__in=[pk for pk, _, _ in outdated])
            .values_list("pk", flat=True)
        )
        scores: dict[tuple[int, int], Decimal | None] = {
            (learner_id, release_id): score
            for learner_id, release_id, score in Attempt.objects.filter(**opened)
            .order_by()
            .values_list("learner_id", "release_id", "score")
        }
        extensions = (
            Extension.objects.filter(**opened)
            .only("release_id", "learner_id", "first_deadline", "second_deadline")
            .latest_by_release_and_learner()
        )
        for pk, cohort_id, learner_id in outdated:
            module_scores, overall, overdue, changes = _scores(
                learner_id, columns[cohort_id], scores, extensions, now
            )
            until = next_change([*times[cohort_id], *changes], now)
            fresh[pk] = Kept(
                overall,
                {str(module): str(score) for module, score in module_scores.items()},
                overdue,
                fresh_until(until, now, entry_timeout()),
            )
        Standing.objects.bulk_update(
            [Standing(membership_id=pk, stale=False, **fresh[pk]._asdict()) for pk in locked],
            ["overall", "module_scores", "overdue", "valid_until", "stale"],
        )
    return fresh


def _scores(
    learner_id: int,
    columns: list[Column],
    scores: dict[tuple[int, int], Decimal | None],
    extensions: dict[tuple[int, int], Extension],
    now: datetime,
) -> tuple[dict[int, Decimal], Decimal | None, list[int], list[datetime]]:
    """One learner's module and overall scores (each project counted as ``counted_score``
    says), the releases past their first deadline with nothing handed in, and the
    learner's own deadlines (extensions), when those change."""
    counted: list[Counted] = []
    overdue: list[int] = []
    changes: list[datetime] = []
    for column in columns:
        key = (learner_id, column.release_id)
        handed_in = key in scores
        first, second = column.first_deadline, column.second_deadline
        extension = extensions.get((column.release_id, learner_id))
        if extension is not None:
            first, second = extension.first_deadline, extension.second_deadline
            changes += [first, second]
        if not handed_in and now >= first:
            overdue.append(column.release_id)
        counts_as = counted_score(
            score=scores.get(key), handed_in=handed_in, second_deadline=second, now=now
        )
        if counts_as is not None:
            counted.append(Counted(column.module_id, column.weight, counts_as))
    module_scores, overall = roll_up(counted)
    return module_scores, overall, overdue, changes


def cohort_snapshots(
    cohort_ids: Iterable[int], now: datetime | None = None
) -> dict[int, CohortSnapshot]:
    """Each cohort's snapshot (built in one batch)."""
    return _build_snapshots(list(dict.fromkeys(cohort_ids)), now or timezone.now())


def cohort_snapshot(cohort_id: int, now: datetime | None = None) -> CohortSnapshot:
    """One cohort's snapshot (see ``cohort_snapshots``)."""
    return cohort_snapshots([cohort_id], now)[cohort_id]


# ---------------------------------------------------------------------------
# The matrix as the template shows it


@dataclass(frozen=True)
class ModuleGroup:
    """A module's run of columns in the matrix header."""

    slug: str
    title: str
    span: int


@dataclass(frozen=True)
class MatrixTable:
    """What the matrix template renders: columns, grouped headers, rows of plain dicts."""

    columns: list[Column]
    groups: list[ModuleGroup]
    rows: list[dict[str, str]]  # this page's
    module: tuple[str, str] | None  # (slug, title) of the module filter, if any
    sort: str
    page: Page[LearnerRow]
    query: str  # the module and sort as a query string ("module=x&sort=y"), for the pager


# Cell classes of the matrix (short: a page of 50 × 60 repeats them 3,000 times), with
# the symbol a cell shows besides its score and the words a screen reader hears.
MATRIX_LEGEND = {
    "pm-ap": ("85", CELL_STATES[Attempt.Status.APPROVED]),
    "pm-ch": ("40", CELL_STATES[Attempt.Status.CHANGES_REQUESTED]),
    "pm-wa": ("…", CELL_STATES[Attempt.Status.WAITING]),
    "pm-ns": ("–", CELL_STATES[NOT_STARTED]),
    "pm-od": ("!", "not started, past the first deadline"),
}
_STATE_HTML: dict[str, tuple[str, SafeString]] = {
    status: (css, escape(MATRIX_LEGEND[css][1]))
    for status, css in (
        (Attempt.Status.APPROVED, "pm-ap"),
        (Attempt.Status.CHANGES_REQUESTED, "pm-ch"),
        (Attempt.Status.WAITING, "pm-wa"),
    )
}

MATRIX_SORTS = {
    "name": "Name (A–Z)",
    "score": "Score (lowest first)",
    "-score": "Score (highest first)",
}
# Learners per page of the matrix: at 60 projects a page is some 290 kB of markup that
# renders in a few milliseconds; all 300 learners of a cohort were 1.7 MB.
MATRIX_PAGE_SIZE = 50


def matrix_table(
    snapshot: CohortSnapshot, *, module_slug: str = "", sort: str = "name", page: int = 1
) -> MatrixTable:
    """One page of the snapshot filtered to a module and sorted, with each cell precomputed
    for the template (a page out of range is the nearest one).

    Sorting by score uses the module score when a module is chosen, else the overall score;
    learners without a score come last either way. The whole cohort is sorted, then paged.
    """
    sort = sort if sort in MATRIX_SORTS else "name"
    modules = dict(snapshot.modules())
    module = (module_slug, modules[module_slug]) if module_slug in modules else None
    indexes = [
        index
        for index, column in enumerate(snapshot.columns)
        if module is None or column.module_slug == module[0]
    ]
    columns = [snapshot.columns[index] for index in indexes]
    module_id = columns[0].module_id if module and columns else None
    groups: list[ModuleGroup] = []
    for column in columns:
        if groups and groups[-1].slug == column.module_slug:
            last = groups[-1]
            groups[-1] = ModuleGroup(last.slug, last.title, last.span + 1)
        else:
            groups.append(ModuleGroup(column.module_slug, column.module_title, 1))

    def score_of(row: LearnerRow) -> Decimal | None:
        return row.module_score(module_id) if module_id else row.overall

    rows = list(snapshot.rows)
    if sort != "name":
        scored = [row for row in rows if score_of(row) is not None]
        unscored = [row for row in rows if score_of(row) is None]
        scored.sort(key=lambda row: (score_of(row), row.sort_name), reverse=sort == "-score")
        rows = scored + unscored
    shown = Paginator(rows, MATRIX_PAGE_SIZE).get_page(page)
    # This page's learners' attempts only: the standings hold what sorting needs.
    cells: dict[int, dict[int, tuple[int, str, Decimal | None]]] = defaultdict(dict)
    for learner_id, release_id, pk, status, score in Attempt.objects.filter(
        release_id__in=[column.release_id for column in columns],
        learner_id__in=[row.learner_id for row in shown],
    ).values_list("learner_id", "release_id", "pk", "status", "score"):
        cells[learner_id][release_id] = (pk, status, score)
    url = link_parts("attempt_detail")
    table_rows = [
        {
            "name": row.name,
            "score": percent_label(score_of(row)),
            "cells": _cells_html(row, indexes, snapshot.columns, cells[row.learner_id], url),
        }
        for row in shown
    ]
    query = urlencode(({"module": module[0]} if module else {}) | {"sort": sort})
    return MatrixTable(columns, groups, table_rows, module, sort, shown, query)


@functools.cache
def _whole_percent(score: Decimal) -> str:
    """A score as a whole percent, half up (scores are ≥ 0 and in hundredths)."""
    return str((int(score.scaleb(2)) + 50) // 100)


def _cell_html(css: str, text: str, label: str, url: str = "") -> str:
    inner = f'{text}<span class="pm-sr"> {escape(label)}</span>'
    if url:
        inner = f'<a href="{url}">{inner}</a>'
    return f'<td class="{css}">{inner}</td>'


_NOT_STARTED_HTML = _cell_html("pm-ns", "–", MATRIX_LEGEND["pm-ns"][1])
_OVERDUE_HTML = _cell_html("pm-od", "!", MATRIX_LEGEND["pm-od"][1])


def _cells_html(
    row: LearnerRow,
    indexes: list[int],
    columns: tuple[Column, ...],
    attempts: dict[int, tuple[int, str, Decimal | None]],
    url: tuple[str, str],
) -> SafeString:
    """A row's cells as HTML, built here rather than in the template.

    A page of the matrix repeats a cell 3,000 times at 60 projects: through Django's
    template engine each would be several node renders with their context lookups and
    escaping, here it is a few strings joined. Everything interpolated is an integer or a
    constant escaped once, so the result is safe.
    """
    prefix, suffix = url
    parts = []
    overdue = set(row.overdue)
    for index in indexes:
        attempt = attempts.get(columns[index].release_id)
        if attempt is None:
            parts.append(_OVERDUE_HTML if index in overdue else _NOT_STARTED_HTML)
            continue
        attempt_id, status, score = attempt
        css, label = _STATE_HTML.get(status, _STATE_HTML[Attempt.Status.WAITING])
        text = "…" if score is None else _whole_percent(score)
        parts.append(
            f'<td class="{css}"><a href="{prefix}{int(attempt_id)}{suffix}">{text}'
            f'<span class="pm-sr"> {label}</span></a></td>'
        )
    return mark_safe("".join(parts))


# ---------------------------------------------------------------------------
# Mentor dashboard


@dataclass(frozen=True)
class QueueStats:
    """A cohort's review queue, as the mentor's queue page counts it: its length, when
    the oldest was submitted, and when a peer review escalates into it next."""

    waiting: int
    oldest: datetime | None
    valid_until: datetime | None


def queue_stats(cohort_ids: Iterable[int], now: datetime | None = None) -> dict[int, QueueStats]:
    """Each cohort's review queue length and oldest submission (one query).

    Not cached by itself: it is read only to build the mentor's home section, which is
    cached under the same cohort versions."""
    now = now or timezone.now()
    stats = {cohort_id: QueueStats(0, None, None) for cohort_id in cohort_ids}
    # Rows of the cohort's id and what queue_counts() names (the stubs see only the id).
    rows: Iterable[Mapping[str, Any]] = (
        Iteration.objects.waiting()
        .filter(cohort_id__in=list(stats))
        .values("cohort_id")
        .annotate(**queue_counts(now))
        .order_by()
    )
    for row in rows:
        stats[row["cohort_id"]] = QueueStats(row["waiting"], row["oldest"], row["escalates"])
    return stats


@dataclass(frozen=True)
class ReviewStats:
    """A reviewer's own decisions over the last REVIEW_STATS_DAYS days."""

    count: int
    median_turnaround: timedelta | None
    days: int

    @property
    def median_label(self) -> str:
        return duration_label(self.median_turnaround)


def review_stats(user: User, now: datetime | None = None) -> ReviewStats:
    """How many mentor reviews ``user`` submitted lately, and their median turnaround
    (``core.reporting.turnaround``; one query)."""
    now = now or timezone.now()
    turnaround = Turnaround.of(
        Review.objects.filter(
            reviewer=user,
            kind=Review.Kind.MENTOR,
            submitted_at__gt=now - timedelta(days=REVIEW_STATS_DAYS),
        )
        .annotate(took=review_took())
        .order_by()
        .values_list("took", flat=True)
    )
    return ReviewStats(turnaround.count, turnaround.p50, REVIEW_STATS_DAYS)


@dataclass(frozen=True)
class MentorCohort:
    """One mentored cohort on the mentor's home page."""

    cohort: Cohort
    queue: QueueStats
    oldest_wait: timedelta | None
    learner_count: int
    at_risk: list[AtRisk]
    at_risk_total: int

    @property
    def oldest_wait_label(self) -> str:
        return duration_label(self.oldest_wait)

    @property
    def at_risk_more(self) -> int:
        return self.at_risk_total - len(self.at_risk)


@dataclass(frozen=True)
class MentorHome:
    cohorts: list[MentorCohort]
    reviews: ReviewStats
    valid_until: datetime | None  # when the clock alone would change the at-risk lists


def mentor_home(user: User, cohorts: list[Cohort], now: datetime | None = None) -> MentorHome:
    """Queue, at-risk learners and the mentor's own review statistics, per mentored cohort."""
    now = now or timezone.now()
    ids = [cohort.pk for cohort in cohorts]
    snapshots = cohort_snapshots(ids, now)
    queues = queue_stats(ids, now)
    cards = []
    for cohort in cohorts:
        queue = queues[cohort.pk]
        at_risk = snapshots[cohort.pk].at_risk()
        cards.append(
            MentorCohort(
                cohort=cohort,
                queue=queue,
                oldest_wait=now - queue.oldest if queue.oldest else None,
                learner_count=len(snapshots[cohort.pk].rows),
                at_risk=at_risk[:AT_RISK_LISTED],
                at_risk_total=len(at_risk),
            )
        )
    clocked: list[CohortSnapshot | QueueStats] = [*snapshots.values(), *queues.values()]
    valid_until = next_change(
        (item.valid_until for item in clocked if item.valid_until is not None), now
    )
    return MentorHome(cards, review_stats(user, now), valid_until)

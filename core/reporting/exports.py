"""Score exports: a cohort's scores as CSV, written by a background task.

The CSV has one row per learner and opened release, in module order, with the
learner's overall score repeated on each row so a spreadsheet can sort and
filter by it. Reading the data takes a constant number of queries whatever the
cohort's size.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from core.models import Attempt, Cohort, Extension, Membership, ProjectRelease, ScoreExport, User
from core.reporting.dashboards.common import Counted, counted_score, roll_up
from core.reporting.models import export_path

logger = logging.getLogger(__name__)

EXPORT_COLUMNS = (
    "learner_email",
    "learner_name",
    "module",
    "project",
    "project_slug",
    "status",
    "score",
    "scored_iteration",
    "overall_score",
)
NOT_STARTED = "not_started"
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Progress is written about twenty times per export, never more often than this.
MIN_ROWS_PER_PROGRESS = 500


@dataclass(frozen=True)
class ScoreCell:
    """One learner's standing on one release."""

    status: str
    score: Decimal | None
    scored_iteration: int | None


@dataclass(frozen=True)
class ScoreTable:
    """Everything the CSV holds, loaded in four queries."""

    learners: list[User]
    releases: list[ProjectRelease]
    cells: dict[tuple[int, int], ScoreCell]  # (learner id, release id)
    second_deadlines: dict[tuple[int, int], datetime]  # extended, by (learner, release)
    now: datetime

    @property
    def row_count(self) -> int:
        return len(self.learners) * len(self.releases)

    def cell(self, learner: User, release: ProjectRelease) -> ScoreCell:
        return self.cells.get((learner.pk, release.pk)) or ScoreCell(NOT_STARTED, None, None)

    def overall(self, learner: User) -> Decimal | None:
        """The learner's overall score, rolled up exactly as the dashboards show it.

        A project counts once scored, or at 0 once the learner's second deadline
        (extension applied) passed without a hand-in; module scores are weighted
        by project, the overall score is their mean (core.reporting.dashboards).
        """
        counted = []
        for release in self.releases:
            cell = self.cell(learner, release)
            score = counted_score(
                score=cell.score,
                handed_in=cell.status != NOT_STARTED,
                second_deadline=self.second_deadlines.get(
                    (learner.pk, release.pk), release.second_deadline
                ),
                now=self.now,
            )
            if score is not None:
                project = release.project
                counted.append(Counted(project.module_id, project.weight, score))
        return roll_up(counted)[1]


def cohort_score_table(cohort: Cohort, now: datetime | None = None) -> ScoreTable:
    """Load the cohort's learners, opened releases, attempts and extensions (4 queries)."""
    now = now or timezone.now()
    learners = list(
        User.objects.filter(
            memberships__cohort=cohort, memberships__role=Membership.Role.LEARNER
        ).order_by("display_name", "email")
    )
    releases = list(
        ProjectRelease.objects.filter(cohort=cohort)
        .opened(now)
        .select_related("project__module")
        .order_by("project__module__order", "project__order", "opens_at")
    )
    attempts = Attempt.objects.filter(release__cohort=cohort).values_list(
        "learner_id", "release_id", "status", "score", "scored_iteration__number"
    )
    cells = {
        (learner_id, release_id): ScoreCell(status, score, number)
        for learner_id, release_id, status, score, number in attempts.order_by()
    }
    extensions = (
        Extension.objects.filter(release__cohort=cohort)
        .only("release_id", "learner_id", "second_deadline")
        .latest_by_release_and_learner()
    )
    second_deadlines = {
        (learner, release): extension.second_deadline
        for (release, learner), extension in extensions.items()
    }
    return ScoreTable(learners, releases, cells, second_deadlines, now)


def _safe(text: str) -> str:
    """Neutralize a leading formula character so a spreadsheet shows the text as text."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _number(value: Decimal | int | None) -> str:
    return "" if value is None else str(value)


def score_rows(table: ScoreTable) -> Iterator[list[str]]:
    """The CSV's data rows, learner by learner, releases in module order."""
    for learner in table.learners:
        overall = _number(table.overall(learner))
        for release in table.releases:
            cell = table.cell(learner, release)
            project = release.project
            yield [
                _safe(learner.email),
                _safe(learner.name),
                _safe(project.module.title),
                _safe(project.title),
                project.slug,
                cell.status,
                _number(cell.score),
                _number(cell.scored_iteration),
                overall,
            ]


def export_file_name(export: ScoreExport) -> str:
    """The name the browser saves the download under."""
    day = timezone.localtime(export.created_at, export.cohort.tz)
    return f"{export.cohort.slug}-scores-{day:%Y-%m-%d}.csv"


def score_export_run(*, export_id: int) -> None:
    """Write the export's CSV to the default storage, reporting progress as it goes.

    Any failure marks the export failed (the page shows it) and is re-raised so the
    task backend records it too.
    """
    export = ScoreExport.objects.select_related("cohort").filter(pk=export_id).first()
    if export is None or export.status != ScoreExport.Status.PENDING:
        return  # pruned meanwhile, or a retry of a run that already started
    try:
        table = cohort_score_table(export.cohort)
        export.mark_running(rows_total=table.row_count)
        every = max(MIN_ROWS_PER_PROGRESS, table.row_count // 20)
        with tempfile.TemporaryFile() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            writer = csv.writer(text)
            writer.writerow(EXPORT_COLUMNS)
            for done, row in enumerate(score_rows(table), start=1):
                writer.writerow(row)
                if done % every == 0:
                    export.mark_progress(rows_done=done)
            text.flush()
            raw.seek(0)
            name = default_storage.save(export_path(export, ""), File(raw))
            text.detach()
        export.mark_done(file_name=name)
    except Exception:
        logger.exception("Score export %s failed", export_id)
        export.mark_failed(
            error=f"Writing the file failed (export #{export_id}). Try again; if it fails "
            "again, tell the developers this number."
        )
        raise
    logger.info("Score export %s: %s rows of %s", export_id, table.row_count, export.cohort.slug)

"""The reporting domain's writes: starting a score export and pruning expired ones."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.models import Cohort, ScoreExport, User
from core.reporting.tasks import export_scores

logger = logging.getLogger(__name__)


@transaction.atomic
def score_export_start(*, cohort: Cohort, requested_by: User) -> tuple[ScoreExport, bool]:
    """Queue an export of the cohort's scores; returns (export, created).

    An export of the cohort still in progress is returned instead of starting a
    second one, so a double click costs one file. The task is enqueued when the
    transaction commits: with the immediate backend it has finished on return.
    """
    Cohort.objects.select_for_update().filter(pk=cohort.pk).first()  # one start at a time
    now = timezone.now()
    in_progress = ScoreExport.objects.filter(
        cohort=cohort, status__in=[ScoreExport.Status.PENDING, ScoreExport.Status.RUNNING]
    ).first()
    if in_progress is not None:
        if not in_progress.is_stale(now):
            return in_progress, False
        in_progress.mark_failed(
            error="The export stopped responding (is the task worker running?)."
        )
    export = ScoreExport.objects.create(cohort=cohort, requested_by=requested_by, created_at=now)
    transaction.on_commit(lambda: _enqueue(export), robust=True)
    return export, True


def _enqueue(export: ScoreExport) -> None:
    try:
        export_scores.enqueue(export_id=export.pk)
    except Exception:
        logger.exception("Could not queue score export %s", export.pk)
        export.mark_failed(error="The export could not be queued. Try again in a minute.")


def score_exports_prune(*, now: datetime | None = None) -> int:
    """Delete expired exports and their files; returns how many were deleted."""
    expired = list(ScoreExport.objects.filter(expires_at__lte=now or timezone.now()))
    for export in expired:
        if export.file:
            try:
                export.file.delete(save=False)
            except OSError:
                logger.warning("Could not delete %s; deleting its export anyway", export.file.name)
    ScoreExport.objects.filter(pk__in=[export.pk for export in expired]).delete()
    return len(expired)

"""The reporting domain's background work: writing score exports."""

from __future__ import annotations

from django.tasks import task

from core.reporting.exports import score_export_run


@task
def export_scores(*, export_id: int) -> None:
    """Write a cohort's scores to a CSV file (see core.reporting.exports)."""
    score_export_run(export_id=export_id)

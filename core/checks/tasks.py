"""The checks domain's background work: running a check, and watching that it ends."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.tasks import default_task_backend, task
from django.utils import timezone

from core.checks.models import CheckRun
from core.checks.runs import check_run_execute, check_run_take, check_runs_recover, worker_name

logger = logging.getLogger(__name__)


def recover_stale_runs() -> None:
    """Runs whose worker died go back on the queue, or end errored after their last try.
    The watchdog calls this, and so do the pages that show a run's status."""
    requeued, _ended = check_runs_recover()
    for run in requeued:
        run_checks.enqueue(run_id=run.pk)


@task
def run_checks(*, run_id: int) -> None:
    """Take the run if it is still queued (exactly one worker does) and execute it."""
    recover_stale_runs()
    run = check_run_take(run_id=run_id, worker=worker_name())
    if run is None:
        return  # replaced, or taken by another worker
    _watch_later(run_id)
    check_run_execute(run=run)


@task
def watch_check_run(*, run_id: int) -> None:
    """Any worker notices a run whose worker died: recovered, or looked at again later."""
    recover_stale_runs()
    if CheckRun.objects.filter(pk=run_id, status=CheckRun.Status.RUNNING).exists():
        _watch_later(run_id)


def _watch_later(run_id: int) -> None:
    """A watchdog for the run, due once its heartbeat could have gone stale. Backends that
    cannot defer (the immediate one runs everything in the request) need none."""
    if not default_task_backend.supports_defer:
        return
    due = timezone.now() + timedelta(seconds=settings.CHECKS_STALE_SECONDS + 1)
    try:
        watch_check_run.using(run_after=due).enqueue(run_id=run_id)
    except Exception:
        logger.exception("Could not queue the watchdog of check run %s", run_id)

"""The checks domain's requests: "check my code", the checks of a submitted iteration,
re-runs by staff, and putting recovered runs back on the queue.

A run moves queued → running → passed / failed / errored (or replaced, while still
queued, by a newer request); core/checks/runs.py takes and executes it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.checks.models import CheckRun
from core.checks.selectors import has_checks, zip_attachment
from core.checks.tasks import run_checks
from core.models import Iteration, ProjectRelease, User

logger = logging.getLogger(__name__)


class CheckRequestRefused(ValidationError):
    """A run the learner may not have now (rate limit, no checks); the message says why."""


def _enqueue(run: CheckRun) -> None:
    try:
        run_checks.enqueue(run_id=run.pk)
    except Exception:
        logger.exception("Could not queue check run %s", run.pk)
        CheckRun.objects.filter(pk=run.pk, status=CheckRun.Status.QUEUED).update(
            status=CheckRun.Status.ERRORED,
            finished_at=timezone.now(),
            error="The check could not be queued. Try again in a minute.",
            stamp=F("stamp") + 1,
        )


def _enqueue_on_commit(run: CheckRun) -> None:
    transaction.on_commit(lambda: _enqueue(run), robust=True)


# --- Requests ----------------------------------------------------------------------------


@transaction.atomic
def check_run_request(
    *,
    learner: User,
    release: ProjectRelease,
    repo_url: str = "",
    commit_sha: str = "",
    archive: UploadedFile[bytes] | None = None,
) -> CheckRun:
    """Queue "check my code" for ``learner`` on ``release``: a repository at a commit, or a
    zip. A queued request of theirs for the release is replaced; past the hourly limit,
    refused."""
    if not has_checks(release.project):
        raise CheckRequestRefused("This project has no automated checks.")
    User.objects.select_for_update().filter(pk=learner.pk).first()  # one request at a time
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    recent = CheckRun.objects.filter(
        learner=learner, trigger=CheckRun.Trigger.LEARNER, requested_at__gt=hour_ago
    ).count()
    limit = settings.CHECKS_RUNS_PER_HOUR
    if recent >= limit:
        raise CheckRequestRefused(
            f"You have asked for {recent} checks in the last hour, the limit is {limit}. "
            "Try again later: checks of your submissions still run."
        )
    CheckRun.objects.queued().filter(learner=learner, release=release, iteration=None).update(
        status=CheckRun.Status.REPLACED, finished_at=now, stamp=F("stamp") + 1
    )
    run = CheckRun(
        learner=learner,
        release=release,
        requested_by=learner,
        heartbeat_at=now,  # when it was sent to the workers (core/checks/runs.py)
        trigger=CheckRun.Trigger.LEARNER,
        repo_url="" if archive else repo_url,
        commit_sha="" if archive else commit_sha,
        requested_at=now,
    )
    if archive is not None:
        run.archive.save(f"{learner.pk}-{release.pk}.zip", archive, save=False)
    run.save()
    _enqueue_on_commit(run)
    return run


@transaction.atomic
def iteration_checks_request(
    *, iteration: Iteration, requested_by: User, trigger: str = CheckRun.Trigger.SUBMISSION
) -> CheckRun | None:
    """Queue the checks of a submitted iteration (its zip if it has one, else its
    repository at its commit); None when its project has no checks."""
    release = iteration.attempt.release
    if not has_checks(release.project):
        return None
    now = timezone.now()
    # An older iteration's queued run is no longer worth a worker's time.
    CheckRun.objects.queued().filter(iteration__attempt=iteration.attempt_id).update(
        status=CheckRun.Status.REPLACED, finished_at=now, stamp=F("stamp") + 1
    )
    zipped = zip_attachment(iteration)
    run = CheckRun.objects.create(
        learner=iteration.attempt.learner,
        release=release,
        iteration=iteration,
        requested_by=requested_by,
        trigger=trigger,
        repo_url="" if zipped else iteration.repo_url,
        commit_sha="" if zipped else iteration.commit_sha,
        requested_at=now,
        heartbeat_at=now,  # when it was sent to the workers (core/checks/runs.py)
    )
    _enqueue_on_commit(run)
    return run


def checks_rerun(*, iterations: Iterable[Iteration], requested_by: User) -> int:
    """Queue the checks of each iteration again (after its suites changed); how many."""
    count = 0
    for iteration in iterations:
        if iteration_checks_request(
            iteration=iteration, requested_by=requested_by, trigger=CheckRun.Trigger.RERUN
        ):
            count += 1
    return count

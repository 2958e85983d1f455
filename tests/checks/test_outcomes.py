"""What a run says when the learner's code cannot even be loaded, when the sandbox cannot
start, and of runs nobody took."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.checks.models import CheckRun, CheckSuite, CheckTaskResult
from core.checks.services import check_run_request
from core.models import ProjectRelease, User
from tests.checks.support import GOOD_ROWS, rows_suite, zip_of


def test_code_that_cannot_be_loaded_is_an_error_that_names_it(
    sandbox: None,
    learner: User,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    rows_suite(release.project)  # it has a hidden case: the full output stays hidden
    with django_capture_on_commit_callbacks(execute=True):
        run = check_run_request(
            learner=learner, release=release, archive=zip_of({"rows.py": "def first(n) return n"})
        )
    result = CheckTaskResult.objects.get(run=run)
    assert result.outcome == CheckTaskResult.Outcome.ERROR
    assert result.reason.startswith("The checks could not load your code: ")
    assert "SyntaxError" in result.reason


def test_a_sandbox_that_cannot_start_is_our_error_not_a_verdict_on_the_code(
    sandbox: None,
    learner: User,
    learner_client: Client,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    # Two processes: bwrap and the sandbox's PID 1 take both, and bwrap cannot fork the
    # learner's command ("bwrap: Can't fork for pid 1"), as when a uid runs short.
    CheckSuite.objects.filter(pk=rows_suite(release.project).pk).update(processes=2)
    with django_capture_on_commit_callbacks(execute=True):
        run = check_run_request(
            learner=learner, release=release, archive=zip_of({"rows.py": GOOD_ROWS})
        )
    run.refresh_from_db()
    assert run.status == CheckRun.Status.ERRORED
    assert run.error.startswith("Something went wrong on our side while checking")
    assert not CheckTaskResult.objects.filter(run=run).exists()
    page = learner_client.get(f"/checks/{run.pk}/").content.decode()
    assert "Something went wrong on our side" in page
    assert "bwrap" not in page


def test_a_queued_run_nobody_took_is_sent_to_the_workers_again(
    sandbox: None,
    learner: User,
    learner_client: Client,
    release: ProjectRelease,
) -> None:
    rows_suite(release.project)
    # Requested, but its task never reached a worker (the enqueue was lost).
    with time_machine.travel(timezone.now() - timedelta(minutes=10), tick=False):
        run = check_run_request(
            learner=learner, release=release, archive=zip_of({"rows.py": GOOD_ROWS})
        )
    assert CheckRun.objects.get(pk=run.pk).status == CheckRun.Status.QUEUED
    # Its page looks, finds it forgotten, and sends it again: it runs.
    learner_client.get(f"/checks/{run.pk}/")
    run.refresh_from_db()
    assert run.status == CheckRun.Status.PASSED
    assert run.tries == 1


def test_a_queued_run_sent_recently_is_left_in_the_queue(
    learner: User, learner_client: Client, release: ProjectRelease
) -> None:
    rows_suite(release.project)
    run = check_run_request(
        learner=learner, release=release, archive=zip_of({"rows.py": GOOD_ROWS})
    )
    learner_client.get(f"/checks/{run.pk}/")
    assert CheckRun.objects.get(pk=run.pk).status == CheckRun.Status.QUEUED

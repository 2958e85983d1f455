"""``manage.py run_checks ITERATION_ID``: an iteration's checks in the foreground."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from core.checks.models import CheckRun
from core.management.commands import run_checks
from core.models import Iteration, Project, ProjectRelease, Review, User
from core.reviews.services import iteration_submit
from tests.checks.support import BAD_BATCH, all_checks_project, project_code, zip_of
from tests.support import manage

pytestmark = pytest.mark.usefixtures("media", "queue_only")
REPO = "https://github.com/alice/generators"


def submit(learner: User, release: ProjectRelease, **kwargs: object) -> Iteration:
    iteration, _ = iteration_submit(learner=learner, release=release, repo_url=REPO, **kwargs)
    return iteration


def command(*args: str) -> str:
    out = StringIO()
    call_command("run_checks", *args, stdout=out, no_color=True)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_checks_and_prints_every_case(
    sandbox: None, learner: User, project: Project, release: ProjectRelease
) -> None:
    all_checks_project(project)
    iteration = submit(learner, release, attachments=[zip_of(project_code(batch=BAD_BATCH))])
    queued = CheckRun.objects.get()

    output = command(str(iteration.pk), "-v", "2")

    run = CheckRun.objects.exclude(pk=queued.pk).get()
    lines = re.sub(r"\(\d+\.\d s\)", "(… s)", output).splitlines()
    task_2 = lines.index("Task 2. Lazy pagination: Passed, 1/1 (… s)")
    assert lines == [
        f"Iteration 1 of Python Generators by Alice Learner, from the uploaded zip archive: "
        f"run #{run.pk}",
        "Task 0. Stream rows: Passed, 3/3 (… s)",
        "  ✓ test_returns_a_list: Passed",
        "  ✓ test_returns_n_rows: Passed",
        "  ✓ test_hidden_edge_case (hidden): Passed",
        "Task 1. Batch rows: Failed, 0/1 (… s)",
        "  ✗ test_batches_split_rows: Failed",
        *lines[7:task_2],  # its output, at verbosity 2
        "Task 2. Lazy pagination: Passed, 1/1 (… s)",
        "  ✓ test_first_page: Passed",
        "Some checks fail: 2 of 3 tasks pass, 4 of 5 checks",
    ]
    assert any("assert [[0, 1, 2, 3, 4]] == [[0, 1], [2, 3], [4]]" in line for line in lines)
    # Recorded as a staff re-run by the checks account, taken by this process…
    assert (run.trigger, run.status, run.tries) == ("rerun", "failed", 1)
    assert run.requested_by.email == settings.CHECKS_BOT_EMAIL
    assert run.worker.endswith(" (run_checks)")
    queued.refresh_from_db()
    assert queued.status == CheckRun.Status.REPLACED  # the submission's, not run twice
    # …and deciding the iteration the checks alone grade.
    iteration.refresh_from_db()
    assert iteration.status == Iteration.Status.REVIEWED
    assert Review.objects.get(iteration=iteration).kind == Review.Kind.CHECKS


@pytest.mark.django_db(transaction=True)
def test_it_fails_when_the_checks_could_not_run(
    learner: User, staff: User, project: Project, release: ProjectRelease, monkeypatch
) -> None:
    monkeypatch.setattr(run_checks, "sandbox_available", lambda: (True, "bubblewrap"))
    all_checks_project(project)
    iteration = submit(learner, release)  # no zip, and fetching is off here
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("run_checks", str(iteration.pk), "--by", staff.email, stdout=out)
    assert str(failed.value).startswith(
        "The checks could not run: Fetching repositories is off on this server"
    )
    assert "Could not run: Fetching repositories is off" in out.getvalue()
    run = CheckRun.objects.get(status="errored")
    assert run.requested_by == staff


@pytest.mark.django_db
def test_it_refuses_without_a_sandbox(
    learner: User, project: Project, release: ProjectRelease, monkeypatch
) -> None:
    monkeypatch.setattr(
        run_checks, "sandbox_available", lambda: (False, "bubblewrap is not installed")
    )
    all_checks_project(project)
    iteration = submit(learner, release)
    with pytest.raises(CommandError) as refused:
        command(str(iteration.pk))
    assert str(refused.value) == "Checks cannot run on this machine: bubblewrap is not installed"
    assert CheckRun.objects.get().trigger == "submission"  # no run of its own


def test_it_exits_non_zero_without_a_sandbox(tmp_path: Path) -> None:
    result = manage("run_checks", "1", env={"CHECKS_RUNTIME_DIR": str(tmp_path / "no-runtime")})
    assert result.returncode == 1
    assert "Checks cannot run on this machine: " in result.stderr


@pytest.mark.django_db
def test_it_refuses_what_it_cannot_check(
    learner: User, staff: User, project: Project, release: ProjectRelease, monkeypatch
) -> None:
    monkeypatch.setattr(run_checks, "sandbox_available", lambda: (True, "bubblewrap"))
    without_checks = submit(learner, release)
    with pytest.raises(CommandError, match=r"^Python Generators has no automated checks\.$"):
        command(str(without_checks.pk))
    all_checks_project(project)
    newer = submit(learner, release)
    with pytest.raises(CommandError) as older:
        command(str(without_checks.pk))
    assert str(older.value) == (
        f"Iteration {without_checks.pk} is not its attempt's latest: run the checks of "
        f"iteration {newer.pk} instead."
    )
    with pytest.raises(CommandError, match=r"^There is no iteration 999999\.$"):
        command("999999")
    with pytest.raises(CommandError, match=r"^No staff member has the email address"):
        command(str(newer.pk), "--by", learner.email)
    assert CheckRun.objects.get().iteration == newer  # the submission's only

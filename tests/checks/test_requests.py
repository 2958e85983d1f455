"""Asking for checks, through the services and the real sandbox: "check my code",
the checks of a submission, and what they decide for a project graded by checks alone.

Runs are queued as the site queues them and then worked as a worker works them
(``work_queue``: ``run_checks`` itself, with the real sandbox). Tests that execute runs
commit for real (``transaction=True``): a run's heartbeat thread writes through its own
connection, as on a worker.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from core.checks.models import CheckCaseResult, CheckRun, CheckTaskResult
from core.checks.runs import worker_name
from core.checks.services import (
    CheckRequestRefused,
    check_run_request,
    checks_rerun,
)
from core.checks.tasks import run_checks
from core.models import (
    Attempt,
    CheckFile,
    Iteration,
    Notification,
    Project,
    ProjectRelease,
    Review,
    Task,
    User,
    Verdict,
)
from core.reviews.scoring import attempt_receipts
from core.reviews.services import iteration_decide, iteration_submit
from tests.checks.support import (
    BAD_BATCH,
    BAD_ROWS,
    BATCH_SUITE,
    GOOD_ROWS,
    all_checks_project,
    project_code,
    rows_suite,
    work_queue,
    zip_of,
)
from tests.conftest import client_for
from tests.factories import CheckCaseFactory, ReviewFactory, VerdictFactory

pytestmark = pytest.mark.usefixtures("media", "queue_only")
EXECUTED = pytest.mark.django_db(transaction=True)
REPO = "https://github.com/alice/generators"
SHA = "0123456789abcdef0123456789abcdef01234567"


def submit(learner: User, release: ProjectRelease, **kwargs: object) -> Iteration:
    iteration, created = iteration_submit(learner=learner, release=release, **kwargs)
    assert created
    return iteration


# --- Check my code -------------------------------------------------------------------------


@EXECUTED
def test_check_my_code_with_a_passing_zip(
    sandbox: None, learner: User, project: Project, release: ProjectRelease
) -> None:
    rows_suite(project)
    run = check_run_request(
        learner=learner, release=release, archive=zip_of({"rows.py": GOOD_ROWS})
    )
    assert run.status == CheckRun.Status.QUEUED
    assert run.trigger == CheckRun.Trigger.LEARNER and run.requested_by == learner
    assert run.iteration is None and run.repo_url == "" and run.archive

    [run] = work_queue()

    assert run.status == CheckRun.Status.PASSED, run.error
    assert run.error == ""
    assert run.tries == 1 and run.worker == worker_name()
    assert run.requested_at <= run.started_at <= run.finished_at
    [result] = run.task_results.all()
    assert (result.task.number, result.outcome) == (0, CheckTaskResult.Outcome.PASSED)
    assert (result.cases_passed, result.cases_total) == (3, 3)
    assert result.has_hidden and result.reason == ""
    assert [(c.name, c.hidden, c.outcome) for c in result.cases.all()] == [
        ("test_returns_a_list", False, "passed"),
        ("test_returns_n_rows", False, "passed"),
        ("test_hidden_edge_case", True, "passed"),
    ]


@EXECUTED
def test_a_failing_zip_keeps_each_case_and_never_a_hidden_cases_output(
    sandbox: None, learner: User, project: Project, release: ProjectRelease
) -> None:
    rows_suite(project)
    check_run_request(learner=learner, release=release, archive=zip_of({"rows.py": BAD_ROWS}))

    [run] = work_queue()

    assert run.status == CheckRun.Status.FAILED, run.error
    [result] = run.task_results.all()
    assert result.outcome == CheckTaskResult.Outcome.FAILED
    assert (result.cases_passed, result.cases_total) == (1, 3)
    listed, wrong, hidden = result.cases.all()
    assert (listed.outcome, listed.output) == (CheckCaseResult.Outcome.PASSED, "")
    assert wrong.outcome == CheckCaseResult.Outcome.FAILED
    assert "assert [0, 1, 2, 3] == [0, 1, 2]" in wrong.output
    # The hidden case failed too (first(0) == [0]); only its name and result are kept.
    assert (hidden.name, hidden.hidden, hidden.outcome) == (
        "test_hidden_edge_case",
        True,
        CheckCaseResult.Outcome.FAILED,
    )
    assert hidden.output == ""


@pytest.mark.django_db
def test_a_new_request_replaces_the_queued_one(
    learner: User, project: Project, release: ProjectRelease
) -> None:
    rows_suite(project)
    submitted = submit(learner, release, repo_url=REPO, commit_sha=SHA)
    first = check_run_request(
        learner=learner, release=release, archive=zip_of({"rows.py": BAD_ROWS})
    )
    second = check_run_request(learner=learner, release=release, repo_url=REPO, commit_sha=SHA)

    first.refresh_from_db()
    assert first.status == CheckRun.Status.REPLACED
    assert first.finished_at is not None and first.stamp == 1
    assert second.status == CheckRun.Status.QUEUED
    assert (second.repo_url, second.commit_sha) == (REPO, SHA)
    # The submission's run is not "check my code": it stays queued.
    assert CheckRun.objects.get(iteration=submitted).status == CheckRun.Status.QUEUED
    # The replaced run's task, when a worker gets to it, takes nothing.
    run_checks.call(run_id=first.pk)
    first.refresh_from_db()
    assert (first.status, first.tries, first.started_at) == (CheckRun.Status.REPLACED, 0, None)


@pytest.mark.django_db
def test_the_hourly_limit_refuses_with_its_message(
    settings, learner: User, project: Project, release: ProjectRelease
) -> None:
    settings.CHECKS_RUNS_PER_HOUR = 3
    rows_suite(project)
    start = timezone.now()
    for minutes in (0, 10, 20):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            check_run_request(learner=learner, release=release, repo_url=REPO)

    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        with pytest.raises(CheckRequestRefused) as refused:
            check_run_request(learner=learner, release=release, repo_url=REPO)
        # Checks of a submission are never refused.
        iteration = submit(learner, release, repo_url=REPO)
    assert refused.value.messages == [
        "You have asked for 3 checks in the last hour, the limit is 3. "
        "Try again later: checks of your submissions still run."
    ]
    assert CheckRun.objects.filter(iteration=iteration, status="queued").exists()
    # An hour after the first request, one more fits.
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        check_run_request(learner=learner, release=release, repo_url=REPO)
    assert CheckRun.objects.filter(trigger=CheckRun.Trigger.LEARNER).count() == 4


@pytest.mark.django_db
def test_a_project_without_checks_refuses(
    learner: User, project: Project, release: ProjectRelease
) -> None:
    with pytest.raises(CheckRequestRefused) as refused:
        check_run_request(learner=learner, release=release, repo_url=REPO)
    assert refused.value.messages == ["This project has no automated checks."]
    # Its submissions wait for a person, with no run.
    iteration = submit(learner, release, repo_url=REPO)
    assert iteration.status == Iteration.Status.WAITING
    assert not CheckRun.objects.exists()


# --- The checks of a submission -------------------------------------------------------------


@pytest.mark.django_db
def test_a_submission_without_a_zip_is_checked_at_its_commit(
    learner: User, project: Project, release: ProjectRelease
) -> None:
    rows_suite(project)
    iteration = submit(learner, release, repo_url=REPO, commit_sha=SHA)
    run = CheckRun.objects.get()
    assert (run.iteration, run.trigger, run.requested_by) == (iteration, "submission", learner)
    assert (run.repo_url, run.commit_sha, run.status) == (REPO, SHA, "queued")
    assert iteration.status == Iteration.Status.WAITING  # a mentor grades task 0


@EXECUTED
def test_a_submissions_zip_is_checked_rather_than_its_repository(
    sandbox: None, learner: User, project: Project, release: ProjectRelease
) -> None:
    rows_suite(project)
    iteration = submit(
        learner,
        release,
        repo_url=REPO,
        commit_sha=SHA,
        attachments=[zip_of({"rows.py": GOOD_ROWS}, name="generators.zip")],
    )
    run = CheckRun.objects.get()
    assert (run.iteration, run.repo_url, run.commit_sha) == (iteration, "", "")

    [run] = work_queue()

    # Fetching is off in tests: only the zip could have passed.
    assert run.status == CheckRun.Status.PASSED, run.error
    assert run.task_results.get().cases_passed == 3


@pytest.mark.django_db
def test_a_newer_submission_replaces_the_older_ones_queued_run(
    learner: User, project: Project, release: ProjectRelease
) -> None:
    rows_suite(project)
    first = submit(learner, release, repo_url=REPO, commit_sha=SHA)
    second = submit(learner, release, repo_url=REPO, commit_sha="f" * 40)
    older, newer = CheckRun.objects.order_by("id")
    assert (older.iteration, older.status) == (first, CheckRun.Status.REPLACED)
    assert (newer.iteration, newer.status) == (second, CheckRun.Status.QUEUED)
    assert newer.commit_sha == "f" * 40


# --- A project graded by checks alone -------------------------------------------------------


def in_mentor_queue(iteration: Iteration) -> bool:
    return Iteration.objects.waiting().for_mentor_queue().filter(pk=iteration.pk).exists()


@EXECUTED
def test_checks_alone_decide_and_score_a_submission(
    sandbox: None,
    learner: User,
    mentor: User,
    project: Project,
    release: ProjectRelease,
) -> None:
    all_checks_project(project)
    # Handed in after the first deadline: the second one's multiplier (0.65) applies.
    release.first_deadline = timezone.now() - timedelta(hours=1)
    release.save(update_fields=["first_deadline"])
    code = zip_of(project_code(batch=BAD_BATCH))
    iteration = submit(learner, release, repo_url=REPO, attachments=[code])

    assert iteration.status == Iteration.Status.CHECKING
    assert not in_mentor_queue(iteration)
    queue = client_for(mentor).get("/review/").content.decode()
    assert '<strong class="queue-count">0</strong> waiting' in queue
    assert "Alice Learner" not in queue
    assert not Notification.objects.filter(user=mentor).exists()

    [run] = work_queue()

    assert run.status == CheckRun.Status.FAILED, run.error
    iteration.refresh_from_db()
    assert iteration.status == Iteration.Status.REVIEWED
    review = Review.objects.get(iteration=iteration)
    assert review.kind == Review.Kind.CHECKS
    assert review.reviewer.email == settings.CHECKS_BOT_EMAIL
    assert review.decision == Review.Decision.CHANGES_REQUESTED  # mandatory task 1 failed
    assert review.submitted_at is not None
    verdicts = {v.task.number: (v.passed, v.checks_passed, v.source) for v in review.verdicts.all()}
    assert verdicts == {
        0: (True, True, Verdict.Source.CHECKS),
        1: (False, False, Verdict.Source.CHECKS),
        2: (True, True, Verdict.Source.CHECKS),
    }
    attempt = Attempt.objects.get(pk=iteration.attempt_id)
    assert attempt.status == Attempt.Status.CHANGES_REQUESTED
    # M = 10/20 mandatory points, A = 10/10 advanced: (M + M×A) × 0.65 = 65.
    assert attempt.score == Decimal("65.00")
    assert attempt.scored_iteration_id == iteration.pk
    notice = Notification.objects.get(user=learner)
    assert notice.title == "Changes requested on Python Generators"
    assert notice.body == "Your score is now 65%."
    assert not in_mentor_queue(iteration)


@EXECUTED
def test_checks_that_cannot_run_hand_the_submission_to_the_mentors(
    learner: User, mentor: User, project: Project, release: ProjectRelease
) -> None:
    all_checks_project(project)
    # No zip, and fetching repositories is off here: the checks cannot get the code.
    iteration = submit(learner, release, repo_url=REPO, commit_sha=SHA)
    assert iteration.status == Iteration.Status.CHECKING

    [run] = work_queue()

    assert run.status == CheckRun.Status.ERRORED
    assert run.error.startswith("Fetching repositories is off on this server")
    iteration.refresh_from_db()
    assert iteration.status == Iteration.Status.WAITING
    assert not Review.objects.exists()
    assert in_mentor_queue(iteration)
    queue = client_for(mentor).get("/review/").content.decode()
    assert '<strong class="queue-count">1</strong> waiting' in queue
    assert "Alice Learner" in queue


@EXECUTED
def test_a_rerun_that_fails_a_task_keeps_a_mentors_approval(
    sandbox: None,
    learner: User,
    mentor: User,
    staff: User,
    project: Project,
    release: ProjectRelease,
) -> None:
    suite = rows_suite(project, grading=Task.Grading.CHECKS)  # tasks 1 and 2: the mentor's
    iteration = submit(
        learner, release, repo_url=REPO, attachments=[zip_of({"rows.py": GOOD_ROWS})]
    )
    [first] = work_queue()
    assert first.status == CheckRun.Status.PASSED, first.error
    # The mentor approves everything, task 0 as the checks said.
    review = ReviewFactory(iteration=iteration, reviewer=mentor, decision="approved")
    for task in project.tasks.all():
        from_checks = task.number == 0
        VerdictFactory(
            review=review,
            task=task,
            passed=True,
            source="checks" if from_checks else "person",
            checks_passed=True if from_checks else None,
        )
    iteration_decide(iteration=iteration, decision="approved", review=review)
    attempt = Attempt.objects.get(pk=iteration.attempt_id)
    assert attempt.score == Decimal("200.00")  # (1 + 1 × 1) × 1.00

    # The suite grows stricter, and staff re-run it: task 0 now fails.
    test_file = CheckFile.objects.get(suite=suite)
    test_file.content += "\n\ndef test_returns_a_tuple():\n    assert first(2) == (0, 1)\n"
    test_file.save()
    CheckCaseFactory(suite=suite, name="test_returns_a_tuple", order=3)
    suite.bump_version()
    assert checks_rerun(iterations=[iteration], requested_by=staff) == 1
    [rerun] = work_queue()

    assert (rerun.trigger, rerun.requested_by) == (CheckRun.Trigger.RERUN, staff)
    assert rerun.status == CheckRun.Status.FAILED, rerun.error
    assert rerun.suite_versions == {str(suite.task_id): 2}
    attempt.refresh_from_db()
    assert attempt.score == Decimal("200.00")
    assert attempt.status == Attempt.Status.APPROVED
    [receipt] = attempt_receipts(attempt)
    line = receipt.lines[0]
    assert (line.task.number, line.passed, line.by_checks) == (0, True, True)
    assert line.note == "A later run of the checks failed this task; the mentor's approval stands."


@EXECUTED
def test_a_rerun_that_passes_more_raises_a_checks_only_score(
    sandbox: None, learner: User, staff: User, project: Project, release: ProjectRelease
) -> None:
    suites = all_checks_project(project)
    batch_file = CheckFile.objects.get(suite=suites[1])
    batch_file.content = BATCH_SUITE.replace("[4]]", "[4], []]")  # a wrong expectation
    batch_file.save()
    iteration = submit(learner, release, repo_url=REPO, attachments=[zip_of(project_code())])
    [first] = work_queue()
    assert first.status == CheckRun.Status.FAILED, first.error
    attempt = Attempt.objects.get(pk=iteration.attempt_id)
    assert attempt.score == Decimal("100.00")  # (0.5 + 0.5 × 1) × 1.00

    batch_file.content = BATCH_SUITE  # fixed
    batch_file.save()
    checks_rerun(iterations=[iteration], requested_by=staff)
    [rerun] = work_queue()

    assert rerun.status == CheckRun.Status.PASSED, rerun.error
    attempt.refresh_from_db()
    assert attempt.score == Decimal("200.00")
    [receipt] = attempt_receipts(attempt)
    assert receipt.by_checks and receipt.decided_by == "the automated checks"
    assert [(line.passed, line.by_checks, line.note) for line in receipt.lines] == [
        (True, True, ""),
        (True, True, ""),  # what the newest run says
        (True, True, ""),
    ]

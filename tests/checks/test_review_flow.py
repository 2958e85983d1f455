"""Checks and people in one flow: the mentor's review page, the queue, the receipt.

The cast's project has three tasks (0 and 1 mandatory, 2 advanced). Runs are recorded
as a worker would have recorded them: the sandbox itself is tested elsewhere.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.checks.models import CheckRun
from core.checks.runs import check_run_finish
from core.models import Attempt, Iteration, Notification, Project, Review, Task, User, Verdict
from core.reviews.scoring import attempt_recompute_score
from core.reviews.services import claim_take
from tests.factories import CheckRunFactory, CheckTaskResultFactory

pytestmark = pytest.mark.django_db


def grade(project: Project, **gradings: str) -> dict[int, Task]:
    """Set task gradings by number (``t0="checks"``); the tasks by number."""
    tasks = {task.number: task for task in project.tasks.all()}
    for name, grading in gradings.items():
        task = tasks[int(name.removeprefix("t"))]
        task.grading = grading
        task.save(update_fields=["grading"])
    return tasks


def record_run(iteration: Iteration, outcomes: dict[Task, str], **fields: object) -> CheckRun:
    """A run of ``iteration`` that found ``outcomes`` (passed/failed per task)."""
    failing = any(outcome != "passed" for outcome in outcomes.values())
    run = CheckRunFactory(iteration=iteration, status="failed" if failing else "passed", **fields)
    for task, outcome in outcomes.items():
        passed = 3 if outcome == "passed" else 1
        CheckTaskResultFactory(run=run, task=task, outcome=outcome, cases_passed=passed)
    return run


def review_data(tasks: dict[int, Task], verdicts: dict[int, str], **extra: str) -> dict[str, str]:
    data = {f"task_{tasks[n].pk}_passed": value for n, value in verdicts.items()}
    return {"feedback": "Good work.", "decision": "approved", "action": "submit"} | data | extra


def test_the_review_page_prefills_a_verdict_the_checks_propose(
    mentor_client: Client, mentor: User, waiting: Iteration, project: Project
) -> None:
    tasks = grade(project, t0="checks_mentor")
    record_run(waiting, {tasks[0]: "failed"})
    claim_take(iteration=waiting, reviewer=mentor)
    form = mentor_client.get(f"/review/{waiting.pk}/").context["form"]
    assert form[f"task_{tasks[0].pk}_passed"].value() == "fail"
    assert form[f"task_{tasks[1].pk}_passed"].value() is None  # a mentor's task: not pre-filled
    assert f"task_{tasks[0].pk}_override" in form.fields


def test_overriding_the_checks_needs_a_reason_which_the_receipt_shows(
    mentor_client: Client,
    learner_client: Client,
    mentor: User,
    waiting: Iteration,
    project: Project,
) -> None:
    tasks = grade(project, t0="checks_mentor")
    record_run(waiting, {tasks[0]: "failed"})
    claim_take(iteration=waiting, reviewer=mentor)
    data = review_data(tasks, {0: "pass", 1: "pass", 2: "fail"})
    response = mentor_client.post(f"/review/{waiting.pk}/", data)
    assert response.status_code == 200
    assert "Your verdict differs from the checks" in response.content.decode()
    assert not Review.objects.filter(iteration=waiting, submitted_at__isnull=False).exists()

    reason = "The check expects a list; a tuple is what the brief asked for."
    data[f"task_{tasks[0].pk}_override"] = reason
    assert mentor_client.post(f"/review/{waiting.pk}/", data).status_code == 302
    verdict = Verdict.objects.get(review__iteration=waiting, task=tasks[0])
    assert (verdict.passed, verdict.checks_passed, verdict.override_reason) == (
        True,
        False,
        reason,
    )
    body = learner_client.get(waiting.attempt.get_absolute_url()).content.decode()
    assert f"The mentor overrode the checks: {reason}" in body


def test_agreeing_with_the_checks_needs_no_reason(
    mentor_client: Client, mentor: User, waiting: Iteration, project: Project
) -> None:
    tasks = grade(project, t0="checks_mentor")
    record_run(waiting, {tasks[0]: "passed"})
    claim_take(iteration=waiting, reviewer=mentor)
    response = mentor_client.post(
        f"/review/{waiting.pk}/", review_data(tasks, {0: "pass", 1: "pass", 2: "fail"})
    )
    assert response.status_code == 302
    verdict = Verdict.objects.get(review__iteration=waiting, task=tasks[0])
    assert (verdict.checks_passed, verdict.override_reason) == (True, "")


def test_a_task_graded_by_checks_is_not_asked_and_counts_what_the_checks_say(
    mentor_client: Client, mentor: User, waiting: Iteration, project: Project
) -> None:
    tasks = grade(project, t2="checks")
    record_run(waiting, {tasks[2]: "passed"})
    claim_take(iteration=waiting, reviewer=mentor)
    page = mentor_client.get(f"/review/{waiting.pk}/")
    assert f"task_{tasks[2].pk}_passed" not in page.context["form"].fields
    assert "The checks decide this task" in page.content.decode()
    # Posting a verdict for it anyway changes nothing: the checks decide.
    data = review_data(tasks, {0: "pass", 1: "pass", 2: "fail"})
    assert mentor_client.post(f"/review/{waiting.pk}/", data).status_code == 302
    verdict = Verdict.objects.get(review__iteration=waiting, task=tasks[2])
    assert (verdict.passed, verdict.source) == (True, Verdict.Source.CHECKS)
    waiting.attempt.refresh_from_db()
    assert waiting.attempt.score == Decimal("200.00")  # M = 1, A = 1 (the checks passed 2)


def test_a_mentor_cannot_submit_while_the_checks_that_decide_a_task_run(
    mentor_client: Client, mentor: User, waiting: Iteration, project: Project
) -> None:
    tasks = grade(project, t2="checks")
    CheckRunFactory(iteration=waiting, status="running", finished_at=None)
    claim_take(iteration=waiting, reviewer=mentor)
    response = mentor_client.post(
        f"/review/{waiting.pk}/", review_data(tasks, {0: "pass", 1: "pass"})
    )
    assert response.status_code == 200
    assert "The checks of task 2 are still running" in response.content.decode()
    assert not Review.objects.filter(iteration=waiting, submitted_at__isnull=False).exists()


def test_checks_that_could_not_run_leave_the_task_to_the_mentor(
    mentor_client: Client, mentor: User, waiting: Iteration, project: Project
) -> None:
    tasks = grade(project, t2="checks")
    CheckRunFactory(iteration=waiting, status="errored", error="The repository was not found.")
    claim_take(iteration=waiting, reviewer=mentor)
    page = mentor_client.get(f"/review/{waiting.pk}/")
    assert f"task_{tasks[2].pk}_passed" in page.context["form"].fields
    assert "they could not check this iteration: your verdict decides" in page.content.decode()


def test_a_later_run_never_lowers_what_a_mentor_approved_and_the_receipt_says_so(
    mentor_client: Client,
    learner_client: Client,
    mentor: User,
    waiting: Iteration,
    project: Project,
) -> None:
    tasks = grade(project, t2="checks")
    record_run(waiting, {tasks[2]: "passed"})
    claim_take(iteration=waiting, reviewer=mentor)
    data = review_data(tasks, {0: "pass", 1: "pass"})
    assert mentor_client.post(f"/review/{waiting.pk}/", data).status_code == 302
    attempt = waiting.attempt
    attempt.refresh_from_db()
    assert attempt.score == Decimal("200.00")
    # The suite changed and a re-run fails task 2: the approval stands.
    record_run(waiting, {tasks[2]: "failed"}, trigger="rerun")
    assert attempt_recompute_score(attempt=attempt) == Decimal("200.00")
    body = learner_client.get(attempt.get_absolute_url()).content.decode()
    assert "A later run of the checks failed this task; the mentor&#x27;s approval stands." in body


def test_a_later_run_raises_a_score_the_checks_decided(
    learner: User, waiting: Iteration, project: Project
) -> None:
    tasks = grade(project, t0="checks", t1="checks", t2="checks")
    attempt = waiting.attempt
    review = Review.objects.create(
        iteration=waiting,
        reviewer=learner,  # the reviewer of a checks decision does not matter here
        kind=Review.Kind.CHECKS,
        decision=Review.Decision.APPROVED,
        submitted_at=waiting.submitted_at,
    )
    for task in tasks.values():
        Verdict.objects.create(
            review=review, task=task, passed=task.number != 2, source=Verdict.Source.CHECKS
        )
    record_run(waiting, {tasks[0]: "passed", tasks[1]: "passed", tasks[2]: "failed"})
    assert attempt_recompute_score(attempt=attempt) == Decimal("100.00")
    record_run(waiting, {tasks[0]: "passed", tasks[1]: "passed", tasks[2]: "passed"})
    assert attempt_recompute_score(attempt=attempt) == Decimal("200.00")
    # No person approved it: a worse run lowers it again (M = 1/2, A = 1).
    record_run(waiting, {tasks[0]: "failed", tasks[1]: "passed", tasks[2]: "passed"})
    assert attempt_recompute_score(attempt=attempt) == Decimal("100.00")


def test_the_queue_says_how_many_checks_pass(
    mentor_client: Client, waiting: Iteration, project: Project
) -> None:
    tasks = grade(project)
    record_run(waiting, {tasks[0]: "passed", tasks[1]: "failed"})
    body = mentor_client.get("/review/").content.decode()
    assert "4/6 checks pass" in body


def test_the_queue_says_when_checks_are_running(mentor_client: Client, waiting: Iteration) -> None:
    CheckRunFactory(iteration=waiting, status="running", finished_at=None)
    assert "checks running" in mentor_client.get("/review/").content.decode()


def test_the_review_page_polls_the_checks_until_they_change(
    mentor_client: Client, waiting: Iteration, project: Project
) -> None:
    tasks = grade(project, t0="checks_mentor")
    run = CheckRunFactory(iteration=waiting, status="running", finished_at=None)
    url = f"/review/{waiting.pk}/checks/"
    htmx = {"HTTP_HX_REQUEST": "true"}
    assert mentor_client.get(f"{url}?stamp={run.stamp}", **htmx).status_code == 204
    # The run finishes: the card, and each task's checks out of band, come back.
    CheckTaskResultFactory(run=run, task=tasks[0], outcome="failed", cases_passed=1)
    CheckRun.objects.filter(pk=run.pk).update(status="failed", stamp=run.stamp + 1)
    response = mentor_client.get(f"{url}?stamp={run.stamp}", **htmx)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="review-checks"' in body and "hx-trigger" not in body  # finished: no more polls
    assert f'id="review-task-checks-{tasks[0].pk}"' in body
    assert 'hx-swap-oob="true"' in body and 'data-checks-passed="fail"' in body
    assert mentor_client.get(url).status_code == 302  # without HTMX: the review page


def test_the_attempt_page_says_what_the_checks_found(
    learner_client: Client, waiting: Iteration, project: Project
) -> None:
    tasks = grade(project)
    run = record_run(waiting, {tasks[0]: "passed", tasks[1]: "failed"})
    body = learner_client.get(waiting.attempt.get_absolute_url()).content.decode()
    assert "4/6 pass" in body
    assert f'href="/checks/{run.pk}/"' in body


def test_an_iteration_the_checks_alone_grade_waits_for_them_not_for_a_mentor(
    learner_client: Client,
    mentor_client: Client,
    waiting: Iteration,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    row = f'data-iteration="{waiting.pk}"'
    assert row in mentor_client.get("/review/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        waiting.status = Iteration.Status.CHECKING
        waiting.save(update_fields=["status"])
    attempt_page = learner_client.get(waiting.attempt.get_absolute_url()).content.decode()
    assert "Being checked" in attempt_page
    assert row not in mentor_client.get("/review/").content.decode()


def checks_only_iteration(learner: User, waiting: Iteration, project: Project) -> dict[int, Task]:
    """The cast's project graded by checks alone, with ``waiting`` being checked."""
    tasks = grade(project, t0="checks", t1="checks", t2="checks")
    Iteration.objects.filter(pk=waiting.pk).update(status=Iteration.Status.CHECKING)
    waiting.refresh_from_db()
    return tasks


def finish(run: CheckRun, django_capture_on_commit_callbacks: Capture) -> None:
    """The run ends as a worker ends it (the review domain hears of it in the same commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        check_run_finish(run=run, error=run.error, suite_versions={})


def test_mentors_hear_of_work_the_checks_could_not_decide(
    learner: User,
    mentor: User,
    waiting: Iteration,
    project: Project,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    checks_only_iteration(learner, waiting, project)
    run = CheckRunFactory(
        iteration=waiting, status="running", finished_at=None, error="The repository was not found."
    )
    finish(run, django_capture_on_commit_callbacks)
    waiting.refresh_from_db()
    assert waiting.status == Iteration.Status.WAITING
    assert Notification.objects.filter(user=mentor, kind="iteration_submitted").exists()


def test_a_better_run_turns_the_checks_decision_into_an_approval(
    learner: User,
    waiting: Iteration,
    project: Project,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    tasks = checks_only_iteration(learner, waiting, project)
    first = CheckRunFactory(iteration=waiting, status="running", finished_at=None)
    CheckTaskResultFactory(run=first, task=tasks[0], outcome="failed", cases_passed=1)
    CheckTaskResultFactory(run=first, task=tasks[1], outcome="passed")
    CheckTaskResultFactory(run=first, task=tasks[2], outcome="passed")
    finish(first, django_capture_on_commit_callbacks)
    attempt = Attempt.objects.get(pk=waiting.attempt_id)
    assert (attempt.status, attempt.score) == ("changes_requested", Decimal("100.00"))
    # The suite is fixed and re-run: every task passes now.
    rerun = CheckRunFactory(iteration=waiting, status="running", finished_at=None, trigger="rerun")
    for task in tasks.values():
        CheckTaskResultFactory(run=rerun, task=task, outcome="passed")
    finish(rerun, django_capture_on_commit_callbacks)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.score) == ("approved", Decimal("200.00"))
    assert Review.objects.get(iteration=waiting).decision == Review.Decision.APPROVED

"""Demo check runs: results recorded as if the checks had run, in every state.

Nothing runs here and no sandbox is needed (``make run`` works without bubblewrap):
the rows a finished run leaves (CheckRun, CheckTaskResult, CheckCaseResult) are
written directly, with timestamps in the past, like core/demo/attempts.py does for
reviews. A ``RunScript`` says what a run found, task by task (everything not named
passed); the outputs quoted are what the sandbox printed for those mistakes.

Two kinds of runs are recorded:

- the checks of submitted iterations (trigger "submission"), which core/demo/attempts.py
  records as it writes each iteration of a project with checks, and which decide the
  iterations of a project graded by checks alone (``decide_by_checks``);
- the demo learner's "Check my code" requests (trigger "learner"), one per project, so
  each project page's card shows a state: failed, timed out, queued
  (``seed_check_requests``).

With the submissions' runs, the demo learner and the demo mentor see a run in every
state: passed, failed (a visible failure with its output, and a hidden case failing),
timed out, errored (the repository could not be fetched) and queued.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.text import slugify

from core.checks.models import CheckCaseResult, CheckRun, CheckSuite, CheckTaskResult
from core.checks.selectors import project_suites
from core.demo.checks import DEMO_CHECKS, DJANGO, PLAIN_PYTHON
from core.models import Attempt, Cohort, Iteration, ProjectRelease, Review, Task, User, Verdict
from core.reviews.scoring import attempt_recompute_score
from core.reviews.services import checks_bot

LEARNER = "learner@example.com"
# The demo's runs as a worker records them (core.checks.runs.worker_name: host and pid).
WORKER = "demo-worker:4242"
# From request to start: the queue was short.
QUEUE_WAIT = timedelta(seconds=3)
# How long one task's suite took, in milliseconds, as the sandbox timed the demo suites:
# plain Python, or Django and DRF (a test database to create).
TASK_MS = {PLAIN_PYTHON: (380, 900), DJANGO: (900, 2100)}
CASE_MS = (2, 60)
# A run stopped by the time limit ends a little after it: the kill and the clean-up.
KILL_MS = (1, 40)
# A "Check my code" is pressed about this long before the submission it prepared.
CHECKED_BEFORE_SUBMITTING = timedelta(hours=20)
# The demo learner's queued request: pressed a moment before the demo was seeded.
QUEUED_AGO = timedelta(minutes=2)

# --- What the runs found -------------------------------------------------------------------


@dataclass(frozen=True)
class TaskScript:
    """What a run found for one task: failing cases (name → output; a hidden case's
    output is never kept), or the case it was running when the time limit struck."""

    failed: Mapping[str, str] = field(default_factory=dict)
    timed_out_at: str = ""


@dataclass(frozen=True)
class RunScript:
    """What a run found, by task number (tasks not named passed), or why it found nothing."""

    tasks: Mapping[int, TaskScript] = field(default_factory=dict)
    error: str = ""  # the run could not check anything: what the learner reads
    queued: bool = False  # not started yet


ALL_PASS = RunScript()
QUEUED = RunScript(queued=True)
NOT_FETCHED = RunScript(error="The repository asks for a password: make it public.")

EMPTY_TABLE_DIVIDES_BY_ZERO = """\
../suite/test_stream_ages.py:42: in test_an_empty_table_averages_zero
    assert load("3-stream_ages").average_age(empty_conn) == 0.0
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
python-generators-0x00/3-stream_ages.py:27: in average_age
    return total / count
           ^^^^^^^^^^^^^
E   ZeroDivisionError: division by zero"""
FETCHALL_CALLED = """\
../suite/test_stream_users.py:53: in test_it_never_calls_fetchall
    assert "fetchall" not in conn.calls
E   AssertionError: assert 'fetchall' not in ['fetchall']"""
VALUES_KEPT = """\
../suite/test_running_stats.py:57: in test_memory_stays_constant
    assert all(len(v) < 10 for v in kept), "a collection grows with every value sent"
E   AssertionError: a collection grows with every value sent"""
NON_NUMBER_ADDED = """\
../suite/test_running_stats.py:44: in test_a_non_number_is_logged_and_ignored
    after = stats.send("four")
            ^^^^^^^^^^^^^^^^^^
python-generators-0x00/5-running_stats.py:22: in running_stats
    total += value
E   TypeError: unsupported operand type(s) for +=: 'int' and 'str'"""
CONNECTION_LEFT_OPEN = """\
/work/suite/test_with_db_connection.py:{line}: in {name}
    assert is_closed(seen[0])
E   assert False
E    +  where False = is_closed(<sqlite3.Connection object at 0x7f2114270f40>)"""
EXCEPTION_REPLACED = """\
/work/suite/test_transactional.py:25: in failing_update
    raise EmailTaken(new_email)
E   test_transactional.EmailTaken: {email}

The above exception was the direct cause of the following exception:
/work/suite/test_transactional.py:{line}: in {name}
    load("2-transactional").transactional(failing_update)(conn, "u-1", "{email}")
/work/code/python-decorators-0x01/2-transactional.py:23: in wrapper
    raise RuntimeError(f"transaction failed: {{error}}") from error
E   RuntimeError: transaction failed: {email}"""
CACHE_MISSED = """\
../suite/test_cache_query.py:{line}: in {name}
    assert len(calls) == 1
E   AssertionError: assert 2 == 1
E    +  where 2 = len([('SELECT * FROM user_data WHERE age > ?', (25,)), \
('SELECT * FROM user_data WHERE age > ?', (25,))])"""
SOURCE_LEFT_OPEN = """\
../suite/test_exit_stack.py:62: in test_sources_are_closed_when_a_later_one_fails
    assert connections and all(is_closed(conn) for conn in connections)
E   assert ([<sqlite3.Connection object at 0x7fed3ce88400>] and False)"""
# Python Generators, graded by the checks alone.
GENERATORS_BEFORE_SUBMITTING = RunScript(
    {
        1: TaskScript({"test_it_never_calls_fetchall": FETCHALL_CALLED}),
        4: TaskScript({"test_an_empty_table_averages_zero": EMPTY_TABLE_DIVIDES_BY_ZERO}),
        6: TaskScript({"test_memory_stays_constant": VALUES_KEPT}),
    }
)
GENERATORS_STATS_KEEP_VALUES = RunScript(
    {6: TaskScript({"test_memory_stays_constant": VALUES_KEPT})}
)
# The pipeline's by_age_band waits forever for a sorted row; running_stats adds strings.
GENERATORS_NO_ADVANCED = RunScript(
    {
        5: TaskScript(timed_out_at="test_unsorted_input_is_refused"),
        6: TaskScript({"test_a_non_number_is_logged_and_ignored": NON_NUMBER_ADDED}),
    }
)

# Decorators and Context Managers: checks, then a mentor.
# Before the time limit struck, the real time.sleep of each retry had added up.
DECORATORS_RETRY_SLEEPS = RunScript({3: TaskScript(timed_out_at="test_the_wait_grows_by_backoff")})
DECORATORS_FIRST_TRY = RunScript(
    {
        1: TaskScript(
            {
                "test_the_connection_is_closed_after_the_call": CONNECTION_LEFT_OPEN.format(
                    line=42, name="test_the_connection_is_closed_after_the_call"
                ),
                "test_the_connection_is_closed_when_the_function_raises": (
                    CONNECTION_LEFT_OPEN.format(
                        line=56, name="test_the_connection_is_closed_when_the_function_raises"
                    )
                ),
            }
        ),
        2: TaskScript(
            {
                "test_it_rolls_back_when_the_function_raises": EXCEPTION_REPLACED.format(
                    line=39,
                    name="test_it_rolls_back_when_the_function_raises",
                    email="aba@new.example",
                ),
                "test_the_original_exception_is_reraised": EXCEPTION_REPLACED.format(
                    line=48,
                    name="test_the_original_exception_is_reraised",
                    email="taken@example.com",
                ),
            }
        ),
        6: TaskScript(
            {
                "test_a_repeated_query_comes_from_the_cache": CACHE_MISSED.format(
                    line=48, name="test_a_repeated_query_comes_from_the_cache"
                ),
                "test_the_connection_is_not_part_of_the_key": CACHE_MISSED.format(
                    line=73, name="test_the_connection_is_not_part_of_the_key"
                ),
            }
        ),
        7: TaskScript({"test_sources_are_closed_when_a_later_one_fails": SOURCE_LEFT_OPEN}),
    }
)
DECORATORS_EXIT_STACK_LEAKS = RunScript(
    {7: TaskScript({"test_sources_are_closed_when_a_later_one_fails": SOURCE_LEFT_OPEN})}
)
# What the mentor saw that the checks did not, on a task they passed.
OVERRIDES = {
    "python-decorators-context-managers": {
        3: (
            "The checks pass, but the warning logs the delay, not the attempt number "
            "(`retrying in 1.0s`), which is what the brief asks for. Easy fix."
        ),
    },
}


@dataclass(frozen=True)
class CheckRequest:
    """A "Check my code" the demo learner pressed on a project's page."""

    project: str  # slug
    script: RunScript


# One per project page: failed (with a visible failure and hidden ones), timed out, queued.
CHECK_REQUESTS = (
    CheckRequest("python-generators", GENERATORS_BEFORE_SUBMITTING),
    CheckRequest("python-decorators-context-managers", DECORATORS_RETRY_SLEEPS),
    CheckRequest("drf-serializers-viewsets", QUEUED),
)


# --- Writing -------------------------------------------------------------------------------


def _spread(key: str, low: int, high: int) -> int:
    """A stable number in [low, high] for ``key``: realistic durations, the same each seed."""
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).digest()
    return low + int.from_bytes(digest[:4]) % (high - low + 1)


def _fake_sha(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


_MARKS: dict[str, str] = {
    CheckCaseResult.Outcome.PASSED: ".",
    CheckCaseResult.Outcome.FAILED: "F",
    CheckCaseResult.Outcome.ERROR: "E",
}


def _pytest_output(test_file: str, cases: list[CheckCaseResult], outputs: dict[str, str]) -> str:
    """What pytest printed for a task: its progress line, then the failures and a summary
    (a run stopped by the time limit ends after its progress line)."""
    ran = [case for case in cases if case.outcome != CheckCaseResult.Outcome.TIMEOUT]
    lines = [
        "=" * 29 + " test session starts " + "=" * 30,
        "platform linux -- Python 3.13.0, pytest-9.2.0, pluggy-1.7.0",
        "rootdir: /work/suite",
        "configfile: ../../runner/pytest.ini",
        "plugins: django-4.14.0",
        f"collected {len(cases)} items",
        "",
        f"../suite/{test_file} " + "".join(_MARKS[case.outcome] for case in ran),
    ]
    if len(ran) < len(cases):
        return "\n".join(lines)
    failed = [case for case in cases if not case.passed]
    if failed:
        lines += ["", "=" * 35 + " FAILURES " + "=" * 35]
        for case in failed:
            lines += [f" {case.name} ".center(80, "_"), outputs.get(case.name, "")]
        lines.append(" short test summary info ".center(80, "="))
        lines += [f"FAILED ../suite/{test_file}::{case.name}" for case in failed]
    passed = len(cases) - len(failed)
    seconds = sum(case.duration_ms for case in cases) / 1000
    counts = f"{len(failed)} failed, {passed} passed" if failed else f"{passed} passed"
    lines.append(f" {counts} in {seconds:.2f}s ".center(80, "="))
    return "\n".join(lines)


def _record_task(
    run: CheckRun,
    suite: CheckSuite,
    script: TaskScript | None,
    key: str,
    task_ms: tuple[int, int],
) -> CheckTaskResult:
    """The results of one task's suite, as core.checks.runs._record_task stores them."""
    script = script or TaskScript()
    listed = list(suite.cases.all())
    stopped = False
    rows = []
    for order, case in enumerate(listed):
        stopped = stopped or case.name == script.timed_out_at
        if stopped:
            outcome, duration = CheckCaseResult.Outcome.TIMEOUT, 0
        else:
            failed = case.name in script.failed
            outcome = CheckCaseResult.Outcome.FAILED if failed else CheckCaseResult.Outcome.PASSED
            duration = _spread(f"{key}:{case.name}", *CASE_MS)
        rows.append(
            CheckCaseResult(
                name=case.name,
                label=case.label,
                hidden=case.hidden,
                outcome=outcome,
                duration_ms=duration,
                output="" if case.hidden else script.failed.get(case.name, ""),
                order=order,
            )
        )
    passed = sum(1 for row in rows if row.passed)
    if script.timed_out_at:
        task_outcome = CheckTaskResult.Outcome.TIMEOUT
        duration = suite.wall_seconds * 1000 + _spread(key, *KILL_MS)
        reason = f"Stopped after {suite.wall_seconds} seconds, the time limit."
    else:
        task_outcome = (
            CheckTaskResult.Outcome.PASSED
            if passed == len(rows)
            else CheckTaskResult.Outcome.FAILED
        )
        duration = _spread(key, *task_ms)
        reason = ""
    test_file = next((f.path for f in suite.files.all() if f.path.startswith("test_")), "")
    result = CheckTaskResult.objects.create(
        run=run,
        task=suite.task,
        outcome=task_outcome,
        cases_passed=passed,
        cases_total=len(rows),
        duration_ms=duration,
        output=_pytest_output(test_file, rows, dict(script.failed)),
        has_hidden=any(case.hidden for case in listed),
        reason=reason,
    )
    for row in rows:
        row.task_result = result
    CheckCaseResult.objects.bulk_create(rows)
    return result


def record_run(
    *,
    learner: User,
    release: ProjectRelease,
    script: RunScript,
    requested_at: datetime,
    repo_url: str,
    commit_sha: str,
    iteration: Iteration | None = None,
) -> tuple[CheckRun, list[CheckTaskResult]]:
    """A run of the release's suites as the checks would have left it; its task results."""
    suites = project_suites(release.project)
    run = CheckRun.objects.create(
        learner=learner,
        release=release,
        iteration=iteration,
        requested_by=learner,
        trigger=CheckRun.Trigger.LEARNER if iteration is None else CheckRun.Trigger.SUBMISSION,
        repo_url=repo_url,
        commit_sha=commit_sha,
        requested_at=requested_at,
    )
    if script.queued:
        return run, []
    key = f"{learner.email}:{release.pk}:{requested_at.isoformat()}"
    checks = DEMO_CHECKS.get(release.project.slug)
    task_ms = TASK_MS[checks.limits if checks else PLAIN_PYTHON]
    results = (
        []
        if script.error
        else [
            _record_task(
                run, suite, script.tasks.get(suite.task.number), f"{key}:{suite.pk}", task_ms
            )
            for suite in suites
        ]
    )
    run.started_at = requested_at + QUEUE_WAIT
    spent = sum(result.duration_ms for result in results) or _spread(key, *task_ms)
    run.finished_at = run.heartbeat_at = run.started_at + timedelta(milliseconds=spent)
    run.status = (
        CheckRun.Status.ERRORED
        if script.error
        else CheckRun.Status.PASSED
        if all(result.passed for result in results)
        else CheckRun.Status.FAILED
    )
    run.error = script.error
    run.worker, run.tries = WORKER, 1
    run.suite_versions = {str(suite.task_id): suite.version for suite in suites}
    run.stamp = len(results) + 2  # taken, one bump per task, finished
    run.save()
    return run, results


def decide_by_checks(iteration: Iteration, run: CheckRun, results: list[CheckTaskResult]) -> Review:
    """The decision core.reviews.services.iteration_checks_decide makes for a project graded
    by checks alone, written without its signal (a demo must not notify anyone): every
    task's verdict is its checks' outcome, approved when every mandatory task passes."""
    assert run.finished_at is not None  # its results are in: the run finished
    passed = {result.task_id: result.passed for result in results}
    tasks = list(iteration.attempt.release.project.tasks.order_by("number"))
    approved = all(passed.get(task.pk, False) for task in tasks if not task.is_advanced)
    review = Review.objects.create(
        iteration=iteration,
        reviewer=checks_bot(),
        kind=Review.Kind.CHECKS,
        decision=Review.Decision.APPROVED if approved else Review.Decision.CHANGES_REQUESTED,
        created_at=run.finished_at,
        submitted_at=run.finished_at,
    )
    Verdict.objects.bulk_create(
        Verdict(
            review=review,
            task=task,
            passed=passed.get(task.pk, False),
            source=Verdict.Source.CHECKS,
            checks_passed=passed.get(task.pk, False),
        )
        for task in tasks
    )
    iteration.status = Iteration.Status.REVIEWED
    iteration.save(update_fields=["status"])
    attempt = iteration.attempt
    attempt.status = Attempt.Status.APPROVED if approved else Attempt.Status.CHANGES_REQUESTED
    attempt.save(update_fields=["status", "updated_at"])
    attempt_recompute_score(attempt=attempt)
    return review


def checks_said(results: list[CheckTaskResult]) -> dict[int, bool]:
    """Each task's checks outcome by task id, for the verdicts a mentor gives beside them."""
    return {result.task_id: result.passed for result in results}


def override_reason(project_slug: str, task: Task) -> str:
    return OVERRIDES.get(project_slug, {}).get(task.number, "")


def seed_check_requests(cohort: Cohort, now: datetime) -> int:
    """The demo learner's "Check my code" runs, one per project in CHECK_REQUESTS; how
    many were made. Once they have any such run in the cohort, nothing more is made."""
    learner = User.objects.filter(
        email=LEARNER, memberships__cohort=cohort, memberships__role="learner"
    ).first()
    if learner is None:
        return 0
    mine = CheckRun.objects.filter(learner=learner, release__cohort=cohort)
    if mine.filter(trigger=CheckRun.Trigger.LEARNER).exists():
        return 0
    made = 0
    for request in CHECK_REQUESTS:
        release = (
            cohort.releases.select_related("project")
            .filter(project__slug=request.project, opens_at__lte=now)
            .first()
        )
        if release is None or not CheckSuite.objects.filter(task__project=release.project).exists():
            continue
        first = (
            Iteration.objects.filter(attempt__learner=learner, attempt__release=release)
            .order_by("number")
            .first()
        )
        if request.script.queued or first is None:
            at = now - QUEUED_AGO
        else:  # the check that prepared the first submission
            at = max(first.submitted_at - CHECKED_BEFORE_SUBMITTING, release.opens_at + QUEUE_WAIT)
        repo = next((t.repo for t in release.project.tasks.all() if t.repo), release.project.slug)
        record_run(
            learner=learner,
            release=release,
            script=request.script,
            requested_at=at,
            repo_url=f"https://github.com/{slugify(learner.name)}/{repo}",
            commit_sha=_fake_sha(learner.email, release.project.slug, at.isoformat()),
        )
        made += 1
    return made

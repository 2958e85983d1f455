"""Building blocks for the checks domain's tests: suites on the cast's project, zips."""

from __future__ import annotations

import io
import textwrap
import zipfile
from collections.abc import Iterable
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.models import CheckRun, CheckSuite, Iteration, Project, Task
from tests.factories import (
    CheckCaseFactory,
    CheckCaseResultFactory,
    CheckFileFactory,
    CheckRunFactory,
    CheckSuiteFactory,
    CheckTaskResultFactory,
)

# Task 0 of the cast's project ("Stream rows"): rows.py must define first(n) -> list.
ROWS_SUITE = """
from rows import first


def test_returns_a_list():
    assert isinstance(first(3), list)


def test_returns_n_rows():
    assert first(3) == [0, 1, 2]


def test_hidden_edge_case():
    assert first(0) == []
"""
GOOD_ROWS = "def first(n):\n    return list(range(n))\n"
BAD_ROWS = "def first(n):\n    return list(range(n + 1))\n"


def rows_suite(project: Project, *, number: int = 0, grading: str = "mentor") -> CheckSuite:
    """Task ``number`` of ``project`` gets the rows suite: two visible cases, one hidden."""
    task = Task.objects.get(project=project, number=number)
    if task.grading != grading:
        task.grading = grading
        task.save(update_fields=["grading"])
    suite = CheckSuiteFactory(task=task)
    CheckFileFactory(suite=suite, path="test_rows.py", content=textwrap.dedent(ROWS_SUITE))
    CheckCaseFactory(suite=suite, name="test_returns_a_list", order=0)
    CheckCaseFactory(suite=suite, name="test_returns_n_rows", order=1)
    CheckCaseFactory(suite=suite, name="test_hidden_edge_case", order=2, hidden=True)
    return suite


def simple_suite(task: Task, content: str, cases: list[str]) -> CheckSuite:
    """``task`` gets one test file and the listed cases."""
    suite = CheckSuiteFactory(task=task)
    CheckFileFactory(suite=suite, path="test_task.py", content=textwrap.dedent(content))
    for order, name in enumerate(cases):
        CheckCaseFactory(suite=suite, name=name, order=order)
    return suite


def zip_of(files: dict[str, str], name: str = "code.zip") -> SimpleUploadedFile:
    """A zip archive of ``files`` (path → text), as a browser would upload it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, textwrap.dedent(content))
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


# Tasks 1 and 2 of the cast's project, for projects whose every task has checks.
BATCH_SUITE = """
from batch import batches


def test_batches_split_rows():
    assert list(batches(5, 2)) == [[0, 1], [2, 3], [4]]
"""
PAGES_SUITE = """
from pages import page


def test_first_page():
    assert page(0, size=2) == [0, 1]
"""
GOOD_BATCH = (
    "def batches(n, size):\n"
    "    rows = list(range(n))\n"
    "    for start in range(0, n, size):\n"
    "        yield rows[start:start + size]\n"
)
BAD_BATCH = "def batches(n, size):\n    yield list(range(n))\n"
GOOD_PAGES = "def page(number, size):\n    return list(range(number * size, (number + 1) * size))\n"


def all_checks_project(project: Project) -> list[CheckSuite]:
    """Every task of ``project`` (the cast's: rows, batch, pages) graded by checks alone."""
    suites = [rows_suite(project, number=0, grading=Task.Grading.CHECKS)]
    for number, content, case in (
        (1, BATCH_SUITE, "test_batches_split_rows"),
        (2, PAGES_SUITE, "test_first_page"),
    ):
        task = Task.objects.get(project=project, number=number)
        task.grading = Task.Grading.CHECKS
        task.save(update_fields=["grading"])
        suites.append(simple_suite(task, content, [case]))
    return suites


def project_code(
    *, rows: str = GOOD_ROWS, batch: str = GOOD_BATCH, pages: str = GOOD_PAGES
) -> dict[str, str]:
    """The learner's files for the three tasks of the cast's project."""
    return {"rows.py": rows, "batch.py": batch, "pages.py": pages}


def work_queue() -> list[CheckRun]:
    """Do what a worker does for every queued run, oldest first (``run_checks`` itself,
    called in this process); the runs, finished."""
    from core.checks.tasks import run_checks

    queued = list(CheckRun.objects.queued().order_by("requested_at", "id"))
    for run in queued:
        run_checks.call(run_id=run.pk)
    for run in queued:
        run.refresh_from_db()
    return queued


def recorded_run(
    iteration: Iteration,
    tasks: Iterable[Task],
    *,
    status: str = "passed",
    cases: int = 3,
    failing: int = 0,
    minutes_ago: float = 2,
) -> CheckRun:
    """A run of ``iteration``'s checks as a worker leaves it: for a finished run, one result
    per task of ``tasks`` with ``cases`` cases, the first task failing ``failing`` of them."""
    requested = timezone.now() - timedelta(minutes=minutes_ago)
    live = status in (CheckRun.Status.QUEUED, CheckRun.Status.RUNNING)
    run = CheckRunFactory(
        iteration=iteration,
        status=status,
        requested_at=requested,
        started_at=None if status == CheckRun.Status.QUEUED else requested + timedelta(seconds=5),
        finished_at=None if live else requested + timedelta(seconds=8),
    )
    if live:
        return run
    for index, task in enumerate(tasks):
        failed = failing if index == 0 else 0
        result = CheckTaskResultFactory(
            run=run,
            task=task,
            outcome="failed" if failed else "passed",
            cases_passed=cases - failed,
            cases_total=cases,
            output="collected 3 items",
        )
        for order in range(cases):
            CheckCaseResultFactory(
                task_result=result,
                name=f"test_{task.number}_{order}",
                outcome="failed" if order < failed else "passed",
                order=order,
            )
    return run

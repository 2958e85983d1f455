"""The demo program's check suites are real: run in the sandbox, each passes against a
correct solution and fails against typical mistakes, case by case.

The solutions are data in tests/checks/demo_solutions/<project>/: ``good/`` is a correct
solution (the files of the task's directory), ``wrong/`` replaces some of its files with
the mistakes learners make. ``MISTAKES_CAUGHT`` lists, per task, the cases the mistakes
must fail; every other case must pass (a task's own mistakes can fail a later task,
which imports its module: that is listed too).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.checks.sandbox import Limits, SandboxResult, run_suite
from core.demo.checks import DEMO_CHECKS, SuiteSpec, suite_spec
from core.demo.program import demo_program
from tests.checks.conftest import write_tree

SOLUTIONS = Path(__file__).with_name("demo_solutions")
# Two runs at a time: the sandbox has slots for more, CI has two cores.
PARALLEL_RUNS = 4
# A task's suite holds "a few" cases: enough to say what is wrong, few enough to read.
FEWEST_CASES, MOST_CASES = 3, 8

MISTAKES_CAUGHT: dict[str, dict[int, set[str]]] = {
    "python-generators": {
        0: {"test_inserting_twice_adds_nobody"},
        1: {"test_it_never_calls_fetchall"},
        2: {
            "test_batch_processing_keeps_users_older_than_25",
            "test_users_aged_exactly_25_are_left_out",
        },
        3: {
            "test_lazy_paginate_yields_pages_until_the_table_ends",
            "test_an_exact_multiple_yields_no_empty_page",
        },
        4: {"test_an_empty_table_averages_zero"},
        5: {"test_the_pipeline_never_reads_ahead"},
        6: {"test_memory_stays_constant"},
    },
    "python-decorators-context-managers": {
        0: {"test_the_function_keeps_its_name", "test_the_modules_own_logger_is_used"},
        1: {
            "test_the_connection_is_closed_after_the_call",
            "test_the_connection_is_closed_when_the_function_raises",
        },
        2: {
            "test_it_rolls_back_when_the_function_raises",
            "test_the_original_exception_is_reraised",
        },
        3: {"test_other_exceptions_are_not_retried"},
        4: {
            "test_an_error_rolls_back_and_propagates",
            "test_it_closes_even_when_the_block_raises",
            "test_exit_never_silences_an_exception",
        },
        5: {"test_the_generator_closes_its_connection"},
        6: {
            "test_a_repeated_query_comes_from_the_cache",
            "test_the_connection_is_not_part_of_the_key",
            "test_entries_expire_after_the_ttl",
            "test_the_oldest_entry_goes_past_maxsize",
        },
        7: {"test_sources_are_closed_when_a_later_one_fails"},
    },
    "python-async-basics": {
        0: {"test_it_waits_with_asyncio_sleep", "test_it_never_blocks_with_time_sleep"},
        1: {
            "test_readings_come_in_the_order_they_finished",
            "test_the_sensors_are_read_concurrently",
        },
        # measure() uses task 1's read_all, which reads the sensors one after another.
        2: {"test_concurrent_takes_about_the_slowest", "test_the_script_prints_the_comparison"},
        3: {"test_every_task_is_scheduled_before_any_is_awaited"},
        4: {"test_hot_readings_uses_an_async_comprehension"},
        5: {"test_an_unexpected_error_cancels_the_other_reads"},
        6: {
            "test_never_more_than_limit_in_flight",
            "test_the_whole_limit_is_used",
            "test_a_limit_of_one_reads_one_at_a_time",
        },
    },
    "drf-serializers-viewsets": {
        0: {
            "test_every_endpoint_is_listed",
            "test_the_error_statuses_are_named",
            "test_there_are_example_requests_and_responses",
        },
        1: {
            "test_reporter_status_and_created_at_are_read_only",
            "test_no_new_ticket_on_an_archived_board",
        },
        2: {"test_the_queries_do_not_grow_with_the_tickets"},
        3: set(),  # its ViewSets are right; the mistakes are in the close action and routes
        4: {"test_closing_twice_answers_409"},
        5: {
            "test_the_board_comes_from_the_url",
            "test_no_board_needed_in_the_body",
            "test_an_unknown_board_answers_404",
        },
        6: {
            "test_there_are_enough_tests",
            "test_list_query_counts_are_checked",
            "test_the_tests_catch_a_broken_close",
        },
    },
}


def task_directory(project_slug: str, number: int) -> str:
    """Where the learner's files for the task live in their repository."""
    project = next(p for _, p in demo_program().projects() if p.slug == project_slug)
    return project.tasks[number].directory


def solution(project_slug: str, *variants: str) -> dict[str, bytes]:
    """The solution's files (path in the task directory → content), later variants winning."""
    files: dict[str, bytes] = {}
    for variant in variants:
        root = SOLUTIONS / project_slug / variant
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def write_code(root: Path, directory: str, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        path = root / directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def run_task(spec: SuiteSpec, code: Path, suite: Path, directory: str) -> SandboxResult:
    limits = spec.limits
    return run_suite(
        code_dir=code,
        suite_dir=write_tree(suite, spec.files),
        limits=Limits(
            wall_seconds=limits.wall_seconds,
            cpu_seconds=limits.cpu_seconds,
            memory_mb=limits.memory_mb,
            processes=limits.processes,
            output_bytes=limits.output_kb * 1024,
        ),
        code_paths=[directory],
        pytest_args=shlex.split(spec.pytest_args),
    )


def outcomes(result: SandboxResult) -> dict[str, str]:
    """Each case's outcome by name; a parametrized case passes when all its variants do."""
    assert result.report is not None and result.report.complete, result.output[-3000:]
    found: dict[str, str] = {}
    for case in result.report.cases:
        name = case.nodeid.split("::", 1)[-1].split("[", 1)[0]
        if found.get(name, "passed") == "passed":
            found[name] = case.outcome
    return found


@pytest.fixture
def runs(sandbox: None) -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
        yield pool


@pytest.mark.parametrize("project_slug", list(DEMO_CHECKS))
def test_each_suite_passes_a_correct_solution_and_catches_the_mistakes(
    project_slug: str, runs: ThreadPoolExecutor, tmp_path: Path
) -> None:
    project = DEMO_CHECKS[project_slug]
    directory = task_directory(project_slug, 0)
    good = write_code(tmp_path / "good", directory, solution(project_slug, "good"))
    wrong = write_code(tmp_path / "wrong", directory, solution(project_slug, "good", "wrong"))
    futures = {}
    for number in project.tasks:
        spec = suite_spec(project_slug, number)
        assert task_directory(project_slug, number) == directory
        for variant, code in (("good", good), ("wrong", wrong)):
            suite = tmp_path / f"suite-{number}-{variant}"
            futures[number, variant] = runs.submit(run_task, spec, code, suite, directory)

    for number in project.tasks:
        listed = {case.name for case in suite_spec(project_slug, number).cases}
        passing = outcomes(futures[number, "good"].result())
        assert set(passing) == listed, f"task {number}: the cases that ran are not the listed ones"
        assert {n for n, o in passing.items() if o != "passed"} == set(), f"task {number}"
        failing = outcomes(futures[number, "wrong"].result())
        assert {n for n, o in failing.items() if o != "passed"} == MISTAKES_CAUGHT[project_slug][
            number
        ], f"task {number}"


def test_every_task_of_a_demo_project_has_a_few_named_cases_some_hidden() -> None:
    for project_slug, project in DEMO_CHECKS.items():
        curriculum = next(p for _, p in demo_program().projects() if p.slug == project_slug)
        assert set(project.tasks) == set(range(len(curriculum.tasks))), project_slug
        for number in project.tasks:
            cases = suite_spec(project_slug, number).cases
            assert FEWEST_CASES <= len(cases) <= MOST_CASES, (project_slug, number)
            assert all(case.label for case in cases), (project_slug, number)
            assert any(case.hidden for case in cases), (project_slug, number)
            assert not all(case.hidden for case in cases), (project_slug, number)

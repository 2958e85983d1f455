"""The demo program's automated checks: real pytest suites for four projects.

The suites are plain files of the demo curriculum folder, under
``curricula/prodev-backend/checks/<project slug>/``: one test file per task, plus files
every task of the project shares (a conftest.py with the fixtures, fixture data). The
project files say which files check which task, which cases are hidden, the limits and
the grading, and ``seed_demo`` imports them with the rest of the curriculum.
``DEMO_CHECKS`` below says the same for the tests that run the suites against sample
solutions and for the demo's check runs (tests/curriculum/test_demo_folder.py keeps the
two in step):

- python-generators: by the checks alone (scored as soon as they finish);
- python-decorators-context-managers: checks, then a mentor confirms or overrides;
- drf-serializers-viewsets and python-async-basics: by a mentor, checks as information.

A task's cases are the ``test_*`` functions of its test file, in file order, each
labelled with the first line of its docstring (what the learner reads). Every suite
passes against the sample solutions in tests/checks/demo_solutions/ and fails against
their typical mistakes (tests/checks/test_demo_suites.py runs them in the sandbox).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

from core.models import CheckFile, Task

SUITES_DIR = settings.BASE_DIR / "curricula" / "prodev-backend" / "checks"


@dataclass(frozen=True)
class SuiteLimits:
    """What one run of a task's suite may use (see CheckSuite)."""

    wall_seconds: int
    cpu_seconds: int
    memory_mb: int
    processes: int
    output_kb: int


# Standard-library code on a small database: a correct solution runs in about a second,
# so a generous minute's fraction catches an endless loop or a real sleep early.
PLAIN_PYTHON = SuiteLimits(
    wall_seconds=20, cpu_seconds=10, memory_mb=256, processes=8, output_kb=64
)
# Django and DRF: importing the framework and creating the test database cost seconds of
# their own, and a test client request is slower than a function call.
DJANGO = SuiteLimits(wall_seconds=60, cpu_seconds=30, memory_mb=512, processes=16, output_kb=64)


@dataclass(frozen=True)
class TaskChecks:
    """The test file that checks one task, and which of its cases are hidden."""

    test_file: str
    hidden: tuple[str, ...] = ()
    # False for a task whose checks need none of the project's shared files (a document).
    shared: bool = True


@dataclass(frozen=True)
class ProjectChecks:
    """A project's suites: the grading of its tasks, their limits and files."""

    grading: str
    limits: SuiteLimits
    tasks: dict[int, TaskChecks]
    # Files each task's suite gets besides its test file: conftest.py, fixture data.
    shared: tuple[str, ...] = ("conftest.py",)
    pytest_args: str = ""


DEMO_CHECKS: dict[str, ProjectChecks] = {
    "python-generators": ProjectChecks(
        grading=Task.Grading.CHECKS,
        limits=PLAIN_PYTHON,
        shared=("conftest.py", "user_data.csv"),
        tasks={
            0: TaskChecks("test_seed.py", hidden=("test_inserting_twice_adds_nobody",)),
            1: TaskChecks(
                "test_stream_users.py",
                hidden=(
                    "test_no_query_runs_before_the_first_value",
                    "test_it_never_calls_fetchall",
                ),
            ),
            2: TaskChecks("test_batches.py", hidden=("test_users_aged_exactly_25_are_left_out",)),
            3: TaskChecks(
                "test_lazy_paginate.py", hidden=("test_an_exact_multiple_yields_no_empty_page",)
            ),
            4: TaskChecks(
                "test_stream_ages.py", hidden=("test_average_age_consumes_stream_user_ages",)
            ),
            5: TaskChecks("test_pipeline.py", hidden=("test_the_pipeline_never_reads_ahead",)),
            6: TaskChecks("test_running_stats.py", hidden=("test_memory_stays_constant",)),
        },
    ),
    "python-decorators-context-managers": ProjectChecks(
        grading=Task.Grading.CHECKS_MENTOR,
        limits=PLAIN_PYTHON,
        tasks={
            0: TaskChecks("test_log_queries.py", hidden=("test_the_modules_own_logger_is_used",)),
            1: TaskChecks(
                "test_with_db_connection.py", hidden=("test_prodev_db_chooses_the_database",)
            ),
            2: TaskChecks(
                "test_transactional.py", hidden=("test_the_return_value_passes_through",)
            ),
            3: TaskChecks("test_retry_on_failure.py", hidden=("test_the_injected_sleep_is_used",)),
            4: TaskChecks(
                "test_database_connection.py", hidden=("test_exit_never_silences_an_exception",)
            ),
            5: TaskChecks(
                "test_execute_query.py", hidden=("test_the_generator_closes_its_connection",)
            ),
            6: TaskChecks(
                "test_cache_query.py",
                hidden=(
                    "test_the_oldest_entry_goes_past_maxsize",
                    "test_cache_clear_empties_the_cache",
                ),
            ),
            7: TaskChecks(
                "test_exit_stack.py", hidden=("test_sources_are_closed_when_a_later_one_fails",)
            ),
        },
    ),
    "python-async-basics": ProjectChecks(
        grading=Task.Grading.MENTOR,
        limits=PLAIN_PYTHON,
        tasks={
            0: TaskChecks("test_read_sensor.py", hidden=("test_it_never_blocks_with_time_sleep",)),
            1: TaskChecks("test_read_all.py", hidden=("test_no_sensors_no_readings",)),
            2: TaskChecks("test_measure.py", hidden=("test_each_way_reads_n_sensors",)),
            3: TaskChecks(
                "test_tasks.py", hidden=("test_every_task_is_scheduled_before_any_is_awaited",)
            ),
            4: TaskChecks(
                "test_async_generators.py",
                hidden=("test_hot_readings_uses_an_async_comprehension",),
            ),
            5: TaskChecks(
                "test_deadlines.py", hidden=("test_an_unexpected_error_cancels_the_other_reads",)
            ),
            6: TaskChecks("test_bounded.py", hidden=("test_a_limit_of_one_reads_one_at_a_time",)),
        },
    ),
    "drf-serializers-viewsets": ProjectChecks(
        grading=Task.Grading.MENTOR,
        limits=DJANGO,
        tasks={
            0: TaskChecks(
                "test_api_design.py", hidden=("test_closing_with_post_is_explained",), shared=False
            ),
            1: TaskChecks(
                "test_serializers.py", hidden=("test_no_new_ticket_on_an_archived_board",)
            ),
            2: TaskChecks(
                "test_board_detail.py", hidden=("test_the_queries_do_not_grow_with_the_tickets",)
            ),
            3: TaskChecks("test_viewsets.py", hidden=("test_the_router_names_the_urls",)),
            4: TaskChecks("test_close_action.py", hidden=("test_an_unknown_ticket_answers_404",)),
            5: TaskChecks(
                "test_nested_routes.py", hidden=("test_the_route_is_named_board_tickets",)
            ),
            6: TaskChecks("test_learner_tests.py", hidden=("test_the_tests_catch_a_broken_close",)),
        },
    ),
}

# Files whose name ends so are test modules; anything else is data the tests read.
TEST_SUFFIX = ".py"


@dataclass(frozen=True)
class CaseSpec:
    """A case as CheckCase stores it."""

    name: str
    label: str
    hidden: bool


@dataclass(frozen=True)
class SuiteSpec:
    """Everything the database holds about one task's suite."""

    files: dict[str, str]  # path → content
    cases: list[CaseSpec]
    limits: SuiteLimits
    pytest_args: str = ""
    kinds: dict[str, str] = field(default_factory=dict)  # path → CheckFile.Kind


def read_cases(source: str, hidden: Iterable[str]) -> list[CaseSpec]:
    """The ``test_*`` functions of a test module, labelled by their docstrings."""
    hidden = set(hidden)
    cases = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            label = (ast.get_docstring(node) or "").strip().splitlines()
            cases.append(CaseSpec(node.name, label[0] if label else "", node.name in hidden))
    unknown = hidden - {case.name for case in cases}
    if unknown:
        raise ValueError(f"hidden cases that are not in the file: {sorted(unknown)}")
    return cases


def suite_spec(project_slug: str, number: int) -> SuiteSpec:
    """Task ``number`` of the project's suite, read from its files."""
    project = DEMO_CHECKS[project_slug]
    task = project.tasks[number]
    folder = SUITES_DIR / project_slug
    paths = [*(project.shared if task.shared else ()), task.test_file]
    files = {path: (folder / path).read_text(encoding="utf-8") for path in paths}
    return SuiteSpec(
        files=files,
        cases=read_cases(files[task.test_file], task.hidden),
        limits=project.limits,
        pytest_args=project.pytest_args,
        kinds={
            path: CheckFile.Kind.TEST if path.endswith(TEST_SUFFIX) else CheckFile.Kind.FIXTURE
            for path in paths
        },
    )

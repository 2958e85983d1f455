"""Real ``manage.py db_worker`` processes sharing PostgreSQL run the checks queue.

The workers are separate processes on this test's database (pytest-django's, whose
rows these tests commit), with the database task backend, a heartbeat every second
and a run silent for 3 seconds taken for dead. They show: every run is taken by
exactly one worker, even when two are told to run it; a worker killed mid-run has
its run retried once by another, and finished; killed again, the run ends errored
with a message. No run is left running.

PostgreSQL only: SQLite's test database lives in this process's memory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.checks.models import CheckRun
from core.checks.services import check_run_request
from core.checks.tasks import run_checks
from core.models import Project, ProjectRelease, Task, User
from tests.checks.conftest import nothing_left_running
from tests.checks.support import GOOD_ROWS, rows_suite, simple_suite, zip_of
from tests.factories import MembershipFactory, UserFactory
from tests.ops.conftest import database_url
from tests.support import ROOT

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: worker processes share the test database",
    ),
    pytest.mark.usefixtures("sandbox"),
]

HEARTBEAT_SECONDS = 1
STALE_SECONDS = 3
START_SECONDS = 30  # for a worker to say it started
SLOW_SUITE = """
import time

from rows import first


def test_slowly():
    time.sleep(4)
    assert first(2) == [0, 1]
"""


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def name(self) -> str:
        """As the runs it takes record it (core.checks.runs.worker_name)."""
        return f"{socket.gethostname()}:{self.process.pid}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """SIGKILL: no handler runs, no goodbye is said."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def wait_for(what: str, check: Callable[[], Any], seconds: float, workers: list[Worker]) -> Any:
    """Poll ``check`` until it returns something true; fail saying ``what`` otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    logs = "\n".join(f"--- {w.name} ---\n{w.output()}" for w in workers)
    pytest.fail(f"not within {seconds}s: {what}\n{logs}")


@pytest.fixture
def database_tasks(settings: Any) -> None:
    """This process queues into the database, as the web processes of a deployment do."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def start_workers(
    transactional_db: None, media: Path, tmp_path: Path, database_tasks: None
) -> Iterator[Callable[[int], list[Worker]]]:
    """``start_workers(n)`` starts n db_workers on this test's database, and waits until
    they all run; all stopped after."""
    started: list[Worker] = []
    unset = {"DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {key: value for key, value in os.environ.items() if key not in unset} | {
        "DATABASE_URL": database_url(connection.settings_dict["NAME"]),
        "TASKS_BACKEND": "database",
        "REDIS_URL": "",  # a worker needs no shared cache
        "MEDIA_ROOT": str(media),
        "CHECKS_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "CHECKS_STALE_SECONDS": str(STALE_SECONDS),
    }

    def start() -> Worker:
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [
                    sys.executable, "manage.py", "db_worker", "--no-reload",
                    "--interval", "0.2", "--no-startup-delay",
                    "--worker-id", f"checks-test-{len(started)}",
                ],
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        worker = Worker(process, log)
        started.append(worker)
        return worker

    def ready(worker: Worker) -> Worker:
        def check() -> bool:
            if worker.process.poll() is not None:
                pytest.fail(f"worker {worker.name} exited:\n{worker.output()}")
            return "Starting worker" in worker.output()

        wait_for("the worker to start", check, START_SECONDS, [worker])
        return worker

    yield lambda count: [ready(worker) for worker in [start() for _ in range(count)]]

    for worker in started:
        if worker.process.poll() is None:
            os.killpg(worker.process.pid, signal.SIGTERM)
    for worker in started:
        try:
            worker.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait(timeout=5)


def learners(release: ProjectRelease, count: int) -> list[User]:
    made = UserFactory.create_batch(count)
    for user in made:
        MembershipFactory(user=user, cohort=release.cohort, role="learner")
    return made


def test_each_run_is_taken_by_exactly_one_worker(
    start_workers: Callable[[int], list[Worker]], project: Project, release: ProjectRelease
) -> None:
    workers = start_workers(2)
    rows_suite(project)
    runs = [
        check_run_request(learner=learner, release=release, archive=zip_of({"rows.py": GOOD_ROWS}))
        for learner in learners(release, 6)
    ]
    for run in runs:  # a second task for every run: both workers may go for it
        run_checks.enqueue(run_id=run.pk)

    tasks = DBTaskResult.objects.filter(task_path=run_checks.module_path)

    def all_finished() -> list[CheckRun]:
        """Every run finished and every task done: the second task of a run may still be
        on its way to a worker when the first has finished the run."""
        found = list(CheckRun.objects.filter(pk__in=[run.pk for run in runs]).order_by("pk"))
        pending = tasks.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
        done = all(run.is_finished for run in found) and not pending.exists()
        return found if done else []

    finished = wait_for("every run and task to finish", all_finished, 60, workers)

    names = {worker.name for worker in workers}
    assert [run.status for run in finished] == ["passed"] * 6, [run.error for run in finished]
    assert [run.tries for run in finished] == [1] * 6  # taken once each
    assert {run.worker for run in finished} == names  # by both workers, and only them
    assert all(run.task_results.get().cases_passed == 3 for run in finished)
    # Twelve tasks, all done: the six that found their run taken did nothing.
    assert sorted(tasks.values_list("status", flat=True)) == ["SUCCESSFUL"] * 12
    assert all(worker.process.poll() is None for worker in workers)


def slow_run(project: Project, release: ProjectRelease) -> CheckRun:
    task = Task.objects.get(project=project, number=0)
    suite = simple_suite(task, SLOW_SUITE, ["test_slowly"])
    suite.wall_seconds = 20
    suite.save()
    learner = learners(release, 1)[0]
    return check_run_request(
        learner=learner, release=release, archive=zip_of({"rows.py": GOOD_ROWS})
    )


def running_on(run: CheckRun, workers: list[Worker], tries: int) -> Worker:
    """Wait until ``run`` runs its ``tries``-th time, a second into it; the worker."""

    def check() -> Worker | None:
        run.refresh_from_db()
        if run.status != CheckRun.Status.RUNNING or run.tries != tries:
            return None
        return next((w for w in workers if w.name == run.worker), None)

    worker = wait_for(f"try {tries} to start", check, 30, workers)
    time.sleep(1)  # into the suite, in the sandbox
    return worker


def finished(run: CheckRun, workers: list[Worker]) -> CheckRun:
    def check() -> bool:
        run.refresh_from_db()
        return run.is_finished

    wait_for("the run to finish", check, 40, workers)
    return run


def test_a_killed_workers_run_is_retried_once_and_finishes(
    start_workers: Callable[[int], list[Worker]], project: Project, release: ProjectRelease
) -> None:
    workers = start_workers(2)
    run = slow_run(project, release)
    first = running_on(run, workers, tries=1)
    first.kill()

    run = finished(run, workers)

    assert run.status == CheckRun.Status.PASSED, run.error
    assert run.tries == 2
    [survivor] = [worker for worker in workers if worker is not first]
    assert run.worker == survivor.name
    assert run.task_results.get().cases_passed == 1  # one result: the first try's are gone
    nothing_left_running()


def test_a_run_whose_worker_is_killed_twice_ends_errored(
    start_workers: Callable[[int], list[Worker]], project: Project, release: ProjectRelease
) -> None:
    workers = start_workers(3)  # two to kill, one to notice
    run = slow_run(project, release)
    running_on(run, workers, tries=1).kill()
    running_on(run, workers, tries=2).kill()

    run = finished(run, workers)

    assert run.status == CheckRun.Status.ERRORED
    assert run.tries == 2
    assert run.error.startswith("The checker stopped while running this code, twice.")
    assert not CheckRun.objects.running().exists()
    nothing_left_running()

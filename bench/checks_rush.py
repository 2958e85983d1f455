"""A deadline rush on the checks: many learners press "Check my code" within seconds.

``python bench/checks_rush.py [--learners 300] [--seconds 30] [--workers 2 1]``

1. Uses ``DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/prodev_rush, created
   if missing), migrates, builds the check runtime, and creates one cohort with a
   released project whose task has a 20-case suite, and ``--learners`` learners.
2. For each worker count: starts that many ``manage.py db_worker`` processes
   (TASKS_BACKEND=database), then requests one check per learner through the real
   service (a zip of a correct solution) spread evenly over ``--seconds``, and waits
   until every run has finished.
3. Prints runs/minute, p50/p95 wait (requested → started) and duration, how many runs
   each worker took, and checks the invariants: every run finished (none lost), each
   taken once (one try, one set of results), none errored.

It measures what the machine does with real sandboxes; it never times a test.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import statistics
import subprocess
import sys
import time
import zipfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/prodev_rush"
CASES = 20
SUITE = "\n\n".join(
    f"def test_case_{n}():\n    from solution import square\n    assert square({n}) == {n * n}"
    for n in range(CASES)
)
SOLUTION = "def square(x):\n    return x * x\n"


def setup_django() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")
    os.environ["TASKS_BACKEND"] = "database"
    os.environ["CHECKS_RUNS_PER_HOUR"] = "1000000"  # one request per learner: no limit met
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # not an audit line per learner enrolled
    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[-1]
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", name],
        capture_output=True,
        check=False,
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("build_check_runtime", verbosity=0)


def scene(learners: int) -> tuple[object, list[object]]:
    """The rush's cohort, release and learners (made once, reused on later runs)."""
    from django.utils import timezone

    from core.models import (
        CheckCase,
        CheckFile,
        CheckSuite,
        Cohort,
        Membership,
        Module,
        Program,
        Project,
        ProjectRelease,
        Task,
        User,
    )

    program, _ = Program.objects.get_or_create(slug="rush", defaults={"name": "Rush"})
    module, _ = Module.objects.get_or_create(
        program=program, order=1, defaults={"title": "Rush", "slug": "rush"}
    )
    project, _ = Project.objects.get_or_create(
        slug="rush-squares", defaults={"module": module, "order": 1, "title": "Squares"}
    )
    task, _ = Task.objects.get_or_create(project=project, number=0, defaults={"title": "Square"})
    suite, _ = CheckSuite.objects.get_or_create(task=task)
    CheckFile.objects.update_or_create(
        suite=suite, path="test_squares.py", defaults={"content": SUITE}
    )
    for n in range(CASES):
        CheckCase.objects.get_or_create(suite=suite, name=f"test_case_{n}", defaults={"order": n})
    cohort, _ = Cohort.objects.get_or_create(
        slug="rush",
        defaults={"name": "Rush", "program": program, "start_date": timezone.now().date()},
    )
    now = timezone.now()
    release, _ = ProjectRelease.objects.update_or_create(
        cohort=cohort,
        project=project,
        defaults={
            "opens_at": now - timedelta(days=1),
            "first_deadline": now + timedelta(days=1),
            "second_deadline": now + timedelta(days=2),
        },
    )
    people = []
    for n in range(learners):
        user, _ = User.objects.get_or_create(email=f"rush{n}@example.com")
        Membership.objects.get_or_create(user=user, cohort=cohort, defaults={"role": "learner"})
        people.append(user)
    return release, people


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def rush(release: object, learners: list[object], seconds: float, worker_count: int) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction

    from core.checks.models import CheckRun, CheckTaskResult
    from core.checks.services import check_run_request

    CheckRun.objects.filter(release=release).delete()  # results cascade
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("solution.py", SOLUTION)
    payload = buffer.getvalue()
    env = dict(os.environ)
    workers = start_workers(worker_count, env)
    try:
        started = time.monotonic()
        gap = seconds / len(learners)
        for index, learner in enumerate(learners):
            due = started + index * gap
            time.sleep(max(0.0, due - time.monotonic()))
            with transaction.atomic():
                check_run_request(
                    learner=learner,
                    release=release,
                    archive=SimpleUploadedFile("code.zip", payload),
                )
        requested = time.monotonic() - started
        runs = CheckRun.objects.filter(release=release)
        while runs.exclude(status__in=CheckRun.FINISHED).exists():
            if time.monotonic() - started > seconds + 3600:
                raise SystemExit("the rush did not finish within an hour")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    finally:
        stop(workers)
    fields = ("pk", "status", "tries", "worker", "requested_at", "started_at", "finished_at")
    rows = list(runs.values(*fields))
    results = Counter(
        CheckTaskResult.objects.filter(run__release=release).values_list("run_id", flat=True)
    )
    waits = [(r["started_at"] - r["requested_at"]).total_seconds() for r in rows]
    durations = [(r["finished_at"] - r["started_at"]).total_seconds() for r in rows]
    first = min(r["requested_at"] for r in rows)
    last = max(r["finished_at"] for r in rows)
    return {
        "workers": worker_count,
        "runs": len(rows),
        "requested_in": requested,
        "elapsed": elapsed,
        "per_minute": len(rows) / (last - first).total_seconds() * 60,
        "wait_p50": percentile(waits, 0.5),
        "wait_p95": percentile(waits, 0.95),
        "duration_p50": statistics.median(durations),
        "duration_p95": percentile(durations, 0.95),
        "by_worker": Counter(r["worker"] for r in rows),
        "statuses": Counter(r["status"] for r in rows),
        "retried": sum(1 for r in rows if r["tries"] != 1),
        "results_not_one": sum(1 for r in rows if results[r["pk"]] != 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 1])
    args = parser.parse_args()
    setup_django()
    release, learners = scene(args.learners)
    failed = False
    for count in args.workers:
        figures = rush(release, learners, args.seconds, count)
        print(
            f"{figures['workers']} worker(s): {figures['runs']} runs requested in "
            f"{figures['requested_in']:.1f} s, all finished after {figures['elapsed']:.1f} s: "
            f"{figures['per_minute']:.0f} runs/min; wait p50 {figures['wait_p50']:.1f} s, "
            f"p95 {figures['wait_p95']:.1f} s; duration p50 {figures['duration_p50']:.2f} s, "
            f"p95 {figures['duration_p95']:.2f} s"
        )
        per_worker = sorted(figures["by_worker"].values(), reverse=True)
        print(f"  statuses {dict(figures['statuses'])}; runs per worker {per_worker}")
        lost = args.learners - figures["runs"]
        twice = figures["retried"] + figures["results_not_one"]
        errored = figures["statuses"].get("errored", 0)
        print(f"  lost {lost}, run twice {twice}, errored {errored}")
        failed |= bool(lost or twice or errored or figures["statuses"].get("failed", 0))
    if failed:
        raise SystemExit("THE RUSH BROKE AN INVARIANT: see the lines above")


if __name__ == "__main__":
    main()

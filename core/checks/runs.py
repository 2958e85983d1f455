"""Taking and running a check: execute a run's suites in the sandbox, record every case,
finish the run, and recover runs whose worker died.

Exactly one worker takes a queued run: taking it is a conditional UPDATE. A worker
beats a heartbeat while it runs; a run whose heartbeat stopped (its worker was
killed) goes back to the queue once, then ends errored (``check_runs_recover``).
Finishing sends ``checks_finished`` inside the same transaction, so what the result
means for a submitted iteration (core/reviews) commits with it or not at all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.checks import signals
from core.checks.models import CheckCaseResult, CheckRun, CheckSuite, CheckTaskResult
from core.checks.report import CaseResult
from core.checks.sandbox import Limits, SandboxResult, SandboxUnavailable, run_suite
from core.checks.selectors import project_suites, zip_attachment
from core.checks.sources import SourceError, code_checkout

logger = logging.getLogger(__name__)

# Terminal colours and cursor moves in check output: shown as plain text.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
OUTCOME_OF_CASE = {
    "passed": CheckCaseResult.Outcome.PASSED,
    "failed": CheckCaseResult.Outcome.FAILED,
    "error": CheckCaseResult.Outcome.ERROR,
    "skipped": CheckCaseResult.Outcome.SKIPPED,
}


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences, and without other control characters
    than newlines and tabs."""
    text = _ANSI.sub("", text)
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())


def _excerpt(text: str, limit: int) -> str:
    text = strip_ansi(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters not shown)"


def _bump(run_id: int) -> None:
    CheckRun.objects.filter(pk=run_id).update(stamp=F("stamp") + 1)


def worker_name() -> str:
    """This process, as the runs board names it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def check_run_take(*, run_id: int, worker: str) -> CheckRun | None:
    """Take a queued run for ``worker``; None when another worker (or nobody) has it."""
    now = timezone.now()
    taken = CheckRun.objects.filter(pk=run_id, status=CheckRun.Status.QUEUED).update(
        status=CheckRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        tries=F("tries") + 1,
        stamp=F("stamp") + 1,
    )
    if not taken:
        return None
    return CheckRun.objects.select_related("release__project", "iteration__attempt").get(pk=run_id)


@contextlib.contextmanager
def _heartbeat(run: CheckRun) -> Iterator[None]:
    """Beat the run's heartbeat from a thread while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.CHECKS_HEARTBEAT_SECONDS):
                CheckRun.objects.filter(pk=run.pk, status=CheckRun.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            close_old_connections()

    thread = threading.Thread(target=beat, name=f"check-run-{run.pk}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def _suite_directory(suite: CheckSuite) -> Iterator[Path]:
    """The suite's files written to a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="prodev-suite-") as directory:
        root = Path(directory)
        for suite_file in suite.files.all():
            path = root.joinpath(*suite_file.path.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(suite_file.content, encoding="utf-8")
        yield root


def suite_limits(suite: CheckSuite) -> Limits:
    """The sandbox limits a suite asks for."""
    return Limits(
        wall_seconds=float(suite.wall_seconds),
        cpu_seconds=suite.cpu_seconds,
        memory_mb=suite.memory_mb,
        processes=suite.processes,
        output_bytes=suite.output_kb * 1024,
    )


@dataclass(frozen=True)
class _TaskOutcome:
    outcome: str
    reason: str


def _task_outcome(result: SandboxResult, passed: int, total: int) -> _TaskOutcome:
    """What a task's suite run says, in the product's words."""
    if result.timed_out:
        return _TaskOutcome(
            CheckTaskResult.Outcome.TIMEOUT,
            f"Stopped after {result.wall_seconds:.0f} seconds, the time limit.",
        )
    reason = result.killed_reason or ""
    if reason:
        words = {
            "cpu time": "Used more CPU time than the limit allows.",
            "memory": "Used more memory than the limit allows.",
            "file size": "Wrote a file larger than the limit allows.",
        }.get(reason, f"Stopped by the sandbox ({reason}).")
        outcome = (
            CheckTaskResult.Outcome.TIMEOUT
            if reason == "cpu time"
            else CheckTaskResult.Outcome.ERROR
        )
        return _TaskOutcome(outcome, words)
    report = result.report
    if report is None or not report.complete:
        return _TaskOutcome(
            CheckTaskResult.Outcome.ERROR,
            "The checks could not finish: " + (_last_line(result.output) or "no output"),
        )
    if total and passed == total:
        return _TaskOutcome(CheckTaskResult.Outcome.PASSED, "")
    # A test module that could not be imported (the learner's syntax error, a missing
    # module): its cases never ran. Its last line names the error without quoting code.
    broken = [case for case in report.cases if case.outcome == "error" and "::" not in case.nodeid]
    if broken or not report.cases:
        line = _last_line(broken[0].output if broken else result.output)
        return _TaskOutcome(
            CheckTaskResult.Outcome.ERROR,
            "The checks could not load your code" + (f": {line}" if line else "."),
        )
    return _TaskOutcome(CheckTaskResult.Outcome.FAILED, "")


def _last_line(output: str) -> str:
    """The last non-empty line of ``output`` ("E   ModuleNotFoundError: No module named
    'rows'"), without pytest's "E" margin, cut to fit a reason."""
    lines = [line.strip() for line in strip_ansi(output).splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1].removeprefix("E").strip()
    return last[:200]


def _case_key(nodeid: str) -> str:
    """``suite/test_main.py::TestRows::test_first[a]`` → ``TestRows::test_first[a]``."""
    return nodeid.split("::", 1)[1] if "::" in nodeid else nodeid


def _record_task(run: CheckRun, suite: CheckSuite, result: SandboxResult) -> CheckTaskResult:
    """Store one task's outcome and its listed cases (a listed case that did not run is
    recorded as missing; an unlisted case is kept only if no case is listed)."""
    cases = list(suite.cases.all())
    reported: dict[str, CaseResult] = {}
    if result.report is not None:
        for case in result.report.cases:
            reported.setdefault(_case_key(case.nodeid), case)
    listed = cases or None
    # Stopped by the wall clock or the CPU limit: the task timed out, and so did what it
    # had not reported yet (see _task_outcome).
    out_of_time = result.timed_out or result.killed_reason == "cpu time"
    rows: list[CheckCaseResult] = []
    output_limit = settings.CHECKS_CASE_OUTPUT_BYTES
    if listed is None:  # no list: show what ran, by name
        for order, case in enumerate(reported.values()):
            rows.append(
                CheckCaseResult(
                    name=_case_key(case.nodeid)[:200],
                    outcome=OUTCOME_OF_CASE[case.outcome],
                    duration_ms=int(case.duration * 1000),
                    output=_excerpt(case.output, output_limit),
                    order=order,
                )
            )
    else:
        for order, listed_case in enumerate(listed):
            found: CaseResult | _Merged | None = reported.get(listed_case.name)
            if found is None:  # parametrized: every variant must pass
                variants = [
                    c for key, c in reported.items() if key.startswith(listed_case.name + "[")
                ]
                found = _merge_variants(variants)
            outcome = (
                OUTCOME_OF_CASE[found.outcome]
                if found is not None
                else (
                    CheckCaseResult.Outcome.TIMEOUT
                    if out_of_time
                    else CheckCaseResult.Outcome.MISSING
                )
            )
            rows.append(
                CheckCaseResult(
                    name=listed_case.name,
                    label=listed_case.label,
                    hidden=listed_case.hidden,
                    outcome=outcome,
                    duration_ms=int(found.duration * 1000) if found else 0,
                    output=""
                    if listed_case.hidden or found is None
                    else _excerpt(found.output, output_limit),
                    order=order,
                )
            )
    passed = sum(1 for row in rows if row.outcome == CheckCaseResult.Outcome.PASSED)
    verdict = _task_outcome(result, passed, len(rows))
    task_result = CheckTaskResult.objects.create(
        run=run,
        task=suite.task,
        outcome=verdict.outcome,
        cases_passed=passed,
        cases_total=len(rows),
        duration_ms=int(result.wall_seconds * 1000),
        output=_excerpt(result.output, settings.CHECKS_CASE_OUTPUT_BYTES * 4),
        reason=verdict.reason[:300],
        has_hidden=any(case.hidden for case in cases),
    )
    for row in rows:
        row.task_result = task_result
    CheckCaseResult.objects.bulk_create(rows)
    return task_result


@dataclass(frozen=True)
class _Merged:
    nodeid: str
    outcome: str
    duration: float
    output: str


def _merge_variants(variants: list[CaseResult]) -> _Merged | None:
    """All parametrized variants of a listed case as one: passed only if all passed."""
    if not variants:
        return None
    worst = next((v for v in variants if v.outcome != "passed"), variants[0])
    return _Merged(
        nodeid=worst.nodeid,
        outcome=worst.outcome,
        duration=sum(v.duration for v in variants),
        output=worst.output,
    )


def _archive_of(run: CheckRun) -> File[bytes] | None:
    """The zip to check, opened: the one uploaded with the request, else the iteration's."""
    field = run.archive or None
    if field is None and not run.repo_url and run.iteration is not None:
        attachment = zip_attachment(run.iteration)
        field = attachment.file if attachment is not None else None
    if field is None or not field.name:
        return None
    return File(field.storage.open(field.name, "rb"), name=PurePosixPath(field.name).name)


def check_run_execute(*, run: CheckRun) -> CheckRun:
    """Run every suite of the run's project against its code, then finish it.

    ``run`` was taken by this worker (``check_run_take``). Whatever happens, the run
    ends finished: an error of ours is logged and shown as "could not run".
    """
    suites = project_suites(run.release.project)
    versions = {str(suite.task_id): suite.version for suite in suites}
    try:
        with _heartbeat(run):
            archive = _archive_of(run)
            try:
                with code_checkout(
                    repo_url=run.repo_url, commit_sha=run.commit_sha, archive=archive
                ) as (code_dir, sha):
                    if sha and not run.commit_sha:
                        CheckRun.objects.filter(pk=run.pk).update(commit_sha=sha)
                    CheckTaskResult.objects.filter(run=run).delete()  # a retried run
                    for suite in suites:
                        with _suite_directory(suite) as suite_dir:
                            result = run_suite(
                                code_dir=code_dir,
                                suite_dir=suite_dir,
                                limits=suite_limits(suite),
                                code_paths=_code_paths(suite),
                                pytest_args=shlex.split(suite.pytest_args),
                            )
                        _record_task(run, suite, result)
                        _bump(run.pk)
            finally:
                if archive is not None:
                    archive.close()
    except SourceError as error:
        return check_run_finish(run=run, error=str(error), suite_versions=versions)
    except SandboxUnavailable as error:
        return check_run_finish(
            run=run, error=f"Checks cannot run on this server: {error}", suite_versions=versions
        )
    except Exception:
        logger.exception("Check run %s failed", run.pk)
        return check_run_finish(
            run=run,
            error=f"Something went wrong on our side while checking (run #{run.pk}). "
            "Try again; if it happens again, tell your mentor this number.",
            suite_versions=versions,
        )
    return check_run_finish(run=run, error="", suite_versions=versions)


def _code_paths(suite: CheckSuite) -> list[str]:
    """The task's directory in the repository (0x01-async), which the suite imports the
    learner's modules from before the repository's root."""
    directory = suite.task.directory.strip().strip("/")
    return [directory] if directory else []


@transaction.atomic
def check_run_finish(*, run: CheckRun, error: str, suite_versions: dict[str, int]) -> CheckRun:
    """Close a running run: passed, failed, or errored with ``error`` for the learner."""
    locked = CheckRun.objects.select_for_update().get(pk=run.pk)
    if locked.status != CheckRun.Status.RUNNING:
        return locked  # recovered meanwhile (this worker was presumed dead): keep theirs
    results = list(locked.task_results.all())
    if error:
        status = CheckRun.Status.ERRORED
    elif results and all(result.passed for result in results):
        status = CheckRun.Status.PASSED
    else:
        status = CheckRun.Status.FAILED
    locked.status = status
    locked.error = error
    locked.finished_at = timezone.now()
    locked.suite_versions = suite_versions
    locked.stamp += 1
    locked.save(update_fields=["status", "error", "finished_at", "suite_versions", "stamp"])
    signals.checks_finished.send(CheckRun, run=locked, results=results)
    return locked


def _asked_again(run: CheckRun) -> bool:
    """Whether a run queued since ``run`` started replaces it: the learner's new "check my
    code" on the release, or a run of the same attempt's iterations (a re-run, a newer
    iteration), as the services that queue them replace a queued one."""
    queued = CheckRun.objects.queued()
    if run.iteration_id is None:
        return queued.filter(
            learner=run.learner_id, release=run.release_id, iteration=None
        ).exists()
    return queued.filter(iteration__attempt__iterations=run.iteration_id).exists()


@transaction.atomic
def check_runs_recover() -> tuple[list[CheckRun], int]:
    """Runs whose worker died: queued again while they have tries left, else ended
    errored. Returns (the runs queued again, for the caller to enqueue; how many ended)."""
    requeued: list[CheckRun] = []
    ended = 0
    # A queued run whose task never reached a worker (the enqueue was lost with its
    # process) is sent again; a duplicate is harmless, only one worker takes a run.
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.CHECKS_RESEND_SECONDS)
    forgotten = CheckRun.objects.queued().filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, requested_at__lt=cutoff)
    )
    for run in forgotten.select_for_update(skip_locked=True):
        run.heartbeat_at = now
        run.save(update_fields=["heartbeat_at"])
        requeued.append(run)
    for run in CheckRun.objects.stale().select_for_update(skip_locked=True):
        logger.warning("Check run %s went stale on worker %s", run.pk, run.worker)
        run.stamp += 1
        if _asked_again(run):
            # Queued again, it would stand beside the newer request (which the constraints
            # refuse) and answer the same question with older code.
            run.status = CheckRun.Status.REPLACED
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "finished_at", "stamp"])
            continue
        if run.tries < settings.CHECKS_MAX_TRIES:
            run.status = CheckRun.Status.QUEUED
            run.heartbeat_at = timezone.now()  # queued runs: when last sent to the workers
            run.worker = ""
            run.save(update_fields=["status", "heartbeat_at", "worker", "stamp"])
            requeued.append(run)
            continue
        run.status = CheckRun.Status.ERRORED
        run.finished_at = timezone.now()
        run.error = (
            "The checker stopped while running this code, twice. This is usually our fault: "
            "try again, and tell your mentor if it happens again."
        )
        run.save(update_fields=["status", "finished_at", "error", "stamp"])
        signals.checks_finished.send(CheckRun, run=run, results=[])
        ended += 1
    return requeued, ended

"""Run a submitted iteration's checks now, in this process, and print what they say."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.checks.models import CheckCaseResult, CheckRun
from core.checks.runs import check_run_execute, check_run_take, worker_name
from core.checks.sandbox import sandbox_available
from core.checks.services import iteration_checks_request
from core.checks.tasks import _watch_later
from core.models import Iteration, User
from core.reviews.services import checks_bot

CASE_MARKS: dict[str, str] = {
    CheckCaseResult.Outcome.PASSED: "✓",
    CheckCaseResult.Outcome.SKIPPED: "–",
}


class Command(BaseCommand):
    verbosity = 1
    help = (
        "Run the checks of a submitted iteration (its attempt's latest) in the foreground, "
        "as a staff re-run: print each task and case with its outcome and a summary. What "
        "the checks decide is recorded as for any re-run (an iteration being checked is "
        "decided by them). Exits non-zero when the checks cannot run here."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("iteration_id", type=int, help="the iteration's id (as in the admin)")
        parser.add_argument(
            "--by",
            metavar="EMAIL",
            help="the staff member the run is recorded as requested by (default: the checks "
            "account)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        available, reason = sandbox_available()
        if not available:
            if not (settings.CHECKS_ALLOW_UNSANDBOXED and settings.DEBUG):
                raise CommandError(f"Checks cannot run on this machine: {reason}")
            self.stderr.write(
                self.style.WARNING(
                    "CHECKS_ALLOW_UNSANDBOXED is on: the code runs UNSANDBOXED (development only)."
                )
            )
        iteration = self._iteration(options["iteration_id"])
        requested_by = self._requester(options["by"])
        with transaction.atomic():
            run = iteration_checks_request(
                iteration=iteration, requested_by=requested_by, trigger=CheckRun.Trigger.RERUN
            )
            if run is None:
                raise CommandError(
                    f"{iteration.attempt.release.project.title} has no automated checks."
                )
            # Taken before the request commits: the queued task finds it taken.
            taken = check_run_take(run_id=run.pk, worker=f"{worker_name()} (run_checks)")
        assert taken is not None  # queued in this very transaction
        _watch_later(taken.pk)  # if this process dies, a worker ends the run
        attempt = iteration.attempt
        self.stdout.write(
            f"Iteration {iteration.number} of {attempt.release.project.title} by "
            f"{attempt.learner.name}, from {taken.source_label}: run #{taken.pk}"
        )
        finished = check_run_execute(run=taken)
        self._print(finished)
        if finished.status == CheckRun.Status.ERRORED:
            raise CommandError(f"The checks could not run: {finished.error}")

    def _iteration(self, pk: int) -> Iteration:
        iteration = (
            Iteration.objects.select_related("attempt__learner", "attempt__release__project")
            .filter(pk=pk)
            .first()
        )
        if iteration is None:
            raise CommandError(f"There is no iteration {pk}.")
        latest = iteration.attempt.iterations.order_by("-number").first()
        if latest is not None and latest.pk != iteration.pk:
            # A request for an iteration replaces its attempt's queued runs: the newer
            # iteration's would be lost.
            raise CommandError(
                f"Iteration {pk} is not its attempt's latest: run the checks of iteration "
                f"{latest.pk} instead."
            )
        return iteration

    def _requester(self, email: str | None) -> User:
        if not email:
            return checks_bot()
        user = User.objects.filter(email__iexact=email, is_staff=True).first()
        if user is None:
            raise CommandError(f"No staff member has the email address {email}.")
        return user

    def _print(self, run: CheckRun) -> None:
        results = list(
            run.task_results.select_related("task")
            .prefetch_related("cases")
            .order_by("task__number")
        )
        for result in results:
            seconds = result.duration_ms / 1000
            line = (
                f"Task {result.task.number}. {result.task.title}: "
                f"{result.get_outcome_display()}, {result.cases_passed}/{result.cases_total} "
                f"({seconds:.1f} s)"
            )
            self.stdout.write(self.style.SUCCESS(line) if result.passed else self.style.ERROR(line))
            if result.reason:
                self.stdout.write(f"  {result.reason}")
            for case in result.cases.all():
                mark = CASE_MARKS.get(case.outcome, "✗")
                hidden = " (hidden)" if case.hidden else ""
                self.stdout.write(
                    f"  {mark} {case.display_name}{hidden}: {case.get_outcome_display()}"
                )
                if case.output and not case.passed and self.verbosity >= 2:
                    for output_line in case.output.splitlines():
                        self.stdout.write(f"      {output_line}")
        tasks_passed = sum(1 for result in results if result.passed)
        cases_passed = sum(result.cases_passed for result in results)
        cases_total = sum(result.cases_total for result in results)
        summary = (
            f"{run.get_status_display()}: {tasks_passed} of {len(results)} "
            f"task{'s' if len(results) != 1 else ''} pass, {cases_passed} of {cases_total} "
            f"check{'s' if cases_total != 1 else ''}"
        )
        if run.status == CheckRun.Status.ERRORED:
            self.stdout.write(self.style.ERROR(f"{run.get_status_display()}: {run.error}"))
        elif run.status == CheckRun.Status.PASSED:
            self.stdout.write(self.style.SUCCESS(summary))
        else:
            self.stdout.write(self.style.ERROR(summary))

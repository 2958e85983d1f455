"""Automated checks: a task's check suite, and the runs of suites against learners' code.

A suite is text in the database (test files, fixtures, the case names, limits), so the
admin edits it and the curriculum importer can load it from files. A run checks one
learner's code for one release: each task with a suite is run in the sandbox
(core/checks/sandbox.py) and every case's outcome is kept.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.platform.timefmt import now_or

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from core.accounts.models import User

# A suite file's path inside the suite folder: plain relative names, no "..", no dotfiles.
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_SUITE_PATH = re.compile(rf"^{_NAME}(?:/{_NAME})*$")
# pytest names: test functions and classes, optionally parametrized (test_x[case-1]).
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_CASE_NAME = re.compile(rf"^{_IDENTIFIER}(?:::{_IDENTIFIER})?(?:\[[^\]\n]{{1,120}}\])?$")


def validate_suite_path(value: str) -> None:
    """A relative path such as ``test_main.py`` or ``fixtures/rows.csv``."""
    if len(value) > 200 or not _SUITE_PATH.match(value):
        raise ValidationError(
            "Use a relative path of letters, digits, '_', '-', '.' and '/', such as "
            "test_main.py or fixtures/rows.csv (no '..', no hidden files)."
        )


# The suite's own pytest arguments: what narrows or stops a run. The sandbox's runner sets
# everything else (configuration file, root, plugins, paths), and nothing may override it.
_PYTEST_FLAGS = {"-x", "--exitfirst", "-q", "-v", "-vv", "-ra", "--strict-markers"}
_PYTEST_OPTIONS = ("-k", "-m", "-W", "--maxfail", "--tb")


def validate_pytest_args(value: str) -> None:
    """Only -x, -q, -v, -ra, --strict-markers, -k, -m, -W, --maxfail and --tb."""
    try:
        words = shlex.split(value)
    except ValueError as error:
        raise ValidationError(f"These arguments do not parse: {error}.") from None
    expecting_value = False
    for word in words:
        if expecting_value:
            expecting_value = False
            continue
        if word in _PYTEST_FLAGS:
            continue
        option = next((o for o in _PYTEST_OPTIONS if word == o or word.startswith(o)), None)
        if option is None:
            raise ValidationError(
                f"“{word}” is not allowed: use -x, -q, -v, -ra, --strict-markers, -k, -m, -W, "
                "--maxfail or --tb (the sandbox sets everything else)."
            )
        expecting_value = word == option and option in ("-k", "-m", "-W")


def validate_case_name(value: str) -> None:
    """A pytest test name: ``test_it_works``, ``TestRows::test_first`` or ``test_x[case]``."""
    if not _CASE_NAME.match(value):
        raise ValidationError(
            "Name a pytest test as it is written: test_it_works, TestRows::test_first, "
            "or test_it_works[case] for one parametrized case."
        )


def default_wall_seconds() -> int:
    return int(settings.CHECKS_WALL_SECONDS)


def default_cpu_seconds() -> int:
    return int(settings.CHECKS_CPU_SECONDS)


def default_memory_mb() -> int:
    return int(settings.CHECKS_MEMORY_MB)


def default_processes() -> int:
    return int(settings.CHECKS_PROCESSES)


def default_output_kb() -> int:
    return max(1, int(settings.CHECKS_OUTPUT_BYTES) // 1024)


class CheckSuite(models.Model):
    """The checks of one task: pytest files run against the learner's code, within limits."""

    task = models.OneToOneField("core.Task", on_delete=models.CASCADE, related_name="check_suite")
    pytest_args = models.CharField(
        "extra pytest arguments",
        max_length=200,
        blank=True,
        help_text="Added to the pytest command, such as -x or -k 'not slow'. Usually empty.",
        validators=[validate_pytest_args],
    )
    wall_seconds = models.PositiveIntegerField(
        "wall time (s)",
        default=default_wall_seconds,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
    )
    cpu_seconds = models.PositiveIntegerField(
        "CPU time (s)",
        default=default_cpu_seconds,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
    )
    memory_mb = models.PositiveIntegerField(
        "memory (MB)",
        default=default_memory_mb,
        validators=[MinValueValidator(64), MaxValueValidator(4096)],
    )
    processes = models.PositiveIntegerField(
        default=default_processes, validators=[MinValueValidator(4), MaxValueValidator(512)]
    )
    output_kb = models.PositiveIntegerField(
        "output (KB)",
        default=default_output_kb,
        validators=[MinValueValidator(1), MaxValueValidator(4096)],
    )
    # Bumped by every change to the suite, its files or its cases: a run records the
    # versions it ran, so staff see which results predate a change and re-run them.
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task__project", "task__number"]

    def __str__(self) -> str:
        return f"Checks of {self.task}"

    def bump_version(self) -> None:
        """Record that what the suite runs has changed."""
        CheckSuite.objects.filter(pk=self.pk).update(version=F("version") + 1)
        self.refresh_from_db(fields=["version"])


class CheckFile(models.Model):
    """One file of a suite: a test module (and its conftest), or a fixture it reads."""

    class Kind(models.TextChoices):
        TEST = "test", "Test file"
        FIXTURE = "fixture", "Fixture"

    suite = models.ForeignKey(CheckSuite, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=200, validators=[validate_suite_path])
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEST)
    content = models.TextField(blank=True)

    class Meta:
        ordering = ["suite", "path"]
        constraints = [
            models.UniqueConstraint(fields=["suite", "path"], name="checkfile_unique_path"),
        ]

    def __str__(self) -> str:
        return self.path

    def clean(self) -> None:
        limit = settings.CHECKS_MAX_SUITE_FILE_CHARS
        if len(self.content) > limit:
            raise ValidationError({"content": f"A suite file holds at most {limit:,} characters."})


class CheckCase(models.Model):
    """A named check of a suite, as the learner sees it; hidden ones show only their result."""

    suite = models.ForeignKey(CheckSuite, on_delete=models.CASCADE, related_name="cases")
    name = models.CharField(max_length=200, validators=[validate_case_name])
    label = models.CharField(
        max_length=200, blank=True, help_text="What the learner reads; the name if empty."
    )
    hidden = models.BooleanField(
        default=False,
        help_text="The learner sees its name and result, never its code or output.",
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["suite", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["suite", "name"], name="checkcase_unique_name"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.label or self.name


class CheckRunQuerySet(models.QuerySet["CheckRun"]):
    def queued(self) -> CheckRunQuerySet:
        return self.filter(status=CheckRun.Status.QUEUED)

    def running(self) -> CheckRunQuerySet:
        return self.filter(status=CheckRun.Status.RUNNING)

    def finished(self) -> CheckRunQuerySet:
        return self.filter(status__in=CheckRun.FINISHED)

    def stale(self, now: datetime | None = None) -> CheckRunQuerySet:
        """Running runs whose worker stopped beating: it died or lost the database."""
        cutoff = now_or(now) - timedelta(seconds=settings.CHECKS_STALE_SECONDS)
        return self.running().filter(heartbeat_at__lt=cutoff)

    def visible_to(self, user: User | AnonymousUser) -> CheckRunQuerySet:
        """Own runs for learners; their cohorts' runs for mentors; every run for staff."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        from core.cohorts.models import mentored_cohort_ids

        return self.filter(Q(learner=user) | Q(release__cohort_id__in=mentored_cohort_ids(user)))


class CheckRun(models.Model):
    """One request to check a learner's code for a release: queued, running, then finished."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PASSED = "passed", "All checks pass"
        FAILED = "failed", "Some checks fail"
        ERRORED = "errored", "Could not run"
        REPLACED = "replaced", "Replaced by a newer request"

    class Trigger(models.TextChoices):
        LEARNER = "learner", "Check my code"
        SUBMISSION = "submission", "Submission"
        RERUN = "rerun", "Re-run by staff"

    FINISHED = (Status.PASSED, Status.FAILED, Status.ERRORED)

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="check_runs"
    )
    release = models.ForeignKey(
        "core.ProjectRelease", on_delete=models.PROTECT, related_name="check_runs"
    )
    iteration = models.ForeignKey(
        "core.Iteration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="check_runs",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    # Where the code comes from: a repository at a commit, or a zip archive.
    repo_url = models.URLField("repository URL", max_length=300, blank=True)
    commit_sha = models.CharField("commit SHA", max_length=40, blank=True)
    archive = models.FileField(upload_to="check-archives/", max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Running: the worker's last sign of life. Queued: when it was last sent to the workers.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=120, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    # What the learner reads when the run could not check anything.
    error = models.TextField(blank=True)
    # {task id: suite version} as run, so a suite change shows which results are older.
    suite_versions = models.JSONField(default=dict, blank=True)
    # Changes whenever what the live status shows changes; the page polls with it.
    stamp = models.PositiveIntegerField(default=0)

    objects = CheckRunQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # A new "check my code" replaces the learner's queued one: one at a time.
            models.UniqueConstraint(
                fields=["learner", "release"],
                condition=Q(status="queued", iteration__isnull=True),
                name="checkrun_one_queued_request",
            ),
            models.UniqueConstraint(
                fields=["iteration"],
                condition=Q(status="queued"),
                name="checkrun_one_queued_per_iteration",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="submission") | Q(iteration__isnull=False),
                name="checkrun_submission_has_iteration",
            ),
        ]
        indexes = [
            models.Index(
                fields=["requested_at"], condition=Q(status="queued"), name="checkrun_queue"
            ),
            models.Index(fields=["status", "finished_at"], name="checkrun_status_finished"),
            models.Index(fields=["learner", "requested_at"], name="checkrun_learner_requested"),
            models.Index(fields=["iteration", "-requested_at"], name="checkrun_iteration"),
        ]

    def __str__(self) -> str:
        return f"Check run {self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def is_live(self) -> bool:
        """Queued or running: the page keeps polling."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def source_label(self) -> str:
        if self.repo_url:
            sha = f" at {self.commit_sha[:7]}" if self.commit_sha else " (latest commit)"
            return f"{self.repo_url}{sha}"
        return "the uploaded zip archive"

    def wait_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.started_at - self.requested_at).total_seconds()

    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class CheckTaskResult(models.Model):
    """What one task's suite said about a run's code."""

    class Outcome(models.TextChoices):
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        TIMEOUT = "timeout", "Timed out"
        ERROR = "error", "Error"

    run = models.ForeignKey(CheckRun, on_delete=models.CASCADE, related_name="task_results")
    task = models.ForeignKey("core.Task", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    cases_passed = models.PositiveSmallIntegerField(default=0)
    cases_total = models.PositiveSmallIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    # Output of the whole suite run (collection errors, a crash), ANSI-stripped and capped.
    # It can quote hidden cases' code, so learners see it only when the suite hides none.
    output = models.TextField(blank=True)
    has_hidden = models.BooleanField(default=False)
    # The learner-facing reason for TIMEOUT and ERROR ("used more than 512 MB of memory").
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["run", "task__number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "task"], name="checktaskresult_one_per_task"),
        ]

    def __str__(self) -> str:
        return f"{self.task}: {self.get_outcome_display()}"

    @property
    def passed(self) -> bool:
        return self.outcome == self.Outcome.PASSED


class CheckCaseResult(models.Model):
    """One case's outcome in a task's result."""

    class Outcome(models.TextChoices):
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Error"
        TIMEOUT = "timeout", "Timed out"
        SKIPPED = "skipped", "Skipped"
        MISSING = "missing", "Did not run"

    task_result = models.ForeignKey(CheckTaskResult, on_delete=models.CASCADE, related_name="cases")
    name = models.CharField(max_length=200)
    label = models.CharField(max_length=200, blank=True)
    hidden = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    duration_ms = models.PositiveIntegerField(default=0)
    # ANSI-stripped, capped; empty for hidden cases (their output is never kept).
    output = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["task_result", "order", "id"]

    def __str__(self) -> str:
        return f"{self.display_name}: {self.get_outcome_display()}"

    @property
    def display_name(self) -> str:
        return self.label or self.name

    @property
    def passed(self) -> bool:
        return self.outcome == self.Outcome.PASSED

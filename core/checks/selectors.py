"""The checks domain's reads: a project's suites, a run's results, the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from django.conf import settings
from django.db.models import Count, Prefetch, Q, Sum
from django.utils import timezone

from core.checks.forms import CheckRequestForm
from core.checks.models import CheckCaseResult, CheckRun, CheckSuite, CheckTaskResult
from core.checks.sandbox import sandbox_available
from core.checks.sources import fetching_enabled
from core.cohorts.selectors import learner_releases, open_release
from core.models import Attachment, Iteration, Project, ProjectRelease, Task, User
from core.reporting.turnaround import percentile


def project_suites(project: Project) -> list[CheckSuite]:
    """The check suites of a project's tasks, in task order, with their files and cases."""
    return list(
        CheckSuite.objects.filter(task__project=project)
        .select_related("task")
        .prefetch_related("files", "cases")
        .order_by("task__number")
    )


def has_checks(project: Project) -> bool:
    """Whether any task of the project has a check suite (one cheap query)."""
    return CheckSuite.objects.filter(task__project=project).exists()


def graded_by_checks_only(project: Project) -> bool:
    """Every task of the project is graded by checks and has a suite: no person decides."""
    tasks = list(project.tasks.all())
    if not tasks:
        return False
    with_suites = set(
        CheckSuite.objects.filter(task__project=project).values_list("task_id", flat=True)
    )
    return all(task.grading == Task.Grading.CHECKS and task.pk in with_suites for task in tasks)


def queue_position(run: CheckRun) -> int:
    """How many queued runs are ahead of ``run`` (0: it is next)."""
    return CheckRun.objects.queued().filter(requested_at__lt=run.requested_at).count()


def expected_start_seconds(position: int) -> float | None:
    """About when a run ``position`` places back in the queue starts, from the last hour's
    runs: their median duration, shared among the workers seen in that hour. None without
    history."""
    since = timezone.now() - timedelta(hours=1)
    recent = list(
        CheckRun.objects.finished()
        .filter(finished_at__gt=since, started_at__isnull=False)
        .values_list("started_at", "finished_at", "worker")[: settings.CHECKS_ESTIMATE_SAMPLE]
    )
    if not recent:
        return None
    # The filter leaves neither time None; the checks below only say so to mypy.
    durations = [
        (finished - started).total_seconds()
        for started, finished, _ in recent
        if started is not None and finished is not None
    ]
    workers = max(1, len({worker for _, _, worker in recent}))
    return median(durations) * (position + 1) / workers


def zip_attachment(iteration: Iteration) -> Attachment | None:
    """The iteration's zip archive, which checks read instead of its repository."""
    return next(
        (a for a in iteration.attachments.all() if a.original_name.lower().endswith(".zip")),
        None,
    )


# --- What the pages show -----------------------------------------------------------------


@dataclass(frozen=True)
class TaskResultView:
    """One task's result as a viewer may see it."""

    result: CheckTaskResult
    cases: list[CheckCaseResult]
    show_output: bool  # the whole suite's output (hidden cases' code may be in it)


@dataclass(frozen=True)
class RunView:
    """A run as its page and its live fragment show it."""

    run: CheckRun
    tasks: list[TaskResultView]
    position: int | None  # queued: runs ahead of it
    expected_start: float | None  # queued: seconds until it should start
    staff_view: bool  # a mentor or staff: hidden cases' names are marked as hidden

    @property
    def cases_passed(self) -> int:
        return sum(task.result.cases_passed for task in self.tasks)

    @property
    def cases_total(self) -> int:
        return sum(task.result.cases_total for task in self.tasks)


def run_view(run: CheckRun, user: User, now: datetime) -> RunView:
    """``run`` with its results, for ``user`` (who may see it: the caller checked)."""
    staff_view = user.is_staff or user.pk != run.learner_id
    results = list(
        CheckTaskResult.objects.filter(run=run)
        .select_related("task")
        .prefetch_related(Prefetch("cases", queryset=CheckCaseResult.objects.order_by("order")))
        .order_by("task__number")
    )
    tasks = [
        TaskResultView(
            result=result,
            cases=list(result.cases.all()),
            show_output=bool(result.output) and (staff_view or not result.has_hidden),
        )
        for result in results
    ]
    position = expected = None
    if run.status == CheckRun.Status.QUEUED:
        position = queue_position(run)
        expected = expected_start_seconds(position)
    return RunView(run, tasks, position, expected, staff_view)


@dataclass(frozen=True)
class ChecksPanel:
    """The "check my code" card of a project page, for a learner of an open release."""

    release: ProjectRelease
    counts: SuiteCounts
    run: RunView | None
    form: CheckRequestForm
    available: bool
    unavailable_reason: str
    fetch_enabled: bool
    fetch_reason: str


@dataclass(frozen=True)
class SuiteCounts:
    """How many suites, cases and hidden cases a project's checks have."""

    suites: int
    cases: int
    hidden: int


def suite_counts(project: Project) -> SuiteCounts:
    """The size of a project's checks, in one query (the project page caches it)."""
    counts = CheckSuite.objects.filter(task__project=project).aggregate(
        suite_count=Count("pk", distinct=True),
        case_count=Count("cases", distinct=True),
        hidden_count=Count("cases", filter=Q(cases__hidden=True), distinct=True),
    )
    return SuiteCounts(counts["suite_count"], counts["case_count"], counts["hidden_count"])


def checks_panel(
    user: User,
    project: Project,
    counts: SuiteCounts,
    *,
    form: CheckRequestForm | None = None,
) -> ChecksPanel | None:
    """The checks card for ``user`` on ``project``; None unless the project has checks and
    they learn in a cohort it is open to."""
    if not user.is_authenticated or not counts.suites:
        return None
    now = timezone.now()
    release = open_release(learner_releases(user, project_slug=project.slug), now)
    if release is None:
        return None
    latest = (
        CheckRun.objects.filter(learner=user, release=release, iteration=None)
        .exclude(status=CheckRun.Status.REPLACED)
        .order_by("-requested_at", "-id")
        .first()
    )
    if form is None:
        iteration = (
            Iteration.objects.filter(attempt__learner=user, attempt__release=release)
            .order_by("-number")
            .only("repo_url")
            .first()
        )
        repo = latest.repo_url if latest and latest.repo_url else ""
        form = CheckRequestForm(
            initial={"repo_url": repo or (iteration.repo_url if iteration else "")}
        )
    available, reason = sandbox_available()
    fetch, fetch_reason = fetching_enabled()
    if not fetch:
        form.initial.setdefault("source", "archive")
    return ChecksPanel(
        release=release,
        counts=counts,
        run=run_view(latest, user, now) if latest else None,
        form=form,
        available=available,
        unavailable_reason=reason,
        fetch_enabled=fetch,
        fetch_reason=fetch_reason,
    )


@dataclass(frozen=True)
class RunsBoard:
    """Staff's view of the checks: the queue, what runs, and the last day's figures."""

    queued: list[CheckRun]
    queued_count: int
    running: list[CheckRun]
    finished_count: int
    errored: list[CheckRun]
    errored_count: int
    passed_count: int
    failed_count: int
    wait_p50: float | None
    wait_p95: float | None
    duration_p50: float | None
    duration_p95: float | None
    available: bool
    availability: str


def _seconds(values: list[timedelta], fraction: float) -> float | None:
    """A percentile of ``values``, in seconds: the one way reporting computes them."""
    found = percentile(sorted(values), fraction)
    return None if found is None else found.total_seconds()


def runs_board(now: datetime) -> RunsBoard:
    """The runs board's figures: a fixed number of queries, whatever the day's volume."""
    related = ("learner", "release__project", "release__cohort")
    day = CheckRun.objects.finished().filter(finished_at__gt=now - timedelta(hours=24))
    times = list(day.values_list("requested_at", "started_at", "finished_at", "status"))
    waits = [s - r for r, s, _f, _st in times if s is not None]
    durations = [f - s for _r, s, f, _st in times if s is not None and f is not None]
    statuses = [status for *_, status in times]
    queued = CheckRun.objects.queued().select_related(*related).order_by("requested_at", "id")
    available, availability = sandbox_available()
    return RunsBoard(
        queued=list(queued[: settings.CHECKS_BOARD_ROWS]),
        queued_count=queued.count(),
        running=list(
            CheckRun.objects.running()
            .select_related(*related)
            .order_by("started_at")[: settings.CHECKS_BOARD_ROWS]
        ),
        finished_count=len(times),
        errored=list(
            day.filter(status=CheckRun.Status.ERRORED)
            .select_related(*related)
            .order_by("-finished_at")[: settings.CHECKS_BOARD_ROWS]
        ),
        errored_count=statuses.count(CheckRun.Status.ERRORED),
        passed_count=statuses.count(CheckRun.Status.PASSED),
        failed_count=statuses.count(CheckRun.Status.FAILED),
        wait_p50=_seconds(waits, 0.5),
        wait_p95=_seconds(waits, 0.95),
        duration_p50=_seconds(durations, 0.5),
        duration_p95=_seconds(durations, 0.95),
        available=available,
        availability=availability,
    )


@dataclass(frozen=True)
class IterationChecks:
    """A submitted iteration's checks as its review page shows them."""

    run: RunView  # the newest run (not replaced), with the results it has so far
    passed: dict[int, bool]  # task id → passed, by the newest run that finished checking

    @property
    def live(self) -> bool:
        return self.run.run.is_live

    def result_for(self, task_id: int) -> TaskResultView | None:
        return next((t for t in self.run.tasks if t.result.task_id == task_id), None)


def iteration_checks(iteration: Iteration, user: User, now: datetime) -> IterationChecks | None:
    """The checks of ``iteration`` for its reviewer; None when it was never checked."""
    latest = (
        CheckRun.objects.filter(iteration=iteration)
        .exclude(status=CheckRun.Status.REPLACED)
        .order_by("-requested_at", "-id")
        .first()
    )
    if latest is None:
        return None
    view = run_view(latest, user, now)
    if latest.status in (CheckRun.Status.PASSED, CheckRun.Status.FAILED):
        passed = {task.result.task_id: task.result.passed for task in view.tasks}
    else:
        finished = (
            CheckRun.objects.filter(
                iteration=iteration, status__in=[CheckRun.Status.PASSED, CheckRun.Status.FAILED]
            )
            .order_by("-requested_at", "-id")
            .first()
        )
        outcomes = (
            dict(finished.task_results.values_list("task_id", "outcome"))
            if finished is not None
            else {}
        )
        passed = {task_id: outcome == "passed" for task_id, outcome in outcomes.items()}
    return IterationChecks(run=view, passed=passed)


@dataclass(frozen=True)
class ChecksBadge:
    """What a queue row says of an iteration's checks: "5/6 checks pass", "checks running"."""

    run_id: int
    status: str
    passed: int
    total: int

    @property
    def live(self) -> bool:
        return self.status in (CheckRun.Status.QUEUED, CheckRun.Status.RUNNING)


def checks_badges(iteration_ids: list[int]) -> dict[int, ChecksBadge]:
    """The newest run of each iteration, summed up, in one query."""
    if not iteration_ids:
        return {}
    rows = (
        CheckRun.objects.filter(iteration_id__in=iteration_ids)
        .exclude(status=CheckRun.Status.REPLACED)
        .annotate(passed=Sum("task_results__cases_passed"), total=Sum("task_results__cases_total"))
        .order_by("iteration_id", "-requested_at", "-id")
        .values_list("iteration_id", "pk", "status", "passed", "total")
    )
    badges: dict[int, ChecksBadge] = {}
    for iteration_id, run_id, status, passed, total in rows:
        badges.setdefault(iteration_id, ChecksBadge(run_id, status, passed or 0, total or 0))
    return badges

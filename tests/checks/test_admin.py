"""The checks' admin: authoring a suite (typed or uploaded files, its version), the warning
when checks cannot run here, and the "re-run checks" actions on a real selection."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.checks import admin as checks_admin
from core.checks.models import CheckRun, CheckSuite
from core.checks.runs import check_run_finish, check_run_take
from core.models import Cohort, Iteration, Project, ProjectRelease, Task, User
from core.reviews.services import claim_take, iteration_submit
from tests.checks.support import ROWS_SUITE, rows_suite
from tests.factories import (
    CheckRunFactory,
    CheckTaskResultFactory,
    MembershipFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queue_only")]

ADD = reverse("admin:core_checksuite_add")


def change_url(suite: CheckSuite) -> str:
    return reverse("admin:core_checksuite_change", args=[suite.pk])


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def suite_form(task: Task, **extra: Any) -> dict[str, Any]:
    """The add form's fields for ``task`` with empty case and file inlines."""
    data: dict[str, Any] = {
        "task": task.pk,
        "pytest_args": "",
        "wall_seconds": 10,
        "cpu_seconds": 5,
        "memory_mb": 256,
        "processes": 24,
        "output_kb": 16,
    }
    for prefix in ("cases", "files"):
        data |= {
            f"{prefix}-TOTAL_FORMS": 0,
            f"{prefix}-INITIAL_FORMS": 0,
            f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 1000,
        }
    return data | extra


# Authoring


def test_staff_author_a_suite_with_typed_and_uploaded_files(
    staff_client: Client, project: Project
) -> None:
    task = Task.objects.get(project=project, number=0)
    data = suite_form(
        task,
        **{
            "cases-TOTAL_FORMS": 2,
            "cases-0-order": 0,
            "cases-0-name": "test_returns_a_list",
            "cases-0-label": "Returns a list",
            "cases-1-order": 1,
            "cases-1-name": "test_hidden_edge_case",
            "cases-1-hidden": "on",
            "files-TOTAL_FORMS": 2,
            "files-0-path": "test_rows.py",
            "files-0-kind": "test",
            "files-0-content": ROWS_SUITE.replace("\n", "\r\n"),  # as a browser sends it
            # An upload with no path is stored under its file name, its text as content.
            "files-1-path": "",
            "files-1-kind": "fixture",
            "files-1-content": "",
            "files-1-upload": SimpleUploadedFile("rows.csv", b"id,name\n1,Ada\n"),
        },
    )
    response = staff_client.post(ADD, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    suite = CheckSuite.objects.get(task=task)
    assert suite.version == 1
    assert [(c.name, c.label, c.hidden) for c in suite.cases.order_by("order")] == [
        ("test_returns_a_list", "Returns a list", False),
        ("test_hidden_edge_case", "", True),
    ]
    files = {f.path: (f.kind, f.content) for f in suite.files.all()}
    # The text as typed, with a browser's CRLF newlines as \n: nothing stripped.
    assert files["test_rows.py"] == ("test", ROWS_SUITE)
    assert files["rows.csv"] == ("fixture", "id,name\n1,Ada\n")


def edit_form(suite: CheckSuite, **changes: Any) -> dict[str, Any]:
    """The change form of ``suite`` as the admin shows it (its cases and files), changed."""
    data = suite_form(suite.task)
    data["cases-INITIAL_FORMS"] = data["cases-TOTAL_FORMS"] = suite.cases.count()
    for index, case in enumerate(suite.cases.order_by("order", "id")):
        data |= {
            f"cases-{index}-id": case.pk,
            f"cases-{index}-suite": suite.pk,
            f"cases-{index}-order": case.order,
            f"cases-{index}-name": case.name,
            f"cases-{index}-label": case.label,
        }
        if case.hidden:
            data[f"cases-{index}-hidden"] = "on"
    data["files-INITIAL_FORMS"] = data["files-TOTAL_FORMS"] = suite.files.count()
    for index, suite_file in enumerate(suite.files.order_by("id")):
        data |= {
            f"files-{index}-id": suite_file.pk,
            f"files-{index}-suite": suite.pk,
            f"files-{index}-path": suite_file.path,
            f"files-{index}-kind": suite_file.kind,
            # As a browser sends a textarea back: CRLF newlines.
            f"files-{index}-content": suite_file.content.replace("\n", "\r\n"),
        }
    for name in ("wall_seconds", "cpu_seconds", "memory_mb", "processes", "output_kb"):
        # Limits default to settings (a callable): the page sends their initial values too.
        data[name] = data[f"initial-{name}"] = getattr(suite, name)
    return data | changes


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"files-0-content": "def test_returns_a_list():\n    pass\n"}, id="text"),
        pytest.param(
            {"files-0-upload": SimpleUploadedFile("test_rows.py", b"def test_x():\n    pass\n")},
            id="upload",
        ),
        pytest.param({"cases-0-hidden": "on"}, id="case"),
        pytest.param({"wall_seconds": 20}, id="limit"),
    ],
)
def test_saving_a_change_bumps_the_suites_version(
    staff_client: Client, project: Project, change: dict[str, Any]
) -> None:
    suite = rows_suite(project)
    assert suite.version == 1
    response = staff_client.post(change_url(suite), edit_form(suite, **change))

    assert response.status_code == 302
    suite.refresh_from_db()
    assert suite.version == 2
    assert any("now version 2" in message for message in messages_of(response))
    if "files-0-upload" in change:
        assert suite.files.get(path="test_rows.py").content == "def test_x():\n    pass\n"


def test_saving_without_a_change_keeps_the_version(staff_client: Client, project: Project) -> None:
    suite = rows_suite(project)
    response = staff_client.post(change_url(suite), edit_form(suite))

    assert response.status_code == 302
    suite.refresh_from_db()
    assert suite.version == 1
    # Its text is as it was: a fixture's leading or final newline may matter to a test.
    assert suite.files.get().content == textwrap.dedent(ROWS_SUITE)
    assert suite.files.get().content.startswith("\nfrom rows") and ROWS_SUITE.endswith("\n")


def test_an_upload_that_is_not_text_is_refused(staff_client: Client, project: Project) -> None:
    suite = rows_suite(project)
    upload = SimpleUploadedFile("test_rows.py", b"\xff\xfe\x00binary")
    response = staff_client.post(change_url(suite), edit_form(suite, **{"files-0-upload": upload}))

    assert response.status_code == 200
    assert "Upload a UTF-8 text file." in response.content.decode()
    suite.refresh_from_db()
    assert suite.version == 1
    assert suite.files.get(path="test_rows.py").content != ""


# The warning when checks cannot run here


@pytest.mark.parametrize("model", ["checksuite", "checkrun"])
def test_the_admin_warns_when_the_sandbox_is_unavailable(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    reason = "bubblewrap (bwrap) is not installed"
    monkeypatch.setattr(checks_admin, "sandbox_available", lambda: (False, reason))
    response = staff_client.get(reverse(f"admin:core_{model}_changelist"))

    assert response.status_code == 200
    assert f"Checks cannot run on this server: {reason}." in response.content.decode()


@pytest.mark.parametrize("model", ["checksuite", "checkrun"])
def test_the_admin_does_not_warn_when_the_sandbox_works(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    monkeypatch.setattr(checks_admin, "sandbox_available", lambda: (True, ""))
    response = staff_client.get(reverse(f"admin:core_{model}_changelist"))

    assert response.status_code == 200
    assert "Checks cannot run on this server" not in response.content.decode()


# Re-running


def submitted(release: ProjectRelease, capture: Capture, *, times: int = 1) -> list[Iteration]:
    """A new learner of the release's cohort submits ``times`` iterations; them, oldest first."""
    learner = UserFactory()
    MembershipFactory(user=learner, cohort=release.cohort, role="learner")
    iterations = []
    for number in range(times):
        with capture(execute=True):
            iteration, _ = iteration_submit(
                learner=learner, release=release, repo_url=f"https://github.com/l/r{number}"
            )
        iterations.append(iteration)
    return iterations


@pytest.fixture
def scene(
    project: Project, release: ProjectRelease, django_capture_on_commit_callbacks: Capture
) -> dict[str, Any]:
    """Two projects with checks: on ours, one learner with two iterations and one with one;
    on another project of the cohort, one learner; in another cohort, one learner of ours.
    Every submission's own run has finished."""
    rows_suite(project)
    other = ProjectReleaseFactory(cohort=release.cohort)
    TaskFactory(project=other.project, number=0)
    rows_suite(other.project)
    elsewhere = ProjectReleaseFactory(project=project)
    capture = django_capture_on_commit_callbacks
    scene = {
        "twice": submitted(release, capture, times=2),
        "once": submitted(release, capture),
        "other_project": submitted(other, capture),
        "other_cohort": submitted(elsewhere, capture),
        "other_release": other,
        "elsewhere": elsewhere,
    }
    CheckRun.objects.update(status=CheckRun.Status.PASSED)
    return scene


def act(client: Client, model: str, action: str, ids: list[int]) -> Any:
    return client.post(
        reverse(f"admin:core_{model}_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in ids]},
        follow=True,
    )


def reruns(staff: User) -> set[int]:
    """The iterations whose checks were queued again by ``staff``."""
    queued = CheckRun.objects.filter(trigger=CheckRun.Trigger.RERUN)
    assert set(queued.values_list("status", "requested_by")) <= {("queued", staff.pk)}
    return set(queued.values_list("iteration_id", flat=True))


def test_re_running_selected_runs_queues_one_run_per_attempt_its_newest_selected(
    staff: User, staff_client: Client, scene: dict[str, Any]
) -> None:
    older, newer = scene["twice"]
    # Both iterations of one attempt (its newest is checked, once) and another learner's.
    selected = CheckRun.objects.filter(iteration__in=[older, newer, scene["other_project"][0]])
    response = act(
        staff_client, "checkrun", "rerun_runs", list(selected.values_list("pk", flat=True))
    )

    assert response.status_code == 200
    assert "Queued 2 check runs." in response.content.decode()
    assert reruns(staff) == {newer.pk, scene["other_project"][0].pk}


def test_re_running_an_older_iterations_run_checks_its_attempts_newest_iteration(
    staff: User, staff_client: Client, scene: dict[str, Any]
) -> None:
    """A suite changed: staff pick a run they see, of an older iteration. What needs
    checking is the learner's current work, the attempt's newest iteration."""
    older, newer = scene["twice"]
    selected = CheckRun.objects.filter(iteration=older)
    response = act(
        staff_client, "checkrun", "rerun_runs", list(selected.values_list("pk", flat=True))
    )

    assert "Queued 1 check run." in response.content.decode()
    assert reruns(staff) == {newer.pk}


def test_re_running_a_project_queues_the_newest_iteration_of_each_of_its_attempts(
    staff: User, staff_client: Client, project: Project, scene: dict[str, Any]
) -> None:
    response = act(staff_client, "project", "rerun_projects", [project.pk])

    assert "Queued 3 check runs." in response.content.decode()
    # Both cohorts' attempts on the project; not the other project's.
    assert reruns(staff) == {
        scene["twice"][1].pk,
        scene["once"][0].pk,
        scene["other_cohort"][0].pk,
    }


def test_re_running_a_cohort_queues_the_newest_iteration_of_each_of_its_attempts(
    staff: User, staff_client: Client, cohort: Cohort, scene: dict[str, Any]
) -> None:
    response = act(staff_client, "cohort", "rerun_cohorts", [cohort.pk])

    assert "Queued 3 check runs." in response.content.decode()
    # Every project of the cohort; not the other cohort's attempt.
    assert reruns(staff) == {
        scene["twice"][1].pk,
        scene["once"][0].pk,
        scene["other_project"][0].pk,
    }


def test_re_running_what_has_no_checks_queues_nothing(
    staff_client: Client, cohort: Cohort, release: ProjectRelease, waiting: Iteration
) -> None:
    response = act(staff_client, "cohort", "rerun_cohorts", [cohort.pk])

    assert "Nothing to re-run: no submitted iteration there has checks." in (
        response.content.decode()
    )
    assert not CheckRun.objects.exists()


def test_a_re_run_queued_by_the_admin_never_lowers_what_a_mentor_approved(
    staff: User,
    staff_client: Client,
    mentor: User,
    mentor_client: Client,
    learner_client: Client,
    project: Project,
    waiting: Iteration,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    tasks = {task.number: task for task in project.tasks.all()}
    Task.objects.filter(pk=tasks[2].pk).update(grading=Task.Grading.CHECKS)
    rows_suite(project, number=2, grading=Task.Grading.CHECKS)
    first = CheckRunFactory(iteration=waiting, status="passed")
    CheckTaskResultFactory(run=first, task=tasks[2], outcome="passed")
    claim_take(iteration=waiting, reviewer=mentor)
    data = {
        "feedback": "Good work.",
        "decision": "approved",
        "action": "submit",
        f"task_{tasks[0].pk}_passed": "pass",
        f"task_{tasks[1].pk}_passed": "pass",
    }
    assert mentor_client.post(f"/review/{waiting.pk}/", data).status_code == 302
    attempt = waiting.attempt
    attempt.refresh_from_db()
    assert (attempt.status, attempt.score) == ("approved", Decimal("200.00"))

    # The suite changed: staff re-run the project, and a worker finds task 2 failing now.
    act(staff_client, "project", "rerun_projects", [project.pk])
    [queued] = CheckRun.objects.filter(trigger=CheckRun.Trigger.RERUN)
    assert (queued.iteration_id, queued.status) == (waiting.pk, "queued")
    taken = check_run_take(run_id=queued.pk, worker="test:1")
    assert taken is not None
    CheckTaskResultFactory(run=taken, task=tasks[2], outcome="failed", cases_passed=1)
    with django_capture_on_commit_callbacks(execute=True):
        finished = check_run_finish(run=taken, error="", suite_versions={})

    assert finished.status == CheckRun.Status.FAILED
    attempt.refresh_from_db()
    assert (attempt.status, attempt.score) == ("approved", Decimal("200.00"))
    body = learner_client.get(attempt.get_absolute_url()).content.decode()
    assert "A later run of the checks failed this task; the mentor&#x27;s approval stands." in body

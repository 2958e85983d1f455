"""The checks' pages: the project page's card, "check my code" (project_checks), a run's
live status (check_run) and the staff runs board (staff_checks).

Whether the sandbox runs here is the panel's business to say, not these tests': they
fix it (``sandbox_up``) unless they run real code.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from core.checks import selectors
from core.checks.models import CheckRun
from core.models import Project, ProjectRelease, Task, User
from tests.checks.support import GOOD_ROWS, rows_suite, simple_suite, zip_of
from tests.conftest import client_for
from tests.factories import (
    CheckCaseResultFactory,
    CheckRunFactory,
    CheckTaskResultFactory,
    CohortFactory,
    IterationFactory,
    LearnerCheckRunFactory,
    MembershipFactory,
    UserFactory,
)

PROJECT_URL = "/projects/python-generators/"
CHECKS_URL = "/projects/python-generators/checks/"
BOARD_URL = "/staff/checks/"
HTMX = {"HTTP_HX_REQUEST": "true"}
REPO = "https://github.com/alice/generators"
SHA = "0123456789abcdef0123456789abcdef01234567"
# The session comes from the cache (core/platform/sessions.py): a query only with
# Django's database store.
SESSION_QUERIES = 0 if settings.SESSION_ENGINE == "core.platform.sessions" else 1


@pytest.fixture
def sandbox_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "sandbox_available", lambda: (True, "bubblewrap 0.8"))


def run_url(run: CheckRun) -> str:
    return f"/checks/{run.pk}/"


def finished_run(
    learner: User,
    release: ProjectRelease,
    *,
    tasks: int = 1,
    cases: int = 3,
    status: str = "failed",
    **fields: object,
) -> CheckRun:
    """A finished run with ``tasks`` task results of ``cases`` cases each."""
    started = timezone.now() - timedelta(minutes=5)
    run = LearnerCheckRunFactory(
        learner=learner,
        release=release,
        status=status,
        requested_at=started - timedelta(seconds=3),
        started_at=started,
        finished_at=started + timedelta(seconds=4),
        worker="worker-1:123",
        tries=1,
        **fields,
    )
    for task in Task.objects.filter(project=release.project).order_by("number")[:tasks]:
        result = CheckTaskResultFactory(
            run=run, task=task, outcome="failed", cases_passed=cases - 1, cases_total=cases
        )
        for order in range(cases):
            CheckCaseResultFactory(
                task_result=result,
                name=f"test_case_{task.number}_{order}",
                outcome="failed" if order == 0 else "passed",
                output="assert 1 == 2" if order == 0 else "",
                order=order,
            )
    return run


def classmate(release: ProjectRelease) -> User:
    user = UserFactory(display_name="Carl Classmate")
    MembershipFactory(user=user, cohort=release.cohort, role="learner")
    return user


# --- The project page's card ----------------------------------------------------------------


@pytest.mark.usefixtures("sandbox_up")
def test_the_project_page_offers_checks_to_its_learner(
    learner_client: Client, project: Project
) -> None:
    rows_suite(project)
    body = learner_client.get(PROJECT_URL).content.decode()
    assert '<section class="card checks-card mb-4" id="checks"' in body
    assert "Check your code" in body
    assert "3 checks on 1 task, 1 of them hidden" in body
    assert f'hx-post="{CHECKS_URL}"' in body
    assert 'name="archive"' in body and 'name="repo_url"' in body


@pytest.mark.usefixtures("sandbox_up")
def test_the_card_shows_the_learners_latest_run(
    learner: User, learner_client: Client, project: Project, release: ProjectRelease
) -> None:
    rows_suite(project)
    older = finished_run(learner, release)
    latest = LearnerCheckRunFactory(learner=learner, release=release)
    body = learner_client.get(PROJECT_URL).content.decode()
    assert f'id="check-run-{latest.pk}"' in body
    assert f'id="check-run-{older.pk}"' not in body
    assert f'hx-get="{run_url(latest)}?stamp=0"' in body  # polled while queued


def test_the_card_says_when_checks_cannot_run_here(
    learner_client: Client, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        selectors, "sandbox_available", lambda: (False, "bubblewrap is not installed")
    )
    rows_suite(project)
    body = learner_client.get(PROJECT_URL).content.decode()
    assert "New checks cannot run on this server right now: bubblewrap is not installed" in body
    assert f'hx-post="{CHECKS_URL}"' not in body


@pytest.mark.usefixtures("sandbox_up")
def test_the_card_is_for_learners_only(
    mentor_client: Client, staff_client: Client, outsider_client: Client, project: Project
) -> None:
    rows_suite(project)
    for client in (mentor_client, staff_client):
        response = client.get(PROJECT_URL)
        assert response.status_code == 200
        assert 'id="checks"' not in response.content.decode()
    assert outsider_client.get(PROJECT_URL).status_code == 404


@pytest.mark.usefixtures("sandbox_up")
def test_there_is_no_card_without_checks(learner_client: Client, project: Project) -> None:
    body = learner_client.get(PROJECT_URL).content.decode()
    assert 'id="checks"' not in body
    assert "Check your code" not in body


@pytest.mark.usefixtures("sandbox_up")
def test_there_is_no_card_before_the_release_opens(
    learner_client: Client, project: Project, release: ProjectRelease
) -> None:
    rows_suite(project)
    release.opens_at = timezone.now() + timedelta(days=1)
    release.first_deadline = release.opens_at + timedelta(days=5)
    release.second_deadline = release.opens_at + timedelta(days=12)
    release.save()
    body = learner_client.get(PROJECT_URL).content.decode()
    assert 'id="checks"' not in body


# --- Check my code ----------------------------------------------------------------------


@pytest.mark.usefixtures("sandbox_up", "media", "queue_only")
def test_htmx_post_answers_with_the_panel_and_the_queued_run(
    learner: User, learner_client: Client, project: Project
) -> None:
    rows_suite(project)
    response = learner_client.post(CHECKS_URL, {"source": "repository", "repo_url": REPO}, **HTMX)
    assert response.status_code == 200
    run = CheckRun.objects.get()
    assert (run.learner, run.status, run.repo_url, run.commit_sha) == (learner, "queued", REPO, "")
    body = response.content.decode()
    assert body.strip().startswith('<section class="card checks-card mb-4" id="checks"')
    assert "<html" not in body
    assert f'id="check-run-{run.pk}"' in body
    assert "Queued" in body and "Next in line" in body


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sandbox", "media")
def test_htmx_post_shows_the_finished_run_when_a_worker_was_quick(
    learner_client: Client, project: Project
) -> None:
    # The immediate backend: the run is worked as the request commits.
    rows_suite(project)
    response = learner_client.post(
        CHECKS_URL, {"source": "archive", "archive": zip_of({"rows.py": GOOD_ROWS})}, **HTMX
    )
    assert response.status_code == 200
    run = CheckRun.objects.get()
    assert run.status == CheckRun.Status.PASSED, run.error
    body = response.content.decode()
    assert f'id="check-run-{run.pk}"' in body
    assert "All checks pass" in body and "3/3 checks pass" in body
    assert "hx-trigger" not in body.split(f'id="check-run-{run.pk}"')[1].split(">")[0]


@pytest.mark.usefixtures("sandbox_up", "media", "queue_only")
def test_a_plain_post_redirects_to_the_card(learner_client: Client, project: Project) -> None:
    rows_suite(project)
    response = learner_client.post(
        CHECKS_URL, {"source": "repository", "repo_url": REPO, "commit_sha": SHA.upper()}
    )
    assert response.status_code == 302
    assert response["Location"] == PROJECT_URL + "#checks"
    assert CheckRun.objects.get().commit_sha == SHA
    page = learner_client.get(PROJECT_URL).content.decode()
    assert "Your code is queued for checking." in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(
            {"source": "repository", "repo_url": ""},
            "Paste the address of your repository.",
            id="no-repository",
        ),
        pytest.param(
            {"source": "repository", "repo_url": REPO, "commit_sha": "main"},
            "A commit SHA is 40 hexadecimal characters (0–9 and a–f).",
            id="bad-sha",
        ),
        pytest.param(
            {"source": "repository", "repo_url": "https://example.com/alice/generators"},
            "The repository must be on",
            id="host-not-allowed",
        ),
        pytest.param(
            {"source": "archive"},
            "Choose the zip archive to check.",
            id="no-zip",
        ),
        pytest.param(
            {"source": "archive", "archive": ("code.zip", "def first(n): ...\n")},
            "“code.zip” does not look like a",
            id="not-a-zip",
        ),
        pytest.param(
            {"source": "archive", "archive": ("notes.md", "# My notes\n")},
            "“notes.md” is not a zip archive.",
            id="another-kind-of-file",
        ),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.usefixtures("sandbox_up", "media", "queue_only")
def test_an_invalid_request_answers_400_with_its_errors(
    learner_client: Client, project: Project, data: dict[str, object], error: str, htmx: bool
) -> None:
    rows_suite(project)
    if isinstance(data.get("archive"), tuple):  # made here: an upload is read once
        name, content = data["archive"]
        data = data | {"archive": SimpleUploadedFile(name, content.encode())}
    response = learner_client.post(CHECKS_URL, data, **(HTMX if htmx else {}))
    assert response.status_code == 400
    body = response.content.decode()
    assert error in body
    assert ("<html" in body) is not htmx
    assert 'id="checks"' in body  # the form, to correct
    assert not CheckRun.objects.exists()


@pytest.mark.usefixtures("sandbox_up", "media", "queue_only")
def test_a_refused_request_answers_400_with_the_reason(
    settings, learner_client: Client, project: Project
) -> None:
    settings.CHECKS_RUNS_PER_HOUR = 1
    rows_suite(project)
    data = {"source": "repository", "repo_url": REPO}
    assert learner_client.post(CHECKS_URL, data, **HTMX).status_code == 200
    response = learner_client.post(CHECKS_URL, data, **HTMX)
    assert response.status_code == 400
    assert "You have asked for 1 checks in the last hour, the limit is 1." in (
        response.content.decode()
    )
    assert CheckRun.objects.count() == 1


@pytest.mark.usefixtures("media", "queue_only")
def test_project_checks_refuses_others(
    client: Client,
    outsider_client: Client,
    mentor_client: Client,
    learner_client: Client,
    project: Project,
) -> None:
    data = {"source": "repository", "repo_url": REPO}
    assert learner_client.post(CHECKS_URL, data).status_code == 404  # no checks yet
    rows_suite(project)
    assert outsider_client.post(CHECKS_URL, data).status_code == 404
    assert mentor_client.post(CHECKS_URL, data).status_code == 403  # not theirs to submit
    anonymous = client.post(CHECKS_URL, data)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert learner_client.get(CHECKS_URL).status_code == 405
    assert not CheckRun.objects.exists()


# --- A run's page -------------------------------------------------------------------------


def test_a_run_is_seen_by_its_learner_their_mentors_and_staff(
    client: Client,
    learner: User,
    mentor: User,
    staff: User,
    outsider: User,
    release: ProjectRelease,
) -> None:
    run = finished_run(learner, release)
    url = run_url(run)
    for user in (learner, mentor, staff):
        response = client_for(user).get(url)
        assert response.status_code == 200, user
        body = response.content.decode()
        assert '<h1 class="h3 mb-1">Checks of Python Generators</h1>' in body
        assert "test_case_0_0" in body and "assert 1 == 2" in body
    other_cohort_mentor = UserFactory()
    MembershipFactory(user=other_cohort_mentor, cohort=CohortFactory(), role="mentor")
    for user in (classmate(release), outsider, other_cohort_mentor):
        assert client_for(user).get(url).status_code == 404, user
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert client_for(learner).post(url).status_code == 405


def test_a_suite_with_hidden_cases_shows_its_full_output_to_mentors_only(
    learner: User, mentor: User, release: ProjectRelease
) -> None:
    run = finished_run(learner, release, cases=1)
    result = run.task_results.get()
    result.output = "E   assert first(0) == [] (the hidden case's code)"
    result.has_hidden = True
    result.save()
    CheckCaseResultFactory(task_result=result, name="test_hidden_edge_case", hidden=True)
    learner_page = client_for(learner).get(run_url(run)).content.decode()
    mentor_page = client_for(mentor).get(run_url(run)).content.decode()
    assert "the hidden case&#x27;s code" not in learner_page
    assert "Its code and output are not shown" in learner_page
    assert "the hidden case&#x27;s code" in mentor_page
    assert "The learner sees this check's name and result only" in mentor_page


def test_the_poll_answers_204_until_the_stamp_changes(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    run = LearnerCheckRunFactory(learner=learner, release=release, stamp=4)
    unchanged = learner_client.get(run_url(run) + "?stamp=4", **HTMX)
    assert unchanged.status_code == 204
    assert unchanged.content == b""
    changed = learner_client.get(run_url(run) + "?stamp=3", **HTMX)
    assert changed.status_code == 200
    body = changed.content.decode()
    assert body.strip().startswith(
        f'<div id="check-run-{run.pk}" class="check-run check-run-queued"'
    )
    assert f'hx-get="{run_url(run)}?stamp=4"' in body
    assert "<html" not in body
    # Without HTMX the stamp does not matter: the whole page.
    assert "<html" in learner_client.get(run_url(run) + "?stamp=4").content.decode()


@pytest.mark.usefixtures("queue_only")
def test_a_poll_puts_a_dead_workers_run_back_in_the_queue(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    silent = timezone.now() - timedelta(seconds=settings.CHECKS_STALE_SECONDS + 5)
    run = LearnerCheckRunFactory(
        learner=learner,
        release=release,
        status="running",
        started_at=silent,
        heartbeat_at=silent,
        worker="gone:1",
        tries=1,
        stamp=2,
    )
    response = learner_client.get(run_url(run) + "?stamp=2", **HTMX)
    assert response.status_code == 200
    assert "check-run-queued" in response.content.decode()
    run.refresh_from_db()
    assert (run.status, run.worker, run.stamp) == ("queued", "", 3)


@pytest.mark.usefixtures("queue_only")
def test_a_dead_workers_run_asked_again_meanwhile_is_replaced_not_queued_twice(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    """The worker died; before anyone noticed, the learner pressed "Check my code" again.
    Queued again, the old run would stand beside the new one (the constraints refuse
    two, so every page that recovers runs answered 500): it is replaced instead."""
    silent = timezone.now() - timedelta(seconds=settings.CHECKS_STALE_SECONDS + 5)
    dead = LearnerCheckRunFactory(
        learner=learner,
        release=release,
        status="running",
        requested_at=silent - timedelta(seconds=30),
        started_at=silent,
        heartbeat_at=silent,
        worker="gone:1",
        tries=1,
        stamp=2,
    )
    again = LearnerCheckRunFactory(learner=learner, release=release)

    response = learner_client.get(run_url(dead) + "?stamp=2", **HTMX)

    assert response.status_code == 200
    assert "Replaced by a newer request" in response.content.decode()
    dead.refresh_from_db()
    assert (dead.status, dead.stamp) == ("replaced", 3)
    assert dead.finished_at is not None
    assert list(CheckRun.objects.queued()) == [again]


@pytest.mark.usefixtures("queue_only")
def test_a_dead_workers_submission_run_gives_way_to_a_newer_one_of_the_attempt(
    staff_client: Client, learner: User, release: ProjectRelease
) -> None:
    """Staff re-ran the checks of a newer iteration of the same attempt while the dead
    worker's run of an older one sat unnoticed: the re-run answers, the old run is
    replaced, and the board still opens."""
    silent = timezone.now() - timedelta(seconds=settings.CHECKS_STALE_SECONDS + 5)
    dead = CheckRunFactory(
        iteration__attempt__learner=learner,
        iteration__attempt__release=release,
        status="running",
        started_at=silent,
        heartbeat_at=silent,
        finished_at=None,
        worker="gone:1",
        tries=1,
    )
    newer = IterationFactory(attempt=dead.iteration.attempt)
    rerun = CheckRunFactory(
        iteration=newer, status="queued", trigger="rerun", started_at=None, finished_at=None
    )

    assert staff_client.get(BOARD_URL).status_code == 200

    dead.refresh_from_db()
    assert dead.status == "replaced"
    assert list(CheckRun.objects.queued()) == [rerun]


# --- The staff board --------------------------------------------------------------------------


def test_the_board_is_for_staff(
    client: Client,
    staff_client: Client,
    learner_client: Client,
    mentor_client: Client,
    learner: User,
    release: ProjectRelease,
) -> None:
    LearnerCheckRunFactory(learner=learner, release=release)
    finished_run(learner, release, status="errored", error="The repository was not found.")
    response = staff_client.get(BOARD_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<span class="health-stat-value" id="checks-queued">1</span>' in body
    assert '<span class="health-stat-value" id="checks-finished">1</span>' in body
    assert "The repository was not found." in body
    for other in (learner_client, mentor_client):
        assert other.get(BOARD_URL).status_code == 404
    anonymous = client.get(BOARD_URL)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert staff_client.post(BOARD_URL).status_code == 405


# --- Constant queries ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 6])
def test_the_board_runs_a_constant_number_of_queries(
    staff_client: Client,
    release: ProjectRelease,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    now = timezone.now()
    for _ in range(size):
        learner = classmate(release)
        LearnerCheckRunFactory(learner=learner, release=release)
        LearnerCheckRunFactory(
            learner=learner,
            release=release,
            status="running",
            started_at=now,
            heartbeat_at=now,
            worker="worker-2:77",
        )
        finished_run(learner, release, status="passed")
        finished_run(learner, release, status="errored", error="Could not fetch.")
    # (session,) user; recovering runs: a savepoint, the forgotten queued runs (none),
    # the stale running runs (none), its release; the last day's times and statuses; the
    # queue (+ learner, release, project, cohort) and its count; the running (+ the
    # same); the errors (+ the same)
    with django_assert_num_queries(SESSION_QUERIES + 10):
        response = staff_client.get(BOARD_URL)
    body = response.content.decode()
    assert f'id="checks-queued">{size}</span>' in body
    assert f'id="checks-finished">{2 * size}</span>' in body
    assert body.count("Carl Classmate") == 3 * size  # queued, running, errored rows


@pytest.mark.parametrize(("tasks", "cases"), [(1, 1), (3, 8)])
@pytest.mark.parametrize("viewer", ["learner", "mentor"])
def test_a_run_page_runs_a_constant_number_of_queries(
    learner: User,
    mentor: User,
    release: ProjectRelease,
    tasks: int,
    cases: int,
    viewer: str,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    run = finished_run(learner, release, tasks=tasks, cases=cases)
    client = client_for(learner if viewer == "learner" else mentor)
    # (session,) user; the run if visible (+ release, project, cohort, learner, iteration,
    # attempt); its task results (+ task); their cases; the navigation's roles
    with django_assert_num_queries(SESSION_QUERIES + 5):
        response = client.get(run_url(run))
    body = response.content.decode()
    assert body.count('class="check-case check-case-') == tasks * cases
    assert body.count('<section class="check-task"') == tasks


@pytest.mark.parametrize(("suites", "cases", "runs"), [(1, 1, 1), (3, 6, 8)])
@pytest.mark.usefixtures("sandbox_up")
def test_the_project_page_with_checks_runs_a_constant_number_of_queries(
    learner_client: Client,
    learner: User,
    project: Project,
    release: ProjectRelease,
    suites: int,
    cases: int,
    runs: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for task in Task.objects.filter(project=project).order_by("number")[:suites]:
        simple_suite(task, "def test_ok():\n    pass\n", [f"test_{n}" for n in range(cases)])
    for _ in range(runs):
        latest = finished_run(learner, release, tasks=suites, cases=cases)
    LearnerCheckRunFactory(learner=learner, release=release, status="replaced")
    LearnerCheckRunFactory(learner=classmate(release), release=release)
    # (session,) user, the project (+ module), the user's memberships (+ cohort), the
    # releases in their cohorts (+ cohort, + the learner's extensions), the project's
    # tasks, its resources, its checks' counts; the card: the learner's releases of the
    # project (+ their extensions), their latest run, their latest iteration's repository,
    # the run's task results (+ task) and their cases
    with django_assert_num_queries(SESSION_QUERIES + 13):
        response = learner_client.get(PROJECT_URL)
    body = response.content.decode()
    assert f'id="check-run-{latest.pk}"' in body
    assert body.count('class="check-case check-case-') == suites * cases
    assert f"{suites * cases} check" in body
    # Warm: the brief and the learner's dates come from the cache; the card does not.
    with django_assert_num_queries(SESSION_QUERIES + 9):
        learner_client.get(PROJECT_URL)

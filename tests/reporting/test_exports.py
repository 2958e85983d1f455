"""Score exports: started by staff, written by a task, polled, downloaded, expired.

Each test drives the export through its views with on-commit callbacks executed
(the immediate task backend then runs the task inside the POST, as in
development) or held back (a queued task, as with the database backend before a
worker picks it up).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from core.models import Attempt, Cohort, Iteration, ProjectRelease, Review, ScoreExport, User
from core.reporting import exports
from core.reporting.exports import EXPORT_COLUMNS, score_export_run
from core.reporting.services import score_exports_prune
from core.reviews.services import VerdictInput, claim_take, review_save
from tests.factories import (
    AttemptFactory,
    ExtensionFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

Capture = Callable[..., Any]
START = "/staff/cohorts/cohort-7/export/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def start(client: Client, capture: Capture, *, run: bool = True, htmx: bool = True) -> Any:
    """POST the export button; ``run`` executes the on-commit enqueue (immediate backend)."""
    headers = HTMX if htmx else {}
    if run:
        with capture(execute=True):
            return client.post(START, **headers)
    with capture(execute=False):
        return client.post(START, **headers)


def read_csv(response: Any) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(content)))


def status_of(client: Client, url: str) -> int:
    """GET ``url`` and read the answer to its end, which finishes the request.

    A streamed download left unread never sends ``request_finished``, and the
    request would stay the "current" one (for logs and the audit) in later tests.
    """
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    return response.status_code


def decide(iteration: Iteration, mentor: User, passed: dict[int, bool], capture: Capture) -> None:
    """Review ``iteration`` through the real service (which computes the score)."""
    with capture(execute=True):
        claim_take(iteration=iteration, reviewer=mentor)
        review_save(
            iteration=iteration,
            reviewer=mentor,
            verdicts={task: VerdictInput(ok) for task, ok in passed.items()},
            feedback="Thanks.",
            decision=Review.Decision.APPROVED if all(passed.values()) else "changes_requested",
            submit=True,
        )


@pytest.fixture
def scored(
    release: ProjectRelease,
    learner: User,
    mentor: User,
    django_capture_on_commit_callbacks: Capture,
) -> dict[str, Any]:
    """Three learners with a reviewed, a waiting and no attempt; a second, past release."""
    tasks = {task.number: task.pk for task in release.project.tasks.all()}
    done = IterationFactory(
        attempt=AttemptFactory(learner=learner, release=release),
        number=1,
        submitted_at=timezone.now() - timedelta(hours=5),
    )
    passed = {tasks[0]: True, tasks[1]: True, tasks[2]: False}
    decide(done, mentor, passed, capture=django_capture_on_commit_callbacks)
    waiting_learner = UserFactory(email="bea@example.com", display_name="Bea Waiting")
    MembershipFactory(user=waiting_learner, cohort=release.cohort)
    IterationFactory(attempt=AttemptFactory(learner=waiting_learner, release=release), number=1)
    idle = UserFactory(email="cy@example.com", display_name='=HYPERLINK("http://evil")')
    MembershipFactory(user=idle, cohort=release.cohort)
    past = ProjectReleaseFactory(
        cohort=release.cohort,
        project=ProjectFactory(title="Async Comprehension", weight=3),
        opens_at=timezone.now() - timedelta(days=30),
        first_deadline=timezone.now() - timedelta(days=20),
        second_deadline=timezone.now() - timedelta(days=10),
    )
    TaskFactory(project=past.project, number=0)
    AttemptFactory(learner=learner, release=past, status="approved", score=Decimal("40.00"))
    ProjectReleaseFactory(cohort=release.cohort, opens_at=timezone.now() + timedelta(days=3))
    return {"release": release, "past": past, "learner": learner, "waiting": waiting_learner}


def test_the_csv_matches_the_scores(
    staff_client: Client, scored: dict[str, Any], django_capture_on_commit_callbacks: Capture
) -> None:
    start(staff_client, django_capture_on_commit_callbacks)
    export = ScoreExport.objects.get()
    assert export.status == ScoreExport.Status.DONE
    download = staff_client.get(export.download_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"].startswith('attachment; filename="cohort-7-scores-')
    rows = read_csv(download)
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    learners = User.objects.filter(
        memberships__cohort__slug="cohort-7", memberships__role="learner"
    )
    releases = ProjectRelease.objects.filter(cohort__slug="cohort-7", opens_at__lte=timezone.now())
    assert len(rows) == learners.count() * releases.count() == 3 * 2  # the upcoming one is out
    attempts = {(a.learner.email, a.release.project.slug): a for a in Attempt.objects.all()}
    for row in rows:
        attempt = attempts.get((row["learner_email"].lstrip("'"), row["project_slug"]))
        if attempt is None:
            assert (row["status"], row["score"], row["scored_iteration"]) == ("not_started", "", "")
            continue
        assert row["status"] == attempt.status
        assert row["score"] == ("" if attempt.score is None else str(attempt.score))
        number = attempt.scored_iteration.number if attempt.scored_iteration else ""
        assert row["scored_iteration"] == str(number)
    mine = [row for row in rows if row["learner_email"] == "alice@example.com"]
    generators = next(row for row in mine if row["project_slug"] == "python-generators")
    # Tasks 0 and 1 (mandatory) passed, 2 (advanced) failed, on time: M = 1, A = 0.
    assert (generators["score"], generators["scored_iteration"]) == ("100.00", "1")
    assert Attempt.objects.get(pk=attempts["alice@example.com", "python-generators"].pk).score == (
        Decimal("100.00")
    )
    # Overall, as the dashboards roll it up: the mean of the two modules' scores.
    assert {row["overall_score"] for row in mine} == {"70.00"}
    # Bea waits on an open project (not counted yet) and missed the closed one: 0.
    bea = [row for row in rows if row["learner_email"] == "bea@example.com"]
    assert {row["status"] for row in bea} == {"waiting", "not_started"}
    assert {row["overall_score"] for row in bea} == {"0.00"}
    # A name that a spreadsheet would run as a formula is neutralized.
    assert any(row["learner_name"] == '\'=HYPERLINK("http://evil")' for row in rows)


def test_an_extension_keeps_a_missed_project_out_of_the_overall(
    scored: dict[str, Any], staff: User
) -> None:
    ExtensionFactory(
        release=scored["past"],
        learner=scored["waiting"],
        first_deadline=timezone.now() + timedelta(days=1),
        second_deadline=timezone.now() + timedelta(days=2),
    )
    table = exports.cohort_score_table(Cohort.objects.get(slug="cohort-7"))
    assert table.overall(scored["waiting"]) is None  # nothing counts yet
    assert table.overall(scored["learner"]) == Decimal("70.00")


@pytest.mark.django_db(transaction=True)
def test_an_htmx_start_answers_the_fragment_done_with_the_immediate_backend(
    staff_client: Client, scored: dict[str, Any]
) -> None:
    # A real commit (no test transaction around the request): the task runs in the POST.
    body = staff_client.post(START, **HTMX).content.decode()
    assert body.strip().startswith('<div id="export-status"')
    assert "<html" not in body
    assert "hx-trigger" not in body  # nothing to poll
    export = ScoreExport.objects.get()
    assert f'href="/staff/exports/{export.pk}/download/"' in body
    assert "Export again" in body
    assert "prepared <time" in body and "just now</time>" in body


def test_a_queued_export_shows_a_polled_progress_bar_until_done(
    staff_client: Client, scored: dict[str, Any], django_capture_on_commit_callbacks: Capture
) -> None:
    body = start(staff_client, django_capture_on_commit_callbacks, run=False).content.decode()
    export = ScoreExport.objects.get()
    assert export.status == ScoreExport.Status.PENDING
    assert f'hx-get="/staff/exports/{export.pk}/" hx-trigger="every 1s"' in body
    assert '<progress class="export-progress" max="100" value="0"' in body
    assert "Queued" in body
    # The health page shows it too, and the download is not there yet.
    assert 'hx-trigger="every 1s"' in staff_client.get("/staff/cohorts/cohort-7/").content.decode()
    assert staff_client.get(export.download_url).status_code == 404

    score_export_run(export_id=export.pk)  # the worker picks it up

    status = staff_client.get(export.get_absolute_url(), **HTMX)
    assert status.status_code == 200
    assert "hx-trigger" not in status.content.decode()  # polling stops
    assert "Ready:" in status.content.decode()
    assert "HX-Request" in status["Vary"]
    assert status_of(staff_client, export.download_url) == 200


def test_progress_is_reported_while_running(scored: dict[str, Any], staff: User) -> None:
    export = ScoreExport.objects.create(cohort=scored["release"].cohort, requested_by=staff)
    export.mark_running(rows_total=200)
    export.mark_progress(rows_done=50)
    export.refresh_from_db()
    assert (export.state(), export.percent) == ("working", 25)


def test_a_second_click_while_working_reuses_the_export(
    staff_client: Client, scored: dict[str, Any], django_capture_on_commit_callbacks: Capture
) -> None:
    start(staff_client, django_capture_on_commit_callbacks, run=False)
    start(staff_client, django_capture_on_commit_callbacks, run=False)
    assert ScoreExport.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_task_shows_an_error_not_an_endless_bar(
    staff_client: Client, scored: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(table: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "score_rows", explode)
    body = staff_client.post(START, **HTMX).content.decode()
    export = ScoreExport.objects.get()
    assert export.status == ScoreExport.Status.FAILED
    assert "The export failed." in body
    assert f"export #{export.pk}" in body
    assert "disk full" not in body  # internals stay in the log
    assert "hx-trigger" not in body
    assert "Try again" in body
    assert staff_client.get(export.download_url).status_code == 404
    page = staff_client.get("/staff/cohorts/cohort-7/").content.decode()
    assert "The export failed." in page and "every 1s" not in page


def test_a_failure_in_the_task_is_also_reported_to_the_task_backend(
    scored: dict[str, Any], staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.reporting.tasks import export_scores

    monkeypatch.setattr(exports, "score_rows", lambda table: 1 / 0)
    export = ScoreExport.objects.create(cohort=scored["release"].cohort, requested_by=staff)
    result = export_scores.enqueue(export_id=export.pk)
    assert result.status == "FAILED"
    export.refresh_from_db()
    assert export.status == ScoreExport.Status.FAILED


def test_a_silent_export_is_reported_as_failed(
    staff_client: Client, scored: dict[str, Any], staff: User
) -> None:
    export = ScoreExport.objects.create(cohort=scored["release"].cohort, requested_by=staff)
    ScoreExport.objects.filter(pk=export.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    body = staff_client.get(export.get_absolute_url(), **HTMX).content.decode()
    assert "is the task worker running?" in body
    assert "hx-trigger" not in body


@pytest.mark.parametrize("who", ["learner_client", "mentor_client", "outsider_client"])
def test_only_staff_may_start_poll_or_download(
    who: str,
    request: pytest.FixtureRequest,
    staff_client: Client,
    scored: dict[str, Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    start(staff_client, django_capture_on_commit_callbacks)
    export = ScoreExport.objects.get()
    client = request.getfixturevalue(who)
    assert client.post(START, **HTMX).status_code == 404
    assert client.get(export.get_absolute_url(), **HTMX).status_code == 404
    assert client.get(export.download_url).status_code == 404
    assert ScoreExport.objects.count() == 1


def test_anonymous_users_are_sent_to_login(client: Client, cohort: Cohort) -> None:
    response = client.post(START)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_start_refuses_get(staff_client: Client, cohort: Cohort) -> None:
    assert staff_client.get(START).status_code == 405


def test_without_htmx_the_start_and_the_status_lead_back_to_the_page(
    staff_client: Client, scored: dict[str, Any], django_capture_on_commit_callbacks: Capture
) -> None:
    response = start(staff_client, django_capture_on_commit_callbacks, htmx=False)
    assert response.status_code == 302
    assert response["Location"] == "/staff/cohorts/cohort-7/#export"
    export = ScoreExport.objects.get()
    assert staff_client.get(export.get_absolute_url())["Location"] == (
        "/staff/cohorts/cohort-7/#export"
    )
    page = staff_client.get("/staff/cohorts/cohort-7/").content.decode()
    assert "Download CSV" in page and "cohort-7-scores-" in page


def test_an_expired_export_is_gone_and_its_file_deleted(
    staff_client: Client,
    scored: dict[str, Any],
    django_capture_on_commit_callbacks: Capture,
    media_root: Path,
) -> None:
    start(staff_client, django_capture_on_commit_callbacks)
    export = ScoreExport.objects.get()
    stored = media_root / export.file.name
    assert stored.exists() and stored.parent.name == "exports"
    assert export.expires_at - export.finished_at == timedelta(days=1)
    ScoreExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())
    page = staff_client.get("/staff/cohorts/cohort-7/").content.decode()
    assert "Download" not in page and "Export scores (CSV)" in page
    assert staff_client.get(export.download_url).status_code == 410
    assert not stored.exists()
    assert staff_client.get(export.download_url).status_code == 404


def test_prune_exports_deletes_only_expired_ones(
    staff_client: Client,
    scored: dict[str, Any],
    django_capture_on_commit_callbacks: Capture,
    media_root: Path,
) -> None:
    start(staff_client, django_capture_on_commit_callbacks)
    old = ScoreExport.objects.get()
    ScoreExport.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    start(staff_client, django_capture_on_commit_callbacks)
    fresh = ScoreExport.objects.exclude(pk=old.pk).get()  # the start pruned the old one
    assert not ScoreExport.objects.filter(pk=old.pk).exists()
    assert not (media_root / old.file.name).exists()
    out = io.StringIO()
    call_command("prune_exports", stdout=out)
    assert out.getvalue() == "Deleted 0 expired exports.\n"
    ScoreExport.objects.filter(pk=fresh.pk).update(expires_at=timezone.now())
    call_command("prune_exports", stdout=out)
    assert "Deleted 1 expired export." in out.getvalue()
    assert not (media_root / fresh.file.name).exists()
    assert score_exports_prune() == 0


def test_reading_the_data_takes_constant_queries(
    scored: dict[str, Any], django_assert_num_queries: Any
) -> None:
    cohort = Cohort.objects.get(slug="cohort-7")
    for _ in range(5):
        MembershipFactory(cohort=cohort)
    # learners, opened releases with projects and modules, attempts, extensions.
    with django_assert_num_queries(4):
        rows = list(exports.score_rows(exports.cohort_score_table(cohort)))
    assert len(rows) == 8 * 2

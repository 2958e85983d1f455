"""Staff overrides: the adjust page, the receipt's "adjusted by staff", the audit log, and
the rule that an override stands until staff clear it (later reviews and recomputes keep it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from core.models import (
    Attempt,
    AuditEvent,
    Iteration,
    Project,
    ProjectRelease,
    Review,
    ScoreOverride,
    Task,
    User,
)
from core.reviews.overrides import OverrideRefused, score_override_clear, score_override_set
from core.reviews.scoring import attempt_recompute_score, release_recompute_scores
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    IterationFactory,
    ReviewFactory,
    TaskFactory,
    VerdictFactory,
)
from tests.html_validity import Document, report, require_vnu, validate

OPENS = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
FIRST = datetime(2026, 10, 6, 20, 59, tzinfo=UTC)
SECOND = datetime(2026, 10, 13, 20, 59, tzinfo=UTC)
BEFORE_FIRST = datetime(2026, 10, 5, 11, 2, tzinfo=UTC)
NOW = datetime(2026, 10, 15, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def tasks(project: Project, release: ProjectRelease) -> dict[int, Task]:
    """Mandatory 0 (30 points) and 1 (10); advanced 2 and 3 (10 each)."""
    ProjectRelease.objects.filter(pk=release.pk).update(
        opens_at=OPENS, first_deadline=FIRST, second_deadline=SECOND
    )
    project.tasks.filter(number=0).update(points=30)
    TaskFactory(project=project, number=3, title="Async pagination", kind="advanced")
    return {task.number: task for task in project.tasks.all()}


@pytest.fixture
def attempt(learner: User, release: ProjectRelease, tasks: dict[int, Task]) -> Attempt:
    return AttemptFactory(learner=learner, release=release)


def _reviewed(
    attempt: Attempt,
    number: int,
    mentor: User,
    passed: set[int],
    tasks: dict[int, Task],
    reviewed_at: datetime | None = None,
) -> Review:
    """Iteration ``number``, submitted before the first deadline, decided by ``mentor``."""
    iteration = IterationFactory(
        attempt=attempt, number=number, submitted_at=BEFORE_FIRST + timedelta(minutes=number)
    )
    review = ReviewFactory(
        iteration=iteration,
        reviewer=mentor,
        decision="changes_requested",
        submitted_at=reviewed_at or iteration.submitted_at + timedelta(hours=5),
    )
    for task_number, task in tasks.items():
        VerdictFactory(review=review, task=task, passed=task_number in passed)
    Iteration.objects.filter(pk=iteration.pk).update(status=Iteration.Status.REVIEWED)
    attempt_recompute_score(attempt=attempt)
    return review


@pytest.fixture
def reviewed(attempt: Attempt, mentor: User, tasks: dict[int, Task]) -> Attempt:
    """Alice's iteration 1, tasks 0 and 2 passed: M 75%, A 50%, score 112.50%."""
    _reviewed(attempt, 1, mentor, {0, 2}, tasks)
    attempt.refresh_from_db()
    assert attempt.score == Decimal("112.50")
    return attempt


def _url(attempt: Attempt) -> str:
    return reverse("attempt_adjust", args=[attempt.pk])


def _text(html: str) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return re.sub(r" ([.,;:)%])", r"\1", text)


def _page(client: Client, attempt: Attempt) -> str:
    response = client.get(attempt.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def _set_score(client: Client, attempt: Attempt, score: str, reason: str) -> object:
    return client.post(
        _url(attempt), {"action": "score", "score-score": score, "score-reason": reason}
    )


def _set_verdict(client: Client, attempt: Attempt, task: Task, verdict: str, reason: str) -> object:
    return client.post(
        _url(attempt),
        {
            "action": "verdict",
            "verdict-task": task.pk,
            "verdict-passed": verdict,
            "verdict-reason": reason,
        },
    )


def _events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="score_override").order_by("id"))


# --- Setting a score or a verdict -----------------------------------------------------------


def test_staff_set_the_final_score_and_the_learner_sees_why(
    staff_client: Client, learner_client: Client, reviewed: Attempt
) -> None:
    response = _set_score(staff_client, reviewed, "90", "Graded **by hand** after an outage.")
    assert response.status_code == 302
    assert response["Location"] == f"/attempts/{reviewed.pk}/#score-receipt"
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("90.00")
    body = _page(learner_client, reviewed)
    text = _text(body)
    assert "Adjusted by staff to 90.00% by Sam Staff" in text
    assert "The reviews give 112.50% (the receipt below); the staff score applies." in text
    assert "<strong>by hand</strong>" in body  # the reason, through the Markdown filter
    assert re.search(r'class="attempt-score-value"[^>]*>90\.00<small>', body)
    # The learner sees the adjustment, never the staff page's link.
    assert _url(reviewed) not in body


def test_staff_set_a_task_verdict_and_the_score_follows(
    staff_client: Client, learner_client: Client, reviewed: Attempt, tasks: dict[int, Task]
) -> None:
    response = _set_verdict(staff_client, reviewed, tasks[1], "pass", "The checker was wrong.")
    assert response.status_code == 302
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("150.00")  # M 100%, A 50%
    override = ScoreOverride.objects.get()
    assert (override.kind, override.task, override.passed) == ("verdict", tasks[1], True)
    text = _text(_page(learner_client, reviewed))
    assert (
        "Task 1 adjusted by staff (Sam Staff, Thu 15 Oct). The review said fail; "
        "the staff verdict applies." in text
    )
    assert "The checker was wrong." in text
    assert "M mandatory points passed 40 / 40" in text


def test_the_audit_log_records_the_score_and_verdict_before_and_after(
    staff_client: Client, staff: User, reviewed: Attempt, tasks: dict[int, Task]
) -> None:
    _set_verdict(staff_client, reviewed, tasks[1], "pass", "The checker was wrong.")
    _set_score(staff_client, reviewed, "90", "Outage.")
    verdict, score = _events()
    assert verdict.actor == staff
    assert (verdict.object_type, verdict.object_id) == ("core.attempt", str(reviewed.pk))
    assert verdict.detail | {"override": 0} == {
        "override": 0,
        "kind": "verdict",
        "task": 1,
        "verdict_before": "fail",
        "verdict_after": "pass",
        "score_before": "112.50",
        "score_after": "150.00",
        "reason": "The checker was wrong.",
        "replaced": None,
    }
    assert score.detail["score_before"] == "150.00"
    assert score.detail["score_after"] == "90.00"
    assert score.detail["kind"] == "score"


def test_a_new_override_replaces_the_standing_one_and_both_are_kept(
    staff_client: Client, reviewed: Attempt
) -> None:
    _set_score(staff_client, reviewed, "90", "First look.")
    _set_score(staff_client, reviewed, "95", "Second look.")
    first, second = ScoreOverride.objects.order_by("id")
    assert first.cleared_at is not None and second.cleared_at is None
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("95.00")
    assert _events()[-1].detail["replaced"] == first.pk
    body = _text(staff_client.get(_url(reviewed)).content.decode())
    assert "1 earlier adjustment" in body


# --- An override stands until staff clear it ------------------------------------------------


def test_a_later_review_never_undoes_a_staff_score(
    learner_client: Client, staff: User, reviewed: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    score_override_set(attempt=reviewed, by=staff, score=Decimal(90), reason="Outage.")
    # A review decided after the adjustment, which alone would give 200%.
    _reviewed(reviewed, 2, mentor, {0, 1, 2, 3}, tasks, reviewed_at=NOW + timedelta(hours=1))
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("90.00")
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        text = _text(_page(learner_client, reviewed))
    assert "Adjusted by staff to 90.00%" in text
    assert (
        "Iteration 2 was reviewed after this adjustment and scored 200.00%; "
        "the staff score still applies until staff clear it." in text
    )


def test_a_later_review_never_undoes_a_staff_verdict(
    learner_client: Client, staff: User, reviewed: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    score_override_set(attempt=reviewed, by=staff, task=tasks[1], passed=True, reason="Fine.")
    _reviewed(reviewed, 2, mentor, {0, 2, 3}, tasks, reviewed_at=NOW + timedelta(hours=1))
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("200.00")  # task 1 still passes: staff said so
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        text = _text(_page(learner_client, reviewed))
    assert (
        "A review after this adjustment said fail; the staff verdict applies until staff "
        "clear it." in text
    )


def test_a_recompute_keeps_the_override(
    staff: User, reviewed: Attempt, release: ProjectRelease
) -> None:
    score_override_set(attempt=reviewed, by=staff, score=Decimal(90), reason="Outage.")
    release.refresh_from_db()
    # Moving the deadlines recomputes every score of the release (core/cohorts/receivers.py).
    release.first_deadline = BEFORE_FIRST - timedelta(days=1)
    release.save()
    assert release_recompute_scores(release=release) == 1
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("90.00")


def test_clearing_brings_back_the_reviews_score(
    staff_client: Client, learner_client: Client, reviewed: Attempt, staff: User
) -> None:
    override = score_override_set(attempt=reviewed, by=staff, score=Decimal(90), reason="Oops.")
    response = staff_client.post(_url(reviewed), {"action": "clear", "override": override.pk})
    assert response.status_code == 302
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("112.50")
    override.refresh_from_db()
    assert (override.cleared_by, override.cleared_at) == (staff, NOW)
    cleared = _events()[-1]
    assert cleared.detail["cleared"] is True
    assert (cleared.detail["score_before"], cleared.detail["score_after"]) == ("90.00", "112.50")
    assert "Adjusted by staff" not in _page(learner_client, reviewed)
    # A second clear of the same adjustment finds nothing standing.
    again = staff_client.post(_url(reviewed), {"action": "clear", "override": override.pk})
    assert again.status_code == 404
    with pytest.raises(OverrideRefused):
        score_override_clear(override=override, by=staff)


# --- Refusals ---------------------------------------------------------------------------------


def test_a_reason_is_required(staff_client: Client, reviewed: Attempt) -> None:
    response = _set_score(staff_client, reviewed, "90", "   ")
    assert response.status_code == 200
    assert "Say why: the learner reads the reason on their receipt." in response.content.decode()
    assert not ScoreOverride.objects.exists()


def test_a_score_stays_between_0_and_200(staff_client: Client, reviewed: Attempt) -> None:
    response = _set_score(staff_client, reviewed, "250", "Too generous.")
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not ScoreOverride.objects.exists()


def test_the_reason_is_bounded(staff_client: Client, reviewed: Attempt, settings: object) -> None:
    response = _set_score(staff_client, reviewed, "90", "x" * 20_001)
    assert response.status_code == 200
    assert not ScoreOverride.objects.exists()


def test_a_task_of_another_project_is_refused(
    staff_client: Client, staff: User, reviewed: Attempt
) -> None:
    other = TaskFactory()
    response = _set_verdict(staff_client, reviewed, other, "pass", "Wrong task.")
    assert response.status_code == 200
    assert not ScoreOverride.objects.exists()
    with pytest.raises(OverrideRefused):
        score_override_set(attempt=reviewed, by=staff, task=other, passed=True, reason="x")


def test_nothing_reviewed_means_nothing_to_adjust(
    staff_client: Client, staff: User, attempt: Attempt
) -> None:
    IterationFactory(attempt=attempt, number=1, submitted_at=BEFORE_FIRST)
    body = _text(staff_client.get(_url(attempt)).content.decode())
    assert "there is no score to adjust" in body
    response = _set_score(staff_client, attempt, "90", "Early.")
    assert "there is no score to adjust" in _text(response.content.decode())
    assert not ScoreOverride.objects.exists()


def test_only_staff_may_override_through_the_service(mentor: User, reviewed: Attempt) -> None:
    with pytest.raises(OverrideRefused):
        score_override_set(attempt=reviewed, by=mentor, score=Decimal(90), reason="Mine.")


# --- Who may open the page ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["learner", "mentor", "reviewer", "outsider"])
def test_everyone_but_staff_gets_404(
    who: str, request: pytest.FixtureRequest, reviewed: Attempt
) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get(_url(reviewed)).status_code == 404
    assert _set_score(client, reviewed, "90", "Let me.").status_code == 404
    assert not ScoreOverride.objects.exists()
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("112.50")


def test_anonymous_users_are_sent_to_sign_in(client: Client, reviewed: Attempt) -> None:
    response = client.get(_url(reviewed))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_missing_attempt_is_404(staff_client: Client, db: None) -> None:
    assert staff_client.get(reverse("attempt_adjust", args=[987654])).status_code == 404


def test_it_refuses_other_methods(staff_client: Client, reviewed: Attempt) -> None:
    assert staff_client.put(_url(reviewed)).status_code == 405


def test_an_unknown_action_is_a_bad_request(staff_client: Client, reviewed: Attempt) -> None:
    assert staff_client.post(_url(reviewed), {"action": "delete"}).status_code == 400
    bad_id = staff_client.post(_url(reviewed), {"action": "clear", "override": "1e9"})
    assert bad_id.status_code == 400


def test_the_attempt_page_links_the_adjust_page_for_staff_only(
    staff_client: Client, mentor_client: Client, reviewed: Attempt
) -> None:
    assert f'href="{_url(reviewed)}"' in _page(staff_client, reviewed)
    assert _url(reviewed) not in _page(mentor_client, reviewed)


# --- The admin -------------------------------------------------------------------------------


def test_staff_adjust_a_score_in_the_admin(
    staff_client: Client, staff: User, reviewed: Attempt
) -> None:
    add = reverse("admin:core_scoreoverride_add")
    response = staff_client.post(
        add, {"attempt": reviewed.pk, "task": "", "score": "80", "reason": "From the admin."}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("80.00")
    override = ScoreOverride.objects.get()
    assert (override.kind, override.created_by) == ("score", staff)
    assert _events()[-1].detail["score_after"] == "80.00"
    # Cleared from the list with its action, through the same service.
    changelist = reverse("admin:core_scoreoverride_changelist")
    staff_client.post(
        changelist, {"action": "clear_adjustments", "_selected_action": [override.pk]}
    )
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("112.50")


def test_the_admin_refuses_an_adjustment_of_nothing(
    staff_client: Client, reviewed: Attempt
) -> None:
    add = reverse("admin:core_scoreoverride_add")
    response = staff_client.post(add, {"attempt": reviewed.pk, "task": "", "reason": "Hm."})
    assert response.status_code == 200
    assert "Set either a final score or one task" in response.content.decode()
    assert not ScoreOverride.objects.exists()


# --- Constant queries and valid HTML --------------------------------------------------------


def _grow(attempt: Attempt, mentor: User, staff: User, tasks: dict[int, Task], size: int) -> None:
    """``size`` reviewed iterations, a verdict override per task, a score override replaced
    ``size`` times (so ``size`` cleared ones in the history)."""
    for number in range(1, size + 1):
        _reviewed(attempt, number, mentor, {0, 2}, tasks)
    for task in tasks.values():
        score_override_set(attempt=attempt, by=staff, task=task, passed=True, reason="Fine.")
    for step in range(size + 1):
        score_override_set(attempt=attempt, by=staff, score=Decimal(80 + step), reason="Why.")


@pytest.mark.parametrize("size", [1, 8])
def test_the_adjust_page_takes_a_fixed_number_of_queries(
    size: int,
    attempt: Attempt,
    mentor: User,
    staff: User,
    tasks: dict[int, Task],
    django_assert_num_queries: object,
) -> None:
    _grow(attempt, mentor, staff, tasks, size)
    client = client_for(staff)
    # 1. user  2. attempt (+ learner, release, project, cohort)  3. its overrides (+ task,
    # who set and cleared them)  4–5. receipts: the project's tasks, the latest extension
    # 6–7. submitted reviews (+ iteration, reviewer), their verdicts (staff's nav asks
    # for no roles)
    with django_assert_num_queries(7):  # type: ignore[operator]  # pytest-django's fixture
        response = client.get(_url(attempt))
    assert response.status_code == 200
    assert response.content.decode().count('class="adjust-item"') == len(tasks) + 1


@pytest.mark.parametrize("size", [1, 8])
def test_the_attempt_page_with_overrides_takes_a_fixed_number_of_queries(
    size: int,
    attempt: Attempt,
    mentor: User,
    staff: User,
    tasks: dict[int, Task],
    django_assert_num_queries: object,
) -> None:
    _grow(attempt, mentor, staff, tasks, size)
    client = client_for(attempt.learner)
    # As test_attempt_detail's count (its query 10 reads the standing overrides, however
    # many there are).
    with django_assert_num_queries(18):  # type: ignore[operator]  # pytest-django's fixture
        response = client.get(attempt.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count('class="receipt-staff-row"') == len(tasks) * size


def test_the_pages_are_valid_html(
    staff_client: Client,
    learner_client: Client,
    attempt: Attempt,
    mentor: User,
    staff: User,
    tasks: dict[int, Task],
    tmp_path: Path,
) -> None:
    command = require_vnu()
    _grow(attempt, mentor, staff, tasks, 2)
    refused = _set_score(staff_client, attempt, "250", "")
    documents = [
        Document("adjust page", staff_client.get(_url(attempt)).content.decode()),
        Document("adjust page with errors", refused.content.decode()),  # type: ignore[attr-defined]
        Document("learner's receipt", _page(learner_client, attempt)),
        Document("staff's attempt page", _page(staff_client, attempt)),
    ]
    problems = validate(documents, tmp_path, command)
    if problems:
        pytest.fail(report(problems, tmp_path), pytrace=False)


def test_staff_set_a_task_verdict_in_the_admin(
    staff_client: Client, reviewed: Attempt, tasks: dict[int, Task]
) -> None:
    add = reverse("admin:core_scoreoverride_add")
    form = {"attempt": reviewed.pk, "task": tasks[1].pk, "score": "", "reason": "Admin."}
    undecided = staff_client.post(add, {**form, "passed": "unknown"})
    assert "Say whether the task passes (Yes) or fails (No)." in undecided.content.decode()
    assert staff_client.post(add, {**form, "passed": "true"}).status_code == 302
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("150.00")
    # A second verdict on the same task replaces the standing one, as on the staff page.
    assert staff_client.post(add, {**form, "passed": "false"}).status_code == 302
    reviewed.refresh_from_db()
    assert reviewed.score == Decimal("112.50")
    assert ScoreOverride.objects.standing().get().passed is False

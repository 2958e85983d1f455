"""What-if (#15 item 2): the score an iteration would get, with nothing written.

The property test at the end is the promise: what-if's answer is the score the attempt
really gets once the same verdicts are recorded on an iteration submitted at that date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import (
    Attempt,
    Iteration,
    Project,
    ProjectRelease,
    Review,
    Task,
    User,
)
from core.reviews.overrides import score_override_set
from core.reviews.scoring import attempt_receipts, attempt_recompute_score
from core.reviews.selectors.whatif import attempt_whatif
from core.reviews.services import VerdictInput, claim_take, iteration_submit, review_save
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    ExtensionFactory,
    IterationFactory,
    MembershipFactory,
    ReviewFactory,
    TaskFactory,
    UserFactory,
    VerdictFactory,
)

# Cohort 7 is in Africa/Nairobi (EAT, UTC+3), so 2026-10-05T14:02 on the form is 11:02 UTC.
OPENS = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)  # Thu 1 Oct 09:00 EAT
FIRST = datetime(2026, 10, 6, 20, 59, tzinfo=UTC)  # Tue 6 Oct 23:59 EAT
SECOND = datetime(2026, 10, 13, 20, 59, tzinfo=UTC)  # Tue 13 Oct 23:59 EAT
NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # Mon 5 Oct 12:00 EAT
BEFORE_FIRST = "2026-10-05T14:02"
BETWEEN = "2026-10-08T14:02"
LATE = "2026-10-20T14:02"
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def tasks(project: Project, release: ProjectRelease) -> dict[int, Task]:
    """Mandatory 0 (30 points) and 1 (10); advanced 2 (10); the release dated above."""
    ProjectRelease.objects.filter(pk=release.pk).update(
        opens_at=OPENS, first_deadline=FIRST, second_deadline=SECOND
    )
    project.tasks.filter(number=0).update(points=30)
    return {task.number: task for task in project.tasks.order_by("number")}


@pytest.fixture
def attempt(learner: User, release: ProjectRelease, tasks: dict[int, Task]) -> Attempt:
    return AttemptFactory(learner=learner, release=release)


def _reviewed(attempt: Attempt, mentor: User, passed: set[int], at: datetime) -> Iteration:
    """A decided mentor review of a new iteration submitted ``at``; the score recomputed."""
    number = attempt.iterations.count() + 1
    iteration = IterationFactory(attempt=attempt, number=number, submitted_at=at)
    review = ReviewFactory(
        iteration=iteration, reviewer=mentor, decision="changes_requested", submitted_at=at
    )
    for task in attempt.release.project.tasks.all():
        VerdictFactory(review=review, task=task, passed=task.number in passed)
    Iteration.objects.filter(pk=iteration.pk).update(status=Iteration.Status.REVIEWED)
    attempt_recompute_score(attempt=attempt)
    return iteration


def _ask(client: Client, attempt: Attempt, passed: list[Task], at: str, **headers: str) -> str:
    query = "&".join([f"task={task.pk}" for task in passed] + [f"at={at}"])
    response = client.get(f"/attempts/{attempt.pk}/what-if/?{query}", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return re.sub(r" ([.,;:)%])", r"\1", text)


# --- The panel on the attempt page ---------------------------------------------------------


def test_the_attempt_page_offers_what_if_from_the_latest_verdicts(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    _reviewed(attempt, mentor, {0}, OPENS + timedelta(days=1))
    body = learner_client.get(f"/attempts/{attempt.pk}/").content.decode()
    # The real receipt stays the real one beside the panel.
    assert '<div class="receipt" id="receipt-iteration-1">' in body
    assert "How iteration 1 was scored" in body
    assert "receipt-whatif" not in body
    panel = body[body.index('id="whatif"') :]
    assert f'action="/attempts/{attempt.pk}/what-if/#whatif"' in panel
    assert f'hx-get="/attempts/{attempt.pk}/what-if/"' in panel
    # Task 0 passed in the latest review: ticked; the others are not.
    assert re.search(rf'value="{tasks[0].pk}" id="whatif-task-0" checked', panel)
    assert re.search(rf'value="{tasks[1].pk}" id="whatif-task-1">', panel)
    # The date defaults to now, in the cohort's time zone.
    assert 'name="at" id="whatif-at" value="2026-10-05T12:00"' in panel
    assert "The score and its receipt appear here." in panel


def test_before_any_review_nothing_is_ticked(
    learner_client: Client, attempt: Attempt, tasks: dict[int, Task]
) -> None:
    IterationFactory(attempt=attempt, number=1, submitted_at=NOW - timedelta(hours=1))
    body = learner_client.get(f"/attempts/{attempt.pk}/").content.decode()
    panel = body[body.index('id="whatif"') :]
    assert panel.count('type="checkbox" name="task"') == 3
    assert " checked" not in panel


# --- The answer ----------------------------------------------------------------------------


def test_without_javascript_the_form_answers_with_a_page(
    learner_client: Client, attempt: Attempt, tasks: dict[int, Task]
) -> None:
    body = _ask(learner_client, attempt, [tasks[0], tasks[1], tasks[2]], BEFORE_FIRST)
    assert "<!doctype html>" in body
    text = _text(body)
    assert (
        "Submitted Mon 5 Oct 14:02 with these tasks passing, the iteration would score 200.00%"
        in text
    )
    assert "That would be your score for this project." in text
    assert 'id="receipt-whatif"' in body
    assert "How the what-if iteration would be scored" in body
    # The form keeps what was asked.
    assert 'value="2026-10-05T14:02"' in body
    assert body.count(" checked") == 3


def test_htmx_gets_only_the_result(
    learner_client: Client, attempt: Attempt, tasks: dict[int, Task]
) -> None:
    body = _ask(learner_client, attempt, [tasks[1]], BEFORE_FIRST, HX_Request="true")
    assert "<!doctype html>" not in body
    assert "<form" not in body
    assert "would score <strong" in body
    assert "25.00%" in body  # 10 of 40 mandatory points
    # A screen reader hears the answer once, not the whole receipt.
    assert (
        '<span id="whatif-announce" hx-swap-oob="innerHTML">The iteration would score 25.00%.'
        in body
    )


def test_lateness_follows_the_date(
    learner_client: Client, attempt: Attempt, tasks: dict[int, Task]
) -> None:
    mandatory = [tasks[0], tasks[1]]
    assert "would score 65.00%" in _text(_ask(learner_client, attempt, mandatory, BETWEEN))
    assert "would score 50.00%" in _text(_ask(learner_client, attempt, mandatory, LATE))


def test_the_learners_extension_applies(
    learner_client: Client, attempt: Attempt, learner: User, tasks: dict[int, Task]
) -> None:
    ExtensionFactory(
        release=attempt.release,
        learner=learner,
        first_deadline=FIRST + timedelta(days=3),
        second_deadline=SECOND + timedelta(days=3),
    )
    text = _text(_ask(learner_client, attempt, [tasks[0], tasks[1]], BETWEEN))
    assert "would score 100.00%" in text
    assert "Your extension moved the first deadline" in text


def test_it_compares_with_the_score_already_earned(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    _reviewed(attempt, mentor, {0}, OPENS + timedelta(days=1))  # 75.00
    higher = _text(_ask(learner_client, attempt, [tasks[0], tasks[1]], BEFORE_FIRST))
    assert "Your score would rise from 75.00% to 100.00%." in higher
    lower = _text(_ask(learner_client, attempt, [tasks[0], tasks[1]], LATE))
    assert "Your score would stay at 75.00%: a lower score never replaces a higher one." in lower


def test_staff_adjustments_apply_to_the_what_if_as_to_a_review(
    learner_client: Client, attempt: Attempt, mentor: User, staff: User, tasks: dict[int, Task]
) -> None:
    _reviewed(attempt, mentor, {0}, OPENS + timedelta(days=1))  # 75.00
    score_override_set(attempt=attempt, by=staff, task=tasks[1], passed=True, reason="Fine.")
    # Task 1 is passed by staff whatever the what-if ticks: only task 0 ticked gives 100.
    answer = _text(_ask(learner_client, attempt, [tasks[0]], BEFORE_FIRST))
    assert "Adjusted by staff" in answer
    assert "Your score would stay at 100.00%" in answer

    score_override_set(attempt=attempt, by=staff, score=Decimal(90), reason="Outage.")
    answer = _text(_ask(learner_client, attempt, [tasks[0], tasks[1], tasks[2]], BEFORE_FIRST))
    assert "Staff set your score for this project to 90.00%" in answer
    assert "would rise" not in answer


def test_it_writes_nothing(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    _reviewed(attempt, mentor, {0}, OPENS + timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        _ask(learner_client, attempt, list(tasks.values()), BEFORE_FIRST)
        _ask(learner_client, attempt, [tasks[1]], LATE, HX_Request="true")
        learner_client.get(f"/attempts/{attempt.pk}/what-if/")
    writes = [query["sql"] for query in queries.captured_queries if WRITES.match(query["sql"])]
    assert writes == []
    attempt.refresh_from_db()
    assert attempt.score == Decimal("75.00")
    assert attempt.iterations.count() == 1
    assert Review.objects.filter(iteration__attempt=attempt).count() == 1


@pytest.mark.parametrize(
    ("at", "error"),
    [
        ("", "Choose when the iteration would be submitted."),
        ("next tuesday", "Enter a date and time, such as 2026-10-06 23:59."),
        ("2026-09-30T09:00", "The project opened on Thu 1 Oct 09:00: pick a later date."),
        ("9999-12-31T23:59", "Pick a date within a year of the second deadline."),
    ],
)
def test_a_date_it_cannot_use_is_explained(
    learner_client: Client, attempt: Attempt, tasks: dict[int, Task], at: str, error: str
) -> None:
    body = _ask(learner_client, attempt, [tasks[0]], at, HX_Request="true")
    assert 'role="alert"' in body
    assert error in body
    assert "would score" not in body


def test_a_task_of_another_project_is_refused(
    learner_client: Client, attempt: Attempt, tasks: dict[int, Task]
) -> None:
    stranger = TaskFactory()
    body = _ask(learner_client, attempt, [tasks[0], stranger], BEFORE_FIRST, HX_Request="true")
    assert "Select a valid choice" in body
    assert "would score" not in body


def test_a_held_grade_stays_held(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    """While the learner owes peer reviews, what-if shows no verdict and no current score."""
    Project.objects.filter(pk=attempt.release.project_id).update(peer_reviews_owed=1)
    _reviewed(attempt, mentor, {0}, OPENS + timedelta(days=1))
    page = learner_client.get(f"/attempts/{attempt.pk}/").content.decode()
    assert " checked" not in page[page.index('id="whatif"') :]
    assert " checked" not in learner_client.get(f"/attempts/{attempt.pk}/what-if/").content.decode()
    text = _text(_ask(learner_client, attempt, [tasks[0], tasks[1]], BEFORE_FIRST))
    assert "would score 100.00%" in text
    assert "75.00" not in text
    assert "Your score would" not in text


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    at=st.text(max_size=40)
    | st.sampled_from(["2026-02-30T10:00", "0001-01-01T00:00", "2026-10-05T25:61"]),
    chosen=st.lists(st.text(max_size=12) | st.integers().map(str), max_size=4),
    htmx=st.booleans(),
)
def test_any_question_gets_an_answer_or_a_reason(
    learner_client: Client, attempt: Attempt, at: str, chosen: list[str], htmx: bool
) -> None:
    """Hostile dates and task ids: a 200 with an answer or an error, never a 500."""
    response = learner_client.get(
        f"/attempts/{attempt.pk}/what-if/",
        {"at": at, "task": chosen},
        headers={"HX-Request": "true"} if htmx else {},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert ("would score" in body) != ('role="alert"' in body)


# --- Who may ask ---------------------------------------------------------------------------


def test_mentors_and_staff_may_ask_too(
    mentor_client: Client, staff_client: Client, attempt: Attempt, tasks: dict[int, Task]
) -> None:
    for client in (mentor_client, staff_client):
        text = _text(_ask(client, attempt, [tasks[0], tasks[1]], BEFORE_FIRST))
        assert "That would be the score for this project." in text


def test_people_outside_the_attempt_get_404(
    outsider_client: Client, reviewer_client: Client, attempt: Attempt, cohort: object
) -> None:
    classmate = UserFactory()
    MembershipFactory(user=classmate, cohort=cohort, role="learner")
    for client in (outsider_client, reviewer_client, client_for(classmate)):
        assert client.get(f"/attempts/{attempt.pk}/what-if/").status_code == 404


def test_someone_who_only_reviewed_it_gets_404(
    attempt: Attempt, tasks: dict[int, Task], mentor: User
) -> None:
    """A mentor review by someone who does not mentor the cohort opens the attempt, not its
    score (viewer_role's "reviewer" in core/reviews/selectors/attempts.py): no what-if either."""
    former = UserFactory()
    iteration = IterationFactory(attempt=attempt, number=1, submitted_at=OPENS)
    ReviewFactory(iteration=iteration, reviewer=former)
    client = client_for(former)
    assert client.get(f"/attempts/{attempt.pk}/").status_code == 200
    assert 'id="whatif"' not in client.get(f"/attempts/{attempt.pk}/").content.decode()
    assert client.get(f"/attempts/{attempt.pk}/what-if/").status_code == 404


def test_anonymous_users_are_sent_to_login(client: Client, attempt: Attempt) -> None:
    response = client.get(f"/attempts/{attempt.pk}/what-if/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_only_answers_get(learner_client: Client, attempt: Attempt) -> None:
    assert learner_client.post(f"/attempts/{attempt.pk}/what-if/").status_code == 405


# --- Queries -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 12])
def test_it_takes_a_fixed_number_of_queries(
    size: int,
    attempt: Attempt,
    mentor: User,
    tasks: dict[int, Task],
    django_assert_num_queries: object,
) -> None:
    for number in range(3, size):
        TaskFactory(project=attempt.release.project, number=number, kind="advanced")
    _reviewed(attempt, mentor, {0}, OPENS + timedelta(days=1))
    every = list(attempt.release.project.tasks.all())
    client = client_for(attempt.learner)
    # (The session comes from the cache.) 1. user  2. attempt (+ release, project, cohort,
    # learner; who may see it)  3. the project's tasks  4. the learner's extension
    # 5. staff's standing adjustments  6. the nav's roles
    with django_assert_num_queries(6):
        body = _ask(client, attempt, every, BEFORE_FIRST)
    assert body.count('class="receipt-line ') == size


# --- The promise ---------------------------------------------------------------------------

DATES = st.sampled_from([FIRST, SECOND]).flatmap(
    lambda deadline: st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60).map(
        lambda minutes: deadline + timedelta(minutes=minutes)
    )
)


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    earlier=st.none() | st.frozensets(st.sampled_from([0, 1, 2])),
    passing=st.frozensets(st.sampled_from([0, 1, 2])),
    at=DATES,
    extended=st.booleans(),
)
def test_what_if_is_the_score_the_same_verdicts_earn(
    attempt: Attempt,
    mentor: User,
    tasks: dict[int, Task],
    earlier: frozenset[int] | None,
    passing: frozenset[int],
    at: datetime,
    extended: bool,
) -> None:
    """Over verdict sets, dates around both deadlines, with or without an extension and an
    earlier score: ask what-if, then record those verdicts through the review services on
    an iteration submitted at that date; the score and the receipt are what-if's."""
    with transaction.atomic():
        if extended:
            ExtensionFactory(
                release=attempt.release,
                learner=attempt.learner,
                first_deadline=FIRST + timedelta(days=1),
                second_deadline=SECOND + timedelta(days=1),
            )
        if earlier is not None:
            _reviewed(attempt, mentor, set(earlier), OPENS + timedelta(hours=1))
        attempt.refresh_from_db()
        ordered = [tasks[number] for number in sorted(tasks)]
        whatif = attempt_whatif(
            attempt=attempt,
            tasks=ordered,
            passing={tasks[number].pk for number in passing},
            at=at,
        )

        with time_machine.travel(at, tick=False):
            iteration, _ = iteration_submit(
                learner=attempt.learner,
                release=attempt.release,
                repo_url="https://github.com/alice/generators",
            )
            claim_take(iteration=iteration, reviewer=mentor)
            review_save(
                iteration=iteration,
                reviewer=mentor,
                verdicts={
                    task.pk: VerdictInput(passed=number in passing)
                    for number, task in tasks.items()
                },
                feedback="",
                decision="approved",
                submit=True,
            )
        attempt.refresh_from_db()
        assert attempt.score == whatif.after
        [real] = [r for r in attempt_receipts(attempt) if r.iteration.pk == iteration.pk]
        predicted = whatif.view.receipt
        assert real.score == predicted.score
        assert [(line.task.pk, line.passed) for line in real.lines] == [
            (line.task.pk, line.passed) for line in predicted.lines
        ]
        assert (real.deadline_met, real.deadline, real.multiplier) == (
            predicted.deadline_met,
            predicted.deadline,
            predicted.multiplier,
        )
        transaction.set_rollback(True)

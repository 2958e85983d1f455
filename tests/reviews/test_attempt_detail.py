"""The attempt page: state, expected wait, timeline, reviews and the score receipt."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from core.models import (
    Attachment,
    Attempt,
    Cohort,
    Iteration,
    Project,
    ProjectRelease,
    Review,
    Task,
    User,
)
from core.reviews.scoring import attempt_recompute_score
from tests.checks.support import recorded_run
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    CommentFactory,
    ExtensionFactory,
    IterationFactory,
    MembershipFactory,
    ReviewFactory,
    TaskFactory,
    UserFactory,
    VerdictFactory,
)

# Cohort 7 is in Africa/Nairobi (EAT, UTC+3).
OPENS = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)  # Thu 1 Oct 09:00 EAT
FIRST = datetime(2026, 10, 6, 20, 59, tzinfo=UTC)  # Tue 6 Oct 23:59 EAT
SECOND = datetime(2026, 10, 13, 20, 59, tzinfo=UTC)  # Tue 13 Oct 23:59 EAT
NOW = datetime(2026, 10, 15, 9, 0, tzinfo=UTC)
BEFORE_FIRST = datetime(2026, 10, 5, 11, 2, tzinfo=UTC)  # Mon 5 Oct 14:02 EAT
BETWEEN = datetime(2026, 10, 8, 11, 2, tzinfo=UTC)  # Thu 8 Oct 14:02 EAT
SHA_1 = "0123456789abcdef0123456789abcdef01234567"
SHA_2 = "abcdef0123456789abcdef0123456789abcdef01"


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    """Before every other fixture, so sessions and factories' defaults use this clock."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def tasks(project: Project, release: ProjectRelease) -> dict[int, Task]:
    """Mandatory 0 (30 points) and 1 (10); advanced 2 and 3 (10 each); dated release."""
    ProjectRelease.objects.filter(pk=release.pk).update(
        opens_at=OPENS, first_deadline=FIRST, second_deadline=SECOND
    )
    project.tasks.filter(number=0).update(points=30)
    TaskFactory(project=project, number=3, title="Async pagination", kind="advanced")
    return {task.number: task for task in project.tasks.all()}


@pytest.fixture
def attempt(learner: User, release: ProjectRelease, tasks: dict[int, Task]) -> Attempt:
    return AttemptFactory(learner=learner, release=release)


def _iteration(
    attempt: Attempt, number: int, submitted_at: datetime, **kwargs: object
) -> Iteration:
    claimed = kwargs.pop("claimed", ())
    iteration = IterationFactory(
        attempt=attempt, number=number, submitted_at=submitted_at, **kwargs
    )
    iteration.tasks_claimed.set(claimed)
    return iteration


def _review(
    iteration: Iteration,
    reviewer: User,
    passed: set[int],
    tasks: dict[int, Task],
    decision: str = "changes_requested",
    **kwargs: object,
) -> Review:
    """A decided mentor review with a verdict on every task; the attempt's score recomputed."""
    review = ReviewFactory(
        iteration=iteration,
        reviewer=reviewer,
        decision=decision,
        submitted_at=kwargs.pop("submitted_at", iteration.submitted_at + timedelta(hours=5)),
        **kwargs,
    )
    for number, task in tasks.items():
        VerdictFactory(
            review=review,
            task=task,
            passed=number in passed,
            comment="" if number in passed else f"Task {number} fails the checker.",
        )
    Iteration.objects.filter(pk=iteration.pk).update(status=Iteration.Status.REVIEWED)
    attempt = iteration.attempt
    attempt.status = decision
    attempt.save()
    attempt_recompute_score(attempt=attempt)
    return review


def _body(client: Client, attempt: Attempt) -> str:
    response = client.get(f"/attempts/{attempt.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    """The page's words: tags dropped, whitespace collapsed, none before punctuation."""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return re.sub(r"\( ", "(", re.sub(r" ([.,;:)%])", r"\1", text))


def test_it_shows_the_attempt_to_its_learner(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    first = _iteration(attempt, 1, BEFORE_FIRST, commit_sha=SHA_1, claimed=[tasks[0]])
    _review(first, mentor, {0}, tasks, feedback="Nice **start**.")
    _iteration(attempt, 2, BETWEEN, commit_sha=SHA_2, claimed=[tasks[0], tasks[1]])
    body = _body(learner_client, attempt)
    assert (
        '<a class="attempt-project-link" href="/projects/python-generators/?cohort=cohort-7">'
        in body
    )
    assert "Python Generators</a></h1>" in body
    assert "Your attempt · Cohort 7" in body
    assert "Waiting for review" in body
    # The timeline, newest first, in the cohort's time zone.
    assert body.index('id="iteration-2"') < body.index('id="iteration-1"')
    assert "Thu 8 Oct 2026, 14:02 EAT" in body
    assert "Mon 5 Oct 2026, 14:02 EAT" in body
    assert f'<code class="commit-sha" title="{SHA_2}">abcdef0</code>' in body
    assert 'href="https://github.com/alice/prodev-backend-python" target="_blank"' in body
    # The review: reviewer, kind, decision, verdicts and Markdown feedback.
    text = _text(body)
    assert "Mia Mentor Mentor review Changes requested Mon 5 Oct, 19:02 EAT" in text
    assert body.count('class="verdict verdict-pass"') == 1
    assert body.count('class="verdict verdict-fail"') == 3
    assert "Task 1 fails the checker." in body
    assert "Nice <strong>start</strong>." in body
    assert "Review iteration" not in body


def test_it_shows_what_changed_since_the_previous_iteration(
    learner_client: Client, attempt: Attempt, tasks: dict[int, Task]
) -> None:
    _iteration(attempt, 1, BEFORE_FIRST, commit_sha=SHA_1, notes="v1", claimed=[tasks[0], tasks[1]])
    _iteration(attempt, 2, BETWEEN, commit_sha=SHA_2, notes="v2", claimed=[tasks[0], tasks[2]])
    _iteration(attempt, 3, NOW, commit_sha=SHA_2, notes="v2 ", claimed=[tasks[0], tasks[2]])
    text = _text(_body(learner_client, attempt))
    assert "Since iteration 1 Commit 0123456 → abcdef0" in text
    assert "Newly claimed: 2. Lazy pagination" in text
    assert "No longer claimed: 1. Batch rows" in text
    assert "Notes changed" in text
    assert "Since iteration 2 Same commit, tasks and notes as iteration 2." in text


def test_it_links_attachments_for_download(learner_client: Client, attempt: Attempt) -> None:
    iteration = _iteration(attempt, 1, BEFORE_FIRST)
    attachment = Attachment.objects.create(
        iteration=iteration,
        file="attachments/0f0f.pdf",
        original_name="design.pdf",
        content_type="application/pdf",
        size=2048,
    )
    body = _body(learner_client, attempt)
    assert f'<a href="/attachments/{attachment.pk}/" download>' in body
    assert "design.pdf</a> <span" in body
    assert "2.0\xa0KB" in body


def test_the_receipt_shows_every_number_of_the_score(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    iteration = _iteration(attempt, 1, BETWEEN)
    _review(iteration, mentor, {0, 2}, tasks)
    attempt.refresh_from_db()
    assert str(attempt.score) == "73.13"
    text = _text(_body(learner_client, attempt))
    assert (
        "Iteration 1 earned your score. Verdicts by mentor Mia Mentor, reviewed on Thu 8 Oct."
        in text
    )
    assert "0. Stream rows Mandatory 30 Pass 30" in text
    assert "1. Batch rows Mandatory 10 Fail 0" in text
    assert "2. Lazy pagination Advanced 10 Pass 10" in text
    assert "3. Async pagination Advanced 10 Fail 0" in text
    assert "M mandatory points passed 30 / 40 75.00%" in text
    assert "A advanced points passed 10 / 20 50.00%" in text
    assert "M + M × A 75.00% + 75.00% × 50.00% 112.50%" in text
    assert (
        "Lateness submitted Thu 8 Oct 14:02 EAT, after the first deadline, before the second "
        "(Tue 13 Oct 23:59 EAT) × 65%"
    ) in text
    assert "Score 112.50% × 65% 73.13%" in text
    assert "Your score 73.13%" in text


def test_the_receipt_names_the_extension_that_applied(
    learner_client: Client,
    attempt: Attempt,
    learner: User,
    release: ProjectRelease,
    mentor: User,
    tasks: dict[int, Task],
) -> None:
    ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=datetime(2026, 10, 9, 20, 59, tzinfo=UTC),
        second_deadline=datetime(2026, 10, 16, 20, 59, tzinfo=UTC),
    )
    _review(_iteration(attempt, 1, BETWEEN), mentor, {0, 1}, tasks)
    text = _text(_body(learner_client, attempt))
    assert (
        "submitted Thu 8 Oct 14:02 EAT, before the first deadline (Fri 9 Oct 23:59 EAT)"
    ) in text
    assert (
        "Your extension moved the first deadline to Fri 9 Oct 23:59 EAT (was Tue 6 Oct 23:59 EAT)"
        " and the second deadline to Fri 16 Oct 23:59 EAT (was Tue 13 Oct 23:59 EAT). × 100%"
    ) in text
    assert "Score 100.00% × 100% 100.00%" in text


def test_the_receipt_says_which_iteration_earned_the_score(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    _review(_iteration(attempt, 1, BEFORE_FIRST), mentor, {0, 1, 2, 3}, tasks)  # 200 × 100%
    _review(_iteration(attempt, 2, BETWEEN), mentor, {0, 1, 2, 3}, tasks)  # 200 × 65%
    body = _body(learner_client, attempt)
    text = _text(body)
    assert "Iteration 1 earned your score; later iterations scored lower." in text
    assert "Iteration 2 scored 130.00%" in text
    assert "Your score 200.00%" in text
    assert '<details class="receipt-other mt-3">' in body
    assert "Earned the score" in text


def test_the_receipt_waits_for_a_decision(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    iteration = _iteration(attempt, 1, BEFORE_FIRST)
    ReviewFactory(iteration=iteration, reviewer=mentor, submitted_at=None, decision="")
    body = _body(learner_client, attempt)
    assert "Your score appears here once a mentor has reviewed your work." in body
    assert 'class="receipt-table"' not in body


def test_drafts_are_never_shown_to_the_learner(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    iteration = _iteration(attempt, 1, BEFORE_FIRST)
    draft = ReviewFactory(
        iteration=iteration,
        reviewer=mentor,
        submitted_at=None,
        decision="",
        feedback="Half-written thoughts",
    )
    VerdictFactory(review=draft, task=tasks[0], passed=False, comment="Secret verdict")
    body = _body(learner_client, attempt)
    assert "Half-written thoughts" not in body
    assert "Secret verdict" not in body
    assert 'class="attempt-review' not in body
    # Its author sees it, marked as a draft.
    mine = _body(client_for(mentor), attempt)
    assert "Half-written thoughts" in mine
    assert "Draft · only you see this" in mine


def test_another_mentors_draft_is_hidden_too(
    mentor_client: Client, attempt: Attempt, cohort: Cohort
) -> None:
    colleague = UserFactory(display_name="Other Mentor")
    MembershipFactory(user=colleague, cohort=cohort, role="mentor")
    iteration = _iteration(attempt, 1, BEFORE_FIRST)
    ReviewFactory(
        iteration=iteration, reviewer=colleague, submitted_at=None, decision="", feedback="WIP"
    )
    assert "WIP" not in _body(mentor_client, attempt)


def test_a_live_claim_shows_who_is_reviewing(
    learner_client: Client, mentor_client: Client, attempt: Attempt, mentor: User
) -> None:
    iteration = _iteration(attempt, 1, NOW - timedelta(hours=2))
    iteration.claims.create(
        reviewer=mentor,
        claimed_at=NOW - timedelta(minutes=8),
        expires_at=NOW + timedelta(minutes=22),
    )
    text = _text(_body(learner_client, attempt))
    assert "In review by Mia Mentor" in text
    assert "Iteration 1: started 8 minutes ago. You will get a notification" in text
    assert "Expected wait" not in text
    assert "claim ends in 22 min" in _text(_body(mentor_client, attempt))


def test_an_expired_claim_is_not_a_review(
    learner_client: Client, attempt: Attempt, mentor: User
) -> None:
    iteration = _iteration(attempt, 1, NOW - timedelta(hours=2))
    iteration.claims.create(
        reviewer=mentor, claimed_at=NOW - timedelta(hours=1), expires_at=NOW - timedelta(minutes=1)
    )
    text = _text(_body(learner_client, attempt))
    assert "In review" not in text
    assert "Waiting for review" in text


def test_it_shows_the_expected_wait(
    learner_client: Client, attempt: Attempt, release: ProjectRelease, mentor: User
) -> None:
    for hours_ago in (30, 20):  # two iterations of other learners, ahead in the queue
        other = AttemptFactory(release=release)
        IterationFactory(attempt=other, number=1, submitted_at=NOW - timedelta(hours=hours_ago))
    _iteration(attempt, 1, NOW - timedelta(hours=3))
    for day in range(14):  # 14 reviews in 7 days: 2 a day
        reviewed = IterationFactory(
            attempt=AttemptFactory(release=release), number=1, status="reviewed"
        )
        ReviewFactory(
            iteration=reviewed, reviewer=mentor, submitted_at=NOW - timedelta(hours=11 * day + 1)
        )
    text = _text(_body(learner_client, attempt))
    assert "Iteration 1 was submitted 3 hours ago." in text
    # 3 reviews to go at 2 a day: 36 hours at that pace, shown as the range 8 in 10 fall in.
    assert (
        "Expected wait: 12 hours to 3 days. Based on Cohort 7’s last 7 days: mentors submitted "
        "14 reviews (about 2 a day), and 2 iterations are ahead of yours in the queue. Reviews "
        "come unevenly, so this is a range: about 8 in 10 waits like yours should fall within it."
    ) in text


def test_it_says_when_there_is_nothing_to_estimate_from(
    learner_client: Client, attempt: Attempt
) -> None:
    _iteration(attempt, 1, NOW - timedelta(hours=3))
    text = _text(_body(learner_client, attempt))
    assert "No mentor reviews in Cohort 7 in the last 7 days to estimate a wait from." in text
    assert "The wait does not count against you." in text


@pytest.mark.parametrize(
    ("submitted_at", "extended", "met"),
    [
        (BEFORE_FIRST, False, "before the first deadline, so it is scored at 100%"),
        (BETWEEN, False, "after the first deadline, before the second, so it is scored at 65%"),
        (BETWEEN, True, "before the first deadline, so it is scored at 100%"),
        (SECOND + timedelta(hours=1), False, "after the second deadline, so it is scored at 50%"),
    ],
)
def test_it_says_lateness_counts_from_the_submission_not_the_review(
    learner_client: Client,
    mentor_client: Client,
    attempt: Attempt,
    learner: User,
    release: ProjectRelease,
    submitted_at: datetime,
    extended: bool,
    met: str,
) -> None:
    """Still waiting on the 15th, after both deadlines: the iteration keeps the deadline it
    met when it was submitted (with the learner's extension), however long the review."""
    if extended:
        ExtensionFactory(
            release=release,
            learner=learner,
            first_deadline=FIRST + timedelta(days=3),
            second_deadline=SECOND + timedelta(days=3),
        )
    _iteration(attempt, 1, submitted_at)
    sentence = (
        f"Lateness counts from the submission, not the review: iteration 1 was submitted {met} "
        "however long the review takes."
    )
    text = _text(_body(learner_client, attempt))
    assert f"The wait does not count against you. {sentence}" in text
    text = _text(_body(mentor_client, attempt))
    assert f"The wait does not count against Alice Learner. {sentence}" in text


def test_after_a_reviewed_iteration_the_waiting_one_is_dated_with_the_extension(
    learner_client: Client,
    attempt: Attempt,
    learner: User,
    release: ProjectRelease,
    mentor: User,
    tasks: dict[int, Task],
) -> None:
    """The receipts' extension (loaded with them, no query more) dates the waiting one too."""
    ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=FIRST + timedelta(days=3),
        second_deadline=SECOND + timedelta(days=3),
    )
    _review(_iteration(attempt, 1, BEFORE_FIRST, status="reviewed"), mentor, {0, 1}, tasks)
    _iteration(attempt, 2, BETWEEN)
    text = _text(_body(learner_client, attempt))
    assert "iteration 2 was submitted before the first deadline, so it is scored at 100%" in text


def test_a_former_reviewer_sees_the_wait_but_not_the_multiplier(attempt: Attempt) -> None:
    """Someone who reviewed the attempt but no longer mentors its cohort sees no score."""
    former = UserFactory(display_name="Former Mentor")
    ReviewFactory(
        iteration=_iteration(attempt, 1, BEFORE_FIRST, status="reviewed"), reviewer=former
    )
    _iteration(attempt, 2, BETWEEN)
    text = _text(_body(client_for(former), attempt))
    assert "Waiting for review" in text
    assert "Expected wait" in text
    assert "does not count against" not in text and "scored at" not in text


def test_changes_requested_points_the_learner_to_resubmit(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    _review(_iteration(attempt, 1, BEFORE_FIRST), mentor, {0}, tasks)
    body = _body(learner_client, attempt)
    text = _text(body)
    assert "Changes requested" in text
    assert "Mia Mentor asked for changes on iteration 1." in text
    assert (
        '<a class="btn btn-primary flex-shrink-0" href="/projects/python-generators/submit/">'
        in body
    )
    assert "Submit a new iteration" in text


def test_approved_shows_the_decision(
    learner_client: Client, attempt: Attempt, mentor: User, tasks: dict[int, Task]
) -> None:
    _review(_iteration(attempt, 1, BEFORE_FIRST), mentor, {0, 1}, tasks, decision="approved")
    text = _text(_body(learner_client, attempt))
    assert "Approved Mia Mentor approved iteration 1." in text
    assert "Your score 100.00%" in text


def test_mentors_of_the_cohort_see_the_attempt_without_the_submit_button(
    mentor_client: Client, attempt: Attempt
) -> None:
    iteration = _iteration(attempt, 1, BEFORE_FIRST)
    body = _body(mentor_client, attempt)
    assert "Attempt by Alice Learner · Cohort 7" in body
    assert "alice@example.com" in body
    assert "/submit/" not in body
    assert 'id="score-receipt"' in body
    assert f'href="/review/{iteration.pk}/"' in body
    assert "Review iteration 1" in body
    assert "No messages yet. Ask Alice Learner a question or leave a note" in body


def test_staff_see_every_attempt(staff_client: Client, attempt: Attempt) -> None:
    _iteration(attempt, 1, BEFORE_FIRST)
    assert "Attempt by Alice Learner" in _body(staff_client, attempt)


def test_a_peer_who_reviewed_it_gets_404(
    reviewer: User, attempt: Attempt, tasks: dict[int, Task]
) -> None:
    # Issue #5: a peer sees only the iteration assigned to them (/peer-review/<id>/),
    # never the attempt's other iterations, its score or other reviewers' verdicts.
    iteration = _iteration(attempt, 1, BEFORE_FIRST)
    ReviewFactory(iteration=iteration, reviewer=reviewer, kind="peer")
    assert client_for(reviewer).get(f"/attempts/{attempt.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["other_learner", "other_mentor", "reviewer", "outsider"])
def test_people_outside_the_attempt_get_404(
    who: str, attempt: Attempt, reviewer: User, outsider: User, cohort: Cohort
) -> None:
    _iteration(attempt, 1, BEFORE_FIRST)
    if who == "other_learner":
        user = UserFactory()
        MembershipFactory(user=user, cohort=cohort, role="learner")
    elif who == "other_mentor":
        user = UserFactory()
        MembershipFactory(user=user, cohort=CohortFactory(), role="mentor")
    else:
        user = {"reviewer": reviewer, "outsider": outsider}[who]
    assert client_for(user).get(f"/attempts/{attempt.pk}/").status_code == 404


def test_a_missing_attempt_is_404(staff_client: Client) -> None:
    assert staff_client.get("/attempts/999999/").status_code == 404


def test_anonymous_users_are_sent_to_login(client: Client, attempt: Attempt) -> None:
    response = client.get(f"/attempts/{attempt.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/attempts/{attempt.pk}/"


def test_it_only_answers_get(learner_client: Client, attempt: Attempt) -> None:
    assert learner_client.post(f"/attempts/{attempt.pk}/").status_code == 405


def test_it_keeps_behaviour_in_static_files(learner_client: Client, attempt: Attempt) -> None:
    _iteration(attempt, 1, BEFORE_FIRST)
    body = _body(learner_client, attempt)
    assert '<script src="/static/js/attempt.js" defer></script>' in body
    assert "style=" not in body
    assert "hx-on" not in body
    assert " onclick" not in body


def _grow(
    attempt: Attempt, mentor: User, tasks: dict[int, Task], size: int, *, checks: bool = False
) -> None:
    """``size`` reviewed iterations (verdicts, claims, attachments), a waiting one, comments;
    with ``checks``, each reviewed iteration's finished check runs (an older one that failed
    a case, then one that passed) and the waiting iteration's running one."""
    for number in range(1, size + 1):
        iteration = _iteration(
            attempt,
            number,
            BEFORE_FIRST + timedelta(minutes=number),
            claimed=[tasks[0], tasks[1]],
        )
        if checks:
            checked = [tasks[0], tasks[1]]
            recorded_run(iteration, checked, cases=size, failing=1, minutes_ago=60 + number)
            recorded_run(iteration, checked, cases=size, minutes_ago=30 + number)
        Attachment.objects.create(
            iteration=iteration,
            file=f"attachments/{number}.txt",
            original_name=f"log-{number}.txt",
            content_type="text/plain",
            size=10,
        )
        iteration.claims.create(
            reviewer=mentor, expires_at=NOW - timedelta(minutes=1), released_at=NOW
        )
        _review(iteration, mentor, {0, 2}, tasks)
        CommentFactory(attempt=attempt, author=mentor, body=f"Comment **{number}**")
        CommentFactory(attempt=attempt, author=attempt.learner, body="Thanks")
    waiting = _iteration(attempt, size + 1, NOW - timedelta(hours=1), claimed=[tasks[0]])
    if checks:
        recorded_run(waiting, [tasks[0]], status="running")


@pytest.mark.parametrize("size", [1, 10])
def test_the_page_takes_a_fixed_number_of_queries(
    size: int,
    attempt: Attempt,
    mentor: User,
    tasks: dict[int, Task],
    django_assert_num_queries: object,
) -> None:
    _grow(attempt, mentor, tasks, size)
    client = client_for(attempt.learner)
    # (The session comes from the cache.) 1. user  2. attempt (+ release, project,
    # cohort, learner; who may see it)  3. iterations  4. tasks claimed  5. attachments
    # 6. live claims (+ reviewer)  7. reviews (+ reviewer)  8. verdicts (+ task)
    # 9. the iterations' newest check runs  10. staff's standing overrides (+ who set
    # them)  11–12. receipts: the project's tasks, the latest extension (the reviews and
    # verdicts are the timeline's; no task graded by checks, so no check results)
    # 13–14. expected wait: reviews in the window, iterations ahead (the deadline the
    # waiting iteration met takes the receipts' extension)  15. comments (+ author, their
    # role in the cohort)  16–17. disputes: the attempt's (+ verdict, task, iteration, who
    # decided), whether a verdict can still be contested  18. the nav's roles (the bell
    # loads its count by itself)
    with django_assert_num_queries(18):
        response = client.get(f"/attempts/{attempt.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count('class="timeline-item ') == size + 1


@pytest.mark.parametrize("size", [1, 10])
def test_the_page_takes_a_fixed_number_of_queries_with_checks(
    size: int,
    attempt: Attempt,
    mentor: User,
    tasks: dict[int, Task],
    django_assert_num_queries: object,
) -> None:
    # Checks decide task 1 and pre-fill task 0 for the mentor: the receipts read them.
    Task.objects.filter(pk=tasks[0].pk).update(grading=Task.Grading.CHECKS_MENTOR)
    Task.objects.filter(pk=tasks[1].pk).update(grading=Task.Grading.CHECKS)
    tasks = {task.number: task for task in Task.objects.filter(project=attempt.release.project)}
    _grow(attempt, mentor, tasks, size, checks=True)
    client = client_for(attempt.learner)
    # As without checks, plus 12a. receipts: what each iteration's newest finished run says
    # of each task (one query, however many runs, results and cases).
    with django_assert_num_queries(19):
        response = client.get(f"/attempts/{attempt.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="timeline-item ') == size + 1
    # Each reviewed iteration shows its newest run, and the waiting one its running run.
    assert body.count(f"{2 * size}/{2 * size} pass") == size
    assert f"{2 * size - 1}/{2 * size} pass" not in body
    assert body.count('<p class="iteration-checks iteration-checks-running">') == 1


# Where the cohort's name leads: only to a page the viewer may open.

COHORT_LINK = re.compile(r'<span class="visually-hidden">Cohort: </span>(.*?)</li>')


def _cohort_link(client: Client, attempt: Attempt) -> str:
    match = COHORT_LINK.search(_body(client, attempt))
    assert match is not None
    return match.group(1)


def test_the_learner_reaches_their_own_calendar_of_the_cohort(
    learner_client: Client, attempt: Attempt
) -> None:
    _iteration(attempt, 1, BEFORE_FIRST)
    # The schedule answers them 404; the curriculum is their calendar, with their own dates.
    assert (
        _cohort_link(learner_client, attempt)
        == '<a href="/curriculum/?cohort=cohort-7">Cohort 7</a>'
    )
    assert learner_client.get("/curriculum/?cohort=cohort-7").status_code == 200
    assert learner_client.get("/cohorts/cohort-7/schedule/").status_code == 404


@pytest.mark.parametrize("who", ["mentor_client", "staff_client"])
def test_mentors_and_staff_reach_the_cohorts_schedule(
    who: str, attempt: Attempt, request: pytest.FixtureRequest
) -> None:
    _iteration(attempt, 1, BEFORE_FIRST)
    client = request.getfixturevalue(who)
    link = _cohort_link(client, attempt)
    assert link == '<a href="/cohorts/cohort-7/schedule/">Cohort 7</a>'
    assert client.get("/cohorts/cohort-7/schedule/").status_code == 200


def test_a_former_mentor_who_reviewed_it_gets_the_name_without_a_link(
    mentor: User, attempt: Attempt, tasks: dict[int, Task]
) -> None:
    _review(_iteration(attempt, 1, BEFORE_FIRST), mentor, {0}, tasks)
    mentor.memberships.all().delete()  # no longer mentors the cohort, still sees their review
    client = client_for(mentor)
    assert _cohort_link(client, attempt) == "Cohort 7"
    assert client.get("/cohorts/cohort-7/schedule/").status_code == 404

"""Peer review services: who may review, allocation, majority, ties, overrides, holds, SLA.

Each outcome is also checked the way the learner meets it: the sentences the
attempt page renders (templates/core/reviews/attempt_detail.html and its peer partials).
Allocation races run on PostgreSQL only, like tests/reviews/test_concurrency.py.
"""

from __future__ import annotations

import html
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from core.models import (
    Attempt,
    Cohort,
    Iteration,
    Notification,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    User,
)
from core.peer.services import (
    GradeHold,
    grade_hold,
    is_escalated,
    peer_next,
    peer_review_save,
    peer_reviewable_iterations,
)
from core.reviews.escalation import escalate_reviews
from core.reviews.scoring import attempt_receipts, best_receipt
from core.reviews.services import VerdictInput, claim_take, iteration_submit, review_save
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectReleaseFactory,
    UserFactory,
)
from tests.races import run_together

PASS, FAIL = True, False
APPROVED, CHANGES = "approved", "changes_requested"


def policy(project: Project, **fields: object) -> Project:
    """Set the project's review policy: by default N=2 peers decide, M=0 owed."""
    values = {
        "peer_reviews_required": 2,
        "peer_reviews_owed": 0,
        "mentor_review_required": False,
        "submitters_may_review": False,
        **fields,
    }
    Project.objects.filter(pk=project.pk).update(**values)
    project.refresh_from_db()
    return project


def member(cohort: Cohort, name: str, role: str = "learner") -> User:
    user = UserFactory(display_name=name)
    MembershipFactory(user=user, cohort=cohort, role=role)
    return user


def submit(learner: User, release: ProjectRelease) -> Iteration:
    iteration, _ = iteration_submit(
        learner=learner, release=release, repo_url=f"https://github.com/{learner.pk}/work"
    )
    return iteration


def passed(learner: User, release: ProjectRelease) -> Attempt:
    """An approved attempt: what makes a learner eligible to review the project."""
    attempt = AttemptFactory(learner=learner, release=release, status="approved")
    IterationFactory(attempt=attempt, number=1, status="reviewed")
    return attempt


def verdicts(project: Project, *results: bool) -> dict[int, VerdictInput]:
    tasks = list(project.tasks.order_by("number"))
    return {task.pk: VerdictInput(result) for task, result in zip(tasks, results, strict=True)}


def review(reviewer: User, expected: Iteration, *results: bool, decision: str = APPROVED) -> Review:
    """``reviewer`` asks for the next review, gets ``expected``, and submits verdicts on it."""
    assignment = peer_next(reviewer=reviewer)
    assert assignment is not None and assignment.iteration_id == expected.pk, assignment
    saved, submitted_now = peer_review_save(
        iteration=expected,
        reviewer=reviewer,
        verdicts=verdicts(expected.attempt.release.project, *results),
        feedback="Read the tests first.",
        decision=decision,
        confidence=4,
        submit=True,
    )
    assert submitted_now
    return saved


def page(client: Client, attempt: Attempt) -> str:
    """The attempt page as the client sees it, entities decoded and whitespace collapsed."""
    response = client.get(attempt.get_absolute_url())
    assert response.status_code == 200
    return " ".join(html.unescape(response.content.decode()).split())


# --- Who may review --------------------------------------------------------------------


def test_a_learner_never_receives_their_own_iteration(
    learner: User, release: ProjectRelease
) -> None:
    # Learners who submitted may review here, so Alice may review this project...
    policy(release.project, submitters_may_review=True)
    own = submit(learner, release)
    assert own in Iteration.objects.waiting()
    # ...yet her own iteration, the only one waiting, is never hers to review.
    assert peer_next(reviewer=learner) is None
    other = submit(member(release.cohort, "Bob"), release)
    assignment = peer_next(reviewer=learner)
    assert assignment is not None and assignment.iteration == other
    assert list(peer_reviewable_iterations(learner)) == []  # Bob's is taken; hers, never


def test_who_may_review(
    release: ProjectRelease, learner: User, reviewer: User, mentor: User, outsider: User
) -> None:
    project = policy(release.project)
    cohort = release.cohort
    waiting = submit(member(cohort, "Wes Waiting"), release)
    submitter = member(cohort, "Sue Submitted")
    submit(submitter, release)
    requested = member(cohort, "Cal Changes")
    IterationFactory(
        attempt=AttemptFactory(learner=requested, release=release, status="changes_requested"),
        number=1,
        status="reviewed",
    )
    passed(learner, release)
    # A learner of another cohort who passed the same project there.
    elsewhere = member(CohortFactory(program=cohort.program), "Otto Other")
    passed(
        elsewhere, ProjectReleaseFactory(cohort=elsewhere.memberships.get().cohort, project=project)
    )

    def may(user: User) -> bool:
        return waiting in peer_reviewable_iterations(user)

    assert may(reviewer)  # reviewer role
    assert may(learner)  # passed the project
    assert not may(submitter)  # submitted, not passed...
    assert not may(requested)
    assert not may(elsewhere)  # another cohort
    assert not may(mentor)  # mentors review in the mentor queue
    assert not may(outsider)
    policy(project, submitters_may_review=True)  # ...unless the policy allows it
    assert may(submitter) and may(requested)
    assert not may(elsewhere)
    # Mentor-only projects are never offered to peers.
    policy(project, peer_reviews_required=0)
    assert not may(reviewer) and not may(learner)


def test_an_iteration_gets_its_n_reviewers_and_no_more(
    release: ProjectRelease, learner: User
) -> None:
    policy(release.project)
    iteration = submit(learner, release)
    first, second, third = (member(release.cohort, n, "reviewer") for n in ("R1", "R2", "R3"))
    assert peer_next(reviewer=first).iteration == iteration
    assert peer_next(reviewer=first) is None  # once per iteration; one open per project
    assert peer_next(reviewer=second).iteration == iteration
    assert peer_next(reviewer=third) is None


def test_an_expired_assignment_returns_to_the_pool(release: ProjectRelease, learner: User) -> None:
    policy(release.project)
    iteration = submit(learner, release)
    slow, quick, late = (member(release.cohort, n, "reviewer") for n in ("Slow", "Quick", "Late"))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        taken = peer_next(reviewer=slow)
        assert taken.expires_at == start + timedelta(hours=settings.PEER_ASSIGNMENT_HOURS)
        peer_next(reviewer=quick)
        assert peer_next(reviewer=late) is None  # both slots held
    with time_machine.travel(taken.expires_at - timedelta(seconds=1), tick=False):
        assert peer_next(reviewer=late) is None
    with time_machine.travel(taken.expires_at, tick=False):
        assignment = peer_next(reviewer=late)
        assert assignment is not None and assignment.iteration == iteration
        # The slow reviewer's lease is over: they may not submit, nor get it again.
        assert peer_next(reviewer=slow) is None
        taken.refresh_from_db()
        assert not taken.is_live()
        assert taken.released_at == taken.expires_at  # closed on read


# --- Outcomes, and what the learner reads --------------------------------------------------


def test_the_majority_decides_each_task(
    release: ProjectRelease, learner: User, learner_client: Client
) -> None:
    project = policy(release.project, peer_reviews_required=3)
    iteration = submit(learner, release)
    a, b, c = (member(release.cohort, n, "reviewer") for n in ("Ann", "Ben", "Cy"))
    # Task 0: pass 2-1; task 1: fail 2-1; task 2 (advanced): pass 3-0. Decision 2-1 approved.
    review(a, iteration, PASS, FAIL, PASS)
    iteration.refresh_from_db()
    assert iteration.status == "waiting"  # 1 of 3
    review(b, iteration, PASS, PASS, PASS)
    review(c, iteration, FAIL, FAIL, PASS, decision=CHANGES)

    iteration.refresh_from_db()
    attempt = iteration.attempt
    attempt.refresh_from_db()
    assert (iteration.status, iteration.peer_tie, attempt.status) == ("reviewed", False, "approved")
    receipt = best_receipt(attempt_receipts(attempt))
    assert [line.passed for line in receipt.lines] == [True, False, True]
    # M = 10 / 20, A = 10 / 10: 50% + 50% × 100% = 100%.
    assert attempt.score == receipt.score == Decimal("100.00")
    assert receipt.decided_by == "the majority of 3 peer reviews"
    assert project.tasks.count() == 3

    body = page(learner_client, attempt)
    assert "Verdicts by the majority of 3 peer reviews, complete on" in body
    assert "100.00%" in body


def test_a_tie_goes_to_the_mentor_queue_and_the_learner_is_told(
    release: ProjectRelease, learner: User, learner_client: Client, mentor: User
) -> None:
    policy(release.project)
    iteration = submit(learner, release)
    a, b = (member(release.cohort, n, "reviewer") for n in ("Ann", "Ben"))
    review(a, iteration, PASS, PASS, PASS)
    assert iteration not in Iteration.objects.waiting().for_mentor_queue()  # peers' turn
    review(b, iteration, PASS, FAIL, PASS)  # task 1 splits 1-1

    iteration.refresh_from_db()
    assert (iteration.status, iteration.peer_tie) == ("waiting", True)
    assert iteration in Iteration.objects.waiting().for_mentor_queue()
    assert iteration.attempt.score is None
    body = page(learner_client, iteration.attempt)
    assert "Peer reviews: 2 of 2 in." in body
    assert "The peer reviews disagree, so a mentor decides." in body


def test_a_mentor_overrides_the_peers(
    release: ProjectRelease, learner: User, learner_client: Client, mentor: User
) -> None:
    policy(release.project, mentor_review_required=True)
    iteration = submit(learner, release)
    a, b = (member(release.cohort, n, "reviewer") for n in ("Ann", "Ben"))
    review(a, iteration, PASS, PASS, PASS)
    review(b, iteration, PASS, PASS, PASS)
    iteration.refresh_from_db()
    assert iteration.status == "waiting"  # the peers' 200% is advice until a mentor decides

    claim_take(iteration=iteration, reviewer=mentor)
    review_save(
        iteration=iteration,
        reviewer=mentor,
        verdicts=verdicts(release.project, PASS, FAIL, PASS),
        feedback="Task 1 breaks on an empty list.",
        decision=APPROVED,
        submit=True,
    )
    attempt = Attempt.objects.get(pk=iteration.attempt_id)
    receipt = best_receipt(attempt_receipts(attempt))
    assert [line.passed for line in receipt.lines] == [True, False, True]
    assert attempt.score == Decimal("100.00")  # the mentor's verdicts, not the peers' 200%
    assert receipt.decided_by == "mentor Mia Mentor"

    body = page(learner_client, attempt)
    assert "Verdicts by mentor Mia Mentor, reviewed on" in body
    assert (
        "A mentor’s verdicts override peers: these counted instead of the 2 peer reviews "
        "of this iteration." in body
    )


def test_a_mentor_decides_a_tie_and_the_score_follows_the_mentor(
    release: ProjectRelease, learner: User, mentor: User
) -> None:
    policy(release.project)
    iteration = submit(learner, release)
    a, b = (member(release.cohort, n, "reviewer") for n in ("Ann", "Ben"))
    review(a, iteration, PASS, PASS, PASS)
    review(b, iteration, FAIL, FAIL, FAIL, decision=CHANGES)
    claim_take(iteration=iteration, reviewer=mentor)
    review_save(
        iteration=iteration,
        reviewer=mentor,
        verdicts=verdicts(release.project, PASS, PASS, FAIL),
        feedback="",
        decision=APPROVED,
        submit=True,
    )
    attempt = Attempt.objects.get(pk=iteration.attempt_id)
    assert attempt.status == "approved" and attempt.score == Decimal("100.00")
    assert best_receipt(attempt_receipts(attempt)).decided_by == "mentor Mia Mentor"


def test_the_grade_is_held_until_the_reviews_owed_are_given(
    release: ProjectRelease, learner: User, learner_client: Client
) -> None:
    policy(release.project, peer_reviews_owed=2)
    mine = submit(learner, release)
    a, b = (member(release.cohort, n, "reviewer") for n in ("Ann", "Ben"))
    review(a, mine, PASS, PASS, PASS)
    review(b, mine, PASS, PASS, PASS)
    attempt = Attempt.objects.get(pk=mine.attempt_id)
    assert attempt.status == "approved" and attempt.score == Decimal("200.00")
    assert grade_hold(attempt) == GradeHold(given=0, owed=2)
    assert grade_hold(attempt).held and grade_hold(attempt).remaining == 2
    body = page(learner_client, attempt)
    assert "Grade pending: 2 of 2 peer reviews owed" in body
    assert "200.00" not in body  # no score, no receipt while held

    # Alice passed, so she may review classmates' work: the oldest first.
    bob, cy = (
        submit(member(release.cohort, "Bob"), release),
        submit(member(release.cohort, "Cy"), release),
    )
    review(learner, bob, PASS, PASS, FAIL)
    assert grade_hold(attempt) == GradeHold(given=1, owed=2)
    body = page(learner_client, attempt)
    assert "pending: 1 of 2 peer reviews owed" in body.lower()
    assert "200.00" not in body

    review(learner, cy, PASS, PASS, PASS)
    assert grade_hold(attempt) == GradeHold(given=2, owed=2)
    assert not grade_hold(attempt).held
    body = page(learner_client, attempt)
    assert "pending" not in body.lower().split("score receipt")[0]
    assert "Verdicts by the majority of 2 peer reviews, complete on" in body
    assert "200.00%" in body


def test_reviews_given_in_another_project_do_not_count(
    release: ProjectRelease, learner: User
) -> None:
    policy(release.project, peer_reviews_owed=1)
    attempt = passed(learner, release)
    other = ProjectReleaseFactory(cohort=release.cohort)
    policy(other.project)
    iteration = submit(member(release.cohort, "Bob"), other)
    PeerAssignment.objects.create(
        iteration=iteration,
        project=other.project,
        reviewer=learner,
        expires_at=timezone.now() + timedelta(hours=1),
        completed_at=timezone.now(),
    )
    assert grade_hold(attempt) == GradeHold(given=0, owed=1)


def test_every_count_of_reviews_given_agrees(release: ProjectRelease, learner: User) -> None:
    """The grade hold, the dashboards' "reviews owed" and the peer dashboard's owed rows
    all count ``PeerAssignment.objects.given_by``: completed, this project, this cohort."""
    from core.peer.selectors import owed_rows
    from core.peer.services import peer_reviews_owed_total

    policy(release.project, peer_reviews_owed=3)
    attempt = passed(learner, release)
    elsewhere = ProjectReleaseFactory(project=release.project)  # the same project, elsewhere
    now = timezone.now()

    def assign(iteration: Iteration, completed: bool) -> None:
        PeerAssignment.objects.create(
            iteration=iteration,
            project=iteration.attempt.release.project,
            reviewer=learner,
            expires_at=now + timedelta(hours=1),
            completed_at=now if completed else None,
        )

    assign(submit(member(release.cohort, "Bob"), release), completed=True)  # counts
    assign(submit(member(release.cohort, "Cy"), release), completed=False)  # still open
    assign(submit(member(elsewhere.cohort, "Di"), elsewhere), completed=True)  # other cohort

    assert grade_hold(attempt) == GradeHold(given=1, owed=3)
    assert peer_reviews_owed_total(learner) == 2
    [row] = owed_rows(learner, [release.cohort_id], now)
    assert (row.given, row.owed) == (1, 3)


def test_completed_and_live_assignments_are_held(release: ProjectRelease, learner: User) -> None:
    """``held()``: what takes an iteration's peer slot and opens its files to the reviewer."""
    now = timezone.now()
    iteration = submit(learner, release)
    hour = timedelta(hours=1)
    states = {
        "live": {"expires_at": now + hour},
        "completed": {"expires_at": now - hour, "completed_at": now - 2 * hour},
        "expired": {"expires_at": now - hour},
        "released": {"expires_at": now + hour, "released_at": now},
    }
    made = {
        state: PeerAssignment.objects.create(
            iteration=iteration,
            project=release.project,
            reviewer=member(release.cohort, state, "reviewer"),
            **fields,
        )
        for state, fields in states.items()
    }
    held = set(PeerAssignment.objects.held(now))
    assert held == {made["live"], made["completed"]}
    assert set(iteration.peer_assignments.held(now)) == held


@pytest.mark.parametrize("submitters_may_review", [False, True])
@pytest.mark.parametrize("own_work", ["none", "waiting", "changes_requested", "approved"])
def test_the_learner_rule_and_the_reviewable_filter_agree(
    release: ProjectRelease, learner: User, own_work: str, submitters_may_review: bool
) -> None:
    """``learner_may_peer_review`` (the peer dashboard) and ``peer_reviewable_iterations``
    (the "next review" button) give a learner the same answer for every state of their work."""
    from core.peer.services import learner_may_peer_review

    project = policy(release.project, submitters_may_review=submitters_may_review)
    classmate = submit(member(release.cohort, "Bob"), release)
    if own_work == "waiting":
        submit(learner, release)
    elif own_work != "none":
        attempt = AttemptFactory(learner=learner, release=release, status=own_work)
        IterationFactory(attempt=attempt, number=1, status="reviewed")

    allowed = learner_may_peer_review(
        approved=own_work == "approved", submitted=own_work != "none", project=project
    )
    assert peer_reviewable_iterations(learner).filter(pk=classmate.pk).exists() == allowed
    assert allowed == (own_work == "approved" or (submitters_may_review and own_work != "none"))


# --- SLA: escalation at the boundaries ------------------------------------------------------


def test_escalation_happens_exactly_at_the_peer_sla_and_is_notified_once(
    release: ProjectRelease, learner: User, mentor: User, mentor_client: Client
) -> None:
    project = policy(release.project)
    iteration = submit(learner, release)
    assert iteration.peer_due_at == iteration.submitted_at + timedelta(hours=project.peer_sla_hours)
    queue = Iteration.objects.waiting().for_mentor_queue

    with time_machine.travel(iteration.peer_due_at - timedelta(seconds=1), tick=False):
        assert iteration not in queue()
        assert not is_escalated(iteration)
        assert escalate_reviews() == (0, 0)
        assert mentor_client.get("/review/").context["summary"]["waiting"] == 0
    with time_machine.travel(iteration.peer_due_at, tick=False):
        assert iteration in queue()
        assert is_escalated(iteration)
        body = mentor_client.get("/review/").content.decode()
        assert "</i> Escalated</span>" in body
        assert escalate_reviews() == (1, 0)
    with time_machine.travel(iteration.peer_due_at + timedelta(hours=1), tick=False):
        assert iteration in queue()
        assert escalate_reviews() == (0, 0)  # run again: nobody is told twice
    assert (
        Notification.objects.filter(user=mentor, dedupe_key__startswith="escalated:").count() == 1
    )


def test_the_learner_sees_the_escalation(
    release: ProjectRelease, learner: User, learner_client: Client
) -> None:
    policy(release.project)
    iteration = submit(learner, release)
    with time_machine.travel(iteration.peer_due_at + timedelta(minutes=5), tick=False):
        body = page(learner_client, iteration.attempt)
    assert "Peer reviews: 0 of 2 in." in body
    assert "Escalated to a mentor: peers did not finish within 48 hours." in body


# --- Allocation races (PostgreSQL) --------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_ten_concurrent_requests_give_an_iteration_exactly_its_two_reviewers() -> None:
    release = ProjectReleaseFactory()
    policy(release.project)
    iteration = submit(member(release.cohort, "Lee"), release)
    reviewers = [member(release.cohort, f"R{n}", "reviewer") for n in range(10)]
    results = run_together([lambda r=r: peer_next(reviewer=r) for r in reviewers])
    assert not [r for r in results if isinstance(r, Exception)], results
    won = [r for r in results if isinstance(r, PeerAssignment)]
    assert len(won) == 2, results
    assert {w.iteration_id for w in won} == {iteration.pk}
    assert PeerAssignment.objects.filter(iteration=iteration).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_concurrent_requests_spread_over_the_waiting_iterations() -> None:
    release = ProjectReleaseFactory()
    policy(release.project)
    iterations = [submit(member(release.cohort, f"L{n}"), release) for n in range(3)]
    reviewers = [member(release.cohort, f"R{n}", "reviewer") for n in range(8)]
    results = run_together([lambda r=r: peer_next(reviewer=r) for r in reviewers])
    won = [r for r in results if isinstance(r, PeerAssignment)]
    assert len(won) == 6, results  # 3 iterations × 2 reviews; two reviewers get nothing
    per_iteration = {i.pk: PeerAssignment.objects.filter(iteration=i).count() for i in iterations}
    assert per_iteration == {i.pk: 2 for i in iterations}

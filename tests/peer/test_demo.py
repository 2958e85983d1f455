"""The demo's peer review (core/demo/peer.py): policies, every state, and a loop that works."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from core.demo.peer import PEER_PROJECTS, STAGE
from core.models import (
    Attempt,
    Cohort,
    Iteration,
    Notification,
    PeerAssignment,
    Project,
    ReviewReport,
    User,
)
from core.peer.services import (
    GradeHold,
    grade_hold,
    peer_next,
    peer_review_save,
    reviewer_agreement,
)
from core.reviews.escalation import escalate_reviews
from core.reviews.scoring import attempt_receipts, best_receipt
from core.reviews.services import VerdictInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort() -> Cohort:
    call_command("seed_demo", "--allow-demo-passwords", stdout=StringIO())
    return Cohort.objects.get(slug="cohort-7")


def demo(email: str) -> User:
    return User.objects.get(email=email)


def signed_in(client: Client, email: str) -> Client:
    assert client.login(email=email, password="prodev-demo")
    return client


def test_one_project_per_module_has_two_peer_reviews_and_owes_one(cohort: Cohort) -> None:
    peer = Project.objects.filter(peer_reviews_required__gt=0)
    assert sorted(peer.values_list("slug", flat=True)) == sorted(PEER_PROJECTS)
    assert peer.values("module").distinct().count() == cohort.program.modules.count()
    assert set(peer.values_list("peer_reviews_required", "peer_reviews_owed")) == {(2, 1)}
    assert not peer.filter(mentor_review_required=True).exists()
    opened = cohort.releases.opened().filter(project__in=peer).count()
    assert opened >= 3  # past or current for cohort 7


def test_the_demo_learner_passed_by_peers_owes_one_review(cohort: Cohort, client: Client) -> None:
    learner = demo("learner@example.com")
    attempt = Attempt.objects.get(learner=learner, release__project__slug=STAGE)
    receipt = best_receipt(attempt_receipts(attempt))
    assert attempt.status == "approved" and attempt.score == receipt.score
    assert receipt.decided_by == "the majority of 2 peer reviews"
    assert grade_hold(attempt) == GradeHold(given=0, owed=1)
    body = signed_in(client, "learner@example.com").get(attempt.get_absolute_url()).content
    assert "Grade pending: 1 of 1 peer review owed" in body.decode()


def test_every_peer_state_is_there(cohort: Cohort) -> None:
    now = timezone.now()
    stage = Iteration.objects.filter(attempt__release__project__slug=STAGE).waiting()
    reviewer = demo("reviewer@example.com")
    # One of two peer reviews in, the second held by the demo reviewer.
    live = PeerAssignment.objects.live().get(reviewer=reviewer)
    assert live.iteration.reviews.filter(kind="peer").exclude(submitted_at=None).count() == 1
    # A tie, escalated and breached iterations, all waiting on a current release.
    tied = stage.get(peer_tie=True)
    assert tied.reviews.filter(kind="peer").count() == 2
    escalated = stage.filter(peer_due_at__lte=now, mentor_due_at__gt=now, peer_tie=False)
    assert escalated.count() == 1
    assert stage.filter(mentor_due_at__lte=now).count() == 1
    assert ReviewReport.objects.filter(review__iteration=tied, resolved_at=None).exists()
    # The demo reviewer's agreement with mentors has enough data to show.
    assert reviewer_agreement([reviewer.pk])[reviewer.pk].compared >= 5
    # The escalation notices are there already: the command has nothing new to send.
    assert Notification.objects.filter(dedupe_key__startswith="escalated:peer:").count() == 2
    assert Notification.objects.filter(dedupe_key__startswith="escalated:mentor:").count() == 1
    assert escalate_reviews() == (0, 0)


def test_mentors_and_staff_see_the_escalations(cohort: Cohort, client: Client) -> None:
    queue = signed_in(client, "mentor@example.com").get("/review/").content.decode()
    assert "</i> Escalated</span>" in queue
    assert "</i> Peers tied</span>" in queue
    board = signed_in(client, "staff@example.com").get("/staff/sla/").content.decode()
    assert "</i> Mentor SLA breached</span>" in board
    assert "</i> Escalated to mentors</span>" in board
    reviewers = client.get("/staff/reviewers/").content.decode()
    assert "Rae Reviewer" in reviewers and "1 open report" in reviewers


def test_the_demo_learner_can_give_the_review_owed_and_see_the_grade(
    cohort: Cohort, client: Client
) -> None:
    learner = demo("learner@example.com")
    attempt = Attempt.objects.get(learner=learner, release__project__slug=STAGE)
    assignment = peer_next(reviewer=learner)
    assert assignment is not None
    assert assignment.iteration.attempt.release.project.slug == STAGE
    tasks = assignment.iteration.attempt.release.project.tasks.all()
    peer_review_save(
        iteration=assignment.iteration,
        reviewer=learner,
        verdicts={task.pk: VerdictInput(True) for task in tasks},
        feedback="Clear and tested.",
        decision="approved",
        confidence=4,
        submit=True,
    )
    assert not grade_hold(attempt).held
    body = signed_in(client, "learner@example.com").get(attempt.get_absolute_url()).content
    assert f"{attempt.score:.2f}" in body.decode()

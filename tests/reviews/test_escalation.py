"""Review SLA escalation: ``escalate_reviews`` tells people once; the queue shows it on read."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from core.models import Cohort, Iteration, Notification, ProjectRelease, Review, User, Verdict
from core.reviews.escalation import escalate_reviews, escalated_to_mentors, sla_breaches
from core.reviews.services import review_due_times
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    StaffFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def peer_release(cohort: Cohort) -> ProjectRelease:
    """Two peer reviews per iteration, peers decide; peer SLA 48 h, mentor SLA 72 h."""
    project = ProjectFactory(
        title="Async Pipelines",
        slug="async-pipelines",
        peer_reviews_required=2,
        peer_reviews_owed=1,
        mentor_review_required=False,
    )
    for number in range(2):
        TaskFactory(project=project, number=number)
    return ProjectReleaseFactory(cohort=cohort, project=project)


def waiting(release: ProjectRelease, *, hours_ago: float, name: str = "Lee Learner") -> Iteration:
    learner = UserFactory(display_name=name)
    MembershipFactory(user=learner, cohort=release.cohort, role="learner")
    submitted = timezone.now() - timedelta(hours=hours_ago)
    return IterationFactory(
        attempt=AttemptFactory(learner=learner, release=release),
        number=1,
        submitted_at=submitted,
        **review_due_times(release.project, submitted),
    )


def peer_review(iteration: Iteration, *, passed: bool = True) -> Review:
    review = ReviewFactory(iteration=iteration, kind="peer", confidence=3)
    for task in iteration.attempt.release.project.tasks.all():
        Verdict.objects.create(review=review, task=task, passed=passed)
    return review


def escalations(user: User) -> list[Notification]:
    return list(Notification.objects.filter(user=user, dedupe_key__startswith="escalated:"))


# --- escalate_reviews ------------------------------------------------------------------


def test_it_tells_the_cohorts_mentors_once(
    peer_release: ProjectRelease, mentor: User, learner: User, reviewer: User
) -> None:
    late = waiting(peer_release, hours_ago=49, name="Eli Escalated")
    peer_review(late)
    other_mentor = UserFactory()
    MembershipFactory(user=other_mentor, cohort=CohortFactory(), role="mentor")

    assert escalate_reviews() == (1, 0)
    assert escalate_reviews() == (0, 0)  # run twice: told once

    [notice] = escalations(mentor)
    assert notice.dedupe_key == f"escalated:peer:{late.pk}:{mentor.pk}"
    assert notice.title == "Escalated: Eli Escalated's Async Pipelines needs a mentor"
    assert notice.body == (
        "Iteration 1 has 1 of 2 peer reviews after its 48-hour peer SLA; "
        "it is in your review queue."
    )
    assert notice.url == f"/review/{late.pk}/"
    assert escalations(other_mentor) == []  # another cohort's mentor
    assert escalations(learner) == [] and escalations(reviewer) == []


def test_it_leaves_alone_what_is_not_escalated(
    peer_release: ProjectRelease, release: ProjectRelease, mentor: User
) -> None:
    waiting(peer_release, hours_ago=47)  # within the peer SLA
    tied = waiting(peer_release, hours_ago=50)  # all peers in (a tie is not late)
    peer_review(tied, passed=True), peer_review(tied, passed=False)
    Iteration.objects.filter(pk=tied.pk).update(peer_tie=True)
    decided = waiting(peer_release, hours_ago=60)
    Iteration.objects.filter(pk=decided.pk).update(status="reviewed")
    waiting(release, hours_ago=60)  # mentor-only project: no peer SLA
    assert escalate_reviews() == (0, 0)
    assert escalations(mentor) == []


def test_it_tells_staff_once_about_a_mentor_sla_breach(
    release: ProjectRelease, mentor: User, staff: User
) -> None:
    late = waiting(release, hours_ago=73, name="Bea Breached")
    inactive = StaffFactory(is_active=False)
    assert escalate_reviews() == (0, 1)
    assert escalate_reviews() == (0, 0)
    [notice] = escalations(staff)
    assert notice.dedupe_key == f"escalated:mentor:{late.pk}:{staff.pk}"
    assert notice.title == "Mentor SLA breached: Bea Breached's Python Generators (Cohort 7)"
    assert notice.body == "Iteration 1 is still waiting past its 72-hour mentor SLA."
    assert notice.url == "/staff/sla/?cohort=cohort-7"
    assert escalations(mentor) == [] and escalations(inactive) == []


def test_a_new_mentor_hears_about_an_iteration_already_escalated(
    peer_release: ProjectRelease, mentor: User
) -> None:
    waiting(peer_release, hours_ago=50)
    assert escalate_reviews() == (1, 0)
    newcomer = UserFactory()
    MembershipFactory(user=newcomer, cohort=peer_release.cohort, role="mentor")
    assert escalate_reviews() == (1, 0)
    assert len(escalations(newcomer)) == 1 and len(escalations(mentor)) == 1


def test_it_escalates_exactly_at_the_due_time(peer_release: ProjectRelease, mentor: User) -> None:
    iteration = waiting(peer_release, hours_ago=0)
    with time_machine.travel(iteration.peer_due_at - timedelta(seconds=1), tick=False):
        assert escalate_reviews() == (0, 0)
        assert not escalated_to_mentors().exists()
    with time_machine.travel(iteration.peer_due_at, tick=False):
        assert list(escalated_to_mentors()) == [iteration]
        assert escalate_reviews() == (1, 0)
    with time_machine.travel(iteration.mentor_due_at - timedelta(seconds=1), tick=False):
        assert escalate_reviews() == (0, 0)
    with time_machine.travel(iteration.mentor_due_at, tick=False):
        assert list(sla_breaches()) == [iteration]
        StaffFactory()
        assert escalate_reviews() == (0, 1)


def test_the_command_says_what_it_sent(
    peer_release: ProjectRelease, release: ProjectRelease, mentor: User, staff: User
) -> None:
    waiting(peer_release, hours_ago=50)
    waiting(release, hours_ago=80)
    waiting(release, hours_ago=90)
    out = StringIO()
    call_command("escalate_reviews", stdout=out)
    assert out.getvalue() == (
        "Sent 1 peer-SLA escalation notice to mentors and 2 mentor-SLA breach notices to staff.\n"
    )
    out = StringIO()
    call_command("escalate_reviews", stdout=out)
    assert out.getvalue().startswith("Sent 0 peer-SLA escalation notices to mentors and 0 ")


@pytest.mark.parametrize("size", [1, 5])
def test_a_run_with_nothing_new_costs_the_same_whatever_the_backlog(
    size: int,
    peer_release: ProjectRelease,
    release: ProjectRelease,
    mentor: User,
    staff: User,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for index in range(size):
        waiting(peer_release, hours_ago=50 + index)
        waiting(release, hours_ago=80 + index)
    escalate_reviews()
    # 1 escalated iterations with learner, project and cohort, 2 their cohorts' mentors,
    # 3 dedupe keys already sent; 4 breached iterations, 5 staff, 6 dedupe keys.
    with django_assert_num_queries(6):
        assert escalate_reviews() == (0, 0)


# --- What the mentor queue shows ---------------------------------------------------------


def test_the_queue_marks_escalated_and_tied_iterations(
    mentor_client: Client, peer_release: ProjectRelease, release: ProjectRelease
) -> None:
    fresh = waiting(peer_release, hours_ago=10, name="Fay Fresh")
    late = waiting(peer_release, hours_ago=49, name="Eli Escalated")
    tied = waiting(peer_release, hours_ago=20, name="Tia Tied")
    peer_review(tied, passed=True), peer_review(tied, passed=False)
    Iteration.objects.filter(pk=tied.pk).update(peer_tie=True)
    # Tied long ago: its peers all reviewed it, so it is tied, not escalated.
    old_tie = waiting(peer_release, hours_ago=60, name="Ola Old-tie")
    peer_review(old_tie, passed=True), peer_review(old_tie, passed=False)
    Iteration.objects.filter(pk=old_tie.pk).update(peer_tie=True)
    waiting(release, hours_ago=5, name="Mo Mentor-only")

    response = mentor_client.get("/review/")
    rows = {row.learner_name: row for row in response.context["page_obj"]}
    # Peers decide this project: a fresh iteration is theirs, not the mentors'.
    assert set(rows) == {"Eli Escalated", "Tia Tied", "Ola Old-tie", "Mo Mentor-only"}
    assert rows["Eli Escalated"].escalated and not rows["Eli Escalated"].peer_tie
    assert rows["Tia Tied"].peer_tie and not rows["Tia Tied"].escalated
    assert rows["Ola Old-tie"].peer_tie and not rows["Ola Old-tie"].escalated
    body = response.content.decode()
    assert body.count("</i> Escalated</span>") == 1
    assert body.count("</i> Peers tied</span>") == 2
    assert fresh.pk not in [row.pk for row in rows.values()]
    assert late.pk == rows["Eli Escalated"].pk


def test_the_mentor_sees_the_peer_reviews_for_context(
    mentor_client: Client, peer_release: ProjectRelease
) -> None:
    tied = waiting(peer_release, hours_ago=20, name="Tia Tied")
    first = peer_review(tied, passed=True)
    Review.objects.filter(pk=first.pk).update(feedback="Clean **generators**.", confidence=5)
    second = peer_review(tied, passed=False)
    Review.objects.filter(pk=second.pk).update(decision="changes_requested")
    Verdict.objects.filter(review=second).update(comment="Breaks on an empty list.")
    Iteration.objects.filter(pk=tied.pk).update(peer_tie=True)

    body = mentor_client.get(f"/review/{tied.pk}/").content.decode()
    assert "Peer reviews" in body and "2 of 2" in body
    assert "the peers disagree, so your verdicts decide" in body
    assert first.reviewer.name in body and second.reviewer.name in body
    assert "confidence 5 of 5" in body and "confidence 3 of 5" in body
    assert "Breaks on an empty list." in body
    assert "<strong>generators</strong>" in body
    assert body.count('review-peer-decision review-peer-changes_requested">Changes requested') == 1


def test_a_mentor_only_review_page_shows_no_peer_section(
    mentor_client: Client, release: ProjectRelease
) -> None:
    iteration = waiting(release, hours_ago=2)
    assert "Peer reviews" not in mentor_client.get(f"/review/{iteration.pk}/").content.decode()

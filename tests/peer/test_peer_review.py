"""The peer review page /peer-review/<assignment>/: one assigned iteration and the verdict form.

The helpers at the top are shared with test_peer_dashboard.py and test_review_ratings.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from core.models import (
    Attachment,
    Attempt,
    Cohort,
    Iteration,
    Membership,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    Task,
    User,
    Verdict,
)
from core.reviews.forms import ReviewForm
from tests.conftest import client_for
from tests.factories import (
    IterationFactory,
    MembershipFactory,
    ReviewFactory,
    UserFactory,
    VerdictFactory,
)
from tests.platform.test_uploads import PDF_BYTES

# Shared helpers -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _peer_settings(settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # core.peer.services reads it; named in the settings (8 hours).
    settings.PEER_ASSIGNMENT_HOURS = 8


def peer_policy(
    project: Project, *, required: int = 2, owed: int = 0, mentor_required: bool = False
) -> Project:
    """Make ``project`` peer-reviewed: N reviews per iteration, M owed by each learner."""
    project.peer_reviews_required = required
    project.peer_reviews_owed = owed
    project.mentor_review_required = mentor_required
    project.save()
    return project


def submit(
    learner: User,
    release: ProjectRelease,
    *,
    hours_ago: float = 1,
    notes: str = "All tasks done.",
    status: str = Iteration.Status.WAITING,
) -> Iteration:
    """A new iteration of ``learner``'s attempt, submitted ``hours_ago``, with its SLA times."""
    attempt, _ = Attempt.objects.get_or_create(learner=learner, release=release)
    submitted_at = timezone.now() - timedelta(hours=hours_ago)
    project = release.project
    return IterationFactory(
        attempt=attempt,
        number=attempt.iterations.count() + 1,
        submitted_at=submitted_at,
        notes=notes,
        status=status,
        peer_due_at=submitted_at + timedelta(hours=project.peer_sla_hours),
        mentor_due_at=submitted_at + timedelta(hours=project.mentor_sla_hours),
    )


def classmate(cohort: Cohort, release: ProjectRelease, name: str, *, passed: bool = True) -> User:
    """A learner of the cohort; with ``passed``, their own attempt was approved (may review)."""
    user = UserFactory(display_name=name)
    MembershipFactory(user=user, cohort=cohort, role=Membership.Role.LEARNER)
    if passed:
        submit(user, release, hours_ago=100, status=Iteration.Status.REVIEWED)
        Attempt.objects.filter(learner=user, release=release).update(status=Attempt.Status.APPROVED)
    return user


def assign(iteration: Iteration, reviewer: User, *, hours_left: float = 8) -> PeerAssignment:
    now = timezone.now()
    return PeerAssignment.objects.create(
        iteration=iteration,
        project=iteration.attempt.release.project,
        reviewer=reviewer,
        assigned_at=now - timedelta(hours=1),
        expires_at=now + timedelta(hours=hours_left),
    )


def peer_review(
    iteration: Iteration,
    reviewer: User,
    *,
    passed: bool = True,
    comment: str = "",
    feedback: str = "Solid work.",
    decision: str = "approved",
    complete: bool = True,
) -> Review:
    """A submitted peer review with a verdict on every task (and its completed assignment)."""
    review = ReviewFactory(
        iteration=iteration,
        reviewer=reviewer,
        kind=Review.Kind.PEER,
        decision=decision,
        feedback=feedback,
        confidence=4,
    )
    for task in iteration.attempt.release.project.tasks.all():
        VerdictFactory(review=review, task=task, passed=passed, comment=comment)
    if complete:
        assignment = PeerAssignment.objects.filter(iteration=iteration, reviewer=reviewer).first()
        assignment = assignment or assign(iteration, reviewer)
        assignment.completed_at = review.submitted_at
        assignment.save()
    return review


def tasks_of(project: Project) -> list[Task]:
    return list(project.tasks.order_by("number"))


def verdict_data(
    project: Project, *results: str, action: str = "submit", **extra: str
) -> dict[str, str]:
    data: dict[str, str] = {"action": action, "feedback": "Clear code, one bug.", **extra}
    for task, result in zip(tasks_of(project), results, strict=False):
        data[f"task_{task.pk}_passed"] = result
        data[f"task_{task.pk}_comment"] = f"Peer comment on {task.number}"
    return data


# Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def peer_project(project: Project) -> Project:
    return peer_policy(project, required=2)


@pytest.fixture
def iteration(learner: User, release: ProjectRelease, peer_project: Project) -> Iteration:
    iteration = submit(learner, release, hours_ago=5, notes="I used **generators** everywhere.")
    iteration.tasks_claimed.set(peer_project.tasks.filter(number__in=[0, 1]))
    return iteration


@pytest.fixture
def assignment(iteration: Iteration, reviewer: User) -> PeerAssignment:
    return assign(iteration, reviewer)


@pytest.fixture
def bob(cohort: Cohort, release: ProjectRelease) -> User:
    return classmate(cohort, release, "Bob Peer")


def url(assignment: PeerAssignment) -> str:
    return f"/peer-review/{assignment.pk}/"


def form_part(body: str) -> str:
    return body.split('id="review-form"')[1].split("</form>")[0]


# Reading ------------------------------------------------------------------------------------


def test_it_shows_the_assigned_iteration(
    reviewer_client: Client, assignment: PeerAssignment, peer_project: Project
) -> None:
    attachment = Attachment.objects.create(
        iteration=assignment.iteration,
        file=ContentFile(PDF_BYTES, name="design.pdf"),
        original_name="design.pdf",
        content_type="application/pdf",
        size=len(PDF_BYTES),
    )
    response = reviewer_client.get(url(assignment))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Python Generators" in body
    assert "Alice Learner" in body  # peers are classmates: the name is fine
    assert 'href="https://github.com/alice/prodev-backend-python"' in body
    assert (
        'href="https://github.com/alice/prodev-backend-python/commit/'
        '0123456789abcdef0123456789abcdef01234567"'
    ) in body
    assert "<strong>generators</strong>" in body
    assert "2 of 3" in body  # tasks claimed done
    assert f'href="/attachments/{attachment.pk}/"' in body
    assert "This review is assigned to you" in body
    assert "data-countdown" in body
    for task in tasks_of(peer_project):
        assert f'name="task_{task.pk}_passed"' in body
    assert "How confident are you?" in body
    for value, word in [("1", "Not sure"), ("5", "Certain")]:
        assert f'name="confidence" value="{value}"' in body
        assert word in body
    assert 'name="decision" value="approved"' in body
    assert 'value="draft">Save draft</button>' in body
    assert 'value="submit" data-review-submit>Submit review</button>' in body
    assert "disabled" not in form_part(body)


def test_it_never_shows_other_iterations_or_the_score(
    reviewer_client: Client,
    reviewer: User,
    learner: User,
    release: ProjectRelease,
    peer_project: Project,
) -> None:
    first = submit(
        learner, release, hours_ago=50, notes="FIRST-ITERATION-NOTES", status="superseded"
    )
    peer_review(first, UserFactory(), feedback="OLD-ITERATION-FEEDBACK")
    Attempt.objects.filter(pk=first.attempt_id).update(score=Decimal("87.25"))
    second = submit(learner, release, hours_ago=2, notes="Second try.")
    body = reviewer_client.get(url(assign(second, reviewer))).content.decode()
    assert "Second try." in body
    assert "FIRST-ITERATION-NOTES" not in body
    assert "OLD-ITERATION-FEEDBACK" not in body
    assert "87.25" not in body
    assert f"/attempts/{first.attempt_id}/" not in body


def test_other_reviewers_verdicts_are_hidden_before_submitting(
    reviewer_client: Client, assignment: PeerAssignment, bob: User
) -> None:
    peer_review(
        assignment.iteration,
        bob,
        passed=False,
        comment="BOB-SECRET-VERDICT-COMMENT",
        feedback="BOB-SECRET-FEEDBACK",
        decision="changes_requested",
    )
    body = reviewer_client.get(url(assignment)).content.decode()
    assert "BOB-SECRET-VERDICT-COMMENT" not in body
    assert "BOB-SECRET-FEEDBACK" not in body
    assert "Bob Peer" not in body
    # Nor through the attempt page: peers never open it.
    attempt_url = f"/attempts/{assignment.iteration.attempt_id}/"
    assert reviewer_client.get(attempt_url).status_code == 404


def test_a_peer_who_reviewed_cannot_open_the_attempt_page(
    assignment: PeerAssignment, bob: User
) -> None:
    peer_review(assignment.iteration, bob)
    response = client_for(bob).get(f"/attempts/{assignment.iteration.attempt_id}/")
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["learner", "mentor", "outsider", "staff", "bob"])
def test_anyone_but_the_assigned_reviewer_gets_404(
    request: pytest.FixtureRequest, who: str, assignment: PeerAssignment
) -> None:
    user = request.getfixturevalue(who)
    if who == "bob":  # another peer, holding their own assignment on the same iteration
        assign(assignment.iteration, user)
    client = client_for(user)
    assert client.get(url(assignment)).status_code == 404
    assert client.post(url(assignment), {"action": "draft"}).status_code == 404


def test_an_unknown_assignment_is_404(reviewer_client: Client, db: None) -> None:
    assert reviewer_client.get("/peer-review/999999/").status_code == 404


def test_anonymous_users_are_sent_to_login(client: Client, assignment: PeerAssignment) -> None:
    response = client.get(url(assignment))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_405(
    reviewer_client: Client, assignment: PeerAssignment, method: str
) -> None:
    assert getattr(reviewer_client, method)(url(assignment)).status_code == 405


# Writing ------------------------------------------------------------------------------------


def test_a_draft_then_a_submit(
    reviewer_client: Client, assignment: PeerAssignment, peer_project: Project, reviewer: User
) -> None:
    draft = verdict_data(peer_project, "pass", action="draft", confidence="3")
    response = reviewer_client.post(url(assignment), draft, follow=True)
    assert response.redirect_chain == [(url(assignment), 302)]
    assert "Draft saved; only you can see it." in response.content.decode()
    review = Review.objects.get(iteration=assignment.iteration, reviewer=reviewer)
    assert review.is_draft
    assert review.kind == Review.Kind.PEER
    assert review.confidence == 3
    body = response.content.decode()
    assert 'name="confidence" value="3" class="btn-check" id="id_confidence_2" checked' in body

    data = verdict_data(peer_project, "pass", "pass", "fail", decision="approved", confidence="4")
    response = reviewer_client.post(url(assignment), data, follow=True)
    assert response.redirect_chain == [("/peer-review/", 302)]
    assert "Review submitted: approved. Thank you — Alice Learner can read it now." in (
        response.content.decode()
    )
    review.refresh_from_db()
    assert review.submitted_at is not None
    assert review.confidence == 4
    assert review.decision == "approved"
    verdicts = dict(Verdict.objects.filter(review=review).values_list("task__number", "passed"))
    assert verdicts == {0: True, 1: True, 2: False}
    assignment.refresh_from_db()
    assert assignment.completed_at == review.submitted_at

    # Afterwards the page is read-only and says so.
    body = reviewer_client.get(url(assignment)).content.decode()
    assert "You submitted this review" in body
    assert "Save draft" not in body
    assert "disabled" in form_part(body)


def test_confidence_is_required_to_submit(
    reviewer_client: Client, assignment: PeerAssignment, peer_project: Project
) -> None:
    data = verdict_data(peer_project, "pass", "pass", "pass", decision="approved")
    response = reviewer_client.post(url(assignment), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Say how confident you are in this review." in body
    assert 'id="confidence-error"' in body
    assert not Review.objects.filter(submitted_at__isnull=False).exists()


def test_every_verdict_and_a_decision_are_required_to_submit(
    reviewer_client: Client, assignment: PeerAssignment, peer_project: Project
) -> None:
    response = reviewer_client.post(url(assignment), verdict_data(peer_project, "pass"))
    body = response.content.decode()
    assert "Choose pass or fail before submitting." in body
    assert "Choose a decision: approved or changes requested." in body
    assert not Review.objects.exists()


def test_a_double_submit_records_one_review(
    reviewer_client: Client, assignment: PeerAssignment, peer_project: Project
) -> None:
    data = verdict_data(
        peer_project, "pass", "fail", "fail", decision="changes_requested", confidence="5"
    )
    first = reviewer_client.post(url(assignment), data)
    second = reviewer_client.post(url(assignment), data, follow=True)
    assert first.status_code == 302
    assert second.redirect_chain == [("/peer-review/", 302)]
    assert "You already submitted this review." in second.content.decode()
    assert Review.objects.filter(iteration=assignment.iteration).count() == 1
    assert Verdict.objects.count() == 3


def test_an_expired_assignment_is_read_only_and_refuses_a_submit(
    reviewer_client: Client, assignment: PeerAssignment, peer_project: Project
) -> None:
    PeerAssignment.objects.filter(pk=assignment.pk).update(
        expires_at=timezone.now() - timedelta(minutes=5)
    )
    body = reviewer_client.get(url(assignment)).content.decode()
    assert "This assignment expired" in body
    assert "went back to the pool for another reviewer" in body
    assert "Save draft" not in body
    assert "disabled" in form_part(body)

    data = verdict_data(peer_project, "pass", "pass", "pass", decision="approved", confidence="4")
    response = reviewer_client.post(url(assignment), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "This assignment expired" in body
    assert "Your review was not saved." in body
    assert "Submit review" not in body
    assert not Review.objects.exists()


def test_a_superseded_iteration_is_read_only(
    reviewer_client: Client, assignment: PeerAssignment
) -> None:
    Iteration.objects.filter(pk=assignment.iteration_id).update(status="superseded")
    PeerAssignment.objects.filter(pk=assignment.pk).update(released_at=timezone.now())
    body = reviewer_client.get(url(assignment)).content.decode()
    assert "has submitted a newer version since" in body
    assert "Save draft" not in body


def test_the_mentor_form_has_no_confidence_field(project: Project) -> None:
    form = ReviewForm(tasks=tasks_of(project))
    assert "confidence" not in form.fields
    assert form.with_confidence is False
    data = verdict_data(project, "pass", "pass", "pass", decision="approved")
    mentor_form = ReviewForm(data, tasks=tasks_of(project))
    assert mentor_form.is_valid(), mentor_form.errors


# Attachments --------------------------------------------------------------------------------


@pytest.fixture
def attachment(iteration: Iteration) -> Attachment:
    return Attachment.objects.create(
        iteration=iteration,
        file=ContentFile(PDF_BYTES, name="report.pdf"),
        original_name="report.pdf",
        content_type="application/pdf",
        size=len(PDF_BYTES),
    )


def test_the_assigned_peer_downloads_attachments(
    reviewer_client: Client, assignment: PeerAssignment, attachment: Attachment
) -> None:
    response = reviewer_client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_a_peer_who_completed_the_review_still_downloads_them(
    assignment: PeerAssignment, attachment: Attachment, reviewer: User
) -> None:
    peer_review(assignment.iteration, reviewer)
    assert client_for(reviewer).get(f"/attachments/{attachment.pk}/").status_code == 200


def test_a_peer_not_assigned_or_expired_gets_404(
    assignment: PeerAssignment, attachment: Attachment, bob: User, reviewer_client: Client
) -> None:
    assert client_for(bob).get(f"/attachments/{attachment.pk}/").status_code == 404
    PeerAssignment.objects.filter(pk=assignment.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert reviewer_client.get(f"/attachments/{attachment.pk}/").status_code == 404


# Query count --------------------------------------------------------------------------------


def _grow(assignment: PeerAssignment, size: int) -> None:
    """``size`` other peer reviews, earlier iterations and attachments around the assignment."""
    iteration = assignment.iteration
    attempt = iteration.attempt
    for number in range(size):
        Attachment.objects.create(
            iteration=iteration,
            file=f"attachments/{number}.pdf",
            original_name=f"notes-{number}.pdf",
            content_type="application/pdf",
            size=10,
        )
        peer_review(iteration, UserFactory(), complete=False)
        IterationFactory(attempt=attempt, number=100 + number, status="superseded")


@pytest.mark.parametrize("size", [1, 10])
def test_the_page_takes_a_fixed_number_of_queries(
    size: int,
    reviewer_client: Client,
    assignment: PeerAssignment,
    django_assert_num_queries: object,
) -> None:
    _grow(assignment, size)
    # (The session comes from the cache.) 1. user  2. the assignment (+ iteration,
    # attempt, learner, release, project, cohort)  3. tasks claimed  4. attachments
    # 5. own review (its verdicts are an 8th query once a draft exists)  6. the project's
    # tasks  7. the nav's roles
    with django_assert_num_queries(7):
        response = reviewer_client.get(url(assignment))
    assert response.status_code == 200
    assert response.content.decode().count('class="bi bi-paperclip"') == size

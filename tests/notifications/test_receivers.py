"""Domain events become notifications (and email, for the kinds users want by email).

Each event is driven through its service, with on-commit callbacks executed, as
in production: the service commits, the signal fires, the receiver notifies, and
the email task runs (immediate backend).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from core.cohorts import signals as cohort_signals
from core.models import (
    EmailPreference,
    Iteration,
    Notification,
    ProjectRelease,
    Review,
    User,
)
from core.reviews.services import (
    VerdictInput,
    claim_release,
    claim_take,
    comment_post,
    iteration_submit,
    review_save,
)
from tests.factories import (
    AttemptFactory,
    IterationFactory,
    MembershipFactory,
    ReviewFactory,
    UserFactory,
)

Capture = Callable[..., Any]


def notes_for(user: User) -> list[Notification]:
    return list(Notification.objects.filter(user=user))


@pytest.fixture
def submitted(
    learner: User, release: ProjectRelease, django_capture_on_commit_callbacks: Capture
) -> Iteration:
    """An iteration the learner submitted (its notifications already sent, then cleared)."""
    with django_capture_on_commit_callbacks(execute=True):
        iteration, _ = iteration_submit(
            learner=learner, release=release, repo_url="https://github.com/alice/generators"
        )
    Notification.objects.all().delete()
    return iteration


def decide(iteration: Iteration, reviewer: User, decision: str, capture: Capture) -> None:
    tasks = iteration.attempt.release.project.tasks.all()
    passed = decision == Review.Decision.APPROVED
    with capture(execute=True):
        claim_take(iteration=iteration, reviewer=reviewer)
    Notification.objects.all().delete()
    mail.outbox.clear()  # the claim's own message ("started reviewing")
    with capture(execute=True):
        review_save(
            iteration=iteration,
            reviewer=reviewer,
            verdicts={task.pk: VerdictInput(passed=passed or task.number != 1) for task in tasks},
            feedback="Thanks.",
            decision=decision,
            submit=True,
        )


def test_a_submission_tells_the_cohorts_mentors_in_app_only(
    learner: User,
    mentor: User,
    reviewer: User,
    outsider: User,
    release: ProjectRelease,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    other_mentor = UserFactory()
    MembershipFactory(user=other_mentor, role="mentor")  # of another cohort
    with django_capture_on_commit_callbacks(execute=True):
        iteration, _ = iteration_submit(
            learner=learner, release=release, repo_url="https://github.com/alice/generators"
        )
    (note,) = notes_for(mentor)
    assert note.kind == Notification.Kind.ITERATION_SUBMITTED
    assert note.title == "Alice Learner submitted Python Generators (iteration 1)"
    assert note.url == f"/review/{iteration.pk}/"
    for user in (learner, reviewer, outsider, other_mentor):
        assert notes_for(user) == []
    assert mailoutbox == []  # not emailed by default


def test_nothing_is_sent_before_the_commit(
    learner: User,
    mentor: User,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        iteration_submit(
            learner=learner, release=release, repo_url="https://github.com/alice/generators"
        )
    assert notes_for(mentor) == []
    assert callbacks  # the signal waits for the commit


def test_a_mentor_who_opted_in_gets_the_submission_by_email(
    learner: User,
    mentor: User,
    release: ProjectRelease,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    EmailPreference.objects.create(user=mentor, kind="iteration_submitted", enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        iteration, _ = iteration_submit(
            learner=learner, release=release, repo_url="https://github.com/alice/generators"
        )
    (email,) = mailoutbox
    assert email.to == [mentor.email]
    assert email.subject == "[ProDev Hub] Alice Learner submitted Python Generators (iteration 1)"
    assert f"/review/{iteration.pk}/" in email.body


def test_a_claim_tells_the_learner(
    learner: User,
    mentor: User,
    submitted: Iteration,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        claim_take(iteration=submitted, reviewer=mentor)
    (note,) = notes_for(learner)
    assert note.kind == Notification.Kind.CLAIM_TAKEN
    assert note.title == "Mia Mentor started reviewing Python Generators"
    assert note.url == f"/attempts/{submitted.attempt_id}/"
    assert notes_for(mentor) == []
    # By email too, like every other event of the learner's own work (issue #15).
    (email,) = mailoutbox
    assert email.to == [learner.email]
    assert email.subject == "[ProDev Hub] Mia Mentor started reviewing Python Generators"
    assert f"/attempts/{submitted.attempt_id}/" in email.body


def test_a_claim_follows_the_learners_email_preference(
    learner: User,
    mentor: User,
    submitted: Iteration,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    EmailPreference.objects.create(user=learner, kind="claim_taken", enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        claim_take(iteration=submitted, reviewer=mentor)
    assert [note.kind for note in notes_for(learner)] == [Notification.Kind.CLAIM_TAKEN]
    assert mailoutbox == []


def test_a_claim_taken_again_by_the_same_mentor_says_nothing_new(
    learner: User,
    mentor: User,
    submitted: Iteration,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        claim_take(iteration=submitted, reviewer=mentor)
        claim_release(iteration=submitted, reviewer=mentor)
        claim_take(iteration=submitted, reviewer=mentor)
    assert len(notes_for(learner)) == 1
    assert len(mailoutbox) == 1
    other = UserFactory(display_name="Max Mentor")
    MembershipFactory(user=other, cohort=submitted.attempt.release.cohort, role="mentor")
    with django_capture_on_commit_callbacks(execute=True):
        claim_release(iteration=submitted, reviewer=mentor)
        claim_take(iteration=submitted, reviewer=other)
    assert notes_for(learner)[0].title == "Max Mentor started reviewing Python Generators"
    assert len(mailoutbox) == 2


def test_an_approval_keeps_a_held_grade_out_of_the_message(
    learner: User,
    mentor: User,
    submitted: Iteration,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    project = submitted.attempt.release.project
    project.peer_reviews_owed = 2
    project.save()
    decide(submitted, mentor, Review.Decision.APPROVED, django_capture_on_commit_callbacks)
    (note,) = notes_for(learner)
    assert note.body == "Your grade is pending: 2 of 2 peer reviews owed."
    (email,) = mailoutbox
    assert "%" not in email.body


def test_an_approval_tells_the_learner_by_email_too(
    learner: User,
    mentor: User,
    submitted: Iteration,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    decide(submitted, mentor, Review.Decision.APPROVED, django_capture_on_commit_callbacks)
    (note,) = notes_for(learner)
    assert note.kind == Notification.Kind.REVIEW_DONE
    assert note.title == "Python Generators was approved"
    assert note.body == "Your score is now 200%."  # all passed on time: M + M × A = 2
    assert note.url == f"/attempts/{submitted.attempt_id}/"
    assert notes_for(mentor) == []
    (email,) = mailoutbox
    assert email.to == [learner.email]
    assert email.subject == "[ProDev Hub] Python Generators was approved"
    assert f"/attempts/{submitted.attempt_id}/" in email.body


def test_changes_requested_tells_the_learner(
    learner: User,
    mentor: User,
    submitted: Iteration,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    decide(submitted, mentor, Review.Decision.CHANGES_REQUESTED, django_capture_on_commit_callbacks)
    (note,) = notes_for(learner)
    assert note.kind == Notification.Kind.CHANGES_REQUESTED
    assert note.title == "Changes requested on Python Generators"
    (email,) = mailoutbox
    assert email.subject == "[ProDev Hub] Changes requested on Python Generators"


def test_a_learner_who_turned_email_off_still_sees_it_in_app(
    learner: User,
    mentor: User,
    submitted: Iteration,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    EmailPreference.objects.create(user=learner, kind="review_done", enabled=False)
    decide(submitted, mentor, Review.Decision.APPROVED, django_capture_on_commit_callbacks)
    assert [note.kind for note in notes_for(learner)] == [Notification.Kind.REVIEW_DONE]
    assert mailoutbox == []


def test_a_comment_tells_the_other_participants(
    learner: User,
    mentor: User,
    reviewer: User,
    outsider: User,
    release: ProjectRelease,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    attempt = AttemptFactory(learner=learner, release=release)
    ReviewFactory(iteration=IterationFactory(attempt=attempt), reviewer=mentor)
    with django_capture_on_commit_callbacks(execute=True):
        comment_post(attempt=attempt, author=reviewer, body="Which test fails for you?")
    Notification.objects.all().delete()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        comment = comment_post(attempt=attempt, author=learner, body="The **empty** input one.")
    notified = set(Notification.objects.values_list("user__email", flat=True))
    assert notified == {mentor.email, reviewer.email}  # not the author, not outsiders
    note = Notification.objects.get(user=mentor)
    assert note.kind == Notification.Kind.NEW_COMMENT
    assert note.title == "Alice Learner commented on Python Generators"
    assert note.body == "The empty input one."  # plain text: the Markdown is rendered away
    assert note.url == f"/attempts/{attempt.pk}/#comment-{comment.pk}"
    assert sorted(email.to[0] for email in mailoutbox) == sorted([mentor.email, reviewer.email])


def test_a_comment_notification_quotes_plain_text_cut_to_length(
    learner: User,
    mentor: User,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    attempt = AttemptFactory(learner=learner, release=release)
    body = "Is `a < b & c` right?\n\n<script>alert(1)</script>\n\n" + "word " * 200
    with django_capture_on_commit_callbacks(execute=True):
        comment_post(attempt=attempt, author=learner, body=body)
    note = Notification.objects.get(user=mentor)
    assert note.body.startswith("Is a < b & c right? word word")
    assert "script" not in note.body and "alert" not in note.body
    assert len(note.body) == 300
    assert note.body.endswith("…")


def test_a_reviewers_comment_tells_the_learner(
    learner: User,
    mentor: User,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    attempt = AttemptFactory(learner=learner, release=release)
    ReviewFactory(iteration=IterationFactory(attempt=attempt), reviewer=mentor)
    with django_capture_on_commit_callbacks(execute=True):
        comment_post(attempt=attempt, author=mentor, body="See task 1.")
    assert set(Notification.objects.values_list("user_id", flat=True)) == {learner.pk}


def test_a_release_tells_the_cohorts_learners(
    learner: User,
    mentor: User,
    release: ProjectRelease,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        cohort_signals.project_released.send(ProjectRelease, release=release)
    (note,) = notes_for(learner)
    assert note.kind == Notification.Kind.PROJECT_RELEASED
    assert note.url == "/projects/python-generators/"
    assert notes_for(mentor) == []
    assert [email.to for email in mailoutbox] == [[learner.email]]


def test_inactive_users_are_not_notified(
    learner: User,
    mentor: User,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    mentor.is_active = False
    mentor.save()
    with django_capture_on_commit_callbacks(execute=True):
        iteration_submit(
            learner=learner, release=release, repo_url="https://github.com/alice/generators"
        )
    assert not Notification.objects.exists()

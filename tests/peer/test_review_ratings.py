"""Peer reviews on the attempt page: rating, reporting, the grade hold and whose verdict counted."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from core.models import (
    Attempt,
    Cohort,
    Iteration,
    Project,
    ProjectRelease,
    Review,
    ReviewRating,
    ReviewReport,
    User,
)
from tests.conftest import client_for
from tests.factories import ReviewFactory, VerdictFactory
from tests.peer.test_peer_review import (
    _peer_settings,  # noqa: F401  (autouse: PEER_ASSIGNMENT_HOURS, MEDIA_ROOT)
    classmate,
    peer_policy,
    peer_review,
    submit,
)


@pytest.fixture
def peer_project(project: Project) -> Project:
    return peer_policy(project, required=2)


@pytest.fixture
def bob(cohort: Cohort, release: ProjectRelease, peer_project: Project) -> User:
    return classmate(cohort, release, "Bob Peer")


@pytest.fixture
def iteration(learner: User, release: ProjectRelease, peer_project: Project) -> Iteration:
    return submit(learner, release, hours_ago=5)


@pytest.fixture
def review(iteration: Iteration, bob: User) -> Review:
    return peer_review(iteration, bob, feedback="Watch the **edge cases**.")


def rate_url(review: Review) -> str:
    return f"/reviews/{review.pk}/rate/"


def report_url(review: Review) -> str:
    return f"/reviews/{review.pk}/report/"


def attempt_url(iteration: Iteration) -> str:
    return f"/attempts/{iteration.attempt_id}/"


# Rating -------------------------------------------------------------------------------------


def test_the_learner_rates_a_peer_review_and_can_change_it(
    learner_client: Client, review: Review, learner: User
) -> None:
    response = learner_client.post(rate_url(review), {"helpful": "yes"}, follow=True)
    assert response.redirect_chain == [(f"{attempt_url(review.iteration)}#review-{review.pk}", 302)]
    assert "Thanks: you rated Bob Peer’s review helpful." in response.content.decode()
    rating = ReviewRating.objects.get()
    assert (rating.review, rating.rated_by, rating.helpful) == (review, learner, True)

    learner_client.post(rate_url(review), {"helpful": "no"})
    rating = ReviewRating.objects.get()  # one row, updated
    assert rating.helpful is False


def test_rating_with_htmx_swaps_the_widget(learner_client: Client, review: Review) -> None:
    response = learner_client.post(
        rate_url(review), {"helpful": "yes"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith(f'<form class="peer-rating" id="peer-rating-{review.pk}"')
    assert 'value="yes" aria-pressed="true"' in body
    assert 'value="no" aria-pressed="false"' in body
    assert "Thanks for rating!" in body
    assert "HX-Request" in response["Vary"]


def test_a_rating_needs_a_valid_answer(learner_client: Client, review: Review) -> None:
    response = learner_client.post(
        rate_url(review), {"helpful": "maybe"}, headers={"HX-Request": "true"}
    )
    assert "Choose Helpful or Not helpful." in response.content.decode()
    assert not ReviewRating.objects.exists()


@pytest.mark.parametrize("who", ["mentor", "outsider", "staff", "bob", "reviewer"])
def test_only_the_reviewed_learner_may_rate(
    request: pytest.FixtureRequest, who: str, review: Review
) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.post(rate_url(review), {"helpful": "yes"}).status_code == 404
    assert not ReviewRating.objects.exists()


def test_mentor_reviews_and_drafts_are_not_rateable(
    learner_client: Client, iteration: Iteration, mentor: User, reviewer: User
) -> None:
    mentor_review = ReviewFactory(iteration=iteration, reviewer=mentor, kind=Review.Kind.MENTOR)
    draft = ReviewFactory(
        iteration=iteration, reviewer=reviewer, kind=Review.Kind.PEER, submitted_at=None
    )
    for target in (mentor_review, draft):
        assert learner_client.post(rate_url(target), {"helpful": "yes"}).status_code == 404
        assert learner_client.post(report_url(target), {"reason": "Rude"}).status_code == 404


def test_rate_and_report_answer_405_to_a_get_and_login_to_anonymous(
    learner_client: Client, client: Client, review: Review
) -> None:
    for target in (rate_url(review), report_url(review)):
        assert learner_client.get(target).status_code == 405
        response = client.post(target)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


# Reporting ----------------------------------------------------------------------------------


def test_the_learner_reports_a_review_once(
    learner_client: Client, review: Review, learner: User
) -> None:
    response = learner_client.post(report_url(review), {"reason": "Insulting tone."}, follow=True)
    assert response.redirect_chain == [(f"{attempt_url(review.iteration)}#review-{review.pk}", 302)]
    body = response.content.decode()
    assert "Thank you for reporting this review: staff will look at it." in body
    report = ReviewReport.objects.get()
    assert (report.review, report.reporter, report.reason) == (review, learner, "Insulting tone.")

    again = learner_client.post(report_url(review), {"reason": "Still rude."}, follow=True)
    assert "You have already reported this review" in again.content.decode()
    assert ReviewReport.objects.count() == 1
    # The page now says it was reported instead of offering the form.
    assert "You reported this review; staff will look at it." in again.content.decode()


def test_a_report_needs_a_reason(learner_client: Client, review: Review) -> None:
    response = learner_client.post(
        report_url(review), {"reason": "  "}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith(f'<div class="peer-report" id="peer-report-{review.pk}">')
    assert "Say what is wrong with this review." in body
    assert '<details class="peer-report-details" open>' in body
    assert not ReviewReport.objects.exists()
    response = learner_client.post(report_url(review), {"reason": ""}, follow=True)
    assert "Say what is wrong with this review." in response.content.decode()


def test_reporting_with_htmx_swaps_the_widget(learner_client: Client, review: Review) -> None:
    response = learner_client.post(
        report_url(review), {"reason": "Off-topic."}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "Thank you for reporting this review: staff will look at it." in body
    assert ReviewReport.objects.count() == 1


@pytest.mark.parametrize("who", ["mentor", "outsider", "staff", "bob"])
def test_only_the_reviewed_learner_may_report(
    request: pytest.FixtureRequest, who: str, review: Review
) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.post(report_url(review), {"reason": "Rude"}).status_code == 404
    assert not ReviewReport.objects.exists()


# The attempt page ---------------------------------------------------------------------------


def test_the_learner_sees_rate_and_report_on_peer_reviews_only(
    learner_client: Client, review: Review, iteration: Iteration, mentor: User
) -> None:
    mentor_review = ReviewFactory(iteration=iteration, reviewer=mentor, kind=Review.Kind.MENTOR)
    body = learner_client.get(attempt_url(iteration)).content.decode()
    assert "<strong>edge cases</strong>" in body
    assert f'hx-post="/reviews/{review.pk}/rate/"' in body
    assert f'action="/reviews/{review.pk}/report/"' in body
    assert "Was this review helpful?" in body
    assert "Report this review" in body
    assert "Reviewer’s confidence: 4 of 5" in body
    assert f"/reviews/{mentor_review.pk}/rate/" not in body
    assert body.count("Was this review helpful?") == 1


def test_a_mentor_sees_peer_reviews_without_the_learner_buttons(
    mentor_client: Client, review: Review
) -> None:
    body = mentor_client.get(attempt_url(review.iteration)).content.decode()
    assert "<strong>edge cases</strong>" in body
    assert "Was this review helpful?" not in body


def test_a_learner_with_reviews_owed_sees_a_pending_grade_instead_of_the_score(
    learner: User,
    release: ProjectRelease,
    bob: User,
    cohort: Cohort,
    peer_project: Project,
    mentor: User,
) -> None:
    peer_policy(peer_project, required=2, owed=2)
    iteration = submit(learner, release, hours_ago=30)
    carol = classmate(cohort, release, "Carol Peer")
    peer_review(iteration, bob)
    peer_review(iteration, carol)
    Attempt.objects.filter(pk=iteration.attempt_id).update(
        status="approved", score=Decimal("187.50"), scored_iteration=iteration
    )
    Iteration.objects.filter(pk=iteration.pk).update(status="reviewed")
    peer_review(submit(bob, release, hours_ago=3), learner)  # alice gave 1 of her 2

    body = client_for(learner).get(attempt_url(iteration)).content.decode()
    assert "Grade pending: 1 of 2 peer reviews owed" in body
    assert 'href="/peer-review/">Grade pending: 1 of 2 peer reviews owed</a>' in body
    assert "You have given 1: give 1 more and your score and its receipt appear here." in body
    assert "187.50" not in body
    assert "M + M × A" not in body

    mentor_body = client_for(mentor).get(attempt_url(iteration)).content.decode()
    assert "187.50" in mentor_body
    assert "Alice Learner’s grade is held: 1 of 2 peer reviews owed given so far." in mentor_body
    assert "Grade pending" not in mentor_body.split("</header>")[1].split("receipt-held")[0]


def test_the_grade_shows_once_the_reviews_owed_are_given(
    learner: User, release: ProjectRelease, bob: User, cohort: Cohort, peer_project: Project
) -> None:
    peer_policy(peer_project, required=2, owed=1)
    iteration = submit(learner, release, hours_ago=30)
    carol = classmate(cohort, release, "Carol Peer")
    peer_review(iteration, bob)
    peer_review(iteration, carol)
    Attempt.objects.filter(pk=iteration.attempt_id).update(
        status="approved", score=Decimal("100.00"), scored_iteration=iteration
    )
    Iteration.objects.filter(pk=iteration.pk).update(status="reviewed")
    peer_review(submit(bob, release, hours_ago=3), learner)

    body = client_for(learner).get(attempt_url(iteration)).content.decode()
    assert "Grade pending" not in body
    assert "Verdicts by the majority of 2 peer reviews" in body


def test_waiting_for_peers_shows_how_many_are_in(
    learner_client: Client, review: Review, iteration: Iteration
) -> None:
    body = learner_client.get(attempt_url(iteration)).content.decode()
    assert "Peer reviews: 1 of 2 in." in body
    assert "Escalated to a mentor" not in body


def test_past_the_peer_sla_it_shows_the_escalation(
    learner_client: Client, iteration: Iteration, peer_project: Project
) -> None:
    Iteration.objects.filter(pk=iteration.pk).update(
        peer_due_at=timezone.now() - timedelta(minutes=1)
    )
    body = learner_client.get(attempt_url(iteration)).content.decode()
    assert "Peer reviews: 0 of 2 in." in body
    assert "Escalated to a mentor: peers did not finish within 48 hours." in body


def test_a_mentor_override_says_whose_verdicts_counted(
    learner_client: Client, iteration: Iteration, review: Review, mentor: User
) -> None:
    mentor_review = ReviewFactory(iteration=iteration, reviewer=mentor, kind=Review.Kind.MENTOR)
    for task in iteration.attempt.release.project.tasks.all():
        VerdictFactory(review=mentor_review, task=task, passed=True)
    Iteration.objects.filter(pk=iteration.pk).update(status="reviewed")
    Attempt.objects.filter(pk=iteration.attempt_id).update(
        status="approved", score=Decimal("200.00"), scored_iteration=iteration
    )
    body = learner_client.get(attempt_url(iteration)).content.decode()
    assert "Verdicts by mentor Mia Mentor" in body
    assert (
        "A mentor’s verdicts override peers: these counted instead of the 1 peer review "
        "of this iteration." in body
    )

"""The reviewer dashboard /peer-review/ and its "Get next review" button (peer-review/next/)."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import (
    Cohort,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    ReviewRating,
    User,
)
from core.templatetags.prodev import datetime_attr
from tests.conftest import client_for
from tests.factories import (
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    TaskFactory,
    VerdictFactory,
)
from tests.peer.test_peer_review import (
    _peer_settings,  # noqa: F401  (autouse: PEER_ASSIGNMENT_HOURS, MEDIA_ROOT)
    assign,
    classmate,
    peer_policy,
    peer_review,
    submit,
)

URL = "/peer-review/"
NEXT = "/peer-review/next/"
NOTHING = "Nothing needs your review right now — check back later."


@pytest.fixture
def peer_project(project: Project) -> Project:
    return peer_policy(project, required=2, owed=2)


@pytest.fixture
def bob(cohort: Cohort, release: ProjectRelease, peer_project: Project) -> User:
    return classmate(cohort, release, "Bob Peer")


# The dashboard ------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_login(client: Client, db: None) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_someone_in_no_cohort_gets_a_helpful_empty_state(outsider_client: Client) -> None:
    response = outsider_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "You are not in a cohort yet" in body
    assert "Get next review" not in body
    assert 'href="/peer-review/"' not in body  # no nav item without a learner/reviewer role


def test_it_answers_405_to_a_post(reviewer_client: Client) -> None:
    assert reviewer_client.post(URL).status_code == 405


def test_a_reviewer_sees_the_button_and_an_empty_start(reviewer_client: Client) -> None:
    body = reviewer_client.get(URL).content.decode()
    assert "Get next review" in body
    assert f'hx-post="{NEXT}"' in body
    assert f'action="{NEXT}"' in body
    assert "No review in progress." in body
    assert "None yet." in body
    assert "Not enough data yet" in body
    assert "Reviews owed" not in body  # a reviewer owes nothing
    assert '<a class="nav-link active" href="/peer-review/" aria-current="page">' in body


def test_a_mentor_is_pointed_to_the_review_queue(mentor_client: Client) -> None:
    body = mentor_client.get(URL).content.decode()
    assert "Get next review" not in body
    assert 'href="/review/"' in body
    assert 'href="/peer-review/"' not in body  # mentors get no "Peer review" nav item


def test_a_learner_sees_the_reviews_owed_and_the_grade_hold(
    learner: User, release: ProjectRelease, bob: User, peer_project: Project
) -> None:
    submit(learner, release, hours_ago=30)
    peer_review(submit(bob, release, hours_ago=20), learner)  # alice gave one review
    body = client_for(learner).get(URL).content.decode()
    assert "Reviews owed" in body
    assert "1 of 2 given" in body
    assert '<progress class="peer-owed-progress" value="1" max="2"' in body
    assert "Your grade is held until you give 1 more review." in body
    assert "You can review this project once your own work on it is approved." in body
    assert "1 review in all." in body


def test_owed_reviews_are_done_once_given(
    learner: User, release: ProjectRelease, bob: User, cohort: Cohort, peer_project: Project
) -> None:
    peer_policy(peer_project, required=2, owed=1)
    submit(learner, release)
    peer_review(submit(bob, release), learner)
    body = client_for(learner).get(URL).content.decode()
    assert "1 of 1 given" in body
    assert "Done: your grade on this project is not held." in body


def test_it_lists_given_reviews_with_their_ratings_and_the_counts(
    reviewer: User, learner: User, release: ProjectRelease, bob: User, peer_project: Project
) -> None:
    helpful = peer_review(submit(learner, release, hours_ago=9), reviewer)
    unhelpful = peer_review(
        submit(bob, release, hours_ago=8), reviewer, decision="changes_requested"
    )
    ReviewRating.objects.create(review=helpful, rated_by=learner, helpful=True)
    ReviewRating.objects.create(review=unhelpful, rated_by=bob, helpful=False)
    body = client_for(reviewer).get(URL).content.decode()
    assert "2 reviews in all." in body
    assert "Rated helpful" in body
    assert "Rated not helpful" in body
    assert body.count('class="peer-given"') == 2
    assignment = PeerAssignment.objects.get(iteration=helpful.iteration, reviewer=reviewer)
    assert f'href="/peer-review/{assignment.pk}/"' in body
    stats = body.split('id="peer-ratings-title"')[1]
    assert '<span class="peer-stat-value">1</span> <span class="peer-stat-label">' in stats
    assert stats.count('<span class="peer-stat-value">1</span>') == 2


def test_it_shows_the_agreement_rate_with_mentors(
    reviewer: User, mentor: User, learner: User, release: ProjectRelease, peer_project: Project
) -> None:
    iteration = submit(learner, release)
    peer_review(iteration, reviewer, passed=True)  # passes all three tasks
    mentor_review = ReviewFactory(iteration=iteration, reviewer=mentor, kind=Review.Kind.MENTOR)
    for task in peer_project.tasks.order_by("number"):
        VerdictFactory(review=mentor_review, task=task, passed=task.number != 2)
    body = client_for(reviewer).get(URL).content.decode()
    assert "67%" in body
    assert "2 of your 3 task verdicts matched the mentor’s on the same work." in body
    assert "Not enough data yet" not in body


def test_open_assignments_show_their_time_left_and_a_continue_link(
    reviewer: User, learner: User, release: ProjectRelease, peer_project: Project
) -> None:
    assignment = assign(submit(learner, release), reviewer, hours_left=3)
    body = client_for(reviewer).get(URL).content.decode()
    assert "Python Generators" in body
    assert "Alice Learner’s work" in body
    assert (
        f'datetime="{datetime_attr(assignment.expires_at)}" data-countdown>2 hours 59 minutes left'
        in body
    )
    assert f'href="/peer-review/{assignment.pk}/">Continue' in body
    assert "No review in progress." not in body


def test_expired_assignments_are_not_listed(
    reviewer: User, learner: User, release: ProjectRelease, peer_project: Project
) -> None:
    assign(submit(learner, release), reviewer, hours_left=-1)
    body = client_for(reviewer).get(URL).content.decode()
    assert "No review in progress." in body


# Get next review ----------------------------------------------------------------------------


def test_next_gives_the_oldest_eligible_iteration_never_ones_own(
    learner: User, bob: User, release: ProjectRelease, cohort: Cohort, peer_project: Project
) -> None:
    carol = classmate(cohort, release, "Carol Peer")
    own = submit(bob, release, hours_ago=50)  # bob's own work is the oldest: never his
    oldest = submit(learner, release, hours_ago=40)
    submit(carol, release, hours_ago=10)
    response = client_for(bob).post(NEXT)
    assignment = PeerAssignment.objects.get(reviewer=bob)
    assert assignment.iteration == oldest
    assert response.status_code == 302
    assert response["Location"] == f"/peer-review/{assignment.pk}/"
    assert not PeerAssignment.objects.filter(iteration=own).exists()


def test_next_with_htmx_returns_the_refreshed_panel(
    reviewer: User, learner: User, release: ProjectRelease, peer_project: Project
) -> None:
    submit(learner, release, hours_ago=3)
    response = client_for(reviewer).post(NEXT, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<section class="card peer-card" id="peer-assignments"')
    assignment = PeerAssignment.objects.get(reviewer=reviewer)
    assert "Just assigned to you" in body
    assert f'href="/peer-review/{assignment.pk}/">Continue' in body
    assert "data-countdown>7 hours 59 minutes left" in body
    assert "HX-Request" in response["Vary"]


def test_next_respects_one_open_assignment_per_project(
    reviewer: User, learner: User, bob: User, release: ProjectRelease, peer_project: Project
) -> None:
    held = assign(submit(learner, release, hours_ago=30), reviewer)
    submit(bob, release, hours_ago=20)  # waiting, but rex already holds one on this project
    response = client_for(reviewer).post(NEXT, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert NOTHING in body
    assert f'href="/peer-review/{held.pk}/">Continue' in body
    assert PeerAssignment.objects.filter(reviewer=reviewer).count() == 1


def test_next_with_nothing_to_review(reviewer: User, peer_project: Project) -> None:
    client = client_for(reviewer)
    body = client.post(NEXT, headers={"HX-Request": "true"}).content.decode()
    assert NOTHING in body
    response = client.post(NEXT, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert NOTHING in response.content.decode()


def test_next_skips_learners_who_may_not_review_yet(
    learner: User, cohort: Cohort, release: ProjectRelease, peer_project: Project
) -> None:
    newcomer = classmate(cohort, release, "Nina New", passed=False)
    submit(learner, release)
    client_for(newcomer).post(NEXT)
    assert not PeerAssignment.objects.exists()


def test_next_answers_405_to_a_get_and_login_to_anonymous(
    reviewer_client: Client, client: Client
) -> None:
    assert reviewer_client.get(NEXT).status_code == 405
    response = client.post(NEXT)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# Query count --------------------------------------------------------------------------------


def _another_release(cohort: Cohort, slug: str) -> ProjectRelease:
    """Another released project of the cohort that asks each learner for one review."""
    project = peer_policy(ProjectFactory(slug=slug), required=2, owed=1)
    TaskFactory(project=project, number=0)
    return ProjectReleaseFactory(cohort=cohort, project=project)


def _grow(user: User, cohort: Cohort, release: ProjectRelease, mentor: User, size: int) -> None:
    """``size`` reviews given (rated, with a mentor to agree with), projects owed, open ones."""
    for number in range(size):
        author = classmate(cohort, release, f"Author {number}")
        iteration = submit(author, release, hours_ago=number + 5)
        review = peer_review(iteration, user, passed=number % 2 == 0)
        ReviewRating.objects.create(review=review, rated_by=author, helpful=number % 3 == 0)
        mentor_review = ReviewFactory(iteration=iteration, reviewer=mentor)
        for task in release.project.tasks.all():
            VerdictFactory(review=mentor_review, task=task, passed=True)
        extra = _another_release(cohort, f"extra-{number}")
        extra_author = classmate(cohort, extra, f"Extra author {number}")
        assign(submit(extra_author, extra), user)


@pytest.mark.parametrize("size", [1, 10])
def test_the_dashboard_takes_a_fixed_number_of_queries(
    size: int,
    learner: User,
    cohort: Cohort,
    release: ProjectRelease,
    mentor: User,
    peer_project: Project,
    django_assert_num_queries: object,
) -> None:
    _grow(learner, cohort, release, mentor, size)
    client = client_for(learner)
    # (The session comes from the cache.) 1. user  2. memberships (+ cohort; also the
    # nav's)  3. reviews given: count and helpful / not helpful  4. the latest given
    # (+ iteration, learner, project; their assignment and rating)  5. agreement with
    # mentors  6. projects owed (+ project, cohort; given, own attempt)  7. open
    # assignments (+ iteration, learner, project; draft saved?)
    with django_assert_num_queries(7):
        response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="peer-given"') == size
    assert body.count('<li class="peer-assignment') == size
    assert body.count('<li class="peer-owed') == size + 1

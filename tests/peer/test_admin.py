"""Admin of peer review: the project's review policy, assignments, ratings and reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import (
    Iteration,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    ReviewRating,
    ReviewReport,
    User,
)
from tests.factories import IterationFactory, ProjectFactory, ReviewFactory, UserFactory


def url(model: str, view: str, *args: object) -> str:
    return reverse(f"admin:core_{model}_{view}", args=args)


@pytest.fixture
def iteration(release: ProjectRelease, learner: User) -> Iteration:
    return IterationFactory(attempt__release=release, attempt__learner=learner, number=1)


@pytest.fixture
def peer_review(iteration: Iteration, reviewer: User) -> Review:
    return ReviewFactory(iteration=iteration, reviewer=reviewer, kind="peer", confidence=2)


def test_the_project_page_edits_the_review_policy(staff_client: Client, project: Project) -> None:
    body = staff_client.get(url("project", "change", project.pk)).content.decode()
    assert "Review policy" in body
    for name in (
        "peer_reviews_required",
        "peer_reviews_owed",
        "mentor_review_required",
        "submitters_may_review",
        "peer_sla_hours",
        "mentor_sla_hours",
    ):
        assert f'name="{name}"' in body


def test_projects_filter_by_peer_reviews(staff_client: Client, project: Project) -> None:
    ProjectFactory(title="Peer Reviewed", peer_reviews_required=2)
    some = staff_client.get(url("project", "changelist"), {"peer_reviews": "some"})
    assert [p.title for p in some.context["cl"].result_list] == ["Peer Reviewed"]
    none = staff_client.get(url("project", "changelist"), {"peer_reviews": "none"})
    assert [p.title for p in none.context["cl"].result_list] == ["Python Generators"]


def test_assignments_are_listed_by_state_and_can_be_released(
    staff_client: Client, iteration: Iteration, reviewer: User, project: Project
) -> None:
    now = timezone.now()
    live = PeerAssignment.objects.create(
        iteration=iteration, project=project, reviewer=reviewer, expires_at=now + timedelta(hours=1)
    )
    expired = PeerAssignment.objects.create(
        iteration=iteration,
        project=project,
        reviewer=UserFactory(),
        expires_at=now - timedelta(hours=1),
    )
    response = staff_client.get(url("peerassignment", "changelist"), {"state": "live"})
    assert list(response.context["cl"].result_list) == [live]
    response = staff_client.get(url("peerassignment", "changelist"), {"state": "expired"})
    assert list(response.context["cl"].result_list) == [expired]
    assert staff_client.get(url("peerassignment", "add")).status_code == 403
    response = staff_client.post(
        url("peerassignment", "changelist"),
        {"action": "release_assignments", "_selected_action": [live.pk]},
        follow=True,
    )
    assert "Released 1 assignment;" in response.content.decode()
    live.refresh_from_db()
    assert live.released_at is not None


def test_ratings_are_read_only(staff_client: Client, peer_review: Review, learner: User) -> None:
    rating = ReviewRating.objects.create(review=peer_review, rated_by=learner, helpful=True)
    assert staff_client.get(url("reviewrating", "changelist")).status_code == 200
    assert staff_client.get(url("reviewrating", "change", rating.pk)).status_code == 200
    assert staff_client.get(url("reviewrating", "add")).status_code == 403
    staff_client.post(url("reviewrating", "change", rating.pk), {"helpful": ""})
    rating.refresh_from_db()
    assert rating.helpful is True


def test_reports_are_resolved_from_the_list_or_by_writing_a_resolution(
    staff_client: Client, peer_review: Review, learner: User, staff: User
) -> None:
    first = ReviewReport.objects.create(review=peer_review, reporter=learner, reason="Rude.")
    other = ReviewFactory(iteration=peer_review.iteration, kind="peer")
    second = ReviewReport.objects.create(review=other, reporter=learner, reason="Unkind.")

    response = staff_client.get(url("reviewreport", "changelist"), {"status": "open"})
    assert response.context["cl"].result_count == 2
    body = staff_client.get(url("reviewreport", "change", first.pk)).content.decode()
    assert "Good work." in body  # the review's feedback, to judge the report
    assert "Rex Reviewer (rex@example.com)" in body

    staff_client.post(
        url("reviewreport", "changelist"),
        {"action": "mark_resolved", "_selected_action": [first.pk]},
    )
    first.refresh_from_db()
    assert first.resolved_at is not None and first.resolution == "Marked resolved by Sam Staff."

    staff_client.post(
        url("reviewreport", "change", second.pk), {"resolution": "Talked to the reviewer."}
    )
    second.refresh_from_db()
    assert second.resolved_at is not None
    assert second.resolution == "Talked to the reviewer."
    response = staff_client.get(url("reviewreport", "changelist"), {"status": "open"})
    assert response.context["cl"].result_count == 0
    assert staff_client.get(url("reviewreport", "add")).status_code == 403


@pytest.mark.parametrize("size", [1, 6])
def test_the_lists_cost_the_same_whatever_the_rows(
    size: int,
    staff_client: Client,
    release: ProjectRelease,
    learner: User,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    now = timezone.now()
    for _ in range(size):
        iteration = IterationFactory(attempt__release=release, number=1)
        peer = UserFactory()
        PeerAssignment.objects.create(
            iteration=iteration,
            project=release.project,
            reviewer=peer,
            expires_at=now + timedelta(hours=1),
        )
        review = ReviewFactory(iteration=iteration, reviewer=peer, kind="peer")
        ReviewRating.objects.create(review=review, rated_by=learner, helpful=True)
        ReviewReport.objects.create(review=review, reporter=learner, reason="Rude.")
    # user, filtered count, total count, the page of rows with their joins, the date
    # hierarchy's range and its days; and the module filter's choices (peer assignments
    # only). The session comes from the cache.
    for model, queries in (("peerassignment", 7), ("reviewrating", 6), ("reviewreport", 6)):
        with django_assert_num_queries(queries):
            assert staff_client.get(url(model, "changelist")).status_code == 200

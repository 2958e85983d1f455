"""Staff reviewers page: agreement with mentors (outliers first), volume, ratings, reports."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import (
    Cohort,
    Iteration,
    Project,
    ProjectRelease,
    Review,
    ReviewRating,
    ReviewReport,
    User,
    Verdict,
)
from tests.factories import (
    IterationFactory,
    MembershipFactory,
    ReviewFactory,
    UserFactory,
)

URL = "/staff/reviewers/"


def reviewed_by_both(
    release: ProjectRelease, mentor: User, peers: dict[User, list[bool]], mentor_says: list[bool]
) -> Iteration:
    """An iteration with a mentor review and peer reviews, one verdict per task each."""
    tasks = list(release.project.tasks.order_by("number"))
    iteration = IterationFactory(attempt__release=release, number=1, status="reviewed")
    for reviewer, says, kind in [(mentor, mentor_says, "mentor")] + [
        (peer, verdicts, "peer") for peer, verdicts in peers.items()
    ]:
        review = ReviewFactory(iteration=iteration, reviewer=reviewer, kind=kind)
        Verdict.objects.bulk_create(
            Verdict(review=review, task=task, passed=passed)
            for task, passed in zip(tasks, says, strict=True)
        )
    return iteration


def peer(cohort: Cohort, name: str, role: str = "learner") -> User:
    user = UserFactory(display_name=name)
    MembershipFactory(user=user, cohort=cohort, role=role)
    return user


def test_it_sends_anonymous_users_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "who", ["learner_client", "mentor_client", "reviewer_client", "outsider_client"]
)
def test_it_is_404_for_everyone_but_staff(who: str, request: pytest.FixtureRequest) -> None:
    # No `db` here, on purpose: asking for the database only by name (getfixturevalue)
    # makes pytest-django run this after the browser journeys, the order that
    # tests/e2e/test_session_teardown.py replays. So it cannot run alone (-k): there the
    # database is not set up yet when it first asks.
    assert request.getfixturevalue(who).get(URL).status_code == 404


def test_it_refuses_post(staff_client: Client) -> None:
    assert staff_client.post(URL).status_code == 405


@pytest.fixture
def cast(release: ProjectRelease, mentor: User, reviewer: User) -> dict[str, User]:
    """Three peers over three iterations of the fixture's 3-task project (mentor: P P F).

    Rex (reviewer role) agrees on 9 of 9 verdicts; Lou (a learner) on 3 of 9; Nia
    gave one review, so only 3 verdicts can be compared. Dee is a reviewer who has
    reviewed nothing yet.
    """
    cohort = release.cohort
    lou, nia = peer(cohort, "Lou Low"), peer(cohort, "Nia New")
    dee = peer(cohort, "Dee Idle", role="reviewer")
    mentor_says = [True, True, False]
    for index in range(3):
        peers = {reviewer: mentor_says, lou: [False, True, True]}
        if index == 0:
            peers[nia] = [True, False, False]
        reviewed_by_both(release, mentor, peers, mentor_says)
    return {"rex": reviewer, "lou": lou, "nia": nia, "dee": dee}


def test_it_lists_outliers_first_and_too_little_data_last(
    staff_client: Client, cast: dict[str, User]
) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 200
    rows = list(response.context["page_obj"])
    assert [row.user.name for row in rows] == ["Lou Low", "Rex Reviewer", "Nia New", "Dee Idle"]
    lou, rex, nia, dee = rows
    assert (lou.percent, lou.low, lou.volume) == (33, True, 3)
    assert (rex.percent, rex.low, rex.volume) == (100, False, 3)
    assert (nia.enough_data, nia.compared, nia.percent) == (False, 3, None)
    assert (dee.enough_data, dee.compared, dee.volume) == (False, 0, 0)
    body = response.content.decode()
    assert "3 of 9 verdicts match" in body
    assert "Outlier" in body
    assert body.count("Not enough data") == 2
    assert "3 verdicts compared (needs 5)" in body
    assert "1 below 70% agreement" in body
    assert "<script>" not in body and "style=" not in body  # strict CSP


def test_it_sorts_by_volume_on_request(staff_client: Client, cast: dict[str, User]) -> None:
    response = staff_client.get(URL, {"sort": "volume"})
    names = [row.user.name for row in response.context["page_obj"]]
    assert names == ["Lou Low", "Rex Reviewer", "Nia New", "Dee Idle"]  # 3, 3 (by name), 1, 0
    assert 'href="/staff/reviewers/?sort=volume" aria-current="true"' in response.content.decode()
    # Anything else is the default order.
    assert staff_client.get(URL, {"sort": "bogus"}).context["sort"] == "agreement"


def test_its_pages_keep_the_sort(
    staff_client: Client, cast: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.reporting.views import staff_reviews

    monkeypatch.setattr(staff_reviews, "REVIEWERS_PAGE_SIZE", 2)
    body = staff_client.get(URL, {"sort": "volume"}).content.decode()
    pager = body[body.index('aria-label="Reviewer pages"') :]
    assert 'href="?sort=volume&amp;page=2"' in pager
    assert "hx-get" not in pager  # plain links on this page
    second = staff_client.get(URL, {"sort": "volume", "page": 2})
    assert [row.user.name for row in second.context["page_obj"]] == ["Nia New", "Dee Idle"]
    assert 'href="?sort=volume&amp;page=1"' in second.content.decode()
    default = staff_client.get(URL).content.decode()
    assert 'href="?page=2"' in default[default.index('aria-label="Reviewer pages"') :]


def test_it_counts_ratings_and_open_reports(
    staff_client: Client, cast: dict[str, User], learner: User
) -> None:
    rex_reviews = list(Review.objects.filter(reviewer=cast["rex"]))
    ReviewRating.objects.create(review=rex_reviews[0], rated_by=learner, helpful=True)
    ReviewRating.objects.create(review=rex_reviews[1], rated_by=learner, helpful=True)
    ReviewRating.objects.create(review=rex_reviews[2], rated_by=learner, helpful=False)
    ReviewReport.objects.create(review=rex_reviews[0], reporter=learner, reason="Rude.")
    resolved = ReviewReport.objects.create(review=rex_reviews[1], reporter=learner, reason="Mean.")
    ReviewReport.objects.filter(pk=resolved.pk).update(resolved_at=resolved.created_at)
    response = staff_client.get(URL)
    rex = next(row for row in response.context["page_obj"] if row.user == cast["rex"])
    assert (rex.helpful, rex.not_helpful, rex.open_reports) == (2, 1, 1)
    body = response.content.decode()
    assert "2 helpful" in body and "1 not helpful" in body
    assert "/admin/core/reviewreport/?status=open&amp;q=rex%40example.com" in body


def test_drafts_and_mentor_reviews_do_not_count(
    staff_client: Client, release: ProjectRelease, mentor: User
) -> None:
    drafter = peer(release.cohort, "Drew Draft")
    iteration = IterationFactory(attempt__release=release, number=1)
    ReviewFactory(iteration=iteration, reviewer=drafter, kind="peer", submitted_at=None)
    rows = list(staff_client.get(URL).context["page_obj"])
    assert [row.user for row in rows] == []  # a learner with only a draft is no reviewer yet
    assert mentor not in [row.user for row in rows]


def test_it_says_what_to_do_when_there_are_no_reviewers(staff_client: Client) -> None:
    body = staff_client.get(URL).content.decode()
    assert "No peer reviewers yet" in body
    assert "review policy" in body


def _data(release: ProjectRelease, mentor: User, learner: User, n: int) -> None:
    cohort = release.cohort
    for index in range(n):
        a, b = peer(cohort, f"Peer A{index}"), peer(cohort, f"Peer B{index}", role="reviewer")
        iteration = reviewed_by_both(
            release, mentor, {a: [True, True, True], b: [True, False, False]}, [True, True, False]
        )
        for review in iteration.reviews.filter(kind="peer"):
            ReviewRating.objects.create(review=review, rated_by=learner, helpful=index % 2 == 0)
            ReviewReport.objects.create(review=review, reporter=learner, reason="Unkind.")


@pytest.mark.parametrize("size", [1, 10])
def test_its_query_count_does_not_grow_with_the_data(
    size: int,
    staff_client: Client,
    release: ProjectRelease,
    mentor: User,
    learner: User,
    project: Project,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _data(release, mentor, learner, size)
    # (The session comes from the cache.) 1 user, 2 reviewers with their volume,
    # ratings and open reports, 3 their memberships with cohorts, 4 agreement with
    # mentors. (The nav asks for no memberships of staff.)
    with django_assert_num_queries(4):
        response = staff_client.get(URL)
    assert response.status_code == 200
    assert response.context["reviewer_count"] == 2 * size

"""Claims from the queue and the review page: take, extend, release, claim next."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from core.models import Cohort, Iteration, ProjectRelease, ReviewClaim, User
from core.reviews.services import claim_take
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectReleaseFactory,
    UserFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def submit(release: ProjectRelease, *, hours_ago: float = 1, name: str = "") -> Iteration:
    learner = UserFactory(display_name=name)
    MembershipFactory(user=learner, cohort=release.cohort, role="learner")
    return IterationFactory(
        attempt=AttemptFactory(learner=learner, release=release),
        number=1,
        submitted_at=timezone.now() - timedelta(hours=hours_ago),
    )


def other_mentor(cohort: Cohort, name: str = "Sam Second") -> User:
    user = UserFactory(display_name=name)
    MembershipFactory(user=user, cohort=cohort, role="mentor")
    return user


def live_claims(iteration: Iteration) -> list[ReviewClaim]:
    return list(ReviewClaim.objects.filter(iteration=iteration).live())


@pytest.fixture
def iteration(release: ProjectRelease) -> Iteration:
    return submit(release, name="Alma Waiting")


# Claim


def test_it_claims_and_opens_the_review_page(
    mentor: User, mentor_client: Client, iteration: Iteration
) -> None:
    response = mentor_client.post(f"/review/{iteration.pk}/claim/")
    assert response.status_code == 302
    assert response["Location"] == f"/review/{iteration.pk}/"
    [claim] = live_claims(iteration)
    assert claim.reviewer == mentor
    assert claim.minutes_left() == settings.CLAIM_MINUTES - 1


def test_an_htmx_claim_redirects_the_browser(mentor_client: Client, iteration: Iteration) -> None:
    response = mentor_client.post(f"/review/{iteration.pk}/claim/", **HTMX)
    assert response["HX-Redirect"] == f"/review/{iteration.pk}/"


def test_the_queue_shows_who_holds_a_claim(
    mentor_client: Client, cohort: Cohort, iteration: Iteration
) -> None:
    claim_take(iteration=iteration, reviewer=other_mentor(cohort, "Sam"))
    body = mentor_client.get("/review/").content.decode()
    assert "being reviewed by Sam, 29 min left" in body
    assert f'action="/review/{iteration.pk}/claim/"' not in body


def test_the_queue_shows_my_claims_with_extend_and_release(
    mentor: User, mentor_client: Client, iteration: Iteration
) -> None:
    claim_take(iteration=iteration, reviewer=mentor)
    body = mentor_client.get("/review/").content.decode()
    assert "Continue review" in body
    assert "Yours · 29 min left" in body
    assert f'action="/review/{iteration.pk}/extend/"' in body
    assert f'action="/review/{iteration.pk}/release/"' in body
    assert "your claims: 1 of 4" in body


def test_a_claim_held_by_another_mentor_is_refused_with_their_name(
    mentor: User, mentor_client: Client, cohort: Cohort, iteration: Iteration
) -> None:
    claim_take(iteration=iteration, reviewer=other_mentor(cohort, "Sam"))
    response = mentor_client.post(
        f"/review/{iteration.pk}/claim/", {"cohort": "cohort-7", "page": "1"}, follow=True
    )
    assert response.redirect_chain == [("/review/?cohort=cohort-7&page=1", 302)]
    assert "Already being reviewed by Sam (29 min left)." in response.content.decode()
    [claim] = live_claims(iteration)
    assert claim.reviewer.name == "Sam"


def test_an_htmx_refusal_returns_the_table_with_the_message(
    mentor_client: Client, cohort: Cohort, iteration: Iteration
) -> None:
    claim_take(iteration=iteration, reviewer=other_mentor(cohort, "Sam"))
    response = mentor_client.post(f"/review/{iteration.pk}/claim/", {"cohort": "cohort-7"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="queue-table"')
    assert "Already being reviewed by Sam" in body
    assert "being reviewed by Sam, 29 min left" in body
    # Shown once, inline; not left over for the next page.
    assert "Already being reviewed" not in mentor_client.get("/review/").content.decode()


def test_a_claim_expires_and_another_mentor_can_take_it(
    mentor: User, mentor_client: Client, cohort: Cohort, iteration: Iteration
) -> None:
    sam = other_mentor(cohort, "Sam")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        claim_take(iteration=iteration, reviewer=sam)
        clock.shift(timedelta(minutes=settings.CLAIM_MINUTES - 1))
        assert mentor_client.post(f"/review/{iteration.pk}/claim/").status_code == 302
        assert live_claims(iteration)[0].reviewer == sam

        clock.shift(timedelta(minutes=2))
        assert "being reviewed by Sam," not in mentor_client.get("/review/").content.decode()
        response = mentor_client.post(f"/review/{iteration.pk}/claim/")
        assert response["Location"] == f"/review/{iteration.pk}/"
        [claim] = live_claims(iteration)
        assert claim.reviewer == mentor
    assert ReviewClaim.objects.filter(iteration=iteration).count() == 2


def test_a_mentor_holds_at_most_max_claims(
    mentor: User, mentor_client: Client, release: ProjectRelease
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        held = [submit(release, hours_ago=5 + index) for index in range(settings.MAX_CLAIMS)]
        for iteration in held:
            assert mentor_client.post(f"/review/{iteration.pk}/claim/").status_code == 302
        one_more = submit(release)
        response = mentor_client.post(f"/review/{one_more.pk}/claim/", follow=True)
        body = response.content.decode()
        assert (
            f"You already hold {settings.MAX_CLAIMS} claims "
            f"(the limit is {settings.MAX_CLAIMS}). Finish or release one first."
        ) in body
        assert not live_claims(one_more)
        # The cap frees up as claims expire.
        clock.shift(timedelta(minutes=settings.CLAIM_MINUTES + 1))
        assert mentor_client.post(f"/review/{one_more.pk}/claim/").status_code == 302
        assert live_claims(one_more)[0].reviewer == mentor


def test_claiming_own_claim_again_keeps_it(
    mentor: User, mentor_client: Client, iteration: Iteration
) -> None:
    mentor_client.post(f"/review/{iteration.pk}/claim/")
    response = mentor_client.post(f"/review/{iteration.pk}/claim/")
    assert response["Location"] == f"/review/{iteration.pk}/"
    assert len(live_claims(iteration)) == 1


def test_work_that_no_longer_waits_cannot_be_claimed(
    mentor_client: Client, iteration: Iteration
) -> None:
    Iteration.objects.filter(pk=iteration.pk).update(status=Iteration.Status.SUPERSEDED)
    response = mentor_client.post(f"/review/{iteration.pk}/claim/", follow=True)
    assert "This iteration no longer needs a review." in response.content.decode()
    assert not live_claims(iteration)


def test_a_refused_claim_from_the_review_page_goes_back_there(
    mentor_client: Client, cohort: Cohort, iteration: Iteration
) -> None:
    claim_take(iteration=iteration, reviewer=other_mentor(cohort, "Sam"))
    here = f"/review/{iteration.pk}/"
    response = mentor_client.post(f"{here}claim/", {"next": here})
    assert response["Location"] == here


def test_an_unsafe_next_falls_back_to_the_queue(
    mentor_client: Client, cohort: Cohort, iteration: Iteration
) -> None:
    claim_take(iteration=iteration, reviewer=other_mentor(cohort, "Sam"))
    response = mentor_client.post(
        f"/review/{iteration.pk}/claim/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/review/"


# Extend and release


def test_it_extends_a_claim(mentor: User, mentor_client: Client, iteration: Iteration) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        claim_take(iteration=iteration, reviewer=mentor)
        clock.shift(timedelta(minutes=20))
        response = mentor_client.post(f"/review/{iteration.pk}/extend/", follow=True)
        assert response.redirect_chain == [("/review/", 302)]
        assert "for 30 more minutes" in response.content.decode()
        [claim] = live_claims(iteration)
        assert claim.expires_at == timezone.now() + timedelta(minutes=settings.CLAIM_MINUTES)


def test_an_htmx_extend_returns_the_table(
    mentor: User, mentor_client: Client, iteration: Iteration
) -> None:
    claim_take(iteration=iteration, reviewer=mentor)
    response = mentor_client.post(f"/review/{iteration.pk}/extend/", **HTMX)
    body = response.content.decode()
    assert "<html" not in body
    assert "Claim extended" in body


def test_it_releases_a_claim(mentor: User, mentor_client: Client, iteration: Iteration) -> None:
    claim_take(iteration=iteration, reviewer=mentor)
    response = mentor_client.post(f"/review/{iteration.pk}/release/", follow=True)
    assert "is back in the queue" in response.content.decode()
    assert not live_claims(iteration)
    assert f'action="/review/{iteration.pk}/claim/"' in response.content.decode()


def test_extend_and_release_need_a_claim(
    mentor_client: Client, cohort: Cohort, iteration: Iteration
) -> None:
    sam = other_mentor(cohort, "Sam")
    claim_take(iteration=iteration, reviewer=sam)
    for action in ("extend", "release"):
        response = mentor_client.post(f"/review/{iteration.pk}/{action}/", follow=True)
        assert "You do not hold a claim on this iteration" in response.content.decode()
    [claim] = live_claims(iteration)
    assert claim.reviewer == sam


def test_the_review_page_extends_and_comes_back(
    mentor: User, mentor_client: Client, iteration: Iteration
) -> None:
    claim_take(iteration=iteration, reviewer=mentor)
    here = f"/review/{iteration.pk}/"
    response = mentor_client.post(f"{here}extend/", {"next": here})
    assert response["Location"] == here


# Claim next


def test_claim_next_takes_the_oldest_free_iteration(
    mentor: User, mentor_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    oldest = submit(release, hours_ago=9)
    older = submit(release, hours_ago=5)
    submit(release, hours_ago=1)
    claim_take(iteration=oldest, reviewer=other_mentor(cohort))
    response = mentor_client.post("/review/claim-next/")
    assert response["Location"] == f"/review/{older.pk}/"
    assert live_claims(older)[0].reviewer == mentor


def test_claim_next_follows_the_filters(
    mentor: User, mentor_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    other = ProjectReleaseFactory(cohort=cohort)
    submit(release, hours_ago=9)
    wanted = submit(other, hours_ago=1)
    response = mentor_client.post("/review/claim-next/", {"project": other.project.slug})
    assert response["Location"] == f"/review/{wanted.pk}/"


def test_claim_next_says_when_nothing_is_free(
    mentor_client: Client, cohort: Cohort, iteration: Iteration
) -> None:
    claim_take(iteration=iteration, reviewer=other_mentor(cohort))
    response = mentor_client.post("/review/claim-next/", {"cohort": "cohort-7"}, follow=True)
    assert response.redirect_chain == [("/review/?cohort=cohort-7", 302)]
    assert "Nothing to claim" in response.content.decode()


def test_claim_next_respects_the_cap(
    mentor: User, mentor_client: Client, release: ProjectRelease
) -> None:
    for index in range(settings.MAX_CLAIMS):
        claim_take(iteration=submit(release, hours_ago=index + 2), reviewer=mentor)
    submit(release)
    response = mentor_client.post("/review/claim-next/", follow=True)
    assert "Finish or release one first." in response.content.decode()


def test_claim_next_is_for_mentors_only(learner_client: Client, iteration: Iteration) -> None:
    assert learner_client.post("/review/claim-next/").status_code == 404


# Who may claim


@pytest.mark.parametrize("action", ["claim", "extend", "release"])
def test_a_mentor_of_another_cohort_gets_404(iteration: Iteration, db: None, action: str) -> None:
    stranger = UserFactory()
    MembershipFactory(user=stranger, cohort=CohortFactory(slug="cohort-9"), role="mentor")
    response = client_for(stranger).post(f"/review/{iteration.pk}/{action}/")
    assert response.status_code == 404
    assert not live_claims(iteration)


@pytest.mark.parametrize("who", ["learner", "reviewer", "outsider"])
def test_everyone_else_gets_404(
    request: pytest.FixtureRequest, iteration: Iteration, who: str
) -> None:
    client: Client = request.getfixturevalue(f"{who}_client")
    assert client.post(f"/review/{iteration.pk}/claim/").status_code == 404


def test_a_mentor_cannot_claim_their_own_work(
    mentor: User, mentor_client: Client, cohort: Cohort
) -> None:
    own = IterationFactory(
        attempt=AttemptFactory(learner=mentor, release=ProjectReleaseFactory(cohort=cohort)),
        number=1,
    )
    assert mentor_client.post(f"/review/{own.pk}/claim/").status_code == 404


def test_staff_may_claim(staff_client: Client, iteration: Iteration) -> None:
    assert staff_client.post(f"/review/{iteration.pk}/claim/").status_code == 302


@pytest.mark.parametrize("action", ["claim", "extend", "release"])
def test_they_refuse_get(mentor_client: Client, iteration: Iteration, action: str) -> None:
    assert mentor_client.get(f"/review/{iteration.pk}/{action}/").status_code == 405


def test_claim_next_refuses_get(mentor_client: Client) -> None:
    assert mentor_client.get("/review/claim-next/").status_code == 405


def test_anonymous_users_are_sent_to_sign_in(client: Client, iteration: Iteration) -> None:
    url = f"/review/{iteration.pk}/claim/"
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"

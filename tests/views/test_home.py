"""The signed-in home page: a card per cohort membership, and a staff panel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.models import Cohort, ProjectRelease, User
from tests.conftest import client_for
from tests.factories import (
    CohortFactory,
    ExtensionFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
)


def test_it_shows_learners_their_open_projects(
    learner_client: Client, release: ProjectRelease
) -> None:
    response = learner_client.get("/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Cohort 7" in body
    assert "ProDev Backend Engineering" in body
    assert "role-badge-learner" in body
    assert 'href="/projects/python-generators/?cohort=cohort-7"' in body
    assert 'href="/curriculum/?cohort=cohort-7"' in body
    assert "First deadline" in body
    assert "data-countdown" in body
    assert f'datetime="{release.first_deadline.isoformat()}"' in body
    assert "/cohorts/cohort-7/schedule/" not in body
    assert "You are not in a cohort yet" not in body


def test_it_applies_the_learners_extension(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    extension = ExtensionFactory(release=release, learner=learner)
    body = learner_client.get("/dashboard/").content.decode()
    assert f'datetime="{extension.first_deadline.isoformat()}"' in body
    assert "Extended for you" in body


def test_it_keeps_a_project_open_while_an_extension_runs(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    now = timezone.now()
    release.opens_at = now - timedelta(days=20)
    release.first_deadline = now - timedelta(days=10)
    release.second_deadline = now - timedelta(days=1)
    release.save()
    ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=now + timedelta(days=1),
        second_deadline=now + timedelta(days=2),
    )
    body = learner_client.get("/dashboard/").content.decode()
    assert "Python Generators" in body
    assert "Extended for you" in body


def test_it_leaves_out_projects_not_open_now(
    learner_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    now = timezone.now()
    ProjectReleaseFactory(
        cohort=cohort, project=ProjectFactory(title="Not Yet"), opens_at=now + timedelta(days=3)
    )
    ProjectReleaseFactory(
        cohort=cohort, project=ProjectFactory(title="Long Gone"), opens_at=now - timedelta(days=60)
    )
    body = learner_client.get("/dashboard/").content.decode()
    assert "Python Generators" in body
    assert "Not Yet" not in body
    assert "Long Gone" not in body


def test_it_tells_learners_when_nothing_is_open(
    learner_client: Client, release: ProjectRelease
) -> None:
    release.opens_at = timezone.now() + timedelta(days=1)
    release.first_deadline = release.opens_at + timedelta(days=5)
    release.second_deadline = release.first_deadline + timedelta(days=5)
    release.save()
    body = learner_client.get("/dashboard/").content.decode()
    assert "No project is open right now." in body
    assert "Python Generators" not in body


def test_it_links_mentors_to_the_cohort_schedule(
    mentor_client: Client, release: ProjectRelease
) -> None:
    body = mentor_client.get("/dashboard/").content.decode()
    assert "role-badge-mentor" in body
    assert 'href="/cohorts/cohort-7/schedule/"' in body
    assert "Python Generators" in body
    assert "data-countdown" not in body  # the countdown is the learner's race


def test_it_shows_reviewers_their_cohort_and_the_curriculum(
    reviewer_client: Client, release: ProjectRelease
) -> None:
    body = reviewer_client.get("/dashboard/").content.decode()
    assert "role-badge-reviewer" in body
    assert "Cohort 7" in body
    assert 'href="/curriculum/?cohort=cohort-7"' in body
    assert "/cohorts/cohort-7/schedule/" not in body
    assert "soon" not in body.lower()


def test_it_shows_a_card_per_membership(learner: User) -> None:
    other = CohortFactory(name="Cohort 8", slug="cohort-8")
    MembershipFactory(user=learner, cohort=other, role="mentor")
    body = client_for(learner).get("/dashboard/").content.decode()
    assert body.count("membership-card") == 2
    assert 'href="/cohorts/cohort-8/schedule/"' in body
    assert 'href="/cohorts/cohort-7/schedule/"' not in body


def test_it_shows_staff_the_admin_and_every_cohort_schedule(
    staff_client: Client, cohort: Cohort
) -> None:
    CohortFactory(name="Cohort 8", slug="cohort-8")
    body = staff_client.get("/dashboard/").content.decode()
    assert 'href="/admin/"' in body
    assert 'href="/cohorts/cohort-7/schedule/"' in body
    assert 'href="/cohorts/cohort-8/schedule/"' in body
    assert "You are not in a cohort yet" not in body


def test_it_keeps_the_empty_state_for_users_without_a_cohort(outsider_client: Client) -> None:
    body = outsider_client.get("/dashboard/").content.decode()
    assert "You are not in a cohort yet" in body
    assert "membership-card" not in body


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/dashboard/"


def test_it_refuses_post(learner_client: Client) -> None:
    assert learner_client.post("/dashboard/").status_code == 405


@pytest.mark.parametrize("size", [1, 6])
def test_it_uses_a_constant_number_of_queries(
    learner: User,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for index in range(size):
        other = CohortFactory(slug=f"extra-{index}")
        MembershipFactory(user=learner, cohort=other, role="learner" if index % 2 else "mentor")
        for target in (cohort, other):
            extended = ProjectReleaseFactory(cohort=target)
            ExtensionFactory(release=extended, learner=learner)
    client = client_for(learner)
    # 1. session  2. user  3. memberships with cohort and program
    # 4. open releases with project and module  5. the user's extensions on them
    # 6. the user's memberships (nav)
    with django_assert_num_queries(6):
        response = client.get("/dashboard/")
    assert response.content.decode().count('open-project"') == 1 + 2 * size


@pytest.mark.parametrize("size", [1, 6])
def test_it_uses_a_constant_number_of_queries_for_staff(
    staff: User,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for index in range(size):
        ProjectReleaseFactory(cohort=CohortFactory(slug=f"extra-{index}"))
    client = client_for(staff)
    # 1. session  2. user  3. memberships (none)  4. cohorts with their program
    with django_assert_num_queries(4):
        response = client.get("/dashboard/")
    assert response.content.decode().count("/schedule/") == size

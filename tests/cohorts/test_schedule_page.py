"""A cohort's schedule: for its mentors and for staff, nobody else."""

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
    ModuleFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    UserFactory,
)

URL = "/cohorts/cohort-7/schedule/"


def test_it_shows_mentors_the_schedule(mentor_client: Client, release: ProjectRelease) -> None:
    response = mentor_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Cohort 7 schedule" in body
    assert 'href="/projects/python-generators/?cohort=cohort-7"' in body
    assert release.project.module.title in body
    assert "Africa/Nairobi" in body
    assert "100% · 65% · 50%" in body
    assert "state-current" in body
    assert "/admin/" not in body  # mentors do not get admin links


def test_it_shows_dates_in_the_cohorts_time_zone(
    mentor_client: Client, release: ProjectRelease
) -> None:
    release.first_deadline = release.first_deadline.replace(hour=20, minute=59, second=0)
    release.save()
    body = mentor_client.get(URL).content.decode()
    # 20:59 UTC is 23:59 in Nairobi (UTC+3, no daylight saving time).
    assert "23:59" in body


def test_it_lists_releases_in_calendar_order_with_their_state(
    mentor_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    now = timezone.now()
    ProjectReleaseFactory(
        cohort=cohort,
        project=ProjectFactory(title="Later Project"),
        opens_at=now + timedelta(days=10),
    )
    ProjectReleaseFactory(
        cohort=cohort,
        project=ProjectFactory(title="Earlier Project"),
        opens_at=now - timedelta(days=40),
    )
    body = mentor_client.get(URL).content.decode()
    positions = [body.index(title) for title in ("Earlier", "Python Generators", "Later")]
    assert positions == sorted(positions)
    assert "cohort-schedule-row-past" in body
    assert "cohort-schedule-row-current" in body
    assert "cohort-schedule-row-upcoming" in body


def test_it_counts_extensions_granted(
    mentor_client: Client, learner: User, cohort: Cohort, release: ProjectRelease
) -> None:
    ExtensionFactory(release=release, learner=learner)
    ExtensionFactory(release=release, learner=learner)
    classmate = UserFactory()
    MembershipFactory(user=classmate, cohort=cohort)
    ExtensionFactory(release=release, learner=classmate)
    response = mentor_client.get(URL)
    release_row = response.context["releases"][0]
    assert release_row.extension_count == 3
    assert release_row.extended_learner_count == 2
    assert "2 learners" in response.content.decode()


def test_it_links_staff_to_the_admin(staff_client: Client, release: ProjectRelease) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="/admin/core/projectrelease/{release.pk}/change/"' in body
    assert f'href="/admin/core/projectrelease/add/?cohort={release.cohort.pk}"' in body


def test_it_links_staff_to_the_cohorts_health(
    staff_client: Client, mentor_client: Client, release: ProjectRelease
) -> None:
    assert 'href="/staff/cohorts/cohort-7/"' in staff_client.get(URL).content.decode()
    # Mentors may not open the health page (staff only): no link to a 404.
    assert "/staff/" not in mentor_client.get(URL).content.decode()


def test_it_shows_an_empty_state(staff_client: Client, db: None) -> None:
    CohortFactory(name="Cohort 9", slug="cohort-9")
    response = staff_client.get("/cohorts/cohort-9/schedule/")
    assert response.status_code == 200
    assert "Nothing is on this cohort's calendar yet" in response.content.decode()


@pytest.mark.parametrize("who", ["learner", "reviewer", "outsider"])
def test_it_answers_404_to_everyone_else(
    request: pytest.FixtureRequest, who: str, db: None
) -> None:
    client: Client = request.getfixturevalue(f"{who}_client")
    assert client.get(URL).status_code == 404


def test_it_answers_404_to_mentors_of_another_cohort(mentor: User, db: None) -> None:
    CohortFactory(name="Cohort 9", slug="cohort-9")
    assert client_for(mentor).get("/cohorts/cohort-9/schedule/").status_code == 404


def test_it_answers_404_for_unknown_cohorts(staff_client: Client) -> None:
    assert staff_client.get("/cohorts/no-such-cohort/schedule/").status_code == 404


def test_it_sends_anonymous_users_to_sign_in(client: Client, cohort: Cohort) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


def test_it_refuses_post(mentor_client: Client) -> None:
    assert mentor_client.post(URL).status_code == 405


@pytest.mark.parametrize("size", [1, 8])
def test_it_uses_a_constant_number_of_queries(
    mentor_client: Client,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    module = ModuleFactory()
    for index in range(size):
        extended = ProjectReleaseFactory(
            cohort=cohort,
            project=ProjectFactory(module=module),
            opens_at=timezone.now() + timedelta(days=index),
        )
        ExtensionFactory(release=extended, learner=MembershipFactory(cohort=cohort).user)
    # (The session comes from the cache.) 1. user  2. cohort with program and learner
    # count  3. the user's roles (nav)  4. releases with project, module and extension counts
    with django_assert_num_queries(4):
        response = mentor_client.get(URL)
    assert len(response.context["releases"]) == 1 + size

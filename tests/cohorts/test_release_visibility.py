"""Who may open a release: one rule (``RELEASE_ACCESS``), read as a filter and in Python.

``ProjectRelease.objects.visible_to`` (the query) and ``may_open_release`` (one release,
for pages that hold the user's memberships already) must agree for every role and every
moment of a release's life; the pages that decide in Python must agree with both.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from core.cohorts.models import may_open_release
from core.models import Cohort, Project, ProjectRelease, User
from tests.factories import (
    CohortFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 12, 9, 30, tzinfo=UTC)
ROLES = ["learner", "mentor", "reviewer", "outsider", "staff", "member_elsewhere"]
# When the release opens, relative to now: a week ahead, this very moment, two days ago,
# and a month ago (both deadlines past).
MOMENTS = {
    "upcoming": timedelta(days=7),
    "opening_now": timedelta(0),
    "open": timedelta(days=-2),
    "past": timedelta(days=-30),
}
# The rule, spelled out: who may open a release at each moment.
EXPECTED = {
    "learner": {"upcoming": False, "opening_now": True, "open": True, "past": True},
    "mentor": dict.fromkeys(MOMENTS, True),
    "reviewer": dict.fromkeys(MOMENTS, True),
    "staff": dict.fromkeys(MOMENTS, True),
    "outsider": dict.fromkeys(MOMENTS, False),
    "member_elsewhere": dict.fromkeys(MOMENTS, False),  # a learner of another cohort
}


def _user(role: str, cohort: Cohort) -> tuple[User, str | None]:
    """A user holding ``role`` towards ``cohort``, and their role in it (None: none)."""
    if role == "staff":
        return StaffFactory(), None
    user = UserFactory()
    if role == "outsider":
        return user, None
    if role == "member_elsewhere":
        MembershipFactory(user=user, cohort=CohortFactory(), role="learner")
        return user, None
    MembershipFactory(user=user, cohort=cohort, role=role)
    return user, role


def _release(cohort: Cohort, moment: str) -> ProjectRelease:
    opens_at = NOW + MOMENTS[moment]
    return ProjectReleaseFactory(
        cohort=cohort,
        project=ProjectFactory(module__program=cohort.program),
        opens_at=opens_at,
        first_deadline=opens_at + timedelta(days=5),
        second_deadline=opens_at + timedelta(days=12),
    )


@pytest.mark.parametrize("role", ROLES)
def test_the_query_and_the_predicate_agree_at_every_moment(role: str) -> None:
    cohort = CohortFactory()
    releases = {moment: _release(cohort, moment) for moment in MOMENTS}
    user, cohort_role = _user(role, cohort)

    visible = set(ProjectRelease.objects.visible_to(user, NOW))
    for moment, release in releases.items():
        allowed = may_open_release(release, cohort_role, is_staff=user.is_staff, now=NOW)
        assert allowed == (release in visible), (role, moment)
        assert allowed == EXPECTED[role][moment], (role, moment)


@pytest.mark.parametrize("role", ROLES)
def test_projects_are_visible_through_their_visible_releases(role: str) -> None:
    cohort = CohortFactory()
    releases = {moment: _release(cohort, moment) for moment in MOMENTS}
    user, _ = _user(role, cohort)

    visible = set(Project.objects.visible_to(user, NOW))
    for moment, release in releases.items():
        assert (release.project in visible) == EXPECTED[role][moment], (role, moment)


def test_anonymous_users_open_nothing(release: ProjectRelease) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not ProjectRelease.objects.visible_to(AnonymousUser()).exists()
    assert not Project.objects.visible_to(AnonymousUser()).exists()


@pytest.mark.parametrize("role", ["learner", "mentor", "reviewer", "outsider", "staff"])
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_the_pages_deciding_in_python_agree_with_the_query(role: str, moment: str) -> None:
    """The curriculum's links and the project page open exactly what ``visible_to`` lists."""
    cohort = CohortFactory()
    release = _release(cohort, moment)
    user, _ = _user(role, cohort)
    client = Client()
    client.force_login(user)

    with time_machine.travel(NOW, tick=False):
        expected = ProjectRelease.objects.visible_to(user).filter(pk=release.pk).exists()
        page = client.get(reverse("project_detail", args=[release.project.slug]))
        curriculum = client.get(reverse("curriculum"), {"cohort": cohort.slug})

    assert page.status_code == (200 if expected else 404)
    if role != "outsider":  # an outsider has no curriculum to pick this cohort from
        link = f'href="{release.project.get_absolute_url()}'
        assert (link in curriculum.content.decode()) == expected

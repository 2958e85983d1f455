"""The curriculum page: the program of the user's cohort, module by module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from core.models import Cohort, Project, ProjectRelease, User
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

URL = "/curriculum/"


def _rows(body: str) -> dict[str, str]:
    """Each project row's HTML, keyed by the project title it shows."""
    rows = {}
    for chunk in body.split('<li class="project-row ')[1:]:
        row = chunk.split("</li>", 1)[0]
        for project in Project.objects.all():
            if project.title in row:
                rows[project.title] = row
    return rows


def test_it_shows_the_learner_their_program(learner_client: Client, project: Project) -> None:
    response = learner_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Cohort 7" in body
    assert "Africa/Nairobi" in body
    assert project.module.title in body
    assert 'href="/projects/python-generators/"' in body
    assert "0 of 1 project done" in body
    assert '<progress max="1" value="0"' in body
    assert "data-countdown" in body
    assert "10 h" in body


def test_it_uses_no_inline_styles(learner_client: Client) -> None:
    # Our CSP forbids inline styles: the progress bar is a native <progress>.
    assert "style=" not in learner_client.get(URL).content.decode()


def test_it_counts_projects_done_per_module(learner_client: Client, project: Project) -> None:
    ProjectFactory(module=project.module, title="Lazy Pipelines")
    ProjectFactory(module=project.module, title="Itertools Tour")
    body = learner_client.get(URL).content.decode()
    assert "0 of 3 projects done" in body
    assert '<progress max="3" value="0"' in body


def test_it_lists_modules_and_projects_in_order(learner_client: Client, project: Project) -> None:
    # Orders relative to the cast's module: factory sequences depend on test order.
    module = project.module
    later = ModuleFactory(program=module.program, order=module.order + 1, title="Later module Q")
    earlier = ModuleFactory(program=module.program, order=0, title="Earlier module Q")
    ProjectFactory(module=project.module, order=project.order + 1, title="Zeta project")
    ProjectFactory(module=project.module, order=0, title="Alpha project")
    body = learner_client.get(URL).content.decode()
    positions = [
        body.index(text)
        for text in (earlier.title, "Alpha project", "Python Generators", "Zeta project")
    ]
    assert positions == sorted(positions)
    assert body.index("Zeta project") < body.index(later.title)


def test_it_shows_each_state_for_the_learner(db: None) -> None:
    now = datetime(2030, 3, 14, 9, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        cohort = CohortFactory(slug="cohort-9", time_zone="Africa/Nairobi")
        module = ModuleFactory(program=cohort.program)
        past = ProjectFactory(module=module, title="Past project")
        current = ProjectFactory(module=module, title="Current project")
        upcoming = ProjectFactory(module=module, title="Upcoming project")
        ProjectFactory(module=module, title="Unscheduled project")
        ProjectReleaseFactory(
            cohort=cohort,
            project=past,
            opens_at=now - timedelta(days=20),
            first_deadline=now - timedelta(days=15),
            second_deadline=datetime(2030, 3, 7, 20, 59, tzinfo=UTC),
        )
        ProjectReleaseFactory(
            cohort=cohort,
            project=current,
            opens_at=now - timedelta(days=1),
            first_deadline=now + timedelta(days=2, hours=3),
            second_deadline=now + timedelta(days=9),
        )
        ProjectReleaseFactory(
            cohort=cohort,
            project=upcoming,
            opens_at=datetime(2030, 3, 18, 6, 0, tzinfo=UTC),
            first_deadline=now + timedelta(days=10),
            second_deadline=now + timedelta(days=17),
        )
        learner = MembershipFactory(cohort=cohort, role="learner").user
        body = client_for(learner).get(URL).content.decode()

    rows = _rows(body)
    assert 'data-state="past"' in rows["Past project"]
    assert "Closed" in rows["Past project"]
    assert "7 Mar 2030" in rows["Past project"]  # 23:59 in Nairobi
    assert f'href="/projects/{past.slug}/"' in rows["Past project"]

    assert 'data-state="current"' in rows["Current project"]
    assert f'href="/projects/{current.slug}/"' in rows["Current project"]
    assert "First deadline" in rows["Current project"]
    assert "Sat 16 Mar, 15:00" in rows["Current project"]  # 12:00 UTC in Nairobi (UTC+3)
    assert "2 days 3 hours left" in rows["Current project"]
    assert "data-countdown" in rows["Current project"]

    assert 'data-state="upcoming"' in rows["Upcoming project"]
    assert "Opens" in rows["Upcoming project"]
    assert "Mon 18 Mar 2030, 09:00" in rows["Upcoming project"]
    assert "<a " not in rows["Upcoming project"]

    assert 'data-state="unscheduled"' in rows["Unscheduled project"]
    assert "Not scheduled" in rows["Unscheduled project"]
    assert "<a " not in rows["Unscheduled project"]


def test_it_counts_down_to_the_second_deadline_after_the_first(
    learner_client: Client, release: ProjectRelease
) -> None:
    with time_machine.travel(release.first_deadline + timedelta(hours=1), tick=False):
        body = learner_client.get(URL).content.decode()
    row = _rows(body)["Python Generators"]
    assert "Second deadline" in row
    assert "6 days 23 hours left" in row


def test_it_applies_the_learners_extension(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=release.first_deadline + timedelta(days=4),
        second_deadline=release.second_deadline + timedelta(days=4),
    )
    with time_machine.travel(release.first_deadline + timedelta(hours=1), tick=False):
        row = _rows(learner_client.get(URL).content.decode())["Python Generators"]
    assert "First deadline" in row
    assert "3 days 23 hours left" in row
    assert "Extended" in row


def test_it_keeps_the_cohort_dates_for_other_learners(
    cohort: Cohort, learner: User, release: ProjectRelease
) -> None:
    ExtensionFactory(release=release, learner=learner)
    other = MembershipFactory(cohort=cohort, role="learner").user
    row = _rows(client_for(other).get(URL).content.decode())["Python Generators"]
    assert "Extended" not in row
    assert "3 days left" in row or "2 days 23 hours left" in row


def test_it_links_upcoming_projects_for_mentors(
    mentor_client: Client, release: ProjectRelease
) -> None:
    release.shift(days=5)
    release.save()
    body = mentor_client.get(URL).content.decode()
    row = _rows(body)["Python Generators"]
    assert 'data-state="upcoming"' in row
    assert 'href="/projects/python-generators/"' in row
    # Mentors see the schedule, not a progress bar of their own.
    assert "<progress" not in body
    assert "1 project · about 10 hours" in body


def test_it_shows_an_empty_state_without_a_cohort(outsider_client: Client) -> None:
    response = outsider_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "You are not in a cohort yet" in body
    assert "ask the program staff" in body


def test_it_shows_staff_the_newest_cohort(staff_client: Client, cohort: Cohort) -> None:
    newer = CohortFactory(
        name="Cohort 8",
        slug="cohort-8",
        start_date=cohort.start_date + timedelta(days=365),
    )
    body = staff_client.get(URL).content.decode()
    assert "Cohort 8 · times in" in body
    assert f'<option value="{newer.slug}" selected>' in body
    assert 'value="cohort-7"' in body
    body = staff_client.get(URL, {"cohort": "cohort-7"}).content.decode()
    assert "Cohort 7 · times in" in body


def test_it_shows_staff_an_empty_state_without_cohorts(staff_client: Client) -> None:
    body = staff_client.get(URL).content.decode()
    assert "There are no cohorts yet" in body


def test_it_lets_members_of_several_cohorts_switch(
    learner: User, cohort: Cohort, release: ProjectRelease
) -> None:
    other = CohortFactory(
        name="Cohort 8",
        slug="cohort-8",
        program=cohort.program,
        start_date=cohort.start_date + timedelta(days=60),
    )
    MembershipFactory(user=learner, cohort=other, role="mentor")
    client = client_for(learner)

    # The learner membership wins by default, even over a newer cohort.
    body = client.get(URL).content.decode()
    assert "Cohort 7 · times in" in body
    assert '<option value="cohort-7" selected>' in body
    assert 'href="/projects/python-generators/?cohort=cohort-7"' in body

    body = client.get(URL, {"cohort": "cohort-8"}).content.decode()
    assert "Cohort 8 · times in" in body
    assert 'data-state="unscheduled"' in body


def test_it_answers_404_for_a_cohort_the_user_is_not_in(learner_client: Client) -> None:
    CohortFactory(slug="cohort-8")
    assert learner_client.get(URL, {"cohort": "cohort-8"}).status_code == 404
    assert learner_client.get(URL, {"cohort": "no-such-cohort"}).status_code == 404


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/curriculum/"


def test_it_refuses_post(learner_client: Client) -> None:
    assert learner_client.post(URL).status_code == 405


def test_it_marks_the_nav_item_current(learner_client: Client) -> None:
    body = learner_client.get(URL).content.decode()
    assert 'class="nav-link active" href="/curriculum/" aria-current="page"' in body
    assert "bi-journal-code" in body


def test_it_hides_the_nav_item_from_users_without_a_cohort(outsider_client: Client) -> None:
    assert 'href="/curriculum/"' not in outsider_client.get("/dashboard/").content.decode()


def test_it_shows_the_nav_item_to_staff(staff_client: Client) -> None:
    assert 'href="/curriculum/"' in staff_client.get("/dashboard/").content.decode()


def _grow(cohort: Cohort, learner: User, size: int) -> None:
    """``size`` modules of ``size`` released projects, each with an extension for the learner."""
    for _ in range(size):
        module = ModuleFactory(program=cohort.program)
        for _ in range(size):
            release = ProjectReleaseFactory(cohort=cohort, project=ProjectFactory(module=module))
            ExtensionFactory(release=release, learner=learner)
            ExtensionFactory(release=release, learner=UserFactory())


@pytest.mark.parametrize("size", [1, 10])
def test_it_runs_a_constant_number_of_queries(
    learner_client: Client,
    learner: User,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _grow(cohort, learner, size)
    # user, memberships (+ cohort, program), modules, their projects, the cohort's
    # releases, the learner's extensions on them (the session comes from the cache)
    with django_assert_num_queries(6):
        response = learner_client.get(URL)
    assert response.content.decode().count('class="project-row ') == size * size + 1


@pytest.mark.parametrize("size", [1, 10])
def test_it_runs_a_constant_number_of_queries_for_staff(
    staff_client: Client,
    cohort: Cohort,
    learner: User,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _grow(cohort, learner, size)
    for _ in range(size):
        CohortFactory()
    # user, memberships, every cohort (+ program), modules, their projects, the cohort's
    # releases (the session comes from the cache)
    with django_assert_num_queries(6):
        response = staff_client.get(URL, {"cohort": "cohort-7"})
    assert response.content.decode().count('class="project-row ') == size * size + 1

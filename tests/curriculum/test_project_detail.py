"""A project's page: its brief, the user's dates for it, and its tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from core.models import Cohort, Project, ProjectRelease, User
from tests.conftest import client_for
from tests.factories import (
    CohortFactory,
    ExtensionFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ResourceFactory,
    TaskFactory,
    UserFactory,
)

URL = "/projects/python-generators/"


def test_it_shows_the_project_to_its_learner(
    learner_client: Client, project: Project, release: ProjectRelease
) -> None:
    ResourceFactory(project=project, title="PEP 255", url="https://peps.python.org/pep-0255/")
    response = learner_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<h1 class="h2 mb-2">Python Generators</h1>' in body
    assert project.module.title in body
    assert project.summary in body
    assert "Your dates" in body
    assert "Africa/Nairobi (EAT)" in body
    assert "data-countdown" in body
    assert "to the first deadline" in body
    # Description is Markdown, and the lists come through.
    assert "<strong>real</strong>" in body
    assert '<li class="concept-pill">Generators</li>' in body
    assert "<li>Write a generator</li>" in body
    assert "<li>Python 3.12</li>" in body


def test_it_shows_dates_in_the_cohorts_time_zone(learner: User, release: ProjectRelease) -> None:
    release.opens_at = datetime(2030, 3, 1, 6, 0, tzinfo=UTC)
    release.first_deadline = datetime(2030, 3, 8, 20, 59, tzinfo=UTC)
    release.second_deadline = datetime(2030, 3, 15, 20, 59, tzinfo=UTC)
    release.save()
    with time_machine.travel(datetime(2030, 3, 2, tzinfo=UTC), tick=False):
        body = client_for(learner).get(URL).content.decode()
    assert "Fri 1 Mar 2030, 09:00" in body
    assert "Fri 8 Mar 2030, 23:59" in body
    assert "Fri 15 Mar 2030, 23:59" in body
    assert "6 days 20 hours left" in body


def test_it_explains_the_lateness_multipliers(
    learner_client: Client, release: ProjectRelease
) -> None:
    body = learner_client.get(URL).content.decode()
    for share, when in (
        ("100%", "before the first deadline"),
        ("65%", "before the second deadline"),
        ("50%", "after the second deadline"),
    ):
        assert f'<span class="multiplier-value">{share}</span> <span>{when}</span>' in body


def test_it_uses_the_releases_own_multipliers(
    learner_client: Client, release: ProjectRelease
) -> None:
    release.second_multiplier = "0.80"
    release.save()
    assert '<span class="multiplier-value">80%</span>' in learner_client.get(URL).content.decode()


def test_it_lists_tasks_with_their_kind_points_and_deliverable(learner_client: Client) -> None:
    body = learner_client.get(URL).content.decode()
    for number in (0, 1, 2):
        assert f'id="task-{number}"' in body
    assert '<span class="task-number">2.</span> Lazy pagination' in body
    assert body.count('task-kind-mandatory">Mandatory</span>') == 2
    assert body.count('task-kind-advanced">Advanced</span>') == 1
    assert "10 points" in body
    assert "Repo: prodev-backend-python · Directory: 0x00-basics · File: 0-main.py" in body
    # The task body's fenced code is highlighted by Pygments.
    assert '<div class="codehilite">' in body
    assert '<span class="nb">print</span>' in body


def test_it_opens_resources_in_a_new_tab(learner_client: Client, project: Project) -> None:
    ResourceFactory(project=project, title="PEP 255", url="https://peps.python.org/pep-0255/")
    body = learner_client.get(URL).content.decode()
    assert (
        '<a href="https://peps.python.org/pep-0255/" target="_blank" rel="noopener">PEP 255' in body
    )
    assert '<span class="visually-hidden"> (opens in a new tab)</span>' in body


def test_it_has_no_table_of_contents_for_three_tasks(learner_client: Client) -> None:
    assert 'aria-label="On this page"' not in learner_client.get(URL).content.decode()


def test_it_has_a_table_of_contents_for_more_tasks(
    learner_client: Client, project: Project
) -> None:
    TaskFactory(project=project, number=3, title="Memory-efficient average")
    body = learner_client.get(URL).content.decode()
    # One for phones (a disclosure), one for wide screens (a sticky sidebar).
    assert body.count('aria-label="On this page"') == 2
    assert '<details class="toc-details card">' in body
    assert body.count('href="#task-3"') == 2
    for section in ("schedule", "overview", "concepts", "objectives", "requirements", "tasks"):
        assert f'href="#project-{section}"' in body
        assert f'id="project-{section}"' in body


def test_it_shows_the_learner_their_extension(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=datetime(2030, 3, 11, 20, 59, tzinfo=UTC),
        second_deadline=datetime(2030, 3, 18, 20, 59, tzinfo=UTC),
        reason="Hospital stay",
    )
    release.first_deadline = datetime(2030, 3, 8, 20, 59, tzinfo=UTC)
    release.second_deadline = datetime(2030, 3, 15, 20, 59, tzinfo=UTC)
    release.save()
    body = learner_client.get(URL).content.decode()
    assert body.count('state-extended">Extended</span>') == 2
    assert "Mon 11 Mar 2030, 23:59" in body
    assert "Mon 18 Mar 2030, 23:59" in body
    assert '<del class="schedule-original"><span class="visually-hidden">was </span>' in body
    assert "Fri 8 Mar 2030, 23:59</time></del>" in body
    assert "Fri 15 Mar 2030, 23:59</time></del>" in body
    assert "Hospital stay" in body


@pytest.mark.parametrize("who", ["other_learner", "mentor"])
def test_it_shows_others_the_cohort_dates(
    who: str, cohort: Cohort, learner: User, mentor: User, release: ProjectRelease
) -> None:
    ExtensionFactory(release=release, learner=learner, reason="Hospital stay")
    user = mentor if who == "mentor" else MembershipFactory(cohort=cohort).user
    body = client_for(user).get(URL).content.decode()
    assert "Extended" not in body
    assert "Hospital stay" not in body
    assert "<del" not in body


def test_it_lets_a_member_of_several_cohorts_pick_the_dates(
    cohort: Cohort, mentor: User, project: Project
) -> None:
    other = CohortFactory(
        name="Cohort 8",
        slug="cohort-8",
        time_zone="America/Lima",
        start_date=cohort.start_date + timedelta(days=90),
    )
    MembershipFactory(user=mentor, cohort=other, role="mentor")
    ProjectReleaseFactory(cohort=other, project=project)
    client = client_for(mentor)
    body = client.get(URL).content.decode()
    # Same role in both: the newest cohort comes first.
    assert '<option value="cohort-8" selected>' in body
    assert "America/Lima" in body
    assert "America/Lima" in client.get(URL, {"cohort": "cohort-8"}).content.decode()
    assert "Africa/Nairobi" in client.get(URL, {"cohort": "cohort-7"}).content.decode()


def test_it_prefers_the_learners_own_cohort(
    learner: User, cohort: Cohort, project: Project
) -> None:
    newer = CohortFactory(
        name="Cohort 8",
        slug="cohort-8",
        time_zone="America/Lima",
        start_date=cohort.start_date + timedelta(days=90),
    )
    MembershipFactory(user=learner, cohort=newer, role="reviewer")
    ProjectReleaseFactory(cohort=newer, project=project)
    body = client_for(learner).get(URL).content.decode()
    assert "Your dates" in body
    assert '<option value="cohort-7" selected>' in body


def test_it_tells_staff_when_a_project_is_not_scheduled(staff_client: Client, db: None) -> None:
    ProjectFactory(slug="drafted-project")
    response = staff_client.get("/projects/drafted-project/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "not on any cohort&#x27;s calendar yet" in body or "not on any cohort's calendar" in body
    assert "Not scheduled" in body


def test_it_marks_the_curriculum_nav_item_current(learner_client: Client) -> None:
    body = learner_client.get(URL).content.decode()
    assert 'class="nav-link active" href="/curriculum/" aria-current="page"' in body


def test_it_uses_no_inline_styles(learner_client: Client, project: Project) -> None:
    TaskFactory(project=project, number=3)
    assert "style=" not in learner_client.get(URL).content.decode()


def test_it_answers_404_for_an_unknown_project(learner_client: Client) -> None:
    assert learner_client.get("/projects/no-such-project/").status_code == 404


def test_it_refuses_post(learner_client: Client) -> None:
    assert learner_client.post(URL).status_code == 405


# Who may open which project: "open" is released to cohort 7 and opened, "upcoming"
# is released to cohort 7 but opens later, "elsewhere" is released (open) to cohort 8 only.
VISIBILITY = {
    "learner": {"open": 200, "upcoming": 404, "elsewhere": 404},
    "other_learner": {"open": 404, "upcoming": 404, "elsewhere": 200},
    "mentor": {"open": 200, "upcoming": 200, "elsewhere": 404},
    "reviewer": {"open": 200, "upcoming": 200, "elsewhere": 404},
    "staff": {"open": 200, "upcoming": 200, "elsewhere": 200},
    "anonymous": {"open": 302, "upcoming": 302, "elsewhere": 302},
}


@pytest.fixture
def scenarios(cohort: Cohort, release: ProjectRelease) -> dict[str, Project]:
    other = CohortFactory(name="Cohort 8", slug="cohort-8")
    upcoming = ProjectReleaseFactory(
        cohort=cohort, opens_at=release.opens_at + timedelta(days=5)
    ).project
    elsewhere = ProjectReleaseFactory(cohort=other).project
    return {"open": release.project, "upcoming": upcoming, "elsewhere": elsewhere}


@pytest.mark.parametrize(
    ("who", "scenario", "expected"),
    [
        (who, scenario, expected)
        for who, row in VISIBILITY.items()
        for scenario, expected in row.items()
    ],
)
def test_it_shows_projects_only_to_who_may_see_them(
    who: str,
    scenario: str,
    expected: int,
    scenarios: dict[str, Project],
    learner: User,
    mentor: User,
    reviewer: User,
    staff: User,
) -> None:
    users = {"learner": learner, "mentor": mentor, "reviewer": reviewer, "staff": staff}
    if who == "other_learner":
        users[who] = MembershipFactory(cohort=Cohort.objects.get(slug="cohort-8")).user
    client = client_for(users[who]) if who in users else Client()
    url = f"/projects/{scenarios[scenario].slug}/"
    response = client.get(url)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"] == f"/accounts/login/?next={url}"


def _grow(project: Project, size: int) -> None:
    """``size`` times the tasks and resources, and cohorts that also have the project."""
    for number in range(3, 3 * size):
        TaskFactory(project=project, number=number, kind="advanced" if number % 2 else "mandatory")
    for _ in range(size):
        ResourceFactory(project=project)
        ProjectReleaseFactory(project=project)


# The session comes from the cache (core/platform/sessions.py: force_login leaves a copy there);
# it is a query only with Django's database store.
SESSION_QUERIES = 0 if settings.SESSION_ENGINE == "core.platform.sessions" else 1


@pytest.mark.parametrize("size", [1, 10])
def test_it_runs_a_constant_number_of_queries(
    learner_client: Client,
    learner: User,
    project: Project,
    release: ProjectRelease,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _grow(project, size)
    ExtensionFactory(release=release, learner=learner)
    ExtensionFactory(release=release, learner=UserFactory())
    # (session,) user, the project (+ module), the user's memberships (+ cohort),
    # the releases in their cohorts (+ cohort, + the learner's extensions), the
    # project's tasks, its resources, its checks' counts (none: nothing else of checks)
    with django_assert_num_queries(SESSION_QUERIES + 7):
        response = learner_client.get(URL)
    assert response.content.decode().count('class="card task-card') == 3 * size
    # Warm: the brief (tasks and resources included) and the learner's dates come
    # rendered from the cache: (session,) user, the project, the memberships.
    with django_assert_num_queries(SESSION_QUERIES + 3):
        response = learner_client.get(URL)
    assert response.content.decode().count('class="card task-card') == 3 * size


@pytest.mark.parametrize("size", [1, 10])
def test_it_runs_a_constant_number_of_queries_for_staff(
    staff_client: Client,
    project: Project,
    release: ProjectRelease,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _grow(project, size)
    # (session,) user, the project (+ module), the user's memberships, every
    # release of it (+ cohort, + the user's extensions), its tasks, its resources, its
    # checks' counts
    with django_assert_num_queries(SESSION_QUERIES + 7):
        response = staff_client.get(URL)
    body = response.content.decode()
    assert body.count('class="card task-card') == 3 * size
    assert body.count("<option ") == size + 1

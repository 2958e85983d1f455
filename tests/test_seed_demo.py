"""``manage.py seed_demo`` loads a living demo site, and running it again changes nothing."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.db.models import F, Model
from django.test import Client
from django.utils import timezone

from core.demo.curriculum import PROGRAM
from core.models import (
    Cohort,
    Extension,
    Membership,
    Module,
    Program,
    Project,
    ProjectRelease,
    Resource,
    Task,
    User,
)

pytestmark = pytest.mark.django_db

TABLES: list[type[Model]] = [
    User,
    EmailAddress,
    Program,
    Module,
    Project,
    Project.prerequisites.through,
    Task,
    Resource,
    Cohort,
    Membership,
    ProjectRelease,
    Extension,
]
DEMO_ACCOUNTS = [
    "learner@example.com",
    "mentor@example.com",
    "reviewer@example.com",
    "staff@example.com",
]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--allow-demo-passwords", stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the command writes, dates included."""
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in TABLES}


@pytest.fixture
def cohort() -> Cohort:
    seed()
    return Cohort.objects.get(slug="cohort-7")


def test_it_changes_nothing_when_run_again() -> None:
    seed()
    before = snapshot()
    out = seed()
    assert snapshot() == before
    assert "Created: nothing (already up to date)." in out


def test_it_changes_nothing_when_run_again_weeks_later() -> None:
    seed()
    before = snapshot()
    with time_machine.travel(timezone.now() + timedelta(days=20)):
        seed()
    assert snapshot() == before


def test_it_puts_modules_back_in_order_when_the_curriculum_reorders_them() -> None:
    seed()
    program = Program.objects.get(slug="prodev-backend")
    python, django = program.modules.order_by("order")[:2]
    # As if a previous curriculum had Django first: swap through a free order.
    Module.objects.filter(pk=python.pk).update(order=99)
    Module.objects.filter(pk=django.pk).update(order=1)
    Module.objects.filter(pk=python.pk).update(order=2)
    Project.objects.filter(module=python).update(order=F("order") + 10)
    seed()
    assert list(program.modules.values_list("slug", flat=True)[:2]) == ["python", "django"]
    assert list(python.projects.values_list("order", flat=True)) == [1, 2, 3]


def test_it_loads_the_nine_modules_in_order(cohort: Cohort) -> None:
    titles = list(cohort.program.modules.order_by("order").values_list("title", flat=True))
    assert titles == [
        "Python",
        "Django",
        "REST APIs",
        "GraphQL",
        "Docker",
        "CI/CD",
        "Database Design",
        "Asynchronous Programming",
        "Caching Strategies",
    ]
    assert list(cohort.program.modules.values_list("order", flat=True)) == list(range(1, 10))


def test_it_loads_projects_with_their_tasks_resources_and_prerequisites(cohort: Cohort) -> None:
    for module in cohort.program.modules.all():
        projects = list(module.projects.all())
        assert len(projects) >= 2, module
        assert [p.order for p in projects] == list(range(1, len(projects) + 1))
        for project in projects:
            numbers = list(project.tasks.values_list("number", flat=True))
            assert 4 <= len(numbers) <= 8, project
            assert numbers == list(range(len(numbers)))
            assert project.resources.exists(), project

    data = PROGRAM["modules"][0]["projects"][1]
    project = Project.objects.get(slug=data["slug"])
    assert sorted(p.slug for p in project.prerequisites.all()) == sorted(data["prerequisites"])
    first_task = project.tasks.get(number=0)
    assert first_task.title == data["tasks"][0]["title"]
    assert first_task.files == data["tasks"][0]["files"]


def test_it_puts_the_cohort_releases_around_today(cohort: Cohort) -> None:
    now = timezone.now()
    releases = ProjectRelease.objects.filter(cohort=cohort)
    projects = Project.objects.filter(module__program=cohort.program)
    assert cohort.time_zone == "Africa/Nairobi"
    assert cohort.name == "ProDev Backend · Cohort 7"
    assert releases.count() == projects.count()

    past, current, upcoming = (
        releases.past(now).count(),
        releases.current(now).count(),
        releases.upcoming(now).count(),
    )
    assert past + current + upcoming == releases.count()
    assert past >= releases.count() // 4  # roughly the first third
    assert upcoming >= releases.count() // 3
    # At least two projects whose first deadline is still ahead: countdowns to watch.
    assert releases.current(now).filter(first_deadline__gt=now).count() >= 2
    assert releases.upcoming(now).filter(opens_at__lt=now + timedelta(days=7)).exists()

    in_curriculum_order = list(
        releases.order_by("project__module__order", "project__order").values_list(
            "opens_at", flat=True
        )
    )
    assert in_curriculum_order == sorted(in_curriculum_order)


def test_it_enrols_the_demo_people(cohort: Cohort) -> None:
    roles = dict(cohort.memberships.values_list("user__email", "role"))
    assert roles["learner@example.com"] == "learner"
    assert roles["mentor@example.com"] == "mentor"
    assert roles["reviewer@example.com"] == "reviewer"
    assert "staff@example.com" not in roles
    assert list(roles.values()).count("learner") >= 9
    assert User.objects.get(email="staff@example.com").is_staff
    assert Extension.objects.filter(release__cohort=cohort).exists()


def test_demo_accounts_can_sign_in(cohort: Cohort, client: Client) -> None:
    for email in DEMO_ACCOUNTS:
        assert client.login(email=email, password="prodev-demo"), email
        assert EmailAddress.objects.get(email=email).verified
        client.logout()


def test_classmates_cannot_sign_in(cohort: Cohort) -> None:
    ada = User.objects.get(email="ada@example.com")
    assert not ada.has_usable_password()


def test_it_refuses_demo_passwords_with_debug_off(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--allow-demo-passwords"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()


def test_it_runs_without_the_flag_in_debug(settings: Any) -> None:
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "Demo data ready." in out.getvalue()
    assert "9 modules" in out.getvalue()

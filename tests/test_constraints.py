"""The database itself refuses invalid rows, whatever code path writes them.

Every write here bypasses model validation (``QuerySet.create``, ``bulk_create``,
``update``), so only the table's constraints stand between the row and the disk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.models import JoinCode, Membership, Module, Project, ProjectRelease, Task
from tests.factories import (
    CohortFactory,
    ExtensionFactory,
    MembershipFactory,
    ModuleFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def assert_refused(write: Callable[[], object], *, by: str) -> None:
    """``write`` raises IntegrityError naming the constraint ``by`` (a regex).

    PostgreSQL names the violated constraint; SQLite names check constraints but
    only the columns of a unique one, so unique cases accept either spelling. The
    savepoint keeps the test's transaction usable afterwards.
    """
    with pytest.raises(IntegrityError, match=by), transaction.atomic():
        write()


def unique(name: str, columns: str) -> str:
    """Matches a unique violation on PostgreSQL (``name``) or SQLite (``columns``)."""
    return f"{re.escape(name)}|{re.escape(columns)}"


def release_values(**overrides: object) -> dict[str, object]:
    now = timezone.now()
    values: dict[str, object] = {
        "cohort": CohortFactory(),
        "project": ProjectFactory(),
        "opens_at": now,
        "first_deadline": now + timedelta(days=7),
        "second_deadline": now + timedelta(days=14),
    }
    return values | overrides


def test_it_accepts_a_valid_release_at_every_bound() -> None:
    """Each bound the checks below refuse one step past is itself accepted, by a table
    that has those constraints."""
    table = ProjectRelease._meta.db_table
    with connection.cursor() as cursor:
        names = set(connection.introspection.get_constraints(cursor, table))
    assert {
        "release_opens_before_first_deadline",
        "release_first_deadline_not_after_second",
        "release_first_multiplier_between_0_and_1",
        "release_second_multiplier_between_0_and_1",
        "release_late_multiplier_between_0_and_1",
    } <= names
    now = timezone.now()
    values = release_values(
        opens_at=now,
        first_deadline=now + timedelta(microseconds=1),
        second_deadline=now + timedelta(microseconds=1),  # the first deadline may be the second
        first_multiplier=Decimal(1),
        second_multiplier=Decimal(0),
    )

    release = ProjectRelease.objects.create(**values)

    stored = ProjectRelease.objects.get(pk=release.pk)
    assert (stored.cohort, stored.project) == (values["cohort"], values["project"])
    assert (stored.opens_at, stored.first_deadline, stored.second_deadline) == (
        values["opens_at"],
        values["first_deadline"],
        values["second_deadline"],
    )
    assert (stored.first_multiplier, stored.second_multiplier) == (1, 0)


def test_it_refuses_a_release_that_opens_after_its_first_deadline() -> None:
    now = timezone.now()
    values = release_values(
        opens_at=now + timedelta(days=8), first_deadline=now + timedelta(days=7)
    )
    assert_refused(
        lambda: ProjectRelease.objects.create(**values), by="release_opens_before_first_deadline"
    )


def test_it_refuses_a_release_that_opens_at_its_first_deadline() -> None:
    now = timezone.now()
    assert_refused(
        lambda: ProjectRelease.objects.create(**release_values(opens_at=now, first_deadline=now)),
        by="release_opens_before_first_deadline",
    )


def test_it_refuses_a_second_deadline_before_the_first() -> None:
    now = timezone.now()
    values = release_values(
        first_deadline=now + timedelta(days=7), second_deadline=now + timedelta(days=6)
    )
    assert_refused(
        lambda: ProjectRelease.objects.create(**values),
        by="release_first_deadline_not_after_second",
    )


def test_it_refuses_moving_a_second_deadline_before_the_first_with_update() -> None:
    release = ProjectReleaseFactory()
    releases = ProjectRelease.objects.filter(pk=release.pk)
    assert_refused(
        lambda: releases.update(second_deadline=release.first_deadline - timedelta(days=1)),
        by="release_first_deadline_not_after_second",
    )


@pytest.mark.parametrize("field", ["first_multiplier", "second_multiplier", "late_multiplier"])
@pytest.mark.parametrize("value", [Decimal("1.5"), Decimal("-0.1")])
def test_it_refuses_a_multiplier_outside_0_to_1(field: str, value: Decimal) -> None:
    assert_refused(
        lambda: ProjectRelease.objects.create(**release_values(**{field: value})),
        by=f"release_{field}_between_0_and_1",
    )


def test_it_refuses_two_releases_of_a_project_to_one_cohort() -> None:
    release = ProjectReleaseFactory()
    values = release_values(cohort=release.cohort, project=release.project)
    assert_refused(
        lambda: ProjectRelease.objects.bulk_create([ProjectRelease(**values)]),
        by=unique("release_one_per_cohort", "core_projectrelease.cohort_id"),
    )


def test_it_refuses_two_modules_at_one_place_in_a_program() -> None:
    module = ModuleFactory(order=1)
    assert_refused(
        lambda: Module.objects.create(program=module.program, order=1, title="Again", slug="x"),
        by=unique("module_unique_order", "core_module.program_id, core_module.order"),
    )


def test_it_refuses_two_modules_with_one_slug_in_a_program() -> None:
    module = ModuleFactory(slug="python")
    again = Module(program=module.program, order=99, title="Again", slug="python")
    assert_refused(
        lambda: Module.objects.bulk_create([again]),
        by=unique("module_unique_slug", "core_module.program_id, core_module.slug"),
    )


def test_it_refuses_two_projects_at_one_place_in_a_module() -> None:
    project = ProjectFactory(order=1)
    assert_refused(
        lambda: Project.objects.create(module=project.module, order=1, title="Again", slug="again"),
        by=unique("project_unique_order", "core_project.module_id, core_project.order"),
    )


def test_it_refuses_two_projects_with_one_slug() -> None:
    ProjectFactory(slug="python-generators")
    other_module = ModuleFactory()
    assert_refused(
        lambda: Project.objects.create(
            module=other_module, order=1, title="Again", slug="python-generators"
        ),
        by=unique("core_project_slug", "core_project.slug"),
    )


def test_it_refuses_a_project_weight_of_zero() -> None:
    project = ProjectFactory()
    assert_refused(
        lambda: Project.objects.filter(pk=project.pk).update(weight=0), by="project_weight_positive"
    )


def test_it_refuses_two_tasks_with_one_number_in_a_project() -> None:
    task = TaskFactory(number=0)
    assert_refused(
        lambda: Task.objects.bulk_create([Task(project=task.project, number=0, title="Again")]),
        by=unique("task_unique_number", "core_task.project_id, core_task.number"),
    )


def test_it_refuses_a_task_worth_zero_points() -> None:
    project = ProjectFactory()
    assert_refused(
        lambda: Task.objects.create(project=project, number=0, title="Free points", points=0),
        by="task_points_positive",
    )


def test_it_refuses_an_unknown_task_kind() -> None:
    task = TaskFactory()
    assert_refused(
        lambda: Task.objects.filter(pk=task.pk).update(kind="optional"), by="task_kind_valid"
    )


def test_it_refuses_two_memberships_of_one_user_in_one_cohort() -> None:
    membership = MembershipFactory(role="learner")
    assert_refused(
        lambda: Membership.objects.create(
            user=membership.user, cohort=membership.cohort, role="mentor"
        ),
        by=unique(
            "membership_one_per_cohort", "core_membership.user_id, core_membership.cohort_id"
        ),
    )


def test_it_refuses_an_unknown_role() -> None:
    assert_refused(
        lambda: Membership.objects.create(
            user=UserFactory(), cohort=CohortFactory(), role="superhero"
        ),
        by="membership_role_valid",
    )


def test_it_refuses_an_extension_whose_second_deadline_is_before_its_first() -> None:
    extension = ExtensionFactory()
    extensions = type(extension).objects.filter(pk=extension.pk)
    assert_refused(
        lambda: extensions.update(second_deadline=extension.first_deadline - timedelta(hours=1)),
        by="extension_first_deadline_not_after_second",
    )


def join_code_values(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "cohort": CohortFactory(),
        "digest": "a" * 64,
        "hint": "AAAAA",
        "expires_at": timezone.now() + timedelta(days=1),
        "max_uses": 2,
    }
    return values | overrides


def test_it_refuses_a_join_code_used_more_than_its_maximum() -> None:
    join_code = JoinCode.objects.create(**join_code_values(uses=2))
    assert_refused(
        lambda: JoinCode.objects.filter(pk=join_code.pk).update(uses=3),
        by="join_code_uses_within_max",
    )


def test_it_refuses_a_join_code_for_nobody() -> None:
    assert_refused(
        lambda: JoinCode.objects.create(**join_code_values(max_uses=0)),
        by="join_code_max_uses_positive",
    )


def test_it_refuses_two_join_codes_with_one_digest() -> None:
    JoinCode.objects.create(**join_code_values())
    assert_refused(
        lambda: JoinCode.objects.create(**join_code_values()),
        by=unique("core_joincode_digest_key", "core_joincode.digest"),
    )

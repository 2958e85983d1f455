"""The admin as program staff use it: clear errors, the calendar actions, time zones.

Dates in these tests are written the way staff type them: on the cohort's wall
clock (Cohort 7 is in Africa/Nairobi, UTC+3 all year).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import Mock

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.cohorts import signals
from core.models import Cohort, Extension, Membership, Project, ProjectRelease, Task, User
from tests.factories import (
    CohortFactory,
    ExtensionFactory,
    MembershipFactory,
    ModuleFactory,
    ProgramFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ResourceFactory,
    TaskFactory,
    UserFactory,
)

NAIROBI = timezone.get_fixed_timezone(180)  # Africa/Nairobi has no DST: always UTC+3

# The dates below are typed around the first week of December 2026, so the clock stands
# still just before them: the factories' release (opened two days ago, first deadline in
# three days) then fits around every typed date, whatever today's date is.
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def url(model: str, view: str, *args: object) -> str:
    return reverse(f"admin:core_{model}_{view}", args=args)


def page(response: Any) -> str:
    """The response body with HTML entities decoded, for asserting on messages."""
    return html.unescape(response.content.decode())


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def inline(prefix: str, rows: list[dict[str, object]], initial: int = 0) -> dict[str, object]:
    """POST data of an inline formset: its management form and ``rows``."""
    data: dict[str, object] = {
        f"{prefix}-TOTAL_FORMS": len(rows),
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
    for index, row in enumerate(rows):
        data |= {f"{prefix}-{index}-{name}": value for name, value in row.items()}
    return data


def split(name: str, wall_clock: str) -> dict[str, str]:
    """An admin date-and-time field: 'YYYY-MM-DD HH:MM' as two inputs."""
    day, hour = wall_clock.split()
    return {f"{name}_0": day, f"{name}_1": hour}


def nairobi(wall_clock: str) -> datetime:
    return datetime.fromisoformat(wall_clock).replace(tzinfo=NAIROBI)


def release_form(
    cohort: Cohort,
    project: Project,
    *,
    opens: str = "2026-12-01 09:00",
    first: str = "2026-12-08 23:59",
    second: str = "2026-12-15 23:59",
    extensions: list[dict[str, object]] | None = None,
    initial_extensions: int = 0,
    **fields: object,
) -> dict[str, object]:
    return {
        "cohort": cohort.pk,
        "project": project.pk,
        **split("opens_at", opens),
        **split("first_deadline", first),
        **split("second_deadline", second),
        "first_multiplier": "1.00",
        "second_multiplier": "0.65",
        "late_multiplier": "0.50",
        **inline("extensions", extensions or [], initial_extensions),
        **fields,
    }


def task_row(number: int, **fields: object) -> dict[str, object]:
    return {
        "number": number,
        "title": f"Task {number}",
        "kind": "mandatory",
        "points": 10,
        "body": "Write `main.py`.",
        "repo": "prodev-backend-python",
        "directory": "0x00",
        "files": "main.py",
        "grading": "mentor",
        **fields,
    }


def project_form(module_id: int, tasks: list[dict[str, object]]) -> dict[str, object]:
    return {
        "module": module_id,
        "order": 9,
        "title": "Python Iterators",
        "slug": "python-iterators",
        "summary": "Iterate well.",
        "description": "",
        "concepts": "Iterators\nGenerators",
        "objectives": "",
        "requirements": "",
        "estimated_hours": 8,
        "weight": 1,
        # The review policy fieldset (a browser posts the defaults shown).
        "peer_reviews_required": 0,
        "peer_reviews_owed": 0,
        "mentor_review_required": "on",
        "peer_sla_hours": 48,
        "mentor_sla_hours": 72,
        **inline("tasks", tasks),
        **inline("resources", []),
    }


# --- Constraint violations are form errors, never a 500 ------------------------------------


@pytest.mark.parametrize(
    ("dates", "error"),
    [
        (
            {"opens": "2026-12-09 09:00", "first": "2026-12-08 23:59"},
            "The project must open before its first deadline.",
        ),
        (
            {"first": "2026-12-08 23:59", "second": "2026-12-07 23:59"},
            "The second deadline cannot be before the first.",
        ),
    ],
    ids=["opens-after-first-deadline", "second-before-first"],
)
def test_it_shows_bad_release_dates_as_form_errors(
    staff_client: Client, cohort: Cohort, project: Project, dates: dict[str, str], error: str
) -> None:
    response = staff_client.post(
        url("projectrelease", "add"), release_form(cohort, project, **dates)
    )
    assert response.status_code == 200
    assert error in page(response)
    assert not ProjectRelease.objects.exists()


def test_it_shows_a_multiplier_above_1_as_a_field_error(
    staff_client: Client, release: ProjectRelease
) -> None:
    data = release_form(release.cohort, release.project, first_multiplier="1.5")
    response = staff_client.post(url("projectrelease", "change", release.pk), data)
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 1." in page(response)
    release.refresh_from_db()
    assert release.first_multiplier == Decimal("1.00")


def test_it_refuses_a_project_of_another_program(
    staff_client: Client, cohort: Cohort, db: None
) -> None:
    other = ProjectFactory(module=ModuleFactory(program=ProgramFactory(slug="frontend")))
    response = staff_client.post(url("projectrelease", "add"), release_form(cohort, other))
    assert response.status_code == 200
    assert "is not part of ProDev Backend Engineering" in page(response)


def test_it_shows_a_duplicate_task_number_in_the_inline(staff_client: Client, db: None) -> None:
    module = ModuleFactory()
    data = project_form(module.pk, [task_row(0), task_row(0, title="Again")])
    response = staff_client.post(url("project", "add"), data)
    assert response.status_code == 200
    assert "Please correct the duplicate data for number." in page(response)
    assert not Project.objects.filter(slug="python-iterators").exists()


def test_it_shows_a_task_number_taken_by_a_saved_task(
    staff_client: Client, project: Project
) -> None:
    # Task 0 exists; the new row claims its number.
    data = project_form(project.module_id, [task_row(0, title="Again")])
    data |= {"order": project.order, "title": project.title, "slug": project.slug}
    response = staff_client.post(url("project", "change", project.pk), data)
    assert response.status_code == 200
    assert "Task with this Project and Number already exists." in page(response)
    assert project.tasks.count() == 3


def test_it_shows_zero_points_as_a_field_error(staff_client: Client, db: None) -> None:
    module = ModuleFactory()
    response = staff_client.post(
        url("project", "add"), project_form(module.pk, [task_row(0, points=0)])
    )
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in page(response)


def test_it_shows_a_duplicate_project_slug(staff_client: Client, project: Project) -> None:
    data = project_form(ModuleFactory().pk, []) | {"slug": project.slug}
    response = staff_client.post(url("project", "add"), data)
    assert response.status_code == 200
    assert "Project with this Slug already exists." in page(response)


def test_it_saves_a_project_with_its_tasks_one_file_per_line(
    staff_client: Client, db: None
) -> None:
    module = ModuleFactory()
    row = task_row(0, files="0-main.py\n  1-main.py  \n\n")
    response = staff_client.post(url("project", "add"), project_form(module.pk, [row]))
    assert response.status_code == 302
    project = Project.objects.get(slug="python-iterators")
    assert project.concepts == ["Iterators", "Generators"]
    assert project.tasks.get().files == ["0-main.py", "1-main.py"]


def test_it_shows_a_duplicate_membership(
    staff_client: Client, cohort: Cohort, learner: User
) -> None:
    data = {"user": learner.pk, "cohort": cohort.pk, "role": "mentor"}
    response = staff_client.post(url("membership", "add"), data)
    assert response.status_code == 200
    assert "Membership with this User and Cohort already exists." in page(response)
    assert Membership.objects.get(user=learner).role == "learner"


def test_it_shows_a_duplicate_membership_in_the_cohort_inline(
    staff_client: Client, cohort: Cohort, outsider: User
) -> None:
    data = {
        "program": cohort.program_id,
        "name": cohort.name,
        "slug": cohort.slug,
        "start_date": cohort.start_date.isoformat(),
        "time_zone": cohort.time_zone,
        **inline("memberships", [{"user": outsider.pk, "role": "learner"}] * 2),
        **inline("releases", []),
    }
    response = staff_client.post(url("cohort", "change", cohort.pk), data)
    assert response.status_code == 200
    assert "Please correct the duplicate data for user." in page(response)
    assert not Membership.objects.filter(user=outsider).exists()


def test_it_refuses_an_unknown_time_zone(staff_client: Client, db: None) -> None:
    data = {
        "program": ProgramFactory().pk,
        "name": "Cohort 8",
        "slug": "cohort-8",
        "start_date": "2027-01-04",
        "time_zone": "Mars/Olympus_Mons",
        **inline("memberships", []),
        **inline("releases", []),
    }
    response = staff_client.post(url("cohort", "add"), data)
    assert response.status_code == 200
    assert "“Mars/Olympus_Mons” is not a known time zone" in page(response)


# --- Extensions --------------------------------------------------------------------------


def test_it_shows_an_extension_second_deadline_before_its_first(
    staff_client: Client, release: ProjectRelease, learner: User
) -> None:
    data = {
        "release": release.pk,
        "learner": learner.pk,
        **split("first_deadline", "2026-12-10 23:59"),
        **split("second_deadline", "2026-12-09 23:59"),
        "reason": "Illness",
    }
    response = staff_client.post(url("extension", "add"), data)
    assert response.status_code == 200
    assert "The second deadline cannot be before the first." in page(response)


def test_it_grants_extensions_only_to_learners_of_the_cohort(
    staff_client: Client, release: ProjectRelease, outsider: User
) -> None:
    data = {
        "release": release.pk,
        "learner": outsider.pk,
        **split("first_deadline", "2026-12-10 23:59"),
        **split("second_deadline", "2026-12-17 23:59"),
        "reason": "Illness",
    }
    response = staff_client.post(url("extension", "add"), data)
    assert response.status_code == 200
    assert "Charlie Outsider is not a learner of Cohort 7." in page(response)


def test_it_records_who_granted_an_extension_on_the_release_page(
    staff_client: Client, staff: User, release: ProjectRelease, learner: User
) -> None:
    row = {
        "learner": learner.pk,
        **split("first_deadline", "2026-12-10 23:59"),
        **split("second_deadline", "2026-12-17 23:59"),
        "reason": "Hospital stay, with a note",
    }
    data = release_form(release.cohort, release.project, extensions=[row])
    response = staff_client.post(url("projectrelease", "change", release.pk), data)
    assert response.status_code == 302, page(response)
    extension = Extension.objects.get()
    assert extension.granted_by == staff
    assert extension.first_deadline == nairobi("2026-12-10 23:59")


def test_it_records_who_granted_an_extension_on_its_own_page(
    staff_client: Client, staff: User, release: ProjectRelease, learner: User
) -> None:
    data = {
        "release": release.pk,
        "learner": learner.pk,
        **split("first_deadline", "2026-12-10 23:59"),
        **split("second_deadline", "2026-12-17 23:59"),
        "reason": "Illness",
    }
    response = staff_client.post(url("extension", "add"), data)
    assert response.status_code == 302
    assert Extension.objects.get().granted_by == staff


# --- Time zones --------------------------------------------------------------------------


def test_it_lists_release_dates_in_the_cohort_time_zone(
    staff_client: Client, release: ProjectRelease
) -> None:
    ProjectRelease.objects.filter(pk=release.pk).update(
        opens_at=datetime(2026, 11, 26, 6, 0, tzinfo=UTC),
        first_deadline=datetime(2026, 12, 3, 20, 59, tzinfo=UTC),
        second_deadline=datetime(2026, 12, 10, 20, 59, tzinfo=UTC),
    )
    body = page(staff_client.get(url("projectrelease", "changelist")))
    assert "Thu 26 Nov 2026, 09:00 EAT" in body
    assert "Thu 3 Dec 2026, 23:59 EAT" in body
    assert "Thu 10 Dec 2026, 23:59 EAT" in body


def test_it_lists_extension_dates_in_the_cohort_time_zone(
    staff_client: Client, release: ProjectRelease, learner: User
) -> None:
    ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=datetime(2026, 12, 6, 20, 59, tzinfo=UTC),
        second_deadline=datetime(2026, 12, 13, 20, 59, tzinfo=UTC),
    )
    body = page(staff_client.get(url("extension", "changelist")))
    assert "Sun 6 Dec 2026, 23:59 EAT" in body
    assert "Sun 13 Dec 2026, 23:59 EAT" in body


def test_it_shows_and_reads_release_dates_in_the_cohort_time_zone(
    staff_client: Client, release: ProjectRelease
) -> None:
    ProjectRelease.objects.filter(pk=release.pk).update(
        first_deadline=datetime(2026, 12, 3, 20, 59, tzinfo=UTC)
    )
    response = staff_client.get(url("projectrelease", "change", release.pk))
    form = response.context["adminform"].form
    assert form["first_deadline"].value() == datetime(2026, 12, 3, 20, 59, tzinfo=UTC)
    body = page(response)
    assert 'name="first_deadline_1" value="23:59:00"' in body  # 20:59 UTC on the form
    assert "In Africa/Nairobi time (EAT, UTC+03:00), the cohort's zone." in body

    data = release_form(release.cohort, release.project, first="2026-12-04 23:59")
    response = staff_client.post(url("projectrelease", "change", release.pk), data)
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.first_deadline == datetime(2026, 12, 4, 20, 59, tzinfo=UTC)


def test_it_reads_a_new_release_in_the_chosen_cohort_time_zone(
    staff_client: Client, cohort: Cohort, project: Project
) -> None:
    response = staff_client.post(url("projectrelease", "add"), release_form(cohort, project))
    assert response.status_code == 302
    release = ProjectRelease.objects.get()
    assert release.opens_at == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_it_shows_extension_dates_in_the_cohort_time_zone(
    staff_client: Client, release: ProjectRelease, learner: User
) -> None:
    extension = ExtensionFactory(
        release=release, learner=learner, first_deadline=datetime(2026, 12, 6, 20, 59, tzinfo=UTC)
    )
    body = page(staff_client.get(url("extension", "change", extension.pk)))
    assert 'name="first_deadline_0" value="2026-12-06"' in body
    assert 'name="first_deadline_1" value="23:59:00"' in body


def test_it_shows_the_cohort_calendar_in_its_time_zone(
    staff_client: Client, release: ProjectRelease
) -> None:
    ProjectRelease.objects.filter(pk=release.pk).update(
        second_deadline=datetime(2026, 12, 10, 20, 59, tzinfo=UTC)
    )
    body = page(staff_client.get(url("cohort", "change", release.cohort_id)))
    assert "Thu 10 Dec 2026, 23:59 EAT" in body


def test_it_announces_a_release_added_on_its_page(
    staff_client: Client,
    cohort: Cohort,
    project: Project,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    announced = Mock()
    signals.project_released.connect(announced)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(
                url("projectrelease", "add"), release_form(cohort, project)
            )
    finally:
        signals.project_released.disconnect(announced)
    assert response.status_code == 302
    assert announced.call_args.kwargs["release"] == ProjectRelease.objects.get()


# --- Action: release a project to a cohort ------------------------------------------------


def test_it_asks_what_to_release(
    staff_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    unreleased = ProjectFactory(module=release.project.module, title="Python Iterators")
    response = staff_client.post(
        url("cohort", "changelist"),
        {"action": "release_project_action", "_selected_action": [cohort.pk]},
    )
    assert response.status_code == 200
    assert response.templates[0].name == "admin/core/cohort/action_form.html"
    body = page(response)
    assert "Release a project to Cohort 7" in body
    choices = list(response.context["form"].fields["project"].queryset)
    assert choices == [unreleased]  # the released project is not offered again
    assert "Africa/Nairobi" in body


def test_it_releases_a_project(staff_client: Client, cohort: Cohort, project: Project) -> None:
    data = {
        "action": "release_project_action",
        "_selected_action": [cohort.pk],
        "apply": "1",
        "project": project.pk,
        **split("opens_at", "2026-12-01 09:00"),
        **split("first_deadline", "2026-12-08 23:59"),
        **split("second_deadline", "2026-12-15 23:59"),
        "first_multiplier": "1.00",
        "second_multiplier": "0.70",
        "late_multiplier": "0.40",
    }
    response = staff_client.post(url("cohort", "changelist"), data)
    assert response.status_code == 302
    release = ProjectRelease.objects.get(cohort=cohort, project=project)
    assert release.opens_at == nairobi("2026-12-01 09:00")
    assert release.first_deadline == nairobi("2026-12-08 23:59")
    assert release.second_deadline == nairobi("2026-12-15 23:59")
    assert (release.second_multiplier, release.late_multiplier) == (
        Decimal("0.70"),
        Decimal("0.40"),
    )
    assert messages_of(response) == [
        "Released “Python Generators” to Cohort 7: opens Tue 1 Dec 2026, 09:00 EAT, "
        "first deadline Tue 8 Dec 2026, 23:59 EAT."
    ]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (
            split("opens_at", "2026-12-09 09:00"),
            "The project must open before its first deadline.",
        ),
        (
            split("second_deadline", "2026-12-01 23:59"),
            "The second deadline cannot be before the first.",
        ),
        ({"first_multiplier": "1.5"}, "Ensure this value is less than or equal to 1."),
        ({"late_multiplier": "-0.1"}, "Ensure this value is greater than or equal to 0."),
        ({"first_deadline_0": "someday"}, "Enter a valid date."),
    ],
    ids=["opens-after-first", "second-before-first", "multiplier-1.5", "negative", "no-date"],
)
def test_it_shows_the_release_form_again_with_errors(
    staff_client: Client, cohort: Cohort, project: Project, fields: dict[str, str], error: str
) -> None:
    data = {
        "action": "release_project_action",
        "_selected_action": [cohort.pk],
        "apply": "1",
        "project": project.pk,
        **split("opens_at", "2026-12-01 09:00"),
        **split("first_deadline", "2026-12-08 23:59"),
        **split("second_deadline", "2026-12-15 23:59"),
        "first_multiplier": "1.00",
        "second_multiplier": "0.65",
        "late_multiplier": "0.50",
        **fields,
    }
    response = staff_client.post(url("cohort", "changelist"), data)
    assert response.status_code == 200
    assert error in page(response)
    assert not ProjectRelease.objects.exists()


def test_it_releases_to_one_cohort_at_a_time(staff_client: Client, cohort: Cohort) -> None:
    other = CohortFactory(slug="cohort-8")
    response = staff_client.post(
        url("cohort", "changelist"),
        {"action": "release_project_action", "_selected_action": [cohort.pk, other.pk]},
    )
    assert response.status_code == 302
    assert messages_of(response) == ["Select exactly one cohort to release a project to."]


def test_it_releases_from_the_cohort_page(
    staff_client: Client, cohort: Cohort, project: Project
) -> None:
    change = url("cohort", "change", cohort.pk)
    response = staff_client.post(
        change, {"CHANGE_FORM-action": "release_project_action", "_selected_action": cohort.pk}
    )
    assert response.status_code == 200
    assert 'name="CHANGE_FORM-action" value="release_project_action"' in page(response)
    data = {
        "CHANGE_FORM-action": "release_project_action",
        "_selected_action": cohort.pk,
        "apply": "1",
        "project": project.pk,
        **split("opens_at", "2026-12-01 09:00"),
        **split("first_deadline", "2026-12-08 23:59"),
        **split("second_deadline", "2026-12-15 23:59"),
        "first_multiplier": "1.00",
        "second_multiplier": "0.65",
        "late_multiplier": "0.50",
    }
    response = staff_client.post(change, data)
    assert response.status_code == 302
    assert response["Location"] == change
    assert ProjectRelease.objects.get().opens_at == nairobi("2026-12-01 09:00")


# --- Action: shift deadlines --------------------------------------------------------------


def test_it_asks_how_many_days_to_shift(staff_client: Client, release: ProjectRelease) -> None:
    response = staff_client.post(
        url("cohort", "changelist"),
        {"action": "shift_deadlines_action", "_selected_action": [release.cohort_id]},
    )
    assert response.status_code == 200
    body = page(response)
    assert "Shift by (days)" in body
    assert "Only releases not yet closed" in body


def test_it_shifts_every_date_of_the_cohort_by_n_days(
    staff_client: Client, release: ProjectRelease, learner: User
) -> None:
    extension = ExtensionFactory(release=release, learner=learner)
    other_cohort_release = ProjectReleaseFactory(
        project=release.project, cohort=CohortFactory(slug="cohort-8")
    )
    before = ProjectRelease.objects.get(pk=release.pk)
    data = {
        "action": "shift_deadlines_action",
        "_selected_action": [release.cohort_id],
        "apply": "1",
        "days": "7",
    }
    response = staff_client.post(url("cohort", "changelist"), data)
    assert response.status_code == 302
    assert messages_of(response) == ["Moved the deadlines of 1 release of “Cohort 7” 7 days later."]
    release.refresh_from_db()
    week = timedelta(days=7)
    assert release.opens_at == before.opens_at  # open projects stay open
    assert release.first_deadline == before.first_deadline + week
    assert release.second_deadline == before.second_deadline + week
    moved = Extension.objects.get(pk=extension.pk)
    assert moved.first_deadline == extension.first_deadline + week
    assert moved.second_deadline == extension.second_deadline + week
    untouched = ProjectRelease.objects.get(pk=other_cohort_release.pk)
    assert untouched.opens_at == other_cohort_release.opens_at


def test_it_shifts_only_releases_not_yet_closed(
    staff_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    now = timezone.now()
    closed = ProjectReleaseFactory(
        cohort=cohort,
        opens_at=now - timedelta(days=30),
        first_deadline=now - timedelta(days=20),
        second_deadline=now - timedelta(days=10),
    )
    open_before = release.first_deadline
    data = {
        "action": "shift_deadlines_action",
        "_selected_action": [cohort.pk],
        "apply": "1",
        "days": "-2",
        "only_open": "on",
    }
    response = staff_client.post(url("cohort", "changelist"), data)
    assert response.status_code == 302
    assert messages_of(response) == [
        "Moved the deadlines of 1 release of “Cohort 7” 2 days earlier."
    ]
    release.refresh_from_db()
    assert release.first_deadline == open_before - timedelta(days=2)
    assert ProjectRelease.objects.get(pk=closed.pk).second_deadline == closed.second_deadline


@pytest.mark.parametrize(
    ("days", "error"),
    [
        ("0", "Shift by at least one day"),
        ("400", "Shift by at most 366 days at once."),
        ("two", "Enter a whole number."),
        ("", "This field is required."),
    ],
)
def test_it_shows_the_shift_form_again_with_errors(
    staff_client: Client, release: ProjectRelease, days: str, error: str
) -> None:
    before = release.opens_at
    data = {
        "action": "shift_deadlines_action",
        "_selected_action": [release.cohort_id],
        "apply": "1",
        "days": days,
    }
    response = staff_client.post(url("cohort", "changelist"), data)
    assert response.status_code == 200
    assert error in page(response)
    release.refresh_from_db()
    assert release.opens_at == before


def test_it_shifts_several_cohorts_at_once(
    staff_client: Client, release: ProjectRelease, db: None
) -> None:
    other = ProjectReleaseFactory(cohort=CohortFactory(slug="cohort-8"))
    other_before, other_before_first = other.opens_at, other.first_deadline
    data = {
        "action": "shift_deadlines_action",
        "_selected_action": [release.cohort_id, other.cohort_id],
        "apply": "1",
        "days": "1",
    }
    response = staff_client.post(url("cohort", "changelist"), data)
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.opens_at == other_before
    assert other.first_deadline == other_before_first + timedelta(days=1)


def shift(cohort: Cohort, days: str, **flags: str) -> dict[str, object]:
    return {
        "action": "shift_deadlines_action",
        "_selected_action": [cohort.pk],
        "apply": "1",
        "days": days,
        **flags,
    }


def test_shifting_deadlines_keeps_an_open_project_open(
    staff_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    # Issue 14, item 6: the shift used to move openings too, so this project (opened two
    # days ago) vanished from its learners' pages until a week later.
    before = ProjectRelease.objects.get(pk=release.pk)
    response = staff_client.post(url("cohort", "changelist"), shift(cohort, "7"))
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.opens_at == before.opens_at
    assert release.first_deadline == before.first_deadline + timedelta(days=7)
    assert release.deadlines_for().state() == "current"


def test_moving_openings_that_close_an_open_project_asks_for_confirmation(
    staff_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    before = ProjectRelease.objects.get(pk=release.pk)
    response = staff_client.post(
        url("cohort", "changelist"), shift(cohort, "7", move_openings="on")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["confirm_closing"] == [
        "This shift closes 1 project that Cohort 7's learners have open now: "
        "“Python Generators”. Tick to confirm, or change the shift."
    ]
    release.refresh_from_db()
    assert release.opens_at == before.opens_at

    response = staff_client.post(
        url("cohort", "changelist"),
        shift(cohort, "7", move_openings="on", confirm_closing="on"),
    )
    assert response.status_code == 302
    assert messages_of(response) == ["Moved 1 release of “Cohort 7” 7 days later."]
    release.refresh_from_db()
    assert release.opens_at == before.opens_at + timedelta(days=7)
    assert release.deadlines_for().state() == "upcoming"


def test_moving_openings_of_upcoming_projects_needs_no_confirmation(
    staff_client: Client, cohort: Cohort, db: None
) -> None:
    upcoming = ProjectReleaseFactory(cohort=cohort, opens_at=timezone.now() + timedelta(days=1))
    before = upcoming.opens_at
    response = staff_client.post(
        url("cohort", "changelist"), shift(cohort, "3", move_openings="on")
    )
    assert response.status_code == 302
    upcoming.refresh_from_db()
    assert upcoming.opens_at == before + timedelta(days=3)


def test_a_shift_into_the_past_that_closes_an_open_project_asks_for_confirmation(
    staff_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    # Opened two days ago, second deadline in ten: twelve days earlier closes it.
    response = staff_client.post(
        url("cohort", "changelist"), shift(cohort, "-12", move_openings="on")
    )
    assert response.status_code == 200
    assert "closes 1 project" in page(response)


def test_a_deadline_moved_before_its_opening_is_refused_with_a_message(
    staff_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    before = ProjectRelease.objects.get(pk=release.pk)
    # Opened two days ago, first deadline in three: four days earlier is before it opens.
    response = staff_client.post(url("cohort", "changelist"), shift(cohort, "-6"))
    assert response.status_code == 200
    (error,) = response.context["form"].errors["days"]
    assert error.startswith("“Python Generators” would be due before it opens (")
    assert error.endswith("shift by fewer days, or also move openings.")
    release.refresh_from_db()
    assert release.first_deadline == before.first_deadline


# --- Changelists run a constant number of queries -----------------------------------------


def populate(size: int) -> None:
    """``size`` programs, each with a module, a project with tasks, and a cohort with
    members, a release and an extension."""
    for index in range(size):
        program = ProgramFactory(slug=f"program-{index}")
        module = ModuleFactory(program=program)
        project = ProjectFactory(module=module)
        ResourceFactory(project=project)
        for number in range(3):
            TaskFactory(project=project, number=number)
        cohort = CohortFactory(program=program, slug=f"populated-{index}")
        learner = MembershipFactory(cohort=cohort, role="learner").user
        MembershipFactory(cohort=cohort, role="mentor")
        release = ProjectReleaseFactory(cohort=cohort, project=project)
        ExtensionFactory(release=release, learner=learner, granted_by=UserFactory())


# Every changelist: user, the filtered count, the total count, the page of rows (with
# its joins and annotations), and one query per related-field filter for its choices.
# (The session comes from the cache.)
CHANGELIST_QUERIES = [
    ("program", 4),  # + nothing to filter by
    ("module", 5),  # + programs filter
    ("project", 6),  # + programs, modules filters
    ("task", 6),  # + programs, modules filters
    ("cohort", 5),  # + programs filter
    ("projectrelease", 6),  # + cohorts, programs filters
    ("extension", 5),  # + cohorts filter
    ("membership", 5),  # + cohorts filter
]


@pytest.mark.parametrize("size", [1, 6])
@pytest.mark.parametrize(
    ("model", "queries"), CHANGELIST_QUERIES, ids=[m for m, _ in CHANGELIST_QUERIES]
)
def test_it_lists_with_a_constant_number_of_queries(
    staff_client: Client,
    model: str,
    queries: int,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    populate(size)
    with django_assert_num_queries(queries):
        response = staff_client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= size


def test_it_counts_learners_and_mentors(staff_client: Client, learner: User, mentor: User) -> None:
    MembershipFactory(cohort=learner.memberships.get().cohort, role="learner")
    response = staff_client.get(url("cohort", "changelist"))
    cohort = response.context["cl"].result_list[0]
    assert (cohort.learner_count, cohort.mentor_count) == (2, 1)


def test_it_counts_tasks_per_project(staff_client: Client, project: Project) -> None:
    response = staff_client.get(url("project", "changelist"))
    assert response.context["cl"].result_list[0].task_count == Task.objects.count() == 3

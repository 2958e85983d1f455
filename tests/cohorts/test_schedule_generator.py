"""The schedule generator (issue 14, item 4): a module or the whole program released to a
cohort in one step, previewed in the cohort's time zone, applied in one transaction.

The clock stands still on Sunday 29 November 2026, 09:00 UTC (12:00 in Nairobi, where
Cohort 7 lives: UTC+3 all year). Dates are written on the cohort's wall clock.
"""

from __future__ import annotations

import html
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.cohorts.schedule import (
    Change,
    ScheduleSpec,
    projects_in_scope,
    schedule_apply,
    schedule_plan,
)
from core.models import Cohort, Module, Project, ProjectRelease
from tests.factories import (
    CohortFactory,
    MembershipFactory,
    ModuleFactory,
    ProjectFactory,
    ProjectReleaseFactory,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
NAIROBI = zoneinfo.ZoneInfo("Africa/Nairobi")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 30)
COHORTS_URL = reverse("admin:core_cohort_changelist")


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def nairobi(day: date, at: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(at), tzinfo=NAIROBI)


@pytest.fixture
def module(cohort: Cohort) -> Module:
    """A module of three projects in the cohort's program, none released yet."""
    module = ModuleFactory(program=cohort.program, title="Django", slug="django", order=50)
    for order, title in enumerate(["ORM basics", "Middleware", "Signals"], start=1):
        ProjectFactory(module=module, order=order, title=title, slug=f"django-{order}")
    return module


def plan_for(cohort: Cohort, module: Module | None, spec: ScheduleSpec) -> Any:
    return schedule_plan(cohort=cohort, module=module, spec=spec, now=timezone.now())


# --- The plan (a pure function) ------------------------------------------------------------


def test_it_plans_one_project_after_another_on_the_cohort_wall_clock(
    cohort: Cohort, module: Module
) -> None:
    spec = ScheduleSpec(start=MONDAY, project_days=7, first_deadline_days=6, second_deadline_days=9)
    plan = plan_for(cohort, module, spec)
    assert [row.project.title for row in plan.rows] == ["ORM basics", "Middleware", "Signals"]
    assert [row.change for row in plan.rows] == [Change.ADDED] * 3
    first, second, third = plan.rows
    assert first.opens_at == nairobi(MONDAY, "09:00")
    assert first.first_deadline == nairobi(date(2026, 12, 6), "23:59")
    assert first.second_deadline == nairobi(date(2026, 12, 9), "23:59")
    assert second.opens_at == nairobi(date(2026, 12, 7), "09:00")
    assert third.opens_at == nairobi(date(2026, 12, 14), "09:00")


def test_a_gap_leaves_days_between_projects(cohort: Cohort, module: Module) -> None:
    spec = ScheduleSpec(start=MONDAY, project_days=5, gap_days=2)
    opens = [row.opens_at for row in plan_for(cohort, module, spec).rows]
    assert opens == [nairobi(MONDAY + timedelta(days=7 * n), "09:00") for n in range(3)]


def test_it_skips_chosen_weekdays_and_dates(cohort: Cohort, module: Module) -> None:
    # Weekends off, and Monday 7 December a holiday: the second project opens Tuesday,
    # and a deadline on Saturday 5 December moves to Tuesday 8 December.
    spec = ScheduleSpec(
        start=MONDAY,
        project_days=7,
        first_deadline_days=5,
        second_deadline_days=5,
        skip_weekdays=frozenset({5, 6}),
        skip_dates=frozenset({date(2026, 12, 7)}),
    )
    first, second, third = plan_for(cohort, module, spec).rows
    assert first.first_deadline == nairobi(date(2026, 12, 8), "23:59")
    assert second.opens_at == nairobi(date(2026, 12, 8), "09:00")
    assert third.opens_at == nairobi(date(2026, 12, 15), "09:00")


def test_deadlines_stay_at_2359_across_a_dst_change(module: Module) -> None:
    berlin = CohortFactory(program=module.program, slug="berlin", time_zone="Europe/Berlin")
    # Clocks go back in Berlin on Sunday 25 October 2026.
    spec = ScheduleSpec(start=date(2026, 10, 19), first_deadline_days=6, second_deadline_days=13)
    with time_machine.travel(datetime(2026, 10, 1, tzinfo=UTC), tick=False):
        first, second, _ = plan_for(berlin, module, spec).rows
    local = timezone.localtime(first.first_deadline, BERLIN)
    assert (local.date(), local.time()) == (date(2026, 10, 25), time(23, 59))
    assert second.opens_at - first.opens_at == timedelta(days=7, hours=1)  # in UTC


def test_a_rerun_keeps_open_releases_and_moves_only_the_ones_not_opened(
    cohort: Cohort, module: Module
) -> None:
    orm, middleware, signals_ = projects_in_scope(cohort, module)
    opened = ProjectReleaseFactory(cohort=cohort, project=orm)  # opened two days ago
    later = ProjectReleaseFactory(
        cohort=cohort,
        project=middleware,
        opens_at=nairobi(date(2026, 12, 20), "09:00"),
        first_deadline=nairobi(date(2026, 12, 26), "23:59"),
        second_deadline=nairobi(date(2027, 1, 2), "23:59"),
    )
    plan = plan_for(cohort, module, ScheduleSpec(start=MONDAY))
    assert [(row.project, row.change) for row in plan.rows] == [
        (orm, Change.KEPT),
        (middleware, Change.UPDATED),
        (signals_, Change.ADDED),
    ]
    assert plan.rows[0].opens_at == opened.opens_at  # shown with its own dates
    assert plan.rows[1].existing == later


def test_opened_projects_take_no_slot_the_rest_starts_on_the_start_date(
    cohort: Cohort, module: Module
) -> None:
    orm, middleware, _ = projects_in_scope(cohort, module)
    ProjectReleaseFactory(cohort=cohort, project=orm)  # opened two days ago
    plan = plan_for(cohort, module, ScheduleSpec(start=MONDAY, project_days=7))
    assert plan.rows[1].project == middleware
    assert plan.rows[1].opens_at == nairobi(MONDAY, "09:00")
    assert plan.rows[2].opens_at == nairobi(MONDAY + timedelta(days=7), "09:00")


def test_the_suggested_start_is_a_week_after_the_latest_opened_project(
    staff_client: Client, cohort: Cohort, release: ProjectRelease, module: Module
) -> None:
    # The fixture's release opened two days ago (Friday 27 November in Nairobi).
    response = staff_client.post(COHORTS_URL, action(cohort))
    assert response.context["form"]["start"].value() == date(2026, 12, 4)


def test_a_rerun_with_the_same_inputs_changes_nothing(cohort: Cohort, module: Module) -> None:
    spec = ScheduleSpec(start=MONDAY)
    schedule_apply(cohort=cohort, module=module, spec=spec)
    plan = plan_for(cohort, module, spec)
    assert {row.change for row in plan.rows} == {Change.UNCHANGED}
    assert plan.changes == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"project_days": 0}, "project_days"),
        ({"gap_days": -1}, "gap_days"),
        ({"first_deadline_days": 400}, "first_deadline_days"),
        ({"first_deadline_days": 9, "second_deadline_days": 8}, "second_deadline_days"),
        ({"skip_weekdays": frozenset(range(7))}, "skip_weekdays"),
        ({"late_multiplier": Decimal("1.5")}, "late_multiplier"),
        ({"start": date(2100, 12, 25), "project_days": 300}, "start"),
    ],
)
def test_it_refuses_a_schedule_it_cannot_plan(
    cohort: Cohort, module: Module, changes: dict[str, Any], field: str
) -> None:
    spec = ScheduleSpec(**{"start": MONDAY, **changes})
    with pytest.raises(ValidationError) as error:
        plan_for(cohort, module, spec)
    assert field in error.value.message_dict


def test_it_refuses_more_projects_than_the_limit(
    cohort: Cohort, module: Module, settings: Any
) -> None:
    settings.SCHEDULE_MAX_PROJECTS = 2
    with pytest.raises(ValidationError) as error:
        plan_for(cohort, module, ScheduleSpec(start=MONDAY))
    assert error.value.message_dict["module"] == ["At most 2 projects at once: pick a module."]


# --- Applying it ---------------------------------------------------------------------------


def test_applying_writes_the_plan_and_tells_each_learner_once(
    cohort: Cohort,
    module: Module,
    learner: Any,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    spec = ScheduleSpec(start=MONDAY, second_multiplier=Decimal("0.70"))
    with django_capture_on_commit_callbacks(execute=True):
        plan = schedule_apply(cohort=cohort, module=module, spec=spec)
    releases = ProjectRelease.objects.filter(cohort=cohort, project__module=module)
    assert [(r.opens_at, r.second_multiplier) for r in releases.order_by("opens_at")] == [
        (row.opens_at, Decimal("0.70")) for row in plan.rows
    ]
    # One message for the lot, not one per project (nor one email per project).
    assert list(learner.notifications.values_list("title", "body")) == [
        (
            "3 projects are on your calendar",
            "ORM basics opens Mon 30 Nov 2026, 09:00 EAT; Middleware opens Mon 7 Dec 2026, "
            "09:00 EAT; Signals opens Mon 14 Dec 2026, 09:00 EAT.",
        )
    ]
    assert [message.to for message in mail.outbox] == [[learner.email]]


def test_a_rerun_that_moves_releases_not_opened_tells_each_learner_once(
    cohort: Cohort,
    module: Module,
    learner: Any,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    """Learners saw the first plan on their calendar: a re-run that moves two projects
    not opened yet tells each of them once, as a deadline change."""
    with django_capture_on_commit_callbacks(execute=True):
        schedule_apply(cohort=cohort, module=module, spec=ScheduleSpec(start=MONDAY))
    learner.notifications.all().delete()
    mail.outbox.clear()

    # Monday 10:00: ORM basics has opened and stays; the rest start on Wednesday.
    wednesday = ScheduleSpec(start=date(2026, 12, 2))
    with (
        time_machine.travel(nairobi(MONDAY, "10:00"), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        schedule_apply(cohort=cohort, module=module, spec=wednesday)

    assert list(learner.notifications.values_list("kind", "title", "body")) == [
        (
            "deadline_changed",
            f"Your calendar in {cohort.name} changed: 2 moved",
            "Middleware opens Wed 2 Dec 2026, 09:00 EAT; Signals opens Wed 9 Dec 2026, 09:00 EAT.",
        )
    ]
    assert [message.to for message in mail.outbox] == [[learner.email]]


def test_applying_a_single_new_release_announces_it_as_the_release_action_does(
    cohort: Cohort,
    module: Module,
    learner: Any,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    orm, middleware, _ = projects_in_scope(cohort, module)
    for project in (orm, middleware):
        ProjectReleaseFactory(cohort=cohort, project=project)
    with django_capture_on_commit_callbacks(execute=True):
        schedule_apply(cohort=cohort, module=module, spec=ScheduleSpec(start=MONDAY))
    titles = list(learner.notifications.values_list("title", flat=True))
    assert titles == ["Signals is on your calendar"]


def test_applying_a_whole_program_releases_every_module(cohort: Cohort, module: Module) -> None:
    other = ModuleFactory(program=cohort.program, order=60)
    ProjectFactory(module=other, title="Docker basics")
    plan = schedule_apply(cohort=cohort, module=None, spec=ScheduleSpec(start=MONDAY))
    in_program = Project.objects.filter(module__program=cohort.program).count()
    assert len(plan.rows) == in_program
    assert ProjectRelease.objects.filter(cohort=cohort).count() == in_program


def test_archived_projects_are_neither_scheduled_nor_offered_for_release(
    staff_client: Client, cohort: Cohort, module: Module
) -> None:
    """A project dropped from the program's files (archived, kept for its history) is no
    longer part of the program: the generator and "release a project" leave it out."""
    dropped = ProjectFactory(module=module, order=9, title="Dropped project", archived=True)
    plan = schedule_apply(cohort=cohort, module=module, spec=ScheduleSpec(start=MONDAY))
    assert [row.project for row in plan.rows] == list(
        module.projects.filter(archived=False).order_by("order")
    )
    assert not ProjectRelease.objects.filter(project=dropped).exists()

    other = CohortFactory(program=cohort.program)
    response = staff_client.post(
        COHORTS_URL,
        {"action": "release_project_action", "_selected_action": [other.pk]},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "ORM basics" in page
    assert "Dropped project" not in page


def test_applying_leaves_other_cohorts_alone(cohort: Cohort, module: Module) -> None:
    other = CohortFactory(program=cohort.program, slug="other")
    schedule_apply(cohort=cohort, module=module, spec=ScheduleSpec(start=MONDAY))
    assert not ProjectRelease.objects.filter(cohort=other).exists()


# --- The admin action ----------------------------------------------------------------------


def action(cohort: Cohort, **fields: Any) -> dict[str, Any]:
    return {"action": "release_schedule_action", "_selected_action": [cohort.pk], **fields}


def filled(module: Module | None, **changes: Any) -> dict[str, Any]:
    return {
        "apply": "1",
        "module": module.pk if module else "",
        "start": "2026-11-30",
        "opens_time": "09:00",
        "deadline_time": "23:59",
        "project_days": "7",
        "gap_days": "0",
        "first_deadline_days": "6",
        "second_deadline_days": "13",
        "skip_dates": "",
        "first_multiplier": "1.00",
        "second_multiplier": "0.65",
        "late_multiplier": "0.50",
        **changes,
    }


def page(response: Any) -> str:
    return html.unescape(response.content.decode())


def test_it_offers_the_generator_with_a_suggested_start(
    staff_client: Client, cohort: Cohort, module: Module
) -> None:
    response = staff_client.post(COHORTS_URL, action(cohort))
    assert response.status_code == 200
    body = page(response)
    assert "Release a schedule to Cohort 7" in body
    assert response.context["form"]["start"].value() == date(2026, 11, 30)  # tomorrow there
    assert "The whole program" in body
    assert "Preview" in body and 'name="confirm"' not in body


def test_the_preview_shows_every_release_in_the_cohorts_time_zone(
    staff_client: Client, cohort: Cohort, module: Module
) -> None:
    response = staff_client.post(COHORTS_URL, action(cohort, **filled(module)))
    assert response.status_code == 200
    body = page(response)
    assert "3 to add, 0 to move, 0 kept (already opened)" in body
    assert "in Africa/Nairobi, the cohort's time zone" in body
    assert "Mon 30 Nov 2026, 09:00 EAT" in body  # ORM basics opens
    assert "Sun 6 Dec 2026, 23:59 EAT" in body  # and is first due
    assert 'name="confirm"' in body and "Release schedule (3 changes)" in body
    assert not ProjectRelease.objects.filter(project__module=module).exists()


def test_release_applies_the_preview_and_shows_the_cohort_schedule(
    staff_client: Client, cohort: Cohort, module: Module
) -> None:
    preview = staff_client.post(COHORTS_URL, action(cohort, **filled(module)))
    fingerprint = preview.context["previewed"]
    response = staff_client.post(
        COHORTS_URL, action(cohort, **filled(module), previewed=fingerprint, confirm="Release")
    )
    assert response.status_code == 302
    assert response["Location"] == "/cohorts/cohort-7/schedule/"  # the cohort schedule
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Released “Django” to Cohort 7: 3 added, 0 updated, 0 kept."
    ]
    assert ProjectRelease.objects.filter(cohort=cohort, project__module=module).count() == 3


def test_release_after_changing_the_inputs_previews_them_first(
    staff_client: Client, cohort: Cohort, module: Module
) -> None:
    preview = staff_client.post(COHORTS_URL, action(cohort, **filled(module)))
    changed = filled(module, gap_days="3", previewed=preview.context["previewed"])
    response = staff_client.post(COHORTS_URL, action(cohort, **changed, confirm="Release"))
    assert response.status_code == 200  # the new preview, nothing written
    assert "3 to add" in page(response)
    assert not ProjectRelease.objects.filter(project__module=module).exists()


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"skip_dates": "2026-12-25\nChristmas"}, "skip_dates", "“Christmas” is not a date"),
        ({"project_days": "0"}, "project_days", "Between 1 and 366 days."),
        ({"module": "999999"}, "module", "Select a valid choice."),
    ],
)
def test_bad_input_shows_the_form_again(
    staff_client: Client,
    cohort: Cohort,
    module: Module,
    changes: dict[str, str],
    field: str,
    error: str,
) -> None:
    response = staff_client.post(COHORTS_URL, action(cohort, **{**filled(module), **changes}))
    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors[field])
    assert not ProjectRelease.objects.filter(project__module=module).exists()


def test_a_module_of_another_program_cannot_be_picked(
    staff_client: Client, cohort: Cohort, module: Module
) -> None:
    foreign = ModuleFactory(program__slug="frontend", program__name="Frontend")
    ProjectFactory(module=foreign)
    response = staff_client.post(COHORTS_URL, action(cohort, **filled(foreign)))
    assert "module" in response.context["form"].errors


def test_it_asks_for_exactly_one_cohort(staff_client: Client, cohort: Cohort, db: None) -> None:
    other = CohortFactory(slug="other")
    data = {"action": "release_schedule_action", "_selected_action": [cohort.pk, other.pk]}
    response = staff_client.post(COHORTS_URL, data)
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Select exactly one cohort to release a schedule to."
    ]


def test_people_who_are_not_staff_cannot_run_it(
    learner_client: Client, mentor: Any, cohort: Cohort, module: Module
) -> None:
    response = learner_client.post(COHORTS_URL, action(cohort, **filled(module)))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not ProjectRelease.objects.filter(project__module=module).exists()


# --- A constant number of queries, whatever the program's size ----------------------------


def program_of(cohort: Cohort, projects: int) -> Module:
    module = ModuleFactory(program=cohort.program, order=70)
    for order in range(projects):
        ProjectFactory(module=module, order=order)
    for _ in range(3):
        MembershipFactory(cohort=cohort, role="learner")
    return module


# Preview (a POST of the filled form on the cohort list): the session's user; the
# changelist the action is posted to (program filter, two counts, program filter again);
# the selected cohort with its release counts; the modules to choose from (read twice:
# the form's cleaning and its rendering); the projects in scope; the cohort's releases
# of them. Nothing per project or per learner.
PREVIEW_QUERIES = 10
# Apply: the same first seven, then in one savepoint the cohort's row lock, the projects,
# the releases, one INSERT, one UPDATE, the audit row; after it the admin's log entry,
# its actor and its audit row. Announcements (one per new release) run on commit.
APPLY_QUERIES = 18


@pytest.mark.parametrize("size", [2, 12])
def test_the_preview_runs_a_constant_number_of_queries(
    staff_client: Client,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    module = program_of(cohort, size)
    with django_assert_num_queries(PREVIEW_QUERIES):
        response = staff_client.post(COHORTS_URL, action(cohort, **filled(module)))
    assert response.status_code == 200
    assert f"{size} to add" in page(response)


@pytest.mark.parametrize("size", [2, 12])
def test_applying_runs_a_constant_number_of_queries(
    staff_client: Client,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    module = program_of(cohort, size)
    # Half of the module is on the calendar already, not open yet: those are updated.
    for project in Project.objects.filter(module=module)[: size // 2]:
        ProjectReleaseFactory(
            cohort=cohort, project=project, opens_at=timezone.now() + timedelta(days=30)
        )
    preview = staff_client.post(COHORTS_URL, action(cohort, **filled(module)))
    data = action(cohort, **filled(module), previewed=preview.context["previewed"], confirm="1")
    ContentType.objects.get_for_model(Cohort)  # the admin log's, cached for the process
    with django_assert_num_queries(APPLY_QUERIES):
        response = staff_client.post(COHORTS_URL, data)
    assert response.status_code == 302
    assert ProjectRelease.objects.filter(cohort=cohort, project__module=module).count() == size

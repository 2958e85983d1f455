"""Services that write a cohort's calendar: release_project, shift_cohort_deadlines."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal
from unittest.mock import Mock, patch

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.cohorts import signals
from core.cohorts.services import release_project, shift_cohort_deadlines
from core.models import Cohort, Extension, Project, ProjectRelease, User
from tests.factories import (
    CohortFactory,
    ExtensionFactory,
    ModuleFactory,
    ProgramFactory,
    ProjectFactory,
    ProjectReleaseFactory,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def dates(days_from_now: int = 1) -> dict[str, datetime]:
    opens = timezone.now() + timedelta(days=days_from_now)
    return {
        "opens_at": opens,
        "first_deadline": opens + timedelta(days=7),
        "second_deadline": opens + timedelta(days=14),
    }


def test_it_releases_a_project(cohort: Cohort, project: Project) -> None:
    when = dates()
    release = release_project(
        cohort=cohort, project=project, late_multiplier=Decimal("0.40"), **when
    )
    assert ProjectRelease.objects.get() == release
    assert release.first_deadline == when["first_deadline"]
    assert release.late_multiplier == Decimal("0.40")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"opens_at": timezone.now() + timedelta(days=30)},
            "__all__",
            "The project must open before its first deadline.",
        ),
        (
            {"second_deadline": timezone.now()},
            "__all__",
            "The second deadline cannot be before the first.",
        ),
        (
            {"first_multiplier": Decimal("1.5")},
            "first_multiplier",
            "Ensure this value is less than or equal to 1.",
        ),
    ],
    ids=["opens-after-first", "second-before-first", "multiplier"],
)
def test_it_refuses_bad_input_with_a_validation_error(
    cohort: Cohort, project: Project, change: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        release_project(cohort=cohort, project=project, **(dates() | change))  # type: ignore[arg-type]
    assert message in error.value.message_dict[field]
    assert not ProjectRelease.objects.exists()


def test_it_refuses_to_release_a_project_twice(release: ProjectRelease) -> None:
    with pytest.raises(ValidationError) as error:
        release_project(cohort=release.cohort, project=release.project, **dates())
    assert "already exists" in str(error.value)
    assert ProjectRelease.objects.count() == 1


def test_it_refuses_a_project_of_another_program(cohort: Cohort, db: None) -> None:
    other = ProjectFactory(module=ModuleFactory(program=ProgramFactory(slug="frontend")))
    with pytest.raises(ValidationError) as error:
        release_project(cohort=cohort, project=other, **dates())
    assert "project" in error.value.message_dict


def test_it_shifts_every_release_and_extension_of_the_cohort(
    release: ProjectRelease, learner: User
) -> None:
    extension = ExtensionFactory(release=release, learner=learner)
    elsewhere = ProjectReleaseFactory(cohort=CohortFactory(slug="elsewhere"))
    before = ProjectRelease.objects.get(pk=release.pk)

    assert shift_cohort_deadlines(cohort=release.cohort, days=3) == [release]

    release.refresh_from_db()
    assert release.opens_at == before.opens_at  # deadlines only, unless openings are asked
    assert release.first_deadline - before.first_deadline == timedelta(days=3)
    assert release.second_deadline - before.second_deadline == timedelta(days=3)
    moved = Extension.objects.get(pk=extension.pk)
    assert moved.first_deadline - extension.first_deadline == timedelta(days=3)
    assert ProjectRelease.objects.get(pk=elsewhere.pk).opens_at == elsewhere.opens_at


def test_it_keeps_deadlines_on_the_cohort_wall_clock_across_a_dst_change(db: None) -> None:
    cohort = CohortFactory(slug="berlin", time_zone="Europe/Berlin")
    # 23:59 in Berlin, a week before clocks go back (25 October 2026).
    first = datetime(2026, 10, 20, 23, 59, tzinfo=BERLIN)
    release = ProjectReleaseFactory(
        cohort=cohort,
        opens_at=first - timedelta(days=7),
        first_deadline=first,
        second_deadline=first + timedelta(days=1),
    )
    shift_cohort_deadlines(cohort=cohort, days=7)
    release.refresh_from_db()
    local = timezone.localtime(release.first_deadline, BERLIN)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-10-27", 23, 59)
    assert release.first_deadline - first == timedelta(days=7, hours=1)  # one hour more, in UTC


def test_it_shifts_only_releases_not_yet_closed(cohort: Cohort, release: ProjectRelease) -> None:
    now = timezone.now()
    closed = ProjectReleaseFactory(
        cohort=cohort,
        opens_at=now - timedelta(days=20),
        first_deadline=now - timedelta(days=10),
        second_deadline=now - timedelta(days=1),
    )
    assert shift_cohort_deadlines(cohort=cohort, days=-1, only_open=True, now=now) == [release]
    assert ProjectRelease.objects.get(pk=closed.pk).opens_at == closed.opens_at


@pytest.mark.parametrize("days", [0, 367, -367])
def test_it_refuses_a_shift_of_zero_or_more_than_a_year(release: ProjectRelease, days: int) -> None:
    with pytest.raises(ValidationError) as error:
        shift_cohort_deadlines(cohort=release.cohort, days=days)
    assert "days" in error.value.message_dict


def test_it_shifts_nothing_in_an_empty_cohort(cohort: Cohort) -> None:
    assert shift_cohort_deadlines(cohort=cohort, days=7) == []


def test_it_announces_the_release_once_committed(
    cohort: Cohort,
    project: Project,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    announced = Mock()
    signals.project_released.connect(announced)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            release = release_project(cohort=cohort, project=project, **dates())
            announced.assert_not_called()
    finally:
        signals.project_released.disconnect(announced)
    announced.assert_called_once_with(
        signal=signals.project_released, sender=ProjectRelease, release=release
    )


def test_it_recomputes_the_scores_of_every_moved_release(
    cohort: Cohort,
    release: ProjectRelease,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    other = ProjectReleaseFactory(cohort=cohort)
    with (
        patch("core.cohorts.services.release_recompute_scores") as recompute,
        django_capture_on_commit_callbacks(execute=True),
    ):
        shift_cohort_deadlines(cohort=cohort, days=2)
    assert {call.kwargs["release"].pk for call in recompute.call_args_list} == {
        release.pk,
        other.pk,
    }

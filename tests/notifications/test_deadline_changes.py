"""Deadline changes reach learners (issue 14, item 5): an extension granted, changed or
withdrawn, and a shift of the cohort's calendar, each tell the learners concerned once,
in the app and by email unless they turned that off.

Driven through the admin as staff use it, with on-commit callbacks executed: the admin
commits, the signal fires, the receiver notifies, the email task runs (immediate
backend). The clock stands still on Sunday 29 November 2026, 09:00 UTC; Cohort 7 is in
Nairobi (UTC+3), and the fixture's release opened two days ago.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from core.cohorts.services import shift_cohort_deadlines
from core.models import Cohort, EmailPreference, Extension, Notification, ProjectRelease, User
from tests.cohorts.test_admin_calendar import nairobi, release_form, split
from tests.factories import ExtensionFactory, MembershipFactory, ProjectReleaseFactory

Capture = Callable[..., Any]
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
KIND = Notification.Kind.DEADLINE_CHANGED


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def notes(user: User) -> list[tuple[str, str]]:
    return list(Notification.objects.filter(user=user, kind=KIND).values_list("title", "body"))


def url(model: str, view: str, *args: object) -> str:
    return reverse(f"admin:core_{model}_{view}", args=args)


def extension_form(release: ProjectRelease, learner: User, **fields: Any) -> dict[str, Any]:
    return {
        "release": release.pk,
        "learner": learner.pk,
        **split("first_deadline", "2026-12-10 23:59"),
        **split("second_deadline", "2026-12-17 23:59"),
        "reason": "Hospital stay, with a note",
        **fields,
    }


# --- Extensions --------------------------------------------------------------------------


def test_granting_an_extension_tells_the_learner_once(
    staff_client: Client,
    release: ProjectRelease,
    learner: User,
    mentor: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url("extension", "add"), extension_form(release, learner))
    assert response.status_code == 302
    assert notes(learner) == [
        (
            "Extension granted on Python Generators",
            "Your deadlines: first Thu 10 Dec 2026, 23:59 EAT, second Thu 17 Dec 2026, "
            "23:59 EAT. Reason: Hospital stay, with a note",
        )
    ]
    assert notes(mentor) == []
    assert [message.to for message in mail.outbox] == [[learner.email]]
    assert mail.outbox[0].subject.endswith("Extension granted on Python Generators")


def test_an_extension_granted_on_the_release_page_tells_the_learner(
    staff_client: Client,
    release: ProjectRelease,
    learner: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    row = {
        "learner": learner.pk,
        **split("first_deadline", "2026-12-10 23:59"),
        **split("second_deadline", "2026-12-17 23:59"),
        "reason": "Bereavement",
    }
    data = release_form(
        release.cohort,
        release.project,
        opens="2026-11-27 12:00",
        first="2026-12-02 12:00",
        second="2026-12-09 12:00",
        extensions=[row],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url("projectrelease", "change", release.pk), data)
    assert response.status_code == 302
    assert [title for title, _ in notes(learner)] == ["Extension granted on Python Generators"]


def test_changing_an_extensions_dates_tells_the_learner_but_a_new_reason_does_not(
    staff_client: Client,
    release: ProjectRelease,
    learner: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    extension = ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=nairobi("2026-12-10 23:59"),
        second_deadline=nairobi("2026-12-17 23:59"),
    )
    change = url("extension", "change", extension.pk)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(change, extension_form(release, learner, reason="Typo fixed"))
    assert notes(learner) == []

    moved = extension_form(release, learner, **split("first_deadline", "2026-12-12 23:59"))
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(change, moved)
    assert response.status_code == 302
    ((title, body),) = notes(learner)
    assert title == "Extension changed on Python Generators"
    assert body.startswith("Your deadlines: first Sat 12 Dec 2026, 23:59 EAT")


def test_withdrawing_an_extension_tells_the_learner_the_deadlines_that_apply_again(
    staff_client: Client,
    release: ProjectRelease,
    learner: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    extension = ExtensionFactory(release=release, learner=learner)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url("extension", "delete", extension.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Extension.objects.exists()
    # The cohort's own deadlines: first on Wednesday 2 December, 12:00 in Nairobi.
    assert notes(learner) == [
        (
            "Your extension on Python Generators was withdrawn",
            "Your deadlines: first Wed 2 Dec 2026, 12:00 EAT, second Wed 9 Dec 2026, 12:00 EAT.",
        )
    ]


def test_withdrawing_several_extensions_at_once_tells_each_learner_once(
    staff_client: Client,
    release: ProjectRelease,
    learner: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    other = MembershipFactory(cohort=release.cohort, role="learner").user
    extensions = [
        ExtensionFactory(release=release, learner=learner),
        ExtensionFactory(release=release, learner=other),
    ]
    data = {"action": "delete_selected", "_selected_action": [e.pk for e in extensions]}
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url("extension", "changelist"), {**data, "post": "yes"})
    assert response.status_code == 302
    assert len(notes(learner)) == len(notes(other)) == 1


# --- Shifting deadlines -------------------------------------------------------------------


def test_a_shift_of_many_releases_tells_each_learner_once(
    staff_client: Client,
    cohort: Cohort,
    release: ProjectRelease,
    learner: User,
    mentor: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    for _ in range(9):
        ProjectReleaseFactory(cohort=cohort)
    other = MembershipFactory(cohort=cohort, role="learner").user
    data = {
        "action": "shift_deadlines_action",
        "_selected_action": [cohort.pk],
        "apply": "1",
        "days": "3",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url("cohort", "changelist"), data)
    assert response.status_code == 302
    for person in (learner, other):
        ((title, body),) = notes(person)
        assert title == "Deadlines in Cohort 7 moved 3 days later"
        assert body.startswith("Python Generators, first deadline Sat 5 Dec 2026, 12:00 EAT; ")
        assert body.endswith("; and 7 more. Opening dates did not move.")
    assert notes(mentor) == []
    assert sorted(message.to[0] for message in mail.outbox) == sorted([learner.email, other.email])


def test_a_learner_who_turned_the_email_off_is_told_in_the_app_only(
    cohort: Cohort,
    release: ProjectRelease,
    learner: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    EmailPreference.objects.create(user=learner, kind=KIND, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        shift_cohort_deadlines(cohort=cohort, days=-1)
    assert [title for title, _ in notes(learner)] == ["Deadlines in Cohort 7 moved 1 day earlier"]
    assert mail.outbox == []


def test_a_refused_shift_tells_nobody(
    cohort: Cohort,
    release: ProjectRelease,
    learner: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        shift_cohort_deadlines(cohort=cohort, days=-30)  # due before it opens: refused
    assert notes(learner) == []


def test_learners_can_choose_whether_deadline_changes_come_by_email(
    learner_client: Client, learner: User
) -> None:
    page = learner_client.get(reverse("notification_settings")).content.decode()
    assert "my deadlines change" in page

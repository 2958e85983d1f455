"""Admin pickers and searches find releases, extensions and memberships by cohort name
(issue 14, item 7): staff think "Cohort 7's generators project", not "release #41"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from core.models import Cohort, Extension, Membership, ProjectRelease, User
from tests.factories import (
    CohortFactory,
    ExtensionFactory,
    MembershipFactory,
    ProjectReleaseFactory,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def elsewhere(release: ProjectRelease) -> ProjectRelease:
    """The same project released to another cohort: only the cohort name tells them apart."""
    cohort = CohortFactory(name="Evening Cohort", slug="evening", program=release.cohort.program)
    return ProjectReleaseFactory(cohort=cohort, project=release.project)


def autocomplete(client: Client, model: str, field: str, term: str) -> list[str]:
    """The options the admin's picker of ``model.field`` offers for ``term``."""
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": term, "app_label": "core", "model_name": model, "field_name": field},
    )
    assert response.status_code == 200
    return [result["text"] for result in response.json()["results"]]


def changelist(client: Client, model: str, term: str) -> list[int]:
    response = client.get(reverse(f"admin:core_{model}_changelist"), {"q": term})
    assert response.status_code == 200
    return [row.pk for row in response.context["cl"].result_list]


def test_the_extension_release_picker_finds_by_cohort_name(
    staff_client: Client, release: ProjectRelease, elsewhere: ProjectRelease
) -> None:
    assert autocomplete(staff_client, "extension", "release", "evening") == [str(elsewhere)]
    assert sorted(autocomplete(staff_client, "extension", "release", "generators")) == sorted(
        [str(release), str(elsewhere)]
    )


def test_the_release_changelist_finds_by_cohort_name(
    staff_client: Client, release: ProjectRelease, elsewhere: ProjectRelease
) -> None:
    assert changelist(staff_client, "projectrelease", "Evening") == [elsewhere.pk]


def test_the_extension_changelist_finds_by_cohort_name_project_or_person(
    staff_client: Client, release: ProjectRelease, elsewhere: ProjectRelease, learner: User
) -> None:
    mine = ExtensionFactory(release=release, learner=learner)
    other = ExtensionFactory(release=elsewhere, learner=learner)
    assert changelist(staff_client, "extension", "evening") == [other.pk]
    assert changelist(staff_client, "extension", "cohort 7") == [mine.pk]
    assert set(changelist(staff_client, "extension", "generators")) == {mine.pk, other.pk}
    assert set(changelist(staff_client, "extension", learner.email)) == {mine.pk, other.pk}
    assert Extension.objects.count() == 2


def test_the_membership_changelist_finds_by_cohort_name(
    staff_client: Client, cohort: Cohort, learner: User, db: None
) -> None:
    evening = CohortFactory(name="Evening Cohort", slug="evening")
    joined = MembershipFactory(cohort=evening, user=learner)
    assert changelist(staff_client, "membership", "evening") == [joined.pk]
    in_cohort_7 = set(Membership.objects.filter(cohort=cohort).values_list("pk", flat=True))
    assert set(changelist(staff_client, "membership", "cohort 7")) == in_cohort_7


def test_the_membership_cohort_picker_finds_by_cohort_name(
    staff_client: Client, cohort: Cohort
) -> None:
    assert autocomplete(staff_client, "membership", "cohort", "cohort 7") == ["Cohort 7"]

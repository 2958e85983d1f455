"""Races on a join code (PostgreSQL): its last uses go to exactly as many people as it
allows, and one person pressing "Join" twice at once joins once.

Each thread uses its own database connection, as concurrent requests do. SQLite
serializes writers on the whole file, so these run on PostgreSQL only.
"""

from __future__ import annotations

import pytest
from django.db import connection

from core.cohorts.join_codes import JoinRefused, join_code_create, join_code_redeem
from core.models import JoinCode, Membership
from tests.factories import CohortFactory, UserFactory
from tests.races import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def test_ten_people_race_for_three_uses_and_three_join() -> None:
    cohort = CohortFactory()
    new = join_code_create(cohort=cohort, max_uses=3)
    people = UserFactory.create_batch(10)
    results = run_together([lambda p=p: join_code_redeem(code=new.code, user=p) for p in people])
    joined = [r for r in results if isinstance(r, Membership)]
    refused = [r for r in results if isinstance(r, JoinRefused)]
    assert len(joined) == 3, results
    assert [r.refusal.reason for r in refused] == ["used_up"] * 7
    assert Membership.objects.filter(cohort=cohort).count() == 3
    assert JoinCode.objects.get(pk=new.join_code.pk).uses == 3


def test_one_person_pressing_join_five_times_at_once_joins_once() -> None:
    cohort = CohortFactory()
    new = join_code_create(cohort=cohort, max_uses=10)
    person = UserFactory()
    results = run_together([lambda: join_code_redeem(code=new.code, user=person)] * 5)
    assert sum(isinstance(r, Membership) for r in results) == 1, results
    assert all(r.refusal.reason == "already_member" for r in results if isinstance(r, JoinRefused))
    assert JoinCode.objects.get(pk=new.join_code.pk).uses == 1


def test_one_person_racing_two_cohorts_codes_learns_in_one() -> None:
    first = join_code_create(cohort=CohortFactory(), max_uses=10)
    second = join_code_create(cohort=CohortFactory(), max_uses=10)
    person = UserFactory()
    results = run_together(
        [
            lambda: join_code_redeem(code=first.code, user=person),
            lambda: join_code_redeem(code=second.code, user=person),
        ]
    )
    assert sum(isinstance(r, Membership) for r in results) == 1, results
    assert Membership.objects.filter(user=person, role="learner").count() == 1

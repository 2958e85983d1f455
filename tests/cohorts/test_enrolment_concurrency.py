"""Two staff members apply the same file at once: one enrols, the other is told to look
again, and nobody is created, added or invited twice."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection

from core.cohorts.enrolment import EnrolmentConflict, Outcome, cohort_enrol, enrolment_rows_read
from core.models import Membership, User
from tests.factories import CohortFactory, StaffFactory, UserFactory
from tests.races import run_together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]

FILE = (
    b"email,name,role\n"
    b"ada@example.com,Ada,learner\n"
    b"grace@example.com,Grace,mentor\n"
    b"lee@example.com,Lee,reviewer\n"
)


def test_two_applies_of_one_file_enrol_each_person_once(
    mailoutbox: list[mail.EmailMessage],
) -> None:
    cohort = CohortFactory()
    UserFactory(email="lee@example.com")
    sam, sue = StaffFactory(), StaffFactory()
    rows = enrolment_rows_read(FILE)

    results = run_together(
        [
            lambda: cohort_enrol(cohort=cohort, rows=rows, actor=sam),
            lambda: cohort_enrol(cohort=cohort, rows=rows, actor=sue),
        ]
    )

    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, EnrolmentConflict)
    ]
    assert unexpected == []
    applied = [r for r in results if not isinstance(r, Exception)]
    assert applied, "one of them enrols"
    # Either the other lost the race (a conflict), or it planned after the first committed
    # and found everyone a member already.
    assert all(
        isinstance(r, EnrolmentConflict) or r.counts[Outcome.MEMBER] == 3
        for r in results
        if r is not applied[0]
    )
    assert User.objects.filter(email__in=["ada@example.com", "grace@example.com"]).count() == 2
    assert dict(Membership.objects.filter(cohort=cohort).values_list("user__email", "role")) == {
        "ada@example.com": "learner",
        "grace@example.com": "mentor",
        "lee@example.com": "reviewer",
    }
    assert sorted(message.to[0] for message in mailoutbox) == [
        "ada@example.com",
        "grace@example.com",
    ]

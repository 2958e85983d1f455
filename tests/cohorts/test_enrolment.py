"""Enrolment by CSV, the service: reading a file, planning it, applying it.

Bad files are refused as a whole with a reason; bad rows are shown with theirs and keep
the plan from being applied. Either way nothing changes.
"""

from __future__ import annotations

import codecs

import pytest
from django.core import mail
from pytest_django.fixtures import DjangoAssertNumQueries, Settings
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.cohorts.enrolment import (
    EnrolmentFileError,
    EnrolmentRow,
    Outcome,
    cohort_enrol,
    enrolment_plan,
    enrolment_rows_read,
    preview_sign,
    preview_unsign,
)
from core.models import AuditEvent, Cohort, Membership, User
from tests.factories import CohortFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "email,name,role\n"


def csv_of(*lines: str, header: str = HEADER, newline: str = "\n") -> bytes:
    return (header + newline.join(lines) + newline).replace("\n", newline).encode()


def test_it_reads_rows_with_their_line_numbers_and_normalises_them() -> None:
    data = csv_of("Ada@Example.com , Ada Lovelace ,Learner", "", "grace@example.com,Grace,")
    rows = enrolment_rows_read(data)
    assert rows == [
        EnrolmentRow(2, "ada@example.com", "Ada Lovelace", "learner"),
        EnrolmentRow(4, "grace@example.com", "Grace", "learner"),  # blank role: learner
    ]


def test_it_reads_utf8_with_a_bom_crlf_and_columns_in_any_order() -> None:
    data = codecs.BOM_UTF8 + "role,Email,NAME\r\nmentor,zoe@example.com,Zoë Ñúñez\r\n".encode()
    assert enrolment_rows_read(data) == [EnrolmentRow(2, "zoe@example.com", "Zoë Ñúñez", "mentor")]


def test_empty_columns_after_the_last_one_are_ignored() -> None:
    data = b"email,name,role,,\nada@example.com,Ada,learner,,\nbob@example.com,Bob,,,\n"
    assert enrolment_rows_read(data) == [
        EnrolmentRow(2, "ada@example.com", "Ada", "learner"),
        EnrolmentRow(3, "bob@example.com", "Bob", "learner"),
    ]


def test_a_long_bad_cell_is_quoted_short() -> None:
    [row] = enrolment_rows_read(csv_of("ada@example.com,Ada," + "x" * 5000))
    assert row.error == f"Unknown role “{'x' * 59}…”: use learner, mentor or reviewer."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"mail,full name,role\nada@example.com,Ada,learner\n", "must name the columns"),
        (b"email,name\nada@example.com,Ada\n", "must name the columns"),
        (
            b"email,name,role\r\nada@example.com,Ada,learner\nbob@example.com,Bob,learner\n",
            "mixes line endings",
        ),
        ("email,name,role\nada@example.com,Ådå,learner\n".encode("latin-1"), "not UTF-8"),
        (b"", "empty"),
        (b"email,name,role\n\n", "names no one"),
        (b'email,name,role\n"ada@example.com,Ada,learner\n', "Line"),
        (b"\x00\x01PK\x03\x04", "binary"),
    ],
    ids=[
        "wrong-header",
        "missing-column",
        "mixed-endings",
        "latin-1",
        "empty",
        "header-only",
        "open-quote",
        "binary",
    ],
)
def test_a_file_it_cannot_read_is_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(EnrolmentFileError, match=message):
        enrolment_rows_read(data)


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(
    settings: Settings,
) -> None:
    ten_mb = HEADER.encode() + b"x" * (10 * 1024 * 1024)
    with pytest.raises(EnrolmentFileError, match="larger than 512 KB"):
        enrolment_rows_read(ten_mb)


def test_a_file_over_the_row_limit_is_refused(settings: Settings) -> None:
    settings.ENROLMENT_CSV_MAX_ROWS = 3
    data = csv_of(*(f"p{n}@example.com,P{n},learner" for n in range(4)))
    with pytest.raises(EnrolmentFileError, match="more than 3 people"):
        enrolment_rows_read(data)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not-an-email,Ada,learner", "“not-an-email” is not a valid email address."),
        (",Ada,learner", "The email is missing."),
        ("ada@example.com,Ada,teacher", "Unknown role “teacher”: use learner, mentor or reviewer."),
        ('ada@example.com,"=HYPERLINK(""http://evil.example"",""click"")",learner', "formula"),
        ("=1+1@example.com,Ada,learner", "The email starts with “=”"),
        ("ada@example.com,@SUM(A1),learner", "The name starts with “@”"),
        ("ada@example.com,+44 Ada,learner", "The name starts with “+”"),
        ("ada@example.com,-Ada,learner", "The name starts with “-”"),
        ("ada@example.com,Ada,learner,extra", "Expected 3 cells"),
        ("ada@example.com," + "a" * 81 + ",learner", "longer than 80"),
    ],
    ids=[
        "invalid-email",
        "no-email",
        "unknown-role",
        "hyperlink",
        "formula-email",
        "at",
        "plus",
        "minus",
        "extra-cell",
        "long-name",
    ],
)
def test_a_bad_row_is_kept_with_its_reason(line: str, reason: str) -> None:
    rows = enrolment_rows_read(csv_of("bob@example.com,Bob,learner", line))
    assert rows[0].error == ""
    assert reason in rows[1].error


def test_every_line_of_a_duplicate_email_is_refused_naming_the_others() -> None:
    data = csv_of(
        "ada@example.com,Ada,learner", "bob@example.com,Bob,mentor", "ADA@example.com,Ada L,mentor"
    )
    rows = enrolment_rows_read(data)
    assert rows[0].error == "This email is also on line 4: list each person once."
    assert rows[1].error == ""
    assert rows[2].error == "This email is also on line 2: list each person once."


@pytest.fixture
def people(cohort: Cohort) -> dict[str, User]:
    """In cohort 7: a learner and a mentor; elsewhere: someone with an account."""
    learner = UserFactory(email="lee@example.com", display_name="Lee")
    MembershipFactory(user=learner, cohort=cohort, role="learner")
    mentor = UserFactory(email="mo@example.com", display_name="Mo")
    MembershipFactory(user=mentor, cohort=cohort, role="mentor")
    other = UserFactory(email="Olu@Example.com", display_name="Olu Own Name")
    MembershipFactory(user=other, cohort=CohortFactory(slug="cohort-8"), role="learner")
    return {"learner": learner, "mentor": mentor, "other": other}


def sample_rows() -> list[EnrolmentRow]:
    return enrolment_rows_read(
        csv_of(
            "new@example.com,New Person,learner",
            "olu@example.com,Olu From File,reviewer",
            "lee@example.com,Lee,learner",
            "mo@example.com,Mo,reviewer",
        )
    )


def test_the_plan_says_what_each_row_would_do(cohort: Cohort, people: dict[str, User]) -> None:
    plan = enrolment_plan(cohort=cohort, rows=sample_rows())
    assert [(p.row.email, p.outcome, p.current_role) for p in plan.rows] == [
        ("new@example.com", Outcome.NEW, ""),
        ("olu@example.com", Outcome.ADDED, ""),  # matched whatever the case of the account
        ("lee@example.com", Outcome.MEMBER, "learner"),
        ("mo@example.com", Outcome.ROLE_CHANGE, "mentor"),
    ]
    assert plan.applicable


def test_a_deactivated_account_is_an_invalid_row(cohort: Cohort, people: dict[str, User]) -> None:
    User.objects.filter(pk=people["other"].pk).update(is_active=False)
    plan = enrolment_plan(cohort=cohort, rows=sample_rows())
    assert plan.rows[1].outcome is Outcome.INVALID
    assert "deactivated" in plan.rows[1].reason
    assert not plan.applicable


def test_applying_creates_adds_and_changes_roles_and_invites_new_people(
    cohort: Cohort,
    people: dict[str, User],
    staff: User,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[mail.EmailMessage],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        plan = cohort_enrol(cohort=cohort, rows=sample_rows(), actor=staff)
    assert plan.counts == {
        Outcome.NEW: 1,
        Outcome.ADDED: 1,
        Outcome.MEMBER: 1,
        Outcome.ROLE_CHANGE: 1,
        Outcome.INVALID: 0,
    }
    roles = dict(cohort.memberships.values_list("user__email", "role"))
    assert roles == {
        "new@example.com": "learner",
        "Olu@Example.com": "reviewer",
        "lee@example.com": "learner",
        "mo@example.com": "reviewer",
    }
    new = User.objects.get(email="new@example.com")
    assert new.display_name == "New Person"
    assert not new.has_usable_password()  # nobody typed a password for them
    people["other"].refresh_from_db()
    assert people["other"].display_name == "Olu Own Name"  # their own name is kept

    assert [message.to for message in mailoutbox] == [["new@example.com"]]
    assert "Cohort 7" in mailoutbox[0].subject
    assert "/invitations/" in mailoutbox[0].body

    events = AuditEvent.objects.filter(actor=staff)
    assert sorted(events.values_list("action", "object_type")) == [
        ("membership_changed", "core.cohort"),
        ("membership_changed", "core.membership"),
        ("membership_changed", "core.membership"),
        ("role_changed", "core.membership"),
    ]
    role_event = events.get(action="role_changed")
    assert role_event.detail["changes"] == {"role": ["mentor", "reviewer"]}


def test_a_plan_with_an_invalid_row_changes_nothing(
    cohort: Cohort, people: dict[str, User], staff: User, mailoutbox: list[mail.EmailMessage]
) -> None:
    rows = enrolment_rows_read(csv_of("new@example.com,New,learner", "mo@example.com,Mo,boss"))
    memberships, events = Membership.objects.count(), AuditEvent.objects.count()
    with pytest.raises(EnrolmentFileError, match="1 row cannot be applied"):
        cohort_enrol(cohort=cohort, rows=rows, actor=staff)
    assert not User.objects.filter(email="new@example.com").exists()
    assert Membership.objects.count() == memberships
    assert AuditEvent.objects.count() == events
    assert mailoutbox == []


def test_applying_twice_changes_nothing_the_second_time(
    cohort: Cohort,
    people: dict[str, User],
    staff: User,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[mail.EmailMessage],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        cohort_enrol(cohort=cohort, rows=sample_rows(), actor=staff)
        again = cohort_enrol(cohort=cohort, rows=sample_rows(), actor=staff)
    assert again.counts[Outcome.MEMBER] == 4
    assert len(mailoutbox) == 1


def rows_of(count: int, cohort: Cohort) -> list[EnrolmentRow]:
    """``count`` rows: a quarter new, a quarter existing, a quarter members, a quarter role
    changes."""
    lines = []
    for n in range(count):
        kind = n % 4
        email = f"person{n}@example.com"
        if kind:
            user = UserFactory(email=email)
            if kind >= 2:
                MembershipFactory(user=user, cohort=cohort, role="learner")
        lines.append(f"{email},Person {n},{'mentor' if kind == 3 else 'learner'}")
    return enrolment_rows_read(csv_of(*lines))


@pytest.mark.parametrize("count", [10, 100])
def test_planning_takes_one_query_whatever_the_size(
    count: int, cohort: Cohort, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    rows = rows_of(count, cohort)
    with django_assert_num_queries(1):  # the people, with their role in the cohort
        plan = enrolment_plan(cohort=cohort, rows=rows)
    assert plan.counts[Outcome.NEW] == count // 4 + (1 if count % 4 else 0)


@pytest.mark.parametrize("count", [10, 100])
def test_applying_takes_the_same_queries_whatever_the_size(
    count: int, cohort: Cohort, staff: User, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    rows = rows_of(count, cohort)
    # savepoint, the plan, new users, their memberships, the memberships whose role
    # changes (locked), their update, the audit of the added and of the changed, the
    # enrolment's own audit event, release savepoint; plus the outer atomic's savepoint
    # and its release (pytest-django runs each test in a transaction).
    with django_assert_num_queries(12):
        plan = cohort_enrol(cohort=cohort, rows=rows, actor=staff)
    assert plan.counts[Outcome.ROLE_CHANGE] == count // 4 + (1 if count % 4 > 3 else 0)


def test_a_signed_preview_comes_back_as_its_rows_for_the_same_cohort_and_person_only(
    cohort: Cohort, staff: User
) -> None:
    rows = enrolment_rows_read(csv_of("ada@example.com,Ada,learner", "bad,Bad,learner"))
    signed = preview_sign(cohort=cohort, actor=staff, rows=rows)
    assert preview_unsign(cohort=cohort, actor=staff, signed=signed) == rows[:1]
    with pytest.raises(EnrolmentFileError, match="another cohort"):
        preview_unsign(cohort=CohortFactory(slug="cohort-8"), actor=staff, signed=signed)
    with pytest.raises(EnrolmentFileError, match="another cohort"):
        preview_unsign(cohort=cohort, actor=UserFactory(), signed=signed)
    with pytest.raises(EnrolmentFileError, match="cannot be read"):
        preview_unsign(cohort=cohort, actor=staff, signed=signed[:-2] + "xx")


def test_someone_added_who_never_chose_a_password_is_invited_again(
    cohort: Cohort,
    staff: User,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[mail.EmailMessage],
) -> None:
    from django.contrib.auth.hashers import make_password

    User.objects.create(email="ivy@example.com", password=make_password(None))
    UserFactory(email="pat@example.com")  # has a password: added, not invited
    rows = enrolment_rows_read(csv_of("ivy@example.com,Ivy,learner", "pat@example.com,Pat,"))
    with django_capture_on_commit_callbacks(execute=True):
        plan = cohort_enrol(cohort=cohort, rows=rows, actor=staff)
    assert plan.counts[Outcome.ADDED] == 2
    assert [message.to for message in mailoutbox] == [["ivy@example.com"]]

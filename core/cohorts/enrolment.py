"""Enrolment by CSV: read a file of people (email, name, role), plan it against the
database row by row, and apply the plan in one transaction.

A file that cannot be read as a whole (too large, not UTF-8, a wrong header, mixed line
endings, too many rows) raises ``EnrolmentFileError``; a row that cannot be applied
(invalid email, unknown role, a duplicate email, a cell that starts like a spreadsheet
formula, a deactivated account) is shown with its reason, and a plan with any such row
is never applied: staff fix the file and upload it again, so nothing is half-done.

Formula cells are refused, not neutralised: a name or an email starting with ``=``,
``+``, ``-`` or ``@`` is almost surely a mistake or an attack, and prefixing it with a
quote (OWASP's advice for files we write) would store the quote in someone's name. The
preview shows the refused text as plain, escaped text.

Queries do not grow with the file: planning is one query (the people, with their role in
the cohort), applying a handful more (bulk inserts and one bulk update), whatever the
number of rows.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Lower

from core.accounts.invitations import invitations_send_on_commit
from core.accounts.models import validate_display_name
from core.models import Cohort, Membership, User
from core.platform.audit import audit, audit_many
from core.platform.cache import bump_on_commit

COLUMNS = ("email", "name", "role")
# What spreadsheets read as the start of a formula (OWASP "CSV injection"), tab and CR too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NAME_MAX_LENGTH = User._meta.get_field("display_name").max_length or 80
EMAIL_MAX_LENGTH = 254
SIGNING_SALT = "core.cohorts.enrolment.preview"


class EnrolmentFileError(Exception):
    """The file as a whole cannot be read; the message says why, for staff."""


class Outcome(StrEnum):
    """What applying a row does."""

    NEW = "new"
    ADDED = "added"
    MEMBER = "member"
    ROLE_CHANGE = "role_change"
    INVALID = "invalid"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS = {
    Outcome.NEW: "New person",
    Outcome.ADDED: "Existing person added",
    Outcome.MEMBER: "Already a member",
    Outcome.ROLE_CHANGE: "Role change",
    Outcome.INVALID: "Invalid",
}


@dataclass(frozen=True)
class EnrolmentRow:
    """One person of the file, as typed (email lower-cased); ``error`` if it is unusable."""

    line: int
    email: str
    name: str
    role: str
    error: str = ""


@dataclass(frozen=True)
class PlannedRow:
    """A row and what applying it would do."""

    row: EnrolmentRow
    outcome: Outcome
    reason: str = ""
    user_id: int | None = None
    current_role: str = ""
    # The person, loaded by the plan (None for a new one): the audit names them.
    user: User | None = field(default=None, compare=False, repr=False)

    @property
    def role_label(self) -> str:
        return Membership.Role(self.row.role).label if self.row.role in ROLES else self.row.role

    @property
    def current_role_label(self) -> str:
        return Membership.Role(self.current_role).label if self.current_role else ""


@dataclass
class EnrolmentPlan:
    """Every row of a file with its outcome, planned against the cohort as it is now."""

    cohort: Cohort
    rows: list[PlannedRow]
    counts: dict[Outcome, int] = field(init=False)

    def __post_init__(self) -> None:
        self.counts = dict.fromkeys(Outcome, 0)
        for planned in self.rows:
            self.counts[planned.outcome] += 1

    @property
    def invalid(self) -> list[PlannedRow]:
        return [planned for planned in self.rows if planned.outcome is Outcome.INVALID]

    @property
    def applicable(self) -> bool:
        """Whether the plan may be applied: no invalid row, and something to change."""
        return not self.invalid and any(
            self.counts[outcome] for outcome in (Outcome.NEW, Outcome.ADDED, Outcome.ROLE_CHANGE)
        )

    @property
    def summary(self) -> list[tuple[Outcome, int]]:
        return [(outcome, self.counts[outcome]) for outcome in Outcome]


ROLES = frozenset(Membership.Role.values)


def max_size_label() -> str:
    """The file size limit in words: "512 KB", "2 MB"."""
    kb = settings.ENROLMENT_CSV_MAX_KB
    return f"{kb // 1024} MB" if kb % 1024 == 0 else f"{kb} KB"


def _role_list() -> str:
    return ", ".join(Membership.Role.values[:-1]) + f" or {Membership.Role.values[-1]}"


# --- Reading the file ----------------------------------------------------------------------


def _text_of(data: bytes) -> str:
    """The file as text: within the size limit, UTF-8 (its BOM dropped), one kind of
    line ending."""
    limit = settings.ENROLMENT_CSV_MAX_KB * 1024
    if len(data) > limit:
        raise EnrolmentFileError(
            f"The file is larger than {max_size_label()}: split it into smaller files."
        )
    try:
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        raise EnrolmentFileError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” from your spreadsheet."
        ) from None
    if "\x00" in text:
        raise EnrolmentFileError("This is not a CSV file (it holds binary data).")
    crlf = text.count("\r\n")
    endings = (crlf, text.count("\n") - crlf, text.count("\r") - crlf)
    if sum(1 for count in endings if count) > 1:
        raise EnrolmentFileError(
            "The file mixes line endings (Windows and Unix): save it again from a "
            "spreadsheet or a text editor so every line ends the same way."
        )
    return text


def _header_indexes(header: list[str]) -> dict[str, int]:
    names = [cell.strip().lower() for cell in header]
    if sorted(names) != sorted(COLUMNS):
        found = ", ".join(f"“{cell.strip()}”" for cell in header[:6]) or "nothing"
        raise EnrolmentFileError(
            "The first row must name the columns email, name and role (in any order); "
            f"it holds {found}."
        )
    return {name: names.index(name) for name in COLUMNS}


def _shortened(value: str, most: int = 60) -> str:
    """A cell quoted in a reason: a whole paragraph pasted by mistake is cut short."""
    return value if len(value) <= most else value[: most - 1] + "…"


def _row_error(email: str, name: str, role: str) -> str:
    """Why the row cannot be applied, before looking at the database ("" if it can)."""
    for column, value in (("email", email), ("name", name), ("role", role)):
        if value.startswith(FORMULA_STARTS):
            return (
                f"The {column} starts with “{value[:1].strip() or 'a tab'}”, which "
                "spreadsheets run as a formula: remove it."
            )
    if not email:
        return "The email is missing."
    try:
        if len(email) > EMAIL_MAX_LENGTH:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        return f"“{_shortened(email)}” is not a valid email address."
    if role not in ROLES:
        return f"Unknown role “{_shortened(role)}”: use {_role_list()}."
    if len(name) > NAME_MAX_LENGTH:
        return f"The name is longer than {NAME_MAX_LENGTH} characters."
    try:
        validate_display_name(name)
    except ValidationError:
        return "The name holds line breaks, tabs or other control characters."
    return ""


def enrolment_rows_read(data: bytes) -> list[EnrolmentRow]:
    """The people of a CSV file (header email, name, role), each with its line number and
    any reason it cannot be applied; EnrolmentFileError if the file cannot be read."""
    text = _text_of(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[EnrolmentRow] = []
    indexes: dict[str, int] | None = None
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, and the trailing ",," spreadsheets leave
            while len(cells) > len(COLUMNS) and not cells[-1].strip():
                cells.pop()  # empty columns after the last one, as spreadsheets export them
            if indexes is None:
                indexes = _header_indexes(cells)
                continue
            line = reader.line_num
            if len(rows) >= settings.ENROLMENT_CSV_MAX_ROWS:
                raise EnrolmentFileError(
                    f"The file holds more than {settings.ENROLMENT_CSV_MAX_ROWS:,} people: "
                    "split it into smaller files."
                )
            if len(cells) != len(COLUMNS):
                rows.append(
                    EnrolmentRow(
                        line=line,
                        email=cells[indexes["email"]].strip().lower() if len(cells) > 2 else "",
                        name="",
                        role="",
                        error=f"Expected 3 cells (email, name, role); found {len(cells)}.",
                    )
                )
                continue
            email = cells[indexes["email"]].strip().lower()
            name = cells[indexes["name"]].strip()
            role = cells[indexes["role"]].strip().lower() or Membership.Role.LEARNER
            rows.append(EnrolmentRow(line, email, name, role, error=_row_error(email, name, role)))
    except csv.Error as error:
        raise EnrolmentFileError(f"Line {reader.line_num}: {error}.") from None
    if indexes is None:
        raise EnrolmentFileError("The file is empty.")
    if not rows:
        raise EnrolmentFileError("The file names no one: add a row per person under the header.")
    return _mark_duplicates(rows)


def _mark_duplicates(rows: list[EnrolmentRow]) -> list[EnrolmentRow]:
    """Every row of an email that is on more than one line, refused with the others' lines."""
    lines: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.email:
            lines[row.email].append(row.line)
    marked = []
    for row in rows:
        others = [line for line in lines.get(row.email, []) if line != row.line]
        if others and not row.error:
            where = ", ".join(str(line) for line in others)
            row = EnrolmentRow(
                row.line,
                row.email,
                row.name,
                row.role,
                error=f"This email is also on line {where}: list each person once.",
            )
        marked.append(row)
    return marked


# --- Planning and applying -----------------------------------------------------------------


def enrolment_plan(*, cohort: Cohort, rows: list[EnrolmentRow]) -> EnrolmentPlan:
    """What applying ``rows`` to ``cohort`` would do, row by row (one query)."""
    emails = {row.email for row in rows if not row.error}
    role_here = Membership.objects.filter(cohort=cohort, user=OuterRef("pk")).values("role")[:1]
    people = {
        person.email_key: person
        for person in User.objects.annotate(
            email_key=Lower("email"), cohort_role=Subquery(role_here)
        )
        .filter(email_key__in=emails)
        .only("pk", "email", "display_name", "is_active")
    }
    planned = []
    for row in rows:
        if row.error:
            planned.append(PlannedRow(row, Outcome.INVALID, reason=row.error))
            continue
        person = people.get(row.email)
        if person is None:
            planned.append(PlannedRow(row, Outcome.NEW))
        elif not person.is_active:
            reason = "This account is deactivated: reactivate it in the admin first."
            planned.append(PlannedRow(row, Outcome.INVALID, reason=reason, user_id=person.pk))
        elif person.cohort_role is None:
            planned.append(PlannedRow(row, Outcome.ADDED, user_id=person.pk, user=person))
        elif person.cohort_role == row.role:
            planned.append(
                PlannedRow(row, Outcome.MEMBER, user_id=person.pk, current_role=person.cohort_role)
            )
        else:
            planned.append(
                PlannedRow(
                    row, Outcome.ROLE_CHANGE, user_id=person.pk, current_role=person.cohort_role
                )
            )
    return EnrolmentPlan(cohort=cohort, rows=planned)


class EnrolmentConflict(Exception):
    """The cohort or its people changed between the preview and the apply."""


@transaction.atomic
def cohort_enrol(*, cohort: Cohort, rows: list[EnrolmentRow], actor: User) -> EnrolmentPlan:
    """Apply ``rows`` to ``cohort`` in one transaction: create and invite new people, add
    existing ones, change roles; audited. Returns the plan as applied.

    The rows are planned again here, against the database as it is now. A plan with an
    invalid row raises EnrolmentFileError and changes nothing; a concurrent change to the
    same people raises EnrolmentConflict (and changes nothing either).
    """
    plan = enrolment_plan(cohort=cohort, rows=rows)
    if plan.invalid:
        raise EnrolmentFileError(
            f"{len(plan.invalid)} row{'s' if len(plan.invalid) != 1 else ''} cannot be "
            "applied: fix the file and upload it again."
        )
    by_outcome: dict[Outcome, list[PlannedRow]] = defaultdict(list)
    for planned in plan.rows:
        by_outcome[planned.outcome].append(planned)

    try:
        with transaction.atomic():
            new_people = User.objects.bulk_create(
                User(
                    email=planned.row.email,
                    display_name=planned.row.name,
                    # Nobody types a password for them: they choose one through their
                    # invitation. make_password(None) is unusable and costs no hashing.
                    password=make_password(None),
                )
                for planned in by_outcome[Outcome.NEW]
            )
            joining = [
                (person, planned.row.role)
                for person, planned in zip(new_people, by_outcome[Outcome.NEW], strict=True)
            ] + [(planned.user, planned.row.role) for planned in by_outcome[Outcome.ADDED]]
            memberships = Membership.objects.bulk_create(
                Membership(cohort=cohort, user=person, role=role) for person, role in joining
            )
            changed = list(
                Membership.objects.select_for_update(of=("self",))
                .select_related("user", "cohort")
                .filter(
                    cohort=cohort,
                    user_id__in=[planned.user_id for planned in by_outcome[Outcome.ROLE_CHANGE]],
                )
                .order_by("pk")
            )
            wanted = {
                planned.user_id: planned.row.role for planned in by_outcome[Outcome.ROLE_CHANGE]
            }
            before = {membership.pk: membership.role for membership in changed}
            for membership in changed:
                membership.role = wanted[membership.user_id]
            Membership.objects.bulk_update(changed, ["role"])
    except IntegrityError:
        raise EnrolmentConflict(
            "Some of these people were added to ProDev Hub or to the cohort meanwhile: "
            "upload the file again to see the cohort as it is now."
        ) from None
    if len(changed) != len(wanted):
        raise EnrolmentConflict(
            "Some of these people left the cohort meanwhile: upload the file again."
        )

    _audit(cohort, memberships, changed, before, actor, new_people=len(new_people))
    bump_on_commit(
        cohorts=[cohort.pk],
        learners=[membership.user_id for membership in [*memberships, *changed]],
    )
    # New people are invited; so are people added who never chose a password (an earlier
    # invitation expired, or an account made in the admin): the task skips anyone else.
    invited = [person.pk for person in new_people]
    invited += [planned.user_id for planned in by_outcome[Outcome.ADDED] if planned.user_id]
    invitations_send_on_commit(user_ids=invited, cohort=cohort)
    return plan


def _audit(
    cohort: Cohort,
    added: list[Membership],
    changed: list[Membership],
    before: dict[int, str],
    actor: User,
    *,
    new_people: int,
) -> None:
    """What the membership receivers would have audited row by row, in two inserts, and
    one event for the enrolment as a whole."""

    def detail(membership: Membership, change: str) -> dict[str, Any]:
        return {
            "change": change,
            "user_id": membership.user_id,
            "cohort_id": membership.cohort_id,
            "role": membership.role,
            "via": "csv_enrolment",
        }

    if added:
        audit_many(
            actor=actor,
            action="membership_changed",
            events=[(membership, detail(membership, "added")) for membership in added],
        )
    if changed:
        audit_many(
            actor=actor,
            action="role_changed",
            events=[
                (
                    membership,
                    {
                        **detail(membership, "changed"),
                        "changes": {"role": [before[membership.pk], membership.role]},
                    },
                )
                for membership in changed
            ],
        )
    audit(
        actor=actor,
        action="membership_changed",
        obj=cohort,
        detail={
            "change": "csv_enrolment",
            "new_people": new_people,
            "added": len(added),
            "role_changes": len(changed),
        },
    )


# --- Carrying a preview to the apply step ----------------------------------------------------


def preview_sign(*, cohort: Cohort, actor: User, rows: list[EnrolmentRow]) -> str:
    """The previewed rows, signed for this cohort and this staff member (a hidden field)."""
    payload = {
        "cohort": cohort.pk,
        "actor": actor.pk,
        "rows": [[row.line, row.email, row.name, row.role] for row in rows if not row.error],
    }
    return signing.dumps(payload, salt=SIGNING_SALT, compress=True)


def preview_unsign(*, cohort: Cohort, actor: User, signed: str) -> list[EnrolmentRow]:
    """The rows of a signed preview, checked again as a file's rows are; EnrolmentFileError
    if the signature is bad, the preview is old or it was made for someone or somewhere else."""
    try:
        payload = signing.loads(
            signed, salt=SIGNING_SALT, max_age=settings.ENROLMENT_PREVIEW_MINUTES * 60
        )
    except signing.SignatureExpired:
        raise EnrolmentFileError(
            f"This preview is more than {settings.ENROLMENT_PREVIEW_MINUTES} minutes old: "
            "upload the file again."
        ) from None
    except signing.BadSignature:
        raise EnrolmentFileError("This preview cannot be read: upload the file again.") from None
    if payload.get("cohort") != cohort.pk or payload.get("actor") != actor.pk:
        raise EnrolmentFileError("This preview is of another cohort: upload the file again.")
    rows = [
        EnrolmentRow(line, email, name, role, error=_row_error(email, name, role))
        for line, email, name, role in payload["rows"]
    ]
    return _mark_duplicates(rows)

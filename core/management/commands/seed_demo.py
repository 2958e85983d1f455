"""Load the demo program and its accounts so a newcomer sees a living site."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count, Model
from django.utils import timezone

from core.cohorts.join_codes import NewJoinCode, join_code_create
from core.curriculum.services import curriculum_import
from core.demo.attempts import seed_attempts
from core.demo.check_runs import seed_check_requests
from core.demo.disputes import seed_disputes
from core.demo.large import seed_large
from core.demo.overrides import seed_staff_override
from core.demo.peer import seed_peer_reviews
from core.demo.program import DEMO_PROGRAM_SLUG, demo_program
from core.models import (
    Attempt,
    CheckRun,
    CheckSuite,
    Cohort,
    Dispute,
    Extension,
    JoinCode,
    Membership,
    Module,
    PeerAssignment,
    Program,
    Project,
    ProjectRelease,
    ScoreOverride,
    Task,
    User,
)

DEMO_PASSWORD = "prodev-demo"
DEMO_USERS = [
    # email, display name, is_staff
    ("learner@example.com", "Lina Learner", False),
    ("mentor@example.com", "Sam Mentor", False),
    ("reviewer@example.com", "Rae Reviewer", False),
    ("staff@example.com", "Stella Staff", True),
]
DEMO_ROLES = {
    "learner@example.com": Membership.Role.LEARNER,
    "mentor@example.com": Membership.Role.MENTOR,
    "reviewer@example.com": Membership.Role.REVIEWER,
}
# Classmates so the cohort feels alive. They cannot sign in (unusable password).
DEMO_CLASSMATES = [
    ("ada@example.com", "Ada Okafor"),
    ("grace@example.com", "Grace Wanjiru"),
    ("alan@example.com", "Alan Mwangi"),
    ("linus@example.com", "Linus Otieno"),
    ("barbara@example.com", "Barbara Achieng"),
    ("guido@example.com", "Guido Kamau"),
    ("margaret@example.com", "Margaret Njeri"),
    ("dennis@example.com", "Dennis Kiprop"),
]

COHORT_SLUG = "cohort-7"
COHORT_NAME = "ProDev Backend · Cohort 7"
# The demo cohort's join code: for this many people, valid this long (a demo site lives
# for weeks; a rerun after it expired makes another).
DEMO_JOIN_CODE_USES = 50
DEMO_JOIN_CODE_DAYS = 365
COHORT_TIME_ZONE = "Africa/Nairobi"

# The calendar: a project opens every week at 09:00; its first deadline is 13 days
# later at 23:59 (so two projects run side by side) and the second a week after that.
RELEASE_EVERY = timedelta(days=7)
OPENS_AT = time(9, 0)
FIRST_DEADLINE_AFTER = timedelta(days=13)
DEADLINE_AT = time(23, 59)
SECOND_DEADLINE_AFTER = timedelta(days=7)
# A new cohort starts so that "today" is this many days after the latest opened project.
DAYS_INTO_CURRENT_PROJECT = 4


# What the import's plan says it added, counted for the closing message.
NEW_ROWS = [(Program, "program"), (Module, "module"), (Project, "project"), (Task, "task")]
NEW_ROWS += [(CheckSuite, "checks")]


@dataclass
class Summary:
    """What the command did, for its closing message."""

    created: dict[type[Model], int] = field(default_factory=dict)

    def count(self, model: type[Model], created: bool | int) -> None:
        self.created[model] = self.created.get(model, 0) + int(created)

    def __str__(self) -> str:
        news = [
            f"{n} {model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural}"
            for model, n in self.created.items()
            if n
        ]
        return ", ".join(news) or "nothing (already up to date)"


class Command(BaseCommand):
    help = "Load the demo program and demo accounts (idempotent: safe to run again)."

    # The demo cohort's join code when this run made it: its text is known only now.
    new_join_code: NewJoinCode | None = None

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-demo-passwords",
            action="store_true",
            help="Create the demo accounts even with DEBUG off (they have a public password).",
        )
        parser.add_argument(
            "--scale",
            choices=["demo", "large"],
            default="demo",
            help="'large' adds the benchmark data set (5,000 learners, 100,000 iterations).",
        )
        # Shrinks --scale large for tests (0.002 = 10 learners, 200 iterations).
        parser.add_argument("--size-factor", type=float, default=1.0, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_demo_passwords"]:
            raise CommandError(
                "DEBUG is off: refusing to create demo accounts with the public password "
                f"{DEMO_PASSWORD!r}. Pass --allow-demo-passwords if you really mean it."
            )
        summary = Summary()
        with transaction.atomic():
            users = self._users(summary)
            program, projects = self._program(summary)
            cohort = self._cohort(program, projects, users, summary)
            # Work in every state of the review loop, for the people who have none yet.
            summary.count(Attempt, seed_attempts(cohort, timezone.now()))
            # Peer review policies, and peer reviews in every state (after the attempts).
            summary.count(PeerAssignment, seed_peer_reviews(cohort, timezone.now()))
            # The demo learner's "Check my code" on each project with checks.
            summary.count(CheckRun, seed_check_requests(cohort, timezone.now()))
            # Staff's adjustment of one of the demo learner's verdicts (after every review).
            summary.count(ScoreOverride, seed_staff_override(cohort))
            # A classmate's open dispute, for staff to decide (core/demo/disputes.py).
            summary.count(Dispute, seed_disputes(cohort, timezone.now()))
        self._report(program, cohort, summary)
        if options["scale"] == "large":
            seed_large(size_factor=options["size_factor"], out=self.stdout)

    # --- Accounts ------------------------------------------------------------------------

    def _users(self, summary: Summary) -> dict[str, User]:
        """The demo accounts (public password) and their classmates (no password)."""
        users: dict[str, User] = {}
        people = [(email, name, is_staff, True) for email, name, is_staff in DEMO_USERS]
        people += [(email, name, False, False) for email, name in DEMO_CLASSMATES]
        emails = [email for email, *_ in people]
        existing = {user.email: user for user in User.objects.filter(email__in=emails)}
        demo_hash = ""
        for email, name, is_staff, can_sign_in in people:
            user = existing.get(email)
            summary.count(User, user is None)
            if user is None:
                user = User.objects.create_user(
                    email=email, display_name=name, is_staff=is_staff, is_superuser=is_staff
                )
                if can_sign_in:
                    # Hashing is slow on purpose; the demo accounts share one hash.
                    demo_hash = demo_hash or make_password(DEMO_PASSWORD)
                    user.password = demo_hash
                    user.save(update_fields=["password"])
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
            users[email] = user
        return users

    # --- Curriculum ----------------------------------------------------------------------

    def _program(self, summary: Summary) -> tuple[Program, list[Project]]:
        """Import the demo program's folder: a rerun plans, and writes, nothing."""
        plan = curriculum_import(spec=demo_program())
        for model, kind in NEW_ROWS:
            summary.count(model, plan.added(kind))
        program = Program.objects.get(slug=DEMO_PROGRAM_SLUG)
        projects = Project.objects.of_program(program.pk).order_by("module__order", "order")
        return program, list(projects)

    # --- Cohort --------------------------------------------------------------------------

    def _cohort(
        self, program: Program, projects: list[Project], users: dict[str, User], summary: Summary
    ) -> Cohort:
        cohort, created = Cohort.objects.get_or_create(
            slug=COHORT_SLUG,
            defaults={
                "program": program,
                "name": COHORT_NAME,
                "time_zone": COHORT_TIME_ZONE,
                "start_date": cohort_start_date(len(projects)),
            },
        )
        summary.count(Cohort, created)

        existing = set(cohort.releases.values_list("project_id", flat=True))
        missing = [
            ProjectRelease(cohort=cohort, project=project, **release_dates(cohort, index))
            for index, project in enumerate(projects)
            if project.pk not in existing
        ]
        for release in missing:
            release.full_clean(exclude=["cohort", "project"], validate_unique=False)
        ProjectRelease.objects.bulk_create(missing)
        summary.count(ProjectRelease, len(missing))

        roles = {**DEMO_ROLES, **{email: Membership.Role.LEARNER for email, _ in DEMO_CLASSMATES}}
        for email, role in roles.items():
            _, created = Membership.objects.get_or_create(
                user=users[email], cohort=cohort, defaults={"role": role}
            )
            summary.count(Membership, created)

        self._extension(cohort, users, summary)
        self._join_code(cohort, users, summary)
        return cohort

    def _join_code(self, cohort: Cohort, users: dict[str, User], summary: Summary) -> None:
        """One active join code, so staff see one and a newcomer can try it (a rerun keeps
        it; once it expires or is revoked, the next run makes another)."""
        self.new_join_code = None
        if cohort.join_codes.usable().exists():
            return
        self.new_join_code = join_code_create(
            cohort=cohort,
            max_uses=DEMO_JOIN_CODE_USES,
            expires_at=timezone.now() + timedelta(days=DEMO_JOIN_CODE_DAYS),
            created_by=users["staff@example.com"],
        )
        summary.count(JoinCode, True)

    def _extension(self, cohort: Cohort, users: dict[str, User], summary: Summary) -> None:
        """One extension on a current project, so the ledger is not empty."""
        learner = users["ada@example.com"]
        if Extension.objects.filter(release__cohort=cohort, learner=learner).exists():
            return
        now = timezone.now()
        release = cohort.releases.current(now).filter(first_deadline__gt=now).first()
        if release is None:
            return
        Extension.objects.create(
            release=release,
            learner=learner,
            first_deadline=release.first_deadline + timedelta(days=3),
            second_deadline=release.second_deadline + timedelta(days=3),
            reason="Power cut in her area for three days (note from the landlord).",
            granted_by=users["staff@example.com"],
        )
        summary.count(Extension, True)

    def _report(self, program: Program, cohort: Cohort, summary: Summary) -> None:
        now = timezone.now()
        start = cohort.start_date
        releases = cohort.releases.all()
        modules = program.modules.count()
        projects = Project.objects.filter(module__program=program).count()
        tasks = Task.objects.filter(project__module__program=program).count()
        members = dict(cohort.memberships.values_list("role").annotate(n=Count("id")).order_by())
        people = ", ".join(plural(members.get(role, 0), role) for role in Membership.Role)
        self.stdout.write(
            f"{program.name}: {modules} modules, {projects} projects, {tasks} tasks.\n"
            f"{cohort.name} ({cohort.time_zone}, started {start:%a} {start.day} {start:%b %Y}): "
            f"{releases.past(now).count()} past, {releases.current(now).count()} current and "
            f"{releases.upcoming(now).count()} upcoming releases; {people}.\n"
            f"Created: {summary}."
        )
        if self.new_join_code is not None:
            self.stdout.write(
                f"Join code for {cohort.name}: {self.new_join_code.code} (shown only now), "
                f"link {self.new_join_code.url}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready. Sign in as learner@, mentor@, reviewer@ or staff@example.com "
                f"with the password {DEMO_PASSWORD!r}."
            )
        )


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def cohort_start_date(project_count: int, today: date | None = None) -> date:
    """A start date that puts about a third of ``project_count`` projects in the past.

    The project at index ``p`` opened ``DAYS_INTO_CURRENT_PROJECT`` days ago; the two
    before it are still open (one past its first deadline), everything earlier is closed.
    """
    today = today or timezone.localdate(timezone=ZoneInfo(COHORT_TIME_ZONE))
    latest_open = project_count // 3 + 2
    return today - RELEASE_EVERY * latest_open - timedelta(days=DAYS_INTO_CURRENT_PROJECT)


def release_dates(cohort: Cohort, index: int) -> dict[str, datetime]:
    """The dates of the cohort's ``index``-th project, on the cohort's wall clock."""
    tz = cohort.tz
    opens_on = cohort.start_date + RELEASE_EVERY * index
    first_on = opens_on + FIRST_DEADLINE_AFTER
    return {
        "opens_at": datetime.combine(opens_on, OPENS_AT, tz),
        "first_deadline": datetime.combine(first_on, DEADLINE_AT, tz),
        "second_deadline": datetime.combine(first_on + SECOND_DEADLINE_AFTER, DEADLINE_AT, tz),
    }

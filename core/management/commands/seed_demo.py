"""Load the demo program and its accounts so a newcomer sees a living site."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count, F, Model
from django.utils import timezone

from core.demo.attempts import seed_attempts
from core.demo.curriculum import PROGRAM
from core.demo.large import seed_large
from core.demo.peer import seed_peer_reviews
from core.models import (
    Attempt,
    Cohort,
    Extension,
    Membership,
    Module,
    PeerAssignment,
    Program,
    Project,
    ProjectRelease,
    Resource,
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


MODULE_FIELDS = ("title", "summary", "objectives")
PROJECT_FIELDS = (
    "title",
    "summary",
    "description",
    "concepts",
    "objectives",
    "requirements",
    "estimated_hours",
    "weight",
)
TASK_FIELDS = ("title", "kind", "points", "body", "repo", "directory", "files")


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
        """Load PROGRAM, matching rows by slug or number: a rerun writes only what changed."""
        program, created = Program.objects.update_or_create(
            slug=PROGRAM["slug"],
            defaults={"name": PROGRAM["name"], "description": PROGRAM["description"]},
        )
        summary.count(Program, created)
        self._make_room_for_reordering(program)

        modules = upsert(
            Module,
            Module.objects.filter(program=program),
            key=lambda module: module.slug,
            wanted={
                data["slug"]: {
                    "program_id": program.pk,
                    "slug": data["slug"],
                    "order": order,
                    **{name: data[name] for name in MODULE_FIELDS},
                }
                for order, data in enumerate(PROGRAM["modules"], start=1)
            },
            summary=summary,
        )
        curriculum = [
            (modules[module_data["slug"]], order, data)
            for module_data in PROGRAM["modules"]
            for order, data in enumerate(module_data["projects"], start=1)
        ]
        projects = upsert(
            Project,
            Project.objects.filter(slug__in=[data["slug"] for _, _, data in curriculum]),
            key=lambda project: project.slug,
            wanted={
                data["slug"]: {
                    "module_id": module.pk,
                    "slug": data["slug"],
                    "order": order,
                    **{name: data[name] for name in PROJECT_FIELDS},
                }
                for module, order, data in curriculum
            },
            summary=summary,
        )
        loaded = [projects[data["slug"]] for _, _, data in curriculum]
        upsert(
            Task,
            Task.objects.filter(project__in=loaded),
            key=lambda task: (task.project_id, task.number),
            wanted={
                (projects[data["slug"]].pk, number): {
                    "project_id": projects[data["slug"]].pk,
                    "number": number,
                    **{name: task[name] for name in TASK_FIELDS},
                }
                for _, _, data in curriculum
                for number, task in enumerate(data["tasks"])
            },
            summary=summary,
        )
        resources = {
            (projects[data["slug"]].pk, order): {
                "project_id": projects[data["slug"]].pk,
                "order": order,
                "title": title,
                "url": url,
            }
            for _, _, data in curriculum
            for order, (title, url) in enumerate(data["resources"])
        }
        existing = upsert(
            Resource,
            Resource.objects.filter(project__in=loaded),
            key=lambda resource: (resource.project_id, resource.order),
            wanted=resources,
            summary=summary,
        )
        # A link dropped from the curriculum goes too (nothing else refers to resources).
        dropped = [resource.pk for key, resource in existing.items() if key not in resources]
        Resource.objects.filter(pk__in=dropped).delete()
        self._prerequisites(projects, curriculum)
        return program, loaded

    def _prerequisites(
        self, projects: dict[str, Project], curriculum: list[tuple[Module, int, dict[str, Any]]]
    ) -> None:
        through = Project.prerequisites.through
        wanted = {
            (projects[data["slug"]].pk, projects[slug].pk)
            for _, _, data in curriculum
            for slug in data["prerequisites"]
        }
        rows = through.objects.filter(from_project__in=[p.pk for p in projects.values()])
        current = {(row.from_project_id, row.to_project_id): row.pk for row in rows}
        through.objects.bulk_create(
            [through(from_project_id=a, to_project_id=b) for a, b in wanted - current.keys()]
        )
        through.objects.filter(
            pk__in=[pk for pair, pk in current.items() if pair not in wanted]
        ).delete()

    def _make_room_for_reordering(self, program: Program) -> None:
        """Move existing orders out of the way when the curriculum reordered things.

        Orders are unique per program (modules) and per module (projects), so swapping
        two of them in place would collide halfway; an unchanged curriculum skips this.
        """
        wanted_modules = {m["slug"]: n for n, m in enumerate(PROGRAM["modules"], start=1)}
        wanted_projects = {
            p["slug"]: (m["slug"], n)
            for m in PROGRAM["modules"]
            for n, p in enumerate(m["projects"], start=1)
        }
        modules = Module.objects.filter(program=program)
        current_modules = dict(modules.values_list("slug", "order"))
        projects = Project.objects.filter(module__program=program)
        current_projects = {
            slug: (module_slug, order)
            for slug, module_slug, order in projects.values_list("slug", "module__slug", "order")
        }
        room = 1000  # above any real order, below the column's limit
        if any(wanted_modules.get(slug) != order for slug, order in current_modules.items()):
            modules.update(order=F("order") + room)
        if any(wanted_projects.get(slug) != place for slug, place in current_projects.items()):
            projects.update(order=F("order") + room)

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
        return cohort

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
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready. Sign in as learner@, mentor@, reviewer@ or staff@example.com "
                f"with the password {DEMO_PASSWORD!r}."
            )
        )


def upsert[M: Model](
    model: type[M],
    existing: Iterable[M],
    *,
    key: Callable[[M], Hashable],
    wanted: dict[Any, dict[str, Any]],
    summary: Summary,
) -> dict[Any, M]:
    """Make the rows of ``model`` match ``wanted`` (fields by key) in two bulk queries.

    Rows whose fields already match are not written, so a rerun writes nothing.
    Returns every row by key, including existing rows ``wanted`` does not mention.
    """
    by_key = {key(row): row for row in existing}
    new: list[M] = []
    changed: list[M] = []
    changed_fields: set[str] = set()
    for row_key, values in wanted.items():
        row = by_key.get(row_key)
        if row is None:
            by_key[row_key] = row = model(**values)
            new.append(row)
            continue
        differing = {name for name, value in values.items() if getattr(row, name) != value}
        for name in differing:
            setattr(row, name, values[name])
        if differing:
            changed.append(row)
            changed_fields |= differing
    model._default_manager.bulk_create(new)
    if changed:
        model._default_manager.bulk_update(changed, sorted(changed_fields))
    summary.count(model, len(new))
    return by_key


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

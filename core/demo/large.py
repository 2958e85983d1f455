"""Benchmark data: ``seed_demo --scale large``.

5,000 learners in 10 cohorts, a 60-project program (10 modules of 6, tasks and
Markdown taken from the demo curriculum) and 100,000 iterations with mentor
reviews, a verdict per task and the scores they earn. It backs ``make bench``
and the EXPLAIN checks, so the numbers in docs/benchmarks.md can be reproduced.

The first cohort, ``bench-cohort-1``, is the one the benchmark signs in to: 300
learners with all 60 projects released (the matrix's 300 × 60), the demo learner
among them and the demo mentor mentoring it. The other 4,700 learners are spread
over nine cohorts at different points of the calendar.

Writing is bulk only: rows get their primary keys here (so an attempt can point
at the iteration that scored it before either is written; foreign keys are
checked at commit), are inserted in chunks with ``bulk_create`` (PostgreSQL:
``COPY`` for the four big tables), and sequences are reset at the end. Scores are
computed by ``core.reviews.scoring.build_receipt`` from the verdicts written, so
every stored score equals a from-scratch recompute. Everything runs in one
transaction: the data set is there completely or not at all. Signals are not
sent (nobody gets 100,000 emails).
"""

from __future__ import annotations

import csv
import io
import json
import math
import operator
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, reset_queries, transaction
from django.utils import timezone

from core.demo.program import demo_program
from core.models import (
    Attempt,
    Cohort,
    Iteration,
    Membership,
    Module,
    Program,
    Project,
    ProjectRelease,
    Review,
    Task,
    User,
    Verdict,
)
from core.reviews.scoring import best_receipt, build_receipt
from core.reviews.services import review_due_times

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

PROGRAM_SLUG = "prodev-bench"
PROGRAM_NAME = "ProDev Backend · Benchmark"
BENCH_COHORT_SLUG = "bench-cohort-1"
DEMO_LEARNER = "learner@example.com"
DEMO_MENTOR = "mentor@example.com"

LEARNERS = 5_000
COHORTS = 10
BENCH_COHORT_LEARNERS = 300
MODULES = 10
PROJECTS_PER_MODULE = 6
ITERATIONS = 100_000
MENTORS_PER_COHORT = 4
# Cohorts 2–10 have opened 8, 12, … 40 projects; the bench cohort all 60.
OPENED_STEP = 4

RELEASE_EVERY = timedelta(days=4)
OPENS_AT = clock(9, 0)
FIRST_DEADLINE_AFTER = timedelta(days=10)
SECOND_DEADLINE_AFTER = timedelta(days=7)
DEADLINE_AT = clock(23, 59)

# How often a learner attempts an opened project, and resubmits after changes requested.
ATTEMPT_CHANCE = {"bench": 0.9, "other": 0.8}
RESUBMIT_CHANCE = 0.75
MAX_ITERATIONS = 4
# Median hours from submission to a mentor's decision (log-normal spread).
MEDIAN_TURNAROUND_HOURS = 14
ATTEMPTS_PER_CHUNK = 4_000
BATCH_SIZE = 2_000
RANDOM_SEED = 20_260_601

TIME_ZONES = [
    "Africa/Nairobi",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Accra",
    "Africa/Kigali",
    "Africa/Casablanca",
    "Africa/Addis_Ababa",
    "Africa/Kampala",
    "Africa/Dar_es_Salaam",
]
FIRST_NAMES = (  # noqa: SIM905 (names read better as text)
    "Amara Kwame Zawadi Tunde Nia Jabari Imani Chidi Wanjiru Kofi Ayo Halima Baraka Eshe "
    "Femi Makena Obi Sade Juma Adaeze Tendai Rudo Kamau Ama Yaw Thandi Sipho Lerato Musa "
    "Fatuma Omar Leila Yusuf Aisha Daniel Grace Samuel Ruth David Esther"
).split()
LAST_NAMES = (  # noqa: SIM905 (names read better as text)
    "Okafor Mwangi Otieno Achieng Kamau Njeri Kiprop Wanjiru Mensah Boateng Adeyemi "
    "Okeke Mutua Ndlovu Dlamini Nkosi Banda Phiri Abebe Tesfaye Haile Diallo Traore "
    "Keita Sow Ouma Onyango Chebet Kariuki Waweru"
).split()
FEEDBACK_APPROVED = [
    "Solid work: the code reads well and the tests cover the edges.",
    "Approved. Name things after what they mean (`active_users`, not `data2`).",
    "Nice and clean. The commit history tells the story of the project.",
]
FEEDBACK_CHANGES = [
    "Good start. **Fix first:** the empty case raises instead of returning nothing.",
    "Close. Add tests for invalid input and boundary values, then fix what they find.",
    "The structure is right, but two mandatory tasks do not meet the spec yet.",
]
FAIL_COMMENTS = [
    "An empty result raises instead of returning an empty list.",
    "Only the happy path is tested: add invalid input and boundary values.",
    "The file is not in the expected directory, so I could not check it.",
]
NOTES = [
    "All mandatory tasks are done. Run `make test` to see them pass.",
    "Fixed what failed last time, with tests for the edge cases.",
    "",
]


@dataclass
class Timer:
    """Phase timings, printed at the end."""

    started: float = field(default_factory=time.perf_counter)
    phases: list[tuple[str, float]] = field(default_factory=list)
    _last: float = field(default_factory=time.perf_counter)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases.append((name, now - self._last))
        self._last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started


@dataclass(frozen=True)
class Size:
    """The data set's size; ``factor`` shrinks it for tests (at least one of each)."""

    factor: float = 1.0

    def _scaled(self, full: int, minimum: int) -> int:
        return max(minimum, round(full * self.factor))

    @property
    def learners(self) -> int:
        return self._scaled(LEARNERS, 2 * COHORTS)

    @property
    def bench_learners(self) -> int:
        return self._scaled(BENCH_COHORT_LEARNERS, 2)

    @property
    def iterations(self) -> int:
        return self._scaled(ITERATIONS, 10)


WORK_MODELS: tuple[type[models.Model], ...] = (Attempt, Iteration, Review, Verdict)
ANALYZED = [User, Membership, ProjectRelease, Task, Attempt, Iteration, Review, Verdict]


def already_seeded() -> bool:
    return Program.objects.filter(slug=PROGRAM_SLUG).exists()


def seed_large(
    *, size_factor: float = 1.0, out: SupportsWrite[str], now: datetime | None = None
) -> bool:
    """Create the benchmark data set; returns False (doing nothing) if it is already there."""
    if already_seeded():
        count = Iteration.objects.filter(attempt__release__cohort__program__slug=PROGRAM_SLUG)
        out.write(
            f"Benchmark data already present ({count.count():,} iterations); nothing to do.\n"
        )
        return False
    timer = Timer()
    size = Size(size_factor)
    now = now or timezone.now()
    rng = random.Random(RANDOM_SEED)
    with transaction.atomic():
        seeder = _Seeder(rng=rng, now=now, size=size, timer=timer, out=out)
        seeder.run()
    timer.lap("commit")
    if connection.vendor == "postgresql":
        # Fresh statistics, so the planner uses the indexes from the first request on.
        tables = [model._meta.db_table for model in ANALYZED]
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(tables))
        timer.lap("analyze")
    phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timer.phases)
    out.write(f"Timing: {phases}.\n")
    out.write(f"Benchmark data ready in {timer.total:.1f}s.\n")
    return True


# --- Writing rows in bulk -----------------------------------------------------------------


class BulkWriter:
    """Inserts rows (dicts keyed by field attname) that already carry their primary keys.

    Fields a row leaves out get the model's default, so a field added to a model
    later does not break the seed. PostgreSQL gets ``COPY … FROM STDIN`` (several
    times faster than INSERT for the big tables); other databases ``bulk_create``.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.counts: dict[type[models.Model], int] = {}
        self.copy = connection.vendor == "postgresql"

    def _defaults(self, model: type[models.Model], given: Iterable[str]) -> dict[str, Any]:
        defaults = {}
        for f in model._meta.concrete_fields:
            if f.attname in given:
                continue
            auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            defaults[f.attname] = self.now if auto else f.get_default()
        return defaults

    def write(self, model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        defaults = self._defaults(model, rows[0].keys())
        if self.copy:
            self._copy(model, rows, defaults)
        else:
            model._default_manager.bulk_create(
                [model(**defaults, **row) for row in rows], batch_size=BATCH_SIZE
            )
        self.counts[model] = self.counts.get(model, 0) + len(rows)
        reset_queries()  # DEBUG keeps every query's SQL otherwise

    def _copy(
        self, model: type[models.Model], rows: Sequence[dict[str, Any]], defaults: dict[str, Any]
    ) -> None:
        fields = list(model._meta.concrete_fields)
        # Concrete means having a column (Field.concrete); the stubs' Field allows None.
        column_names = [f.column for f in fields if f.column is not None]
        # csv writes None unquoted (COPY reads NULL) and "" quoted (an empty string);
        # str() of the other values (numbers, True, aware datetimes) is what COPY reads.
        columns = operator.itemgetter(*[f.attname for f in fields])
        fixed = {name: _copy_value(value) for name, value in defaults.items()}
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_NOTNULL, lineterminator="\n")
        writer.writerows(columns(fixed | row) for row in rows)
        buffer.seek(0)
        names = ", ".join(connection.ops.quote_name(name) for name in column_names)
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)", buffer
            )

    def defer_reference_checks(self) -> bool:
        """Skip PostgreSQL's row-by-row foreign-key triggers for the rest of the transaction.

        At commit PostgreSQL would check (and lock) the referenced row of every
        foreign key of every row, a minute for this data set; ``check_references``
        checks the same with one anti-join per foreign key instead. Needs a role
        allowed to set ``session_replication_role`` (as pg_restore
        --disable-triggers does); without one the triggers simply stay on.
        """
        if not self.copy:
            return False
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        except DatabaseError:
            return False
        return True

    def check_references(self, first_ids: dict[type[models.Model], int]) -> None:
        """Fail (rolling everything back) if a row written since ``first_ids`` points nowhere."""
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            for model, first_id in first_ids.items():
                table = connection.ops.quote_name(model._meta.db_table)
                for f in model._meta.concrete_fields:
                    if not f.is_relation:
                        continue
                    # A concrete relation has a column and a model it points at.
                    assert f.column is not None and f.related_model is not None
                    column = connection.ops.quote_name(f.column)
                    target = f.related_model._meta
                    assert target.pk.column is not None  # the primary key's column
                    cursor.execute(
                        f"SELECT c.id FROM {table} c WHERE c.id >= %s"
                        f" AND c.{column} IS NOT NULL"
                        f" AND NOT EXISTS (SELECT 1 FROM"
                        f" {connection.ops.quote_name(target.db_table)} p"
                        f" WHERE p.{connection.ops.quote_name(target.pk.column)}"
                        f" = c.{column}) LIMIT 1",
                        [first_id],
                    )
                    if cursor.fetchone() is not None:
                        raise DatabaseError(f"{model.__name__}.{f.name} points at a missing row")

    def reset_sequences(self, models_: Iterable[type[models.Model]]) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def _copy_value(value: Any) -> Any:
    """A value as COPY's CSV format reads it (None stays unquoted: NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


class Ids:
    """Hands out primary keys above the table's current maximum."""

    def __init__(self, model: type[models.Model]) -> None:
        top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
        self._next = top + 1

    def peek(self) -> int:
        return self._next

    def take(self) -> int:
        value = self._next
        self._next += 1
        return value


# --- The data set -------------------------------------------------------------------------


@dataclass
class _CohortPlan:
    cohort: Cohort
    releases: list[ProjectRelease]  # opened ones, in calendar order
    learners: list[int]
    mentors: list[int]
    is_bench: bool


@dataclass
class _Seeder:
    rng: random.Random
    now: datetime
    size: Size
    timer: Timer
    out: SupportsWrite[str]

    def run(self) -> None:
        self.writer = BulkWriter(self.now)
        program, projects = self._curriculum()
        # bench_tasks: set by _curriculum on these projects only (Project declares none).
        self.tasks = {
            project.pk: sorted(project.bench_tasks, key=lambda task: task.number)  # type: ignore[attr-defined]
            for project in projects
        }
        self.timer.lap("curriculum")
        plans = self._cohorts(program, projects)
        self.timer.lap("cohorts and people")
        self._work(plans)
        self.timer.lap("attempts, iterations, reviews, verdicts")
        self.writer.reset_sequences([Attempt, Iteration, Review, Verdict])
        counts = ", ".join(
            f"{n:,} {model._meta.verbose_name_plural}" for model, n in self.writer.counts.items()
        )
        self.out.write(f"Created {counts}.\n")

    # Curriculum: 10 modules × 6 projects, content borrowed from the demo program.

    def _curriculum(self) -> tuple[Program, list[Project]]:
        program = Program.objects.create(
            name=PROGRAM_NAME,
            slug=PROGRAM_SLUG,
            description="A large program for benchmarks: 60 projects, 5,000 learners.",
        )
        sources = [asdict(module) for module in demo_program().modules]
        modules = Module.objects.bulk_create(
            [
                Module(
                    program=program,
                    order=m + 1,
                    title=sources[m]["title"] if m < len(sources) else "Capstone",
                    slug=sources[m]["slug"] if m < len(sources) else "capstone",
                    summary=sources[m % len(sources)]["summary"],
                    objectives=sources[m % len(sources)]["objectives"],
                )
                for m in range(MODULES)
            ]
        )
        everything = [p for module in sources for p in module["projects"]]
        projects: list[Project] = []
        task_data: list[tuple[int, list[dict[str, Any]]]] = []
        for m, module in enumerate(modules):
            pool = sources[m]["projects"] if m < len(sources) else everything
            for k in range(PROJECTS_PER_MODULE):
                base = pool[k % len(pool)]
                part = k // len(pool)
                projects.append(
                    Project(
                        module=module,
                        order=k + 1,
                        title=base["title"] + (f" · part {part + 1}" if part else ""),
                        slug=f"bench-{m + 1}-{k + 1}-{base['slug']}"[:100],
                        summary=base["summary"],
                        description=base["description"],
                        concepts=base["concepts"],
                        objectives=base["objectives"],
                        requirements=base["requirements"],
                        estimated_hours=base["estimated_hours"],
                        weight=base["weight"],
                    )
                )
                task_data.append((len(projects) - 1, base["tasks"]))
        projects = Project.objects.bulk_create(projects)
        tasks = Task.objects.bulk_create(
            [
                Task(
                    project=projects[index],
                    number=number,
                    **{
                        name: data[name]
                        for name in (
                            "title",
                            "kind",
                            "points",
                            "body",
                            "repo",
                            "directory",
                            "files",
                        )
                    },
                )
                for index, datas in task_data
                for number, data in enumerate(datas)
            ]
        )
        by_project: dict[int, list[Task]] = {}
        for task in tasks:
            by_project.setdefault(task.project_id, []).append(task)
        for project in projects:  # read by run(); Project declares no bench_tasks
            project.bench_tasks = by_project.get(project.pk, [])  # type: ignore[attr-defined]
        return program, projects

    # Cohorts, their calendars and their people.

    def _cohorts(self, program: Program, projects: list[Project]) -> list[_CohortPlan]:
        today = timezone.localdate(self.now)
        total = len(projects)
        opened_counts = [total] + [
            min(total, OPENED_STEP * (index + 1)) for index in range(1, COHORTS)
        ]
        cohorts = []
        for index, opened in enumerate(opened_counts):
            start = today - RELEASE_EVERY * (opened - 1) - timedelta(days=3 if index == 0 else 2)
            cohorts.append(
                Cohort(
                    program=program,
                    name=f"Benchmark cohort {index + 1}",
                    slug=f"bench-cohort-{index + 1}",
                    start_date=start,
                    time_zone=TIME_ZONES[index % len(TIME_ZONES)],
                )
            )
        cohorts = Cohort.objects.bulk_create(cohorts)
        releases = ProjectRelease.objects.bulk_create(
            [
                ProjectRelease(cohort=cohort, project=project, **_release_dates(cohort, index))
                for cohort in cohorts
                for index, project in enumerate(projects)
            ]
        )
        learners, mentors = self._people(cohorts)
        plans = []
        for c, cohort in enumerate(cohorts):
            mine = [r for r in releases if r.cohort_id == cohort.pk and r.opens_at <= self.now]
            plans.append(
                _CohortPlan(
                    cohort=cohort,
                    releases=sorted(mine, key=lambda r: r.opens_at),
                    learners=learners[c],
                    mentors=mentors[c],
                    is_bench=c == 0,
                )
            )
        return plans

    def _people(self, cohorts: list[Cohort]) -> tuple[list[list[int]], list[list[int]]]:
        """Learners and mentors per cohort (user ids); the demo learner and mentor join #1."""
        size = self.size
        others = size.learners - size.bench_learners
        per_cohort = [size.bench_learners] + [
            others // (COHORTS - 1) + (1 if i < others % (COHORTS - 1) else 0)
            for i in range(COHORTS - 1)
        ]
        demo = {u.email: u for u in User.objects.filter(email__in=[DEMO_LEARNER, DEMO_MENTOR])}
        unusable = make_password(None)  # nobody signs in as a generated person
        users: list[User] = []
        learner_slots: list[list[User]] = []
        mentor_slots: list[list[User]] = []
        number = 0
        for c, cohort in enumerate(cohorts):
            joined = timezone.make_aware(datetime.combine(cohort.start_date, clock(8)))
            slot = []
            wanted = per_cohort[c] - (1 if c == 0 and DEMO_LEARNER in demo else 0)
            for _ in range(wanted):
                number += 1
                first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
                slot.append(
                    User(
                        email=f"{first.lower()}.{last.lower()}.{number:05d}@bench.example",
                        display_name=f"{first} {last}",
                        password=unusable,
                        date_joined=joined - timedelta(days=3),
                    )
                )
            learner_slots.append(slot)
            staff = [
                User(
                    email=f"mentor.{c + 1:02d}.{k + 1}@bench.example",
                    display_name=f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}",
                    password=unusable,
                    date_joined=joined - timedelta(days=14),
                )
                for k in range(MENTORS_PER_COHORT)
            ]
            mentor_slots.append(staff)
            users += slot + staff
        User.objects.bulk_create(users, batch_size=BATCH_SIZE)
        if DEMO_LEARNER in demo:
            learner_slots[0].insert(0, demo[DEMO_LEARNER])
        if DEMO_MENTOR in demo:
            mentor_slots[0].insert(0, demo[DEMO_MENTOR])
        Membership.objects.bulk_create(
            [
                Membership(user=user, cohort=cohort, role=role)
                for cohort, learners, mentors in zip(
                    cohorts, learner_slots, mentor_slots, strict=True
                )
                for role, people in (("learner", learners), ("mentor", mentors))
                for user in people
            ],
            batch_size=BATCH_SIZE,
        )
        self.writer.counts[User] = len(users)
        return (
            [[u.pk for u in slot] for slot in learner_slots],
            [[u.pk for u in slot] for slot in mentor_slots],
        )

    # Work: attempts with iterations, reviews and verdicts, scored.

    def _pairs(self, plans: list[_CohortPlan]) -> list[tuple[_CohortPlan, int, ProjectRelease]]:
        """Who attempts what: the bench cohort first (kept full), the rest shuffled."""
        bench: list[tuple[_CohortPlan, int, ProjectRelease]] = []
        rest: list[tuple[_CohortPlan, int, ProjectRelease]] = []
        for plan in plans:
            chance = ATTEMPT_CHANCE["bench" if plan.is_bench else "other"]
            for learner in plan.learners:
                for release in plan.releases:
                    if self.rng.random() < chance:
                        (bench if plan.is_bench else rest).append((plan, learner, release))
        self.rng.shuffle(rest)
        return bench + rest

    def _work(self, plans: list[_CohortPlan]) -> None:
        target = self.size.iterations
        ids = {model: Ids(model) for model in WORK_MODELS}
        first_ids = {model: counter.peek() for model, counter in ids.items()}
        checked_here = self.writer.defer_reference_checks()
        made = 0
        chunk: list[_AttemptRows] = []
        for plan, learner, release in self._pairs(plans):
            if made >= target:
                break
            rows = self._attempt(plan, learner, release, ids, limit=target - made)
            if rows is None:
                continue
            made += len(rows.iterations)
            chunk.append(rows)
            if len(chunk) >= ATTEMPTS_PER_CHUNK:
                self._flush(chunk)
                chunk = []
        self._flush(chunk)
        if checked_here:
            self.writer.check_references(first_ids)
        if made < target:
            self.out.write(f"Only {made:,} of {target:,} iterations fit the calendar.\n")

    def _attempt(
        self,
        plan: _CohortPlan,
        learner: int,
        release: ProjectRelease,
        ids: dict[type[models.Model], Ids],
        *,
        limit: int,
    ) -> _AttemptRows | None:
        """One learner's attempt: iterations until approved, given up, or still waiting."""
        rng = self.rng
        tasks = self.tasks[release.project_id]
        window = (release.first_deadline - release.opens_at).total_seconds()
        submitted = release.opens_at + timedelta(seconds=window * rng.uniform(0.15, 1.25))
        latest_submit = self.now - timedelta(minutes=10)
        if submitted > latest_submit or not tasks:
            return None
        skill = rng.uniform(0.55, 0.97)
        attempt = {
            "id": ids[Attempt].take(),
            "learner_id": learner,
            "release_id": release.pk,
            "status": Attempt.Status.WAITING,
            "score": None,
            "scored_iteration_id": None,
            "created_at": submitted,
        }
        rows = _AttemptRows(attempt=attempt)
        receipts = []
        repo_url = f"https://github.com/dev{learner}/{release.project.module.slug}"
        for number in range(1, min(MAX_ITERATIONS, limit) + 1):
            iteration_id = ids[Iteration].take()
            iteration = {
                "id": iteration_id,
                "attempt_id": attempt["id"],
                "cohort_id": release.cohort_id,
                "number": number,
                "repo_url": repo_url,
                "commit_sha": f"{rng.getrandbits(160):040x}",
                "notes": rng.choice(NOTES),
                "submitted_at": submitted,
                "status": Iteration.Status.WAITING,
                "submit_token": None,
                **review_due_times(release.project, submitted),
            }
            rows.iterations.append(iteration)
            hours = rng.lognormvariate(math.log(MEDIAN_TURNAROUND_HOURS), 0.8)
            decided = submitted + timedelta(hours=min(hours, 240))
            if decided > self.now:
                break  # still in the queue
            review, verdicts = self._review(plan, iteration_id, tasks, skill, decided, ids)
            iteration["status"] = Iteration.Status.REVIEWED
            attempt["status"] = review["decision"]
            rows.reviews.append(review)
            rows.verdicts += verdicts
            # The scoring service's own arithmetic, on the rows about to be written (the
            # ignores: namespaces stand in for the models, with the attributes it reads).
            receipts.append(
                build_receipt(
                    iteration=SimpleNamespace(
                        pk=iteration["id"], number=number, submitted_at=submitted
                    ),  # type: ignore[arg-type]
                    reviews=[SimpleNamespace(**review)],  # type: ignore[list-item]
                    verdicts=[SimpleNamespace(**verdict) for verdict in verdicts],  # type: ignore[misc]
                    tasks=tasks,
                    release=release,
                    extension=None,
                )
            )
            if review["decision"] == Review.Decision.APPROVED or rng.random() > RESUBMIT_CHANCE:
                break
            skill = min(0.99, skill + 0.15)  # feedback helps
            submitted = decided + timedelta(hours=rng.uniform(4, 72))
            if submitted > latest_submit:
                break
        if rows.iterations[-1]["status"] == Iteration.Status.WAITING:
            attempt["status"] = Attempt.Status.WAITING
        best = best_receipt(sorted(receipts, key=lambda r: r.iteration.number, reverse=True))
        if best is not None:
            attempt["score"] = best.score
            attempt["scored_iteration_id"] = best.iteration.pk
        return rows

    def _review(
        self,
        plan: _CohortPlan,
        iteration_id: int,
        tasks: list[Task],
        skill: float,
        decided: datetime,
        ids: dict[type[models.Model], Ids],
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A mentor's decided review: a verdict per task, approved if every mandatory passed."""
        rng = self.rng
        review_id = ids[Review].take()
        verdicts = []
        mandatory_ok = True
        for task in tasks:
            passed = rng.random() < (skill * 0.6 if task.is_advanced else skill)
            mandatory_ok = mandatory_ok and (passed or task.is_advanced)
            verdicts.append(
                {
                    "id": ids[Verdict].take(),
                    "review_id": review_id,
                    "task_id": task.pk,
                    "passed": passed,
                    "comment": "" if passed else rng.choice(FAIL_COMMENTS),
                }
            )
        review = {
            "id": review_id,
            "iteration_id": iteration_id,
            "reviewer_id": rng.choice(plan.mentors),
            "kind": Review.Kind.MENTOR,
            "decision": (
                Review.Decision.APPROVED if mandatory_ok else Review.Decision.CHANGES_REQUESTED
            ),
            "feedback": rng.choice(FEEDBACK_APPROVED if mandatory_ok else FEEDBACK_CHANGES),
            "created_at": decided - timedelta(minutes=rng.randint(5, 50)),
            "submitted_at": decided,
        }
        return review, verdicts

    def _flush(self, chunk: list[_AttemptRows]) -> None:
        self.writer.write(Attempt, [rows.attempt for rows in chunk])
        self.writer.write(Iteration, [i for rows in chunk for i in rows.iterations])
        self.writer.write(Review, [r for rows in chunk for r in rows.reviews])
        self.writer.write(Verdict, [v for rows in chunk for v in rows.verdicts])


@dataclass
class _AttemptRows:
    """One attempt's rows, keyed by field attname, ready for the BulkWriter."""

    attempt: dict[str, Any]
    iterations: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)


def _release_dates(cohort: Cohort, index: int) -> dict[str, datetime]:
    """The cohort's ``index``-th project opens every RELEASE_EVERY, on its wall clock."""
    tz = cohort.tz
    opens_on: date = cohort.start_date + RELEASE_EVERY * index
    first_on = opens_on + FIRST_DEADLINE_AFTER
    return {
        "opens_at": datetime.combine(opens_on, OPENS_AT, tz),
        "first_deadline": datetime.combine(first_on, DEADLINE_AT, tz),
        "second_deadline": datetime.combine(first_on + SECOND_DEADLINE_AFTER, DEADLINE_AT, tz),
    }

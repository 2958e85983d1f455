"""Curriculum writes: a program folder's plan against the database, and applying it.

``curriculum_plan`` compares a ProgramSpec (core/curriculum/files.py) with the database
and says what an import would do; ``curriculum_import`` does it, all in one transaction.
Rows are matched by slug (modules, projects) and number (tasks), so an unchanged folder
plans nothing and a rerun writes nothing. A project that has been released to a cohort
(so it may have attempts, verdicts, check runs) is never deleted: it is archived, and so
are the tasks a file drops from it, and the module of an archived project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q

from core.checks.models import CheckCase, CheckFile, CheckSuite
from core.curriculum.files import (
    LIMIT_FIELDS,
    REVIEW_FIELDS,
    ChecksSpec,
    CurriculumError,
    ModuleSpec,
    Problem,
    ProgramSpec,
    ProjectSpec,
    TaskSpec,
    file_kind,
    normalise_text,
    suite_cases,
)
from core.curriculum.models import Module, Program, Project, Resource, Task
from core.models import Cohort
from core.platform.cache import bump_on_commit

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
    *REVIEW_FIELDS,
)
TASK_FIELDS = ("title", "kind", "points", "body", "repo", "directory", "files", "grading")
# Orders are unique per program (modules) and per module (projects): rows step out of the
# way to here while a reordering is written, and archived rows stay above ARCHIVED_ORDER.
SHUFFLE_ORDER = 20_000
ARCHIVED_ORDER = 10_000


@dataclass(frozen=True)
class Change:
    """One line of a plan: "add", "change", "move", "remove", "archive" or "restore"."""

    action: str
    what: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action:8} {self.what}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Plan:
    """What importing a folder does, in the order it is done."""

    program: str
    changes: list[Change] = field(default_factory=list)

    def add(self, action: str, what: str, detail: str = "") -> None:
        self.changes.append(Change(action, what, detail))

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        return counts

    def added(self, kind: str) -> int:
        """How many rows of ``kind`` ("module", "project", "task", "checks") are new."""
        return sum(
            1
            for change in self.changes
            if change.action == "add" and change.what.startswith(f"{kind} ")
        )

    def lines(self) -> list[str]:
        if not self.changes:
            return [f"Program “{self.program}”: nothing to do (the database matches the files)."]
        summary = ", ".join(f"{n} {action}" for action, n in self.counts().items())
        return [f"Program “{self.program}”: {summary}.", *(str(c) for c in self.changes)]


def _differs(row: Any, values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if getattr(row, name) != value]


class _Sync:
    """Plans a spec against the database and, when asked, applies the plan."""

    def __init__(self, spec: ProgramSpec, apply: bool) -> None:
        self.spec = spec
        self.apply = apply
        self.plan = Plan(spec.name)
        self.touched_projects: set[int] = set()
        self.dropped_modules: list[Module] = []
        self.modules_shuffled = False
        self.projects_shuffled = False

    def run(self) -> Plan:
        spec = self.spec
        programs = Program.objects.filter(slug=spec.slug)
        # Two imports of one program take turns (the second plans against the first's result).
        program = (programs.select_for_update() if self.apply else programs).first()
        if program is None:
            self.plan.add("add", f"program {spec.slug}")
            if self.apply:
                program = Program.objects.create(
                    slug=spec.slug, name=spec.name, description=spec.description
                )
        else:
            values = {"name": spec.name, "description": spec.description}
            differing = _differs(program, values)
            if differing:
                self.plan.add("change", f"program {spec.slug}", ", ".join(differing))
                if self.apply:
                    Program.objects.filter(pk=program.pk).update(**values)
        self._check_slugs(program)
        modules = self._modules(program)
        self._projects(program, modules)
        if self.apply and self.plan.changes:
            # Updated rows send no post_save: bump what the receivers would have.
            touched = set(self.touched_projects)
            program_id = program.pk if program else None
            bump_on_commit(
                projects=touched,
                schedules=lambda: (
                    Cohort.objects.filter(Q(program=program_id) | Q(releases__project__in=touched))
                    .values_list("pk", flat=True)
                    .distinct()
                ),
            )
        return self.plan

    def _check_slugs(self, program: Program | None) -> None:
        """A project slug is unique site-wide: another program's project is not ours."""
        slugs = [project.slug for _, project in self.spec.projects()]
        elsewhere = Project.objects.filter(slug__in=slugs).select_related("module__program")
        if program is not None:
            elsewhere = elsewhere.exclude(module__program=program)
        problems = [
            Problem(
                f"projects/{project.slug}.md",
                0,
                f"the slug “{project.slug}” is taken by a project of the program "
                f"“{project.module.program.name}”",
            )
            for project in elsewhere
        ]
        if problems:
            raise CurriculumError(problems)

    # Modules.

    def _modules(self, program: Program | None) -> dict[str, Module]:
        current = {m.slug: m for m in Module.objects.filter(program=program)} if program else {}
        wanted = {module.slug: (order, module) for order, module in enumerate(self.spec.modules, 1)}
        self.dropped_modules = [m for slug, m in current.items() if slug not in wanted]
        final: dict[str, int | None] = {slug: order for slug, (order, _) in wanted.items()}
        for step, module in enumerate(self.dropped_modules):
            final[module.slug] = ARCHIVED_ORDER + step if module.archived else None
        if self.apply and any(final[slug] != module.order for slug, module in current.items()):
            self.modules_shuffled = True
            Module.objects.filter(program=program).update(order=F("order") + SHUFFLE_ORDER)
        result: dict[str, Module] = {}
        for slug, (order, spec) in wanted.items():
            values: dict[str, Any] = {name: getattr(spec, name) for name in MODULE_FIELDS}
            row = current.get(slug)
            if row is None:
                self.plan.add("add", f"module {slug}", f"#{order} {spec.title}")
                if self.apply:
                    assert program is not None  # made by run() when applying
                    result[slug] = Module.objects.create(
                        program=program, slug=slug, order=order, **values
                    )
                continue
            if row.archived:
                self.plan.add("restore", f"module {slug}", "it was archived")
            elif row.order != order:
                self.plan.add("move", f"module {slug}", f"#{row.order} → #{order}")
            differing = _differs(row, values)
            if differing:
                self.plan.add("change", f"module {slug}", ", ".join(differing))
            if self.apply:
                Module.objects.filter(pk=row.pk).update(order=order, archived=False, **values)
            result[slug] = row
        return result

    # Projects.

    def _projects(self, program: Program | None, modules: dict[str, Module]) -> None:
        spec_projects = list(self.spec.projects())
        slugs = [project.slug for _, project in spec_projects]
        current: dict[str, Project] = {}
        if program is not None:
            rows = (
                Project.objects.filter(Q(module__program=program) | Q(slug__in=slugs))
                .select_related("module")
                .annotate(release_count=Count("releases", distinct=True))
                .prefetch_related("resources", "prerequisites")
            )
            current = {project.slug: project for project in rows}
        wanted_place = {
            project.slug: (module.slug, order)
            for module in self.spec.modules
            for order, project in enumerate(module.projects, 1)
        }
        dropped = [row for slug, row in current.items() if slug not in wanted_place]
        final: dict[str, tuple[str, int] | None] = dict(wanted_place)
        for step, row in enumerate(dropped):
            kept = row.archived and _releases(row)
            final[row.slug] = (row.module.slug, ARCHIVED_ORDER + step) if kept else None
        if self.apply and any(
            final[slug] != (row.module.slug, row.order) for slug, row in current.items()
        ):
            self.projects_shuffled = True
            for step, row in enumerate(current.values()):
                Project.objects.filter(pk=row.pk).update(order=SHUFFLE_ORDER + step)

        by_slug: dict[str, Project] = {}
        for module_spec, project_spec in spec_projects:
            module_slug, order = wanted_place[project_spec.slug]
            by_slug[project_spec.slug] = self._project(
                current.get(project_spec.slug),
                project_spec,
                module_spec,
                modules.get(module_slug),
                order,
            )
        # Prerequisites, once every project exists.
        for _, project_spec in spec_projects:
            known = current.get(project_spec.slug)
            have = sorted(p.slug for p in known.prerequisites.all()) if known else []
            want = sorted(project_spec.prerequisites)
            if have != want:
                if known is not None:
                    self.plan.add("change", f"project {project_spec.slug}", "prerequisites")
                if self.apply:
                    project = by_slug[project_spec.slug]
                    project.prerequisites.set([by_slug[slug] for slug in want])
        self._drop(dropped)

    def _project(
        self,
        row: Project | None,
        spec: ProjectSpec,
        module_spec: ModuleSpec,
        module: Module | None,
        order: int,
    ) -> Project:
        values = {name: getattr(spec, name) for name in PROJECT_FIELDS if name not in REVIEW_FIELDS}
        values |= spec.review
        if row is None:
            self.plan.add("add", f"project {spec.slug}", f"in {module_spec.slug} #{order}")
            project = Project(slug=spec.slug, order=order, **values)
            if self.apply:
                assert module is not None
                project.module = module
                project.save()
                Resource.objects.bulk_create(
                    Resource(project=project, order=n, title=title, url=url)
                    for n, (title, url) in enumerate(spec.resources)
                )
            self._tasks(project, spec, existing=[], released=False)
            return project
        if row.archived:
            self.plan.add("restore", f"project {spec.slug}", "it was archived")
        elif (row.module.slug, row.order) != (module_spec.slug, order):
            where = (
                f"{row.module.slug} → {module_spec.slug}"
                if row.module.slug != module_spec.slug
                else f"#{row.order} → #{order}"
            )
            self.plan.add("move", f"project {spec.slug}", where)
        differing = _differs(row, values)
        resources = [(r.title, r.url) for r in row.resources.all()]
        if resources != spec.resources:
            differing.append("resources")
        if differing:
            self.plan.add("change", f"project {spec.slug}", ", ".join(differing))
        if self.apply:
            assert module is not None
            Project.objects.filter(pk=row.pk).update(
                module=module, order=order, archived=False, **values
            )
            if resources != spec.resources:
                Resource.objects.filter(project=row).delete()
                Resource.objects.bulk_create(
                    Resource(project=row, order=n, title=title, url=url)
                    for n, (title, url) in enumerate(spec.resources)
                )
            if differing or row.archived or (row.module_id, row.order) != (module.pk, order):
                self.touched_projects.add(row.pk)
        released = _releases(row) > 0
        existing = list(
            Task.all_objects.filter(project=row).select_related("check_suite").order_by("number")
        )
        self._tasks(row, spec, existing=existing, released=released)
        return row

    # Tasks and their check suites.

    def _tasks(
        self, project: Project, spec: ProjectSpec, existing: list[Task], released: bool
    ) -> None:
        current = {task.number: task for task in existing}
        label = f"task {spec.slug} #"
        new: list[tuple[Task, TaskSpec]] = []
        for task_spec in spec.tasks:
            values = {name: getattr(task_spec, name) for name in TASK_FIELDS}
            row = current.get(task_spec.number)
            if row is None:
                self.plan.add("add", f"{label}{task_spec.number}", task_spec.title)
                new.append((Task(project=project, number=task_spec.number, **values), task_spec))
                continue
            if row.archived:
                self.plan.add("restore", f"{label}{row.number}", "it was archived")
            differing = _differs(row, values)
            if differing:
                self.plan.add("change", f"{label}{row.number}", ", ".join(differing))
            if self.apply and (differing or row.archived):
                Task.all_objects.filter(pk=row.pk).update(archived=False, **values)
                self.touched_projects.add(project.pk)
            self._suite(row, task_spec.checks, f"{label}{row.number}")
        if self.apply and new:
            Task.all_objects.bulk_create([task for task, _ in new])
            if project.pk:
                self.touched_projects.add(project.pk)
        for task, task_spec in new:
            if task_spec.checks is not None:
                self.plan.add(
                    "add", f"checks of {label}{task.number}", _suite_summary(task_spec.checks)
                )
                if self.apply:
                    self._write_suite(task, None, task_spec.checks)
        wanted = {task.number for task in spec.tasks}
        for task in existing:
            if task.number in wanted:
                continue
            if released:
                if not task.archived:
                    self.plan.add(
                        "archive",
                        f"{label}{task.number}",
                        "kept with its verdicts: the project has been released",
                    )
                    if self.apply:
                        Task.all_objects.filter(pk=task.pk).update(archived=True)
                        self.touched_projects.add(project.pk)
            else:
                self.plan.add("remove", f"{label}{task.number}", task.title)
                if self.apply:
                    Task.all_objects.filter(pk=task.pk).delete()
                    self.touched_projects.add(project.pk)

    def _suite(self, task: Task, spec: ChecksSpec | None, label: str) -> None:
        suite = getattr(task, "check_suite", None) if task.pk else None
        if suite is None and spec is None:
            return
        if spec is None:
            assert suite is not None
            self.plan.add("remove", f"checks of {label}")
            if self.apply:
                suite.delete()
                self.touched_projects.add(task.project_id)
            return
        if suite is None:
            self.plan.add("add", f"checks of {label}", _suite_summary(spec))
        elif not _suite_matches(suite, spec):
            self.plan.add("change", f"checks of {label}", _suite_summary(spec))
        else:
            return
        if self.apply:
            self._write_suite(task, suite, spec)
            self.touched_projects.add(task.project_id)

    def _write_suite(self, task: Task, suite: CheckSuite | None, spec: ChecksSpec) -> None:
        """Make ``task``'s suite match ``spec``, keeping the rows that already do."""
        limits = {**spec.limits, "pytest_args": spec.pytest_args}
        if suite is None:
            suite = CheckSuite.objects.create(task=task, **limits)
        else:
            # What the suite runs changed: older results now say which version they ran.
            CheckSuite.objects.filter(pk=suite.pk).update(version=F("version") + 1, **limits)
        files = {f.path: f for f in suite.files.all()}
        CheckFile.objects.filter(suite=suite).exclude(path__in=list(spec.files)).delete()
        for path, content in spec.files.items():
            row = files.get(path)
            if row is None:
                CheckFile.objects.create(
                    suite=suite, path=path, kind=file_kind(path), content=content
                )
            elif (row.kind, row.content) != (file_kind(path), content):
                CheckFile.objects.filter(pk=row.pk).update(kind=file_kind(path), content=content)
        cases = suite_cases(spec)
        suite.cases.exclude(name__in=[case.name for case in cases]).delete()
        current = {case.name: case for case in suite.cases.all()}
        for order, case in enumerate(cases):
            case_row = current.get(case.name)
            if case_row is None:
                CheckCase.objects.create(
                    suite=suite, name=case.name, label=case.label, hidden=case.hidden, order=order
                )
            elif (case_row.label, case_row.hidden, case_row.order) != (
                case.label,
                case.hidden,
                order,
            ):
                CheckCase.objects.filter(pk=case_row.pk).update(
                    label=case.label, hidden=case.hidden, order=order
                )

    # What the files no longer mention.

    def _drop(self, projects: list[Project]) -> None:
        kept_modules: set[int] = set()
        for step, row in enumerate(projects):
            if _releases(row):
                kept_modules.add(row.module_id)
                in_place = row.order == ARCHIVED_ORDER + step and not self.projects_shuffled
                if row.archived and in_place:
                    continue
                if not row.archived:
                    self.plan.add(
                        "archive",
                        f"project {row.slug}",
                        f"kept with its history: released to {_releases(row)} cohort(s)",
                    )
                if self.apply:
                    Project.objects.filter(pk=row.pk).update(
                        archived=True, order=ARCHIVED_ORDER + step
                    )
                    self.touched_projects.add(row.pk)
            else:
                self.plan.add("remove", f"project {row.slug}", row.title)
                if self.apply:
                    row.delete()
        for step, module in enumerate(self.dropped_modules):
            if module.pk in kept_modules:
                if not module.archived:
                    self.plan.add("archive", f"module {module.slug}", "it holds archived projects")
                in_place = module.order == ARCHIVED_ORDER + step and not self.modules_shuffled
                if self.apply and not (module.archived and in_place):
                    Module.objects.filter(pk=module.pk).update(
                        archived=True, order=ARCHIVED_ORDER + step
                    )
            else:
                self.plan.add("remove", f"module {module.slug}", module.title)
                if self.apply:
                    module.delete()


def _releases(project: Project) -> int:
    """How many cohorts a project read by ``_projects`` was released to."""
    return int(getattr(project, "release_count", 0))


def _suite_summary(spec: ChecksSpec) -> str:
    cases = suite_cases(spec)
    return f"{len(spec.files)} files, {len(cases)} cases"


def _suite_matches(suite: CheckSuite, spec: ChecksSpec) -> bool:
    limits = {name: getattr(suite, name) for name in LIMIT_FIELDS}
    if limits != spec.limits or suite.pytest_args != spec.pytest_args:
        return False
    files = {f.path: (f.kind, f.content) for f in suite.files.all()}
    if files != {path: (file_kind(path), content) for path, content in spec.files.items()}:
        return False
    cases = [(c.name, c.label, c.hidden) for c in suite.cases.order_by("order", "id")]
    return cases == [(c.name, c.label, c.hidden) for c in suite_cases(spec)]


def curriculum_plan(*, spec: ProgramSpec) -> Plan:
    """What importing ``spec`` would change; writes nothing."""
    return _Sync(spec, apply=False).run()


@transaction.atomic
def curriculum_import(*, spec: ProgramSpec) -> Plan:
    """Make the database match ``spec``, all of it or (on any error) nothing."""
    return _Sync(spec, apply=True).run()


# --- The database as a spec (export) -----------------------------------------------------------


def program_spec(program: Program) -> ProgramSpec:
    """``program`` as its folder would describe it (archived rows are left out)."""
    modules = Module.objects.filter(program=program, archived=False).order_by("order")
    projects = (
        Project.objects.of_program(program.pk)
        .order_by("order")
        .prefetch_related("resources", "prerequisites")
    )
    tasks = (
        Task.objects.filter(project__in=projects)
        .select_related("check_suite")
        .prefetch_related("check_suite__files", "check_suite__cases")
        .order_by("number")
    )
    tasks_by_project: dict[int, list[Task]] = {}
    for task in tasks:
        tasks_by_project.setdefault(task.project_id, []).append(task)
    projects_by_module: dict[int, list[Project]] = {}
    for project in projects:
        projects_by_module.setdefault(project.module_id, []).append(project)
    return ProgramSpec(
        slug=program.slug,
        name=program.name.strip(),
        description=normalise_text(program.description),
        modules=[
            ModuleSpec(
                slug=module.slug,
                title=module.title.strip(),
                summary=module.summary.strip(),
                objectives=[str(o).strip() for o in module.objectives],
                projects=[
                    _project_spec(project, tasks_by_project.get(project.pk, []))
                    for project in projects_by_module.get(module.pk, [])
                ],
            )
            for module in modules
        ],
    )


def _project_spec(project: Project, tasks: list[Task]) -> ProjectSpec:
    return ProjectSpec(
        slug=project.slug,
        title=project.title.strip(),
        summary=project.summary.strip(),
        description=normalise_text(project.description),
        concepts=[str(c).strip() for c in project.concepts],
        objectives=[str(o).strip() for o in project.objectives],
        requirements=[str(r).strip() for r in project.requirements],
        estimated_hours=project.estimated_hours,
        weight=project.weight,
        prerequisites=sorted(p.slug for p in project.prerequisites.all()),
        review={name: getattr(project, name) for name in REVIEW_FIELDS},
        resources=[(r.title.strip(), r.url.strip()) for r in project.resources.all()],
        tasks=[_task_spec(task) for task in tasks],
    )


def _task_spec(task: Task) -> TaskSpec:
    suite: CheckSuite | None = getattr(task, "check_suite", None)
    checks = None
    if suite is not None:
        files = {f.path: f.content.replace("\r\n", "\n") for f in suite.files.all()}
        # The test files first in the order their cases run, then the rest by name.
        checks = ChecksSpec(
            files=files,
            hidden=[c.name for c in sorted(suite.cases.all(), key=_case_order) if c.hidden],
            limits={name: getattr(suite, name) for name in LIMIT_FIELDS},
            pytest_args=suite.pytest_args,
        )
    return TaskSpec(
        number=task.number,
        title=task.title.strip(),
        kind=task.kind,
        points=task.points,
        body=normalise_text(task.body),
        repo=task.repo.strip(),
        directory=task.directory.strip(),
        files=[str(f).strip() for f in task.files],
        grading=task.grading,
        checks=checks,
    )


def _case_order(case: CheckCase) -> tuple[int, int]:
    return (case.order, case.pk)

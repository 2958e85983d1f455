"""Curriculum as files: a program folder read into specs (every problem with its file and
line), and specs written back to the same files.

The format is docs/curriculum-format.md. In short::

    program.md                 front matter: name, slug, modules; body: the description
    modules/<slug>.md          front matter: title, summary, objectives, projects
    projects/<slug>.md         front matter: the project and its tasks; body: the
                               description, then one "## Task N: Title" section per task
    checks/<project slug>/…    the files of the projects' check suites

Reading is bounded: at most CURRICULUM_MAX_FILES files of CURRICULUM_MAX_FILE_KB each and
CURRICULUM_MAX_FOLDER_MB in all, YAML through libyaml's safe loader, refusing aliases (no
"billion laughs"), so one import reads and parses at most the folder limit: 20 MB of
front matter, the worst case, parses in about 2 s of CPU (docs/curriculum-format.md).
"""

from __future__ import annotations

import ast
import io
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any, cast

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Field, Model

from core.checks.models import CheckFile, CheckSuite, validate_suite_path
from core.curriculum.models import Module, Program, Project, Resource, Task
from core.platform.uploads import MB, validate_attachment

PROGRAM_FILE = "program.md"
MODULES_DIR = "modules"
PROJECTS_DIR = "projects"
CHECKS_DIR = "checks"
FENCE = "---"
# A task's section in a project's body: "## Task 3: Stream users one at a time".
TASK_HEADING = re.compile(r"^## Task (?P<number>\d+): (?P<title>\S.*)$")
TASK_HEADING_START = "## Task "
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Lines of a fenced code block never start a task section.
CODE_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
REVIEW_FIELDS = (
    "peer_reviews_required",
    "peer_reviews_owed",
    "mentor_review_required",
    "submitters_may_review",
    "peer_sla_hours",
    "mentor_sla_hours",
)
LIMIT_FIELDS = ("wall_seconds", "cpu_seconds", "memory_mb", "processes", "output_kb")
TEST_FILE = re.compile(r"(^|/)test_[^/]*\.py$")


# --- Specs: what a folder says ----------------------------------------------------------------


@dataclass
class ChecksSpec:
    """A task's check suite: its files (path → content, in order) and what the runs may use."""

    files: dict[str, str]
    hidden: list[str]
    limits: dict[str, int]
    pytest_args: str = ""


@dataclass
class TaskSpec:
    number: int
    title: str
    kind: str
    points: int
    body: str = ""
    repo: str = ""
    directory: str = ""
    files: list[str] = field(default_factory=list)
    grading: str = Task.Grading.MENTOR
    checks: ChecksSpec | None = None


@dataclass
class ProjectSpec:
    slug: str
    title: str
    summary: str = ""
    description: str = ""
    concepts: list[str] = field(default_factory=list)
    objectives: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    estimated_hours: int = 8
    weight: int = 1
    prerequisites: list[str] = field(default_factory=list)
    review: dict[str, Any] = field(default_factory=dict)  # REVIEW_FIELDS, all of them
    resources: list[tuple[str, str]] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)


@dataclass
class ModuleSpec:
    slug: str
    title: str
    summary: str = ""
    objectives: list[str] = field(default_factory=list)
    projects: list[ProjectSpec] = field(default_factory=list)


@dataclass
class ProgramSpec:
    """A whole program as its folder describes it."""

    slug: str
    name: str
    description: str = ""
    modules: list[ModuleSpec] = field(default_factory=list)

    def projects(self) -> Iterator[tuple[ModuleSpec, ProjectSpec]]:
        for module in self.modules:
            for project in module.projects:
                yield module, project


@dataclass(frozen=True)
class Problem:
    """Something wrong with a folder, where it is: "projects/x.md:7: points must be …"."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.message}"
            if self.line
            else (f"{self.path}: {self.message}")
        )


class CurriculumError(Exception):
    """A folder that cannot be imported, with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def review_defaults() -> dict[str, Any]:
    """A project's review policy when its file says nothing (the model's defaults)."""
    return {name: _model_field(Project, name).get_default() for name in REVIEW_FIELDS}


def _model_field(model: type[Model], name: str) -> Field[Any, Any]:
    return cast("Field[Any, Any]", model._meta.get_field(name))


def normalise_text(text: str) -> str:
    """Markdown as files keep it: Unix newlines, no blank lines around, one final newline."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


# --- Sources: a folder on disk, or a zip archive ------------------------------------------------


class Source:
    """The files of a curriculum folder: relative POSIX path → bytes, read within limits."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.problems: list[Problem] = []

    def _add(self, path: str, read: Any, size: int) -> None:
        max_file = settings.CURRICULUM_MAX_FILE_KB * 1024
        if len(self.files) >= settings.CURRICULUM_MAX_FILES:
            raise CurriculumError(
                [Problem(path, 0, f"a folder holds at most {settings.CURRICULUM_MAX_FILES} files")]
            )
        if size > max_file:
            self.problems.append(
                Problem(
                    path,
                    0,
                    f"the file is {size / MB:.1f} MB; a curriculum file may be at most "
                    f"{settings.CURRICULUM_MAX_FILE_KB} KB",
                )
            )
            return
        total = sum(len(data) for data in self.files.values()) + size
        if total > settings.CURRICULUM_MAX_FOLDER_MB * MB:
            raise CurriculumError(
                [
                    Problem(
                        path,
                        0,
                        f"the folder is larger than {settings.CURRICULUM_MAX_FOLDER_MB} MB, the "
                        "limit for a curriculum",
                    )
                ]
            )
        data: bytes = read()
        if len(data) > max_file:  # the file grew since we looked at its size
            self.problems.append(Problem(path, 0, "the file changed while it was read"))
            return
        self.files[path] = data

    @classmethod
    def from_folder(cls, root: Path) -> Source:
        """Every regular file under ``root``; links and special files are problems."""
        source = cls()
        if not root.is_dir() or root.is_symlink():
            raise CurriculumError([Problem(str(root), 0, "is not a folder")])
        for folder, dirs, names in os.walk(root, followlinks=False):
            here = Path(folder)
            dirs.sort()
            for name in [*sorted(dirs), *sorted(names)]:
                path = here / name
                relative = path.relative_to(root).as_posix()
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    source.problems.append(
                        Problem(relative, 0, "is a symbolic link; put the file itself here")
                    )
                    if name in dirs:
                        dirs.remove(name)
                elif name in dirs or name.startswith("."):
                    if name.startswith(".") and name in dirs:
                        dirs.remove(name)  # .git and friends are not curriculum
                elif not stat.S_ISREG(info.st_mode):
                    source.problems.append(Problem(relative, 0, "is not a regular file"))
                else:
                    source._add(relative, path.read_bytes, info.st_size)
        return source

    @classmethod
    def from_zip(cls, upload: UploadedFile[bytes]) -> Source:
        """A zipped folder, checked like every upload (bombs, paths, links, sizes) first."""
        try:
            validate_attachment(upload)
        except ValidationError as error:
            raise CurriculumError(
                [Problem(upload.name or "upload", 0, message) for message in error.messages]
            ) from None
        if not (upload.name or "").lower().endswith(".zip"):
            raise CurriculumError([Problem(upload.name or "upload", 0, "upload a .zip archive")])
        source = cls()
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            # macOS's Finder adds __MACOSX/ (resource forks) to the zips it makes.
            entries = [
                info
                for info in archive.infolist()
                if not info.is_dir() and not info.filename.startswith("__MACOSX/")
            ]
            names = [info.filename for info in entries]
            prefix = _common_folder(names)
            for info in entries:
                relative = info.filename[len(prefix) :]
                if PurePosixPath(relative).name.startswith(".") or "/." in relative:
                    continue
                source._add(relative, lambda info=info: archive.read(info), info.file_size)
        return source


def _common_folder(names: list[str]) -> str:
    """ "prodev-backend/" when every entry is inside that one folder (a zipped folder)."""
    if PROGRAM_FILE in names or not names:
        return ""
    first = names[0].split("/", 1)[0] + "/"
    return first if all(name.startswith(first) for name in names) else ""


# --- YAML with line numbers -------------------------------------------------------------------


class Doc(dict[str, Any]):
    """A YAML mapping that remembers the line of each key (1-based, in its file)."""

    line: int = 0
    lines: dict[str, int]


class Items(list[Any]):
    """A YAML sequence that remembers the line of each item (1-based, in its file)."""

    lines: list[int]


class _Loader(yaml.CSafeLoader):
    """libyaml's safe loader, refusing aliases and repeated keys, keeping lines.

    An alias is a node met twice while constructing (the composer shares it), so
    "billion laughs" documents fail at their first alias instead of expanding.
    """

    line_offset = 0

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases (&name, *name) are not allowed", node.start_mark
            )
        return super().construct_object(node, deep)

    def construct_doc(self, node: yaml.MappingNode) -> Iterator[Doc]:
        doc = Doc()
        doc.line = node.start_mark.line + 1 + self.line_offset
        doc.lines = {}
        yield doc
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, "keys are words, such as title", key_node.start_mark
                )
            if key in doc:
                raise yaml.constructor.ConstructorError(
                    None, None, f"“{key}” is given twice", key_node.start_mark
                )
            doc[key] = self.construct_object(value_node, deep=True)
            doc.lines[key] = key_node.start_mark.line + 1 + self.line_offset

    def construct_items(self, node: yaml.SequenceNode) -> Iterator[Items]:
        items = Items()
        items.lines = [child.start_mark.line + 1 + self.line_offset for child in node.value]
        yield items
        items.extend(self.construct_object(child, deep=True) for child in node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_doc)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_items)


@dataclass
class Parsed:
    """A Markdown file: its front matter and its body (with the body's first line)."""

    meta: Doc
    body: str
    body_line: int


class _Reader:
    """Reads one folder into a ProgramSpec, collecting every problem on the way."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.problems: list[Problem] = list(source.problems)
        self.used: set[str] = set()

    # Problems and values.

    def problem(self, path: str, line: int, message: str) -> None:
        self.problems.append(Problem(path, line, message))

    def text(self, path: str) -> str | None:
        data = self.source.files.get(path)
        if data is None:
            return None
        self.used.add(path)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        if b"\x00" in data:
            self.problem(path, 0, "is not a text file (it contains binary data)")
            return None
        try:
            return data.decode("utf-8").replace("\r\n", "\n")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            self.problem(path, line, "is not UTF-8 text; save it as UTF-8")
            return None

    def markdown(self, path: str, line: int, referrer: str) -> Parsed | None:
        text = self.text(path)
        if text is None:
            if path not in self.source.files:
                self.problem(referrer, line, f"{path} is missing")
            return None
        lines = text.split("\n")
        if not lines or lines[0].rstrip() != FENCE:
            self.problem(path, 1, "the file must start with front matter: a line “---”")
            return None
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == FENCE)
        except StopIteration:
            self.problem(path, 1, "the front matter has no closing line “---”")
            return None
        loader = _Loader("\n".join(lines[1:end]))
        loader.line_offset = 1
        try:
            meta = loader.get_single_data()
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line_no = mark.line + 2 if mark else 1
            self.problem(path, line_no, f"broken YAML: {error.problem or error.context}")
            return None
        except yaml.YAMLError as error:
            self.problem(path, 2, f"broken YAML: {error}")
            return None
        finally:
            loader.dispose()
        if meta is None:
            meta = Doc()
            meta.lines = {}
        if not isinstance(meta, Doc):
            self.problem(path, 2, "the front matter must be keys and values (title: …)")
            return None
        meta.line = meta.line or 2
        return Parsed(meta, "\n".join(lines[end + 1 :]), end + 2)

    def keys(self, path: str, doc: Doc, known: Iterable[str], required: Iterable[str]) -> bool:
        known = set(known)
        good = True
        for key in doc:
            if key not in known:
                self.problem(
                    path, doc.lines[key], f"unknown key “{key}” (known: {', '.join(sorted(known))})"
                )
                good = False
        for key in required:
            if key not in doc:
                self.problem(path, doc.line, f"{key} is missing")
                good = False
        return good

    def string(self, path: str, doc: Doc, key: str, default: str = "") -> str:
        value = doc.get(key, default)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(path, doc.lines.get(key, doc.line), f"{key} must be text")
            return default
        return str(value).strip()

    def integer(self, path: str, doc: Doc, key: str, default: int, minimum: int) -> int:
        value = doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
            self.problem(path, doc.lines.get(key, doc.line), f"{key} must be {kind}")
            return default
        return value

    def boolean(self, path: str, doc: Doc, key: str, default: bool) -> bool:
        value = doc.get(key, default)
        if not isinstance(value, bool):
            self.problem(path, doc.lines.get(key, doc.line), f"{key} must be true or false")
            return default
        return value

    def items(self, path: str, doc: Doc, key: str) -> list[tuple[str, int]]:
        """A list of text, each item with its line."""
        value = doc.get(key, [])
        if value is None:
            return []
        line = doc.lines.get(key, doc.line)
        if not isinstance(value, list):
            self.problem(path, line, f"{key} must be a list of text")
            return []
        lines = value.lines if isinstance(value, Items) else [line] * len(value)
        items = []
        for item, item_line in zip(value, lines, strict=True):
            if isinstance(item, str) and item.strip():
                items.append((item.strip(), item_line))
            else:
                self.problem(path, item_line, f"each item of {key} must be text")
        return items

    def strings(self, path: str, doc: Doc, key: str) -> list[str]:
        return [item for item, _ in self.items(path, doc, key)]

    def slugs(self, path: str, doc: Doc, key: str) -> list[tuple[str, int]]:
        good = []
        for value, line in self.items(path, doc, key):
            if SLUG.match(value):
                good.append((value, line))
            else:
                self.problem(
                    path, line, f"“{value}” is not a slug (lowercase letters, digits and dashes)"
                )
        return good

    def fields_of(
        self, path: str, instance: Model, lines: dict[str, int], exclude: list[str]
    ) -> None:
        """The model's own field validation (lengths, URLs, choices), with file lines."""
        try:
            instance.clean_fields(exclude=exclude)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                for message in messages:
                    self.problem(path, lines.get(name, 0), f"{name}: {message}")

    # The files.

    def program(self) -> ProgramSpec | None:
        parsed = self.markdown(PROGRAM_FILE, 0, PROGRAM_FILE)
        if parsed is None:
            return None
        meta = parsed.meta
        self.keys(PROGRAM_FILE, meta, ["name", "slug", "modules"], ["name", "slug", "modules"])
        spec = ProgramSpec(
            slug=self.string(PROGRAM_FILE, meta, "slug"),
            name=self.string(PROGRAM_FILE, meta, "name"),
            description=normalise_text(parsed.body),
        )
        if spec.slug and not SLUG.match(spec.slug):
            self.problem(
                PROGRAM_FILE, meta.lines["slug"], "slug must be lowercase words and dashes"
            )
        lines = {**meta.lines, "description": parsed.body_line}
        self.fields_of(PROGRAM_FILE, Program(**_plain(spec, "modules")), lines, [])
        seen_modules: dict[str, int] = {}
        seen_projects: dict[str, str] = {}
        for slug, line in self.slugs(PROGRAM_FILE, meta, "modules"):
            if slug in seen_modules:
                self.problem(PROGRAM_FILE, line, f"module “{slug}” is listed twice")
                continue
            seen_modules[slug] = line
            module = self.module(slug, line, seen_projects)
            if module is not None:
                spec.modules.append(module)
        if not seen_modules and "modules" in meta:
            self.problem(PROGRAM_FILE, meta.lines["modules"], "a program has at least one module")
        self.prerequisites(spec, set(seen_projects))
        if self.problems:
            return spec  # files a broken list leaves unread are not strays
        for path in sorted(set(self.source.files) - self.used):
            if not path.startswith(f"{CHECKS_DIR}/"):
                self.problem(path, 0, "is not part of the program (no module or project lists it)")
        return spec

    def module(self, slug: str, line: int, seen_projects: dict[str, str]) -> ModuleSpec | None:
        path = f"{MODULES_DIR}/{slug}.md"
        parsed = self.markdown(path, line, PROGRAM_FILE)
        if parsed is None:
            return None
        meta = parsed.meta
        self.keys(path, meta, ["title", "summary", "objectives", "projects"], ["title", "projects"])
        if parsed.body.strip():
            self.problem(
                path,
                parsed.body_line,
                "a module file has front matter only (its summary and objectives)",
            )
        spec = ModuleSpec(
            slug=slug,
            title=self.string(path, meta, "title"),
            summary=self.string(path, meta, "summary"),
            objectives=self.strings(path, meta, "objectives"),
        )
        self.fields_of(
            path, Module(**_plain(spec, "projects"), order=1), meta.lines, ["program", "order"]
        )
        for project_slug, project_line in self.slugs(path, meta, "projects"):
            if project_slug in seen_projects:
                self.problem(
                    path,
                    project_line,
                    f"project “{project_slug}” is already listed by {seen_projects[project_slug]}",
                )
                continue
            seen_projects[project_slug] = path
            project = self.project(project_slug, project_line, path)
            if project is not None:
                spec.projects.append(project)
        return spec

    def project(self, slug: str, line: int, referrer: str) -> ProjectSpec | None:
        path = f"{PROJECTS_DIR}/{slug}.md"
        parsed = self.markdown(path, line, referrer)
        if parsed is None:
            return None
        meta = parsed.meta
        known = [
            "title",
            "summary",
            "estimated_hours",
            "weight",
            "prerequisites",
            "concepts",
            "objectives",
            "requirements",
            "review",
            "resources",
            "tasks",
        ]
        self.keys(path, meta, known, ["title", "tasks"])
        description, sections = self.sections(path, parsed)
        spec = ProjectSpec(
            slug=slug,
            title=self.string(path, meta, "title"),
            summary=self.string(path, meta, "summary"),
            description=description,
            concepts=self.strings(path, meta, "concepts"),
            objectives=self.strings(path, meta, "objectives"),
            requirements=self.strings(path, meta, "requirements"),
            estimated_hours=self.integer(path, meta, "estimated_hours", 8, 1),
            weight=self.integer(path, meta, "weight", 1, 1),
            prerequisites=[slug for slug, _ in self.slugs(path, meta, "prerequisites")],
            review=self.review(path, meta),
        )
        lines = {**meta.lines, "description": parsed.body_line}
        for name in REVIEW_FIELDS:
            lines[name] = meta.lines.get("review", meta.line)
        fields = _plain(spec, "prerequisites", "review", "resources", "tasks") | spec.review
        self.fields_of(path, Project(**fields, order=1), lines, ["module", "order", "slug"])
        spec.resources = self.resources(path, meta)
        spec.tasks = self.tasks(path, meta, sections)
        return spec

    def review(self, path: str, meta: Doc) -> dict[str, Any]:
        policy = review_defaults()
        doc = meta.get("review")
        if doc is None:
            return policy
        if not isinstance(doc, Doc):
            self.problem(path, meta.lines["review"], "review must be keys and values")
            return policy
        self.keys(path, doc, REVIEW_FIELDS, [])
        for name in REVIEW_FIELDS:
            if isinstance(policy[name], bool):
                policy[name] = self.boolean(path, doc, name, policy[name])
            else:
                minimum = 1 if name.endswith("_sla_hours") else 0
                policy[name] = self.integer(path, doc, name, policy[name], minimum)
        return policy

    def resources(self, path: str, meta: Doc) -> list[tuple[str, str]]:
        items = meta.get("resources", [])
        if items is None:
            return []
        if not isinstance(items, list):
            self.problem(path, meta.lines["resources"], "resources must be a list of title and url")
            return []
        resources = []
        for item in items:
            if not isinstance(item, Doc):
                self.problem(path, meta.lines["resources"], "each resource has a title and a url")
                continue
            self.keys(path, item, ["title", "url"], ["title", "url"])
            title, url = self.string(path, item, "title"), self.string(path, item, "url")
            self.fields_of(path, Resource(title=title, url=url), item.lines, ["project"])
            resources.append((title, url))
        return resources

    def sections(self, path: str, parsed: Parsed) -> tuple[str, dict[int, tuple[str, str, int]]]:
        """The description, and each task's (title, body, line) by number."""
        description: list[str] = []
        sections: dict[int, tuple[str, list[str], int]] = {}
        current = description
        fence = ""
        for offset, line in enumerate(parsed.body.split("\n")):
            line_no = parsed.body_line + offset
            opening = CODE_FENCE.match(line)
            if opening and (not fence or opening.group(1).startswith(fence)):
                fence = "" if fence else opening.group(1)[:3]
            elif not fence and line.startswith(TASK_HEADING_START):
                match = TASK_HEADING.match(line.rstrip())
                if match is None:
                    self.problem(path, line_no, "a task heading reads “## Task 3: Its title”")
                    continue
                number = int(match["number"])
                if number in sections:
                    self.problem(path, line_no, f"task {number} has two sections")
                    continue
                current = []
                sections[number] = (match["title"].strip(), current, line_no)
                continue
            current.append(line)
        return normalise_text("\n".join(description)), {
            number: (title, normalise_text("\n".join(body)), line_no)
            for number, (title, body, line_no) in sections.items()
        }

    def tasks(
        self, path: str, meta: Doc, sections: dict[int, tuple[str, str, int]]
    ) -> list[TaskSpec]:
        items = meta.get("tasks")
        line = meta.lines.get("tasks", meta.line)
        if not isinstance(items, list) or not items:
            self.problem(path, line, "tasks must be a list with at least one task")
            return []
        known = [
            "number",
            "kind",
            "points",
            "grading",
            "repo",
            "directory",
            "files",
            "checks",
        ]
        tasks: list[TaskSpec] = []
        numbers: set[int] = set()
        for item in items:
            if not isinstance(item, Doc):
                self.problem(path, line, "each task is keys and values (number: 0, points: 10 …)")
                continue
            self.keys(path, item, known, ["number", "points"])
            number = self.integer(path, item, "number", -1, 0)
            if number in numbers:
                self.problem(
                    path, item.lines.get("number", item.line), f"task {number} is given twice"
                )
                continue
            numbers.add(number)
            kind = self.string(path, item, "kind", Task.Kind.MANDATORY)
            grading = self.string(path, item, "grading", Task.Grading.MENTOR)
            title, body, heading_line = sections.get(number, ("", "", item.line))
            if number >= 0 and number not in sections:
                self.problem(
                    path, item.line, f"task {number} has no section “## Task {number}: Its title”"
                )
            task = TaskSpec(
                number=number,
                title=title,
                kind=kind,
                points=self.integer(path, item, "points", 1, 1),
                body=body,
                repo=self.string(path, item, "repo"),
                directory=self.string(path, item, "directory"),
                files=self.strings(path, item, "files"),
                grading=grading,
            )
            lines = {**item.lines, "title": heading_line, "body": heading_line}
            self.fields_of(
                path,
                Task(**_plain(task, "checks", "number")),
                lines,
                ["project", "number"] if number in sections else ["project", "number", "title"],
            )
            if "checks" in item:
                task.checks = self.checks(path, item.lines["checks"], item["checks"], meta)
            if task.grading != Task.Grading.MENTOR and "checks" not in item:
                self.problem(
                    path, lines.get("grading", item.line), "grading by checks needs checks"
                )
            tasks.append(task)
        for number, (_, _, heading_line) in sections.items():
            if number not in numbers:
                self.problem(
                    path, heading_line, f"task {number} is not in the front matter's tasks"
                )
        tasks.sort(key=lambda task: task.number)
        return tasks

    def checks(self, path: str, line: int, doc: Any, meta: Doc) -> ChecksSpec | None:
        if not isinstance(doc, Doc):
            self.problem(path, line, "checks must be keys and values (files, hidden, limits)")
            return None
        self.keys(path, doc, ["files", "hidden", "limits", "pytest_args"], ["files"])
        folder = f"{CHECKS_DIR}/{PurePosixPath(path).stem}"
        files: dict[str, str] = {}
        listed = self.items(path, doc, "files")
        for name, where in listed:
            try:
                validate_suite_path(name)
            except ValidationError:
                self.problem(
                    path,
                    where,
                    f"“{name}” is not a path inside {folder}/ (no “..”, no leading “/”, "
                    "no hidden files)",
                )
                continue
            full = f"{folder}/{name}"
            content = self.text(full)
            if content is None:
                if full not in self.source.files:
                    self.problem(path, where, f"{full} is missing")
                continue
            if len(content) > settings.CHECKS_MAX_SUITE_FILE_CHARS:
                self.problem(
                    full,
                    0,
                    "a suite file holds at most "
                    f"{settings.CHECKS_MAX_SUITE_FILE_CHARS:,} characters",
                )
                continue
            files[name] = content
        if not listed:
            self.problem(path, doc.lines.get("files", line), "checks need at least one file")
        limits_doc = doc.get("limits", Doc())
        limits: dict[str, int] = {}
        if not isinstance(limits_doc, Doc):
            self.problem(path, doc.lines["limits"], "limits must be keys and values")
        else:
            if "limits" in doc:
                self.keys(path, limits_doc, LIMIT_FIELDS, [])
            for name in LIMIT_FIELDS:
                default = _model_field(CheckSuite, name).get_default()
                if not hasattr(limits_doc, "lines"):
                    limits_doc.lines = {}
                    limits_doc.line = line
                limits[name] = self.integer(path, limits_doc, name, default, 1)
        spec = ChecksSpec(
            files=files,
            hidden=self.strings(path, doc, "hidden"),
            limits=limits,
            pytest_args=self.string(path, doc, "pytest_args"),
        )
        suite_lines = dict.fromkeys(LIMIT_FIELDS, doc.lines.get("limits", line))
        suite_lines["pytest_args"] = doc.lines.get("pytest_args", line)
        self.fields_of(
            path,
            CheckSuite(**limits, pytest_args=spec.pytest_args),
            suite_lines,
            ["task", "version"],
        )
        try:
            names = {case.name for case in suite_cases(spec)}
        except ValueError as error:
            self.problem(path, doc.lines.get("files", line), str(error))
            return spec
        if len(files) < len(listed):
            return spec  # a file that did not read has its own problem
        for name, where in self.items(path, doc, "hidden"):
            if name not in names:
                self.problem(path, where, f"hidden case “{name}” is in no test file")
        return spec

    def prerequisites(self, spec: ProgramSpec, listed: set[str]) -> None:
        slugs = listed  # a listed project that did not read has its own problem
        for _, project in spec.projects():
            for slug in project.prerequisites:
                if slug not in slugs:
                    self.problem(
                        f"{PROJECTS_DIR}/{project.slug}.md",
                        0,
                        f"prerequisite “{slug}” is not a project of this program",
                    )
                elif slug == project.slug:
                    self.problem(
                        f"{PROJECTS_DIR}/{project.slug}.md", 0, "a project cannot require itself"
                    )


def _plain(spec: Any, *leave_out: str) -> dict[str, Any]:
    """A spec's fields that are model fields of the same name."""
    return {f.name: getattr(spec, f.name) for f in fields(spec) if f.name not in leave_out}


def read_program(source: Source) -> ProgramSpec:
    """The program a folder describes; raises CurriculumError with every problem found."""
    reader = _Reader(source)
    try:
        spec = reader.program()
    except RecursionError:
        reader.problem(PROGRAM_FILE, 0, "a file nests too deeply to read")
        spec = None
    if reader.problems or spec is None:
        raise CurriculumError(reader.problems)
    return spec


def read_folder(root: Path) -> ProgramSpec:
    return read_program(Source.from_folder(root))


# --- Check suites: cases come from the test files ----------------------------------------------


@dataclass(frozen=True)
class CaseSpec:
    """A case as CheckCase stores it."""

    name: str
    label: str
    hidden: bool


def read_cases(source: str, hidden: Iterable[str]) -> list[CaseSpec]:
    """The ``test_*`` functions of a test module, labelled by their docstrings."""
    hidden = set(hidden)
    cases = []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise ValueError(f"a test file does not parse as Python ({error})") from None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            label = (ast.get_docstring(node) or "").strip().splitlines()
            cases.append(CaseSpec(node.name, label[0][:200] if label else "", node.name in hidden))
    return cases


def suite_cases(spec: ChecksSpec) -> list[CaseSpec]:
    """Every case of a suite: the test functions of its test_*.py files, in file order."""
    cases = []
    for path, content in spec.files.items():
        if TEST_FILE.search(path):
            cases += read_cases(content, spec.hidden)
    return cases


def file_kind(path: str) -> str:
    return CheckFile.Kind.TEST if path.endswith(".py") else CheckFile.Kind.FIXTURE


# --- Writing -----------------------------------------------------------------------------------


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def _front(data: dict[str, Any], body: str) -> str:
    text = f"{FENCE}\n{_yaml(data)}{FENCE}\n"
    body = normalise_text(body)
    return text + ("\n" + body if body else "")


def _some(**values: Any) -> dict[str, Any]:
    """The values that say something: empty lists and strings are left out of files."""
    return {key: value for key, value in values.items() if value not in ("", [], None)}


def render_program(spec: ProgramSpec) -> dict[str, str]:
    """The files of a folder (path → text) that reads back as ``spec``."""
    files = {
        PROGRAM_FILE: _front(
            {"name": spec.name, "slug": spec.slug, "modules": [m.slug for m in spec.modules]},
            spec.description,
        )
    }
    defaults = review_defaults()
    for module in spec.modules:
        files[f"{MODULES_DIR}/{module.slug}.md"] = _front(
            {
                "title": module.title,
                **_some(summary=module.summary, objectives=module.objectives),
                "projects": [p.slug for p in module.projects],
            },
            "",
        )
        for project in module.projects:
            review = {k: v for k, v in project.review.items() if v != defaults[k]}
            tasks = []
            sections = []
            for task in project.tasks:
                entry: dict[str, Any] = {"number": task.number, "kind": str(task.kind)}
                entry["points"] = task.points
                if task.grading != Task.Grading.MENTOR:
                    entry["grading"] = str(task.grading)
                entry |= _some(repo=task.repo, directory=task.directory, files=task.files)
                if task.checks is not None:
                    checks = task.checks
                    entry["checks"] = {
                        "files": list(checks.files),
                        **_some(hidden=checks.hidden),
                        "limits": checks.limits,
                        **_some(pytest_args=checks.pytest_args),
                    }
                    for name, content in checks.files.items():
                        full = f"{CHECKS_DIR}/{project.slug}/{name}"
                        if files.get(full, content) != content:
                            raise ValueError(
                                f"{project.slug}: two tasks' suites have different files "
                                f"named {name}; give them different names"
                            )
                        files[full] = content
                tasks.append(entry)
                body = normalise_text(task.body)
                sections.append(
                    f"## Task {task.number}: {task.title}\n" + ("\n" + body if body else "")
                )
            meta = {
                "title": project.title,
                **_some(summary=project.summary),
                "estimated_hours": project.estimated_hours,
                "weight": project.weight,
                **_some(
                    prerequisites=project.prerequisites,
                    concepts=project.concepts,
                    objectives=project.objectives,
                    requirements=project.requirements,
                ),
                **({"review": review} if review else {}),
                **_some(resources=[{"title": t, "url": u} for t, u in project.resources]),
                "tasks": tasks,
            }
            body = "\n".join(
                part for part in [normalise_text(project.description), *sections] if part
            )
            files[f"{PROJECTS_DIR}/{project.slug}.md"] = _front(meta, body)
    return files


def write_folder(spec: ProgramSpec, root: Path) -> list[str]:
    """Write ``spec`` under ``root``; refuses a spec its own files would not read back as."""
    files = render_program(spec)
    source = Source()
    source.files = {path: text.encode() for path, text in files.items()}
    if read_program(source) != spec:
        raise ValueError(
            "the exported files would not read back as the same program (a description or "
            "task body holds a line starting “## Task ”?)"
        )
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
    return sorted(files)


def zip_program(spec: ProgramSpec) -> bytes:
    """The folder as a zip archive (for tests and the admin's download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(render_program(spec).items()):
            archive.writestr(f"{spec.slug}/{path}", text)
    return buffer.getvalue()

"""``import_curriculum`` and ``export_curriculum``: a folder in, the same folder out."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.forms import modelform_factory
from django.utils import timezone

from core.curriculum.selectors import CohortChoice, modules_for
from core.demo.program import DEMO_CURRICULUM
from core.models import CheckSuite, Module, Program, Project, Task
from tests.curriculum.folders import ORM_MD, TINY, read, snapshot, write
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.datetime(2026, 3, 2, 9, 0, tzinfo=timezone.UTC)


def run(*args: object) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refuse(path: Path, *expected: str) -> str:
    """Import ``path``: it fails, says every ``expected`` thing, and changes nothing."""
    before = snapshot()
    with pytest.raises(CommandError) as error:
        run("import_curriculum", path)
    message = str(error.value)
    assert "nothing imported" in message
    for text in expected:
        assert text in message, message
    assert snapshot() == before
    return message


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write(tmp_path / "tiny", TINY)


def test_it_imports_a_folder(tiny: Path) -> None:
    out = run("import_curriculum", tiny)

    assert "add      program tiny" in out
    program = Program.objects.get(slug="tiny")
    assert program.description == "A **tiny** program, for tests.\n"
    assert list(program.modules.values_list("slug", "order")) == [("basics", 1), ("web", 2)]
    orm = Project.objects.get(slug="orm-basics")
    assert (orm.module.slug, orm.order, orm.weight, orm.estimated_hours) == ("basics", 1, 2, 4)
    assert orm.description == "Learn the ORM.\n"
    assert list(orm.resources.values_list("title", flat=True)) == ["Django ORM"]
    first, second = orm.tasks.order_by("number")
    assert (first.title, first.points, first.repo, first.files) == (
        "Models",
        10,
        "orm",
        ["models.py"],
    )
    assert "## Task 9: neither is this" in first.body  # inside a code block
    assert (second.title, second.kind, second.grading) == ("Queries", "advanced", "checks")
    suite = second.check_suite
    assert suite.wall_seconds == 20
    assert list(suite.cases.values_list("name", "label", "hidden")) == [
        ("test_first_case", "The first case.", False),
        ("test_hidden_case", "A hidden case.", True),
    ]
    assert [p.slug for p in Project.objects.get(slug="views-basics").prerequisites.all()] == [
        "orm-basics"
    ]
    assert Project.objects.get(slug="forms-basics").peer_reviews_required == 2


def test_importing_the_same_folder_again_changes_nothing(tiny: Path) -> None:
    run("import_curriculum", tiny)
    before = snapshot()

    out = run("import_curriculum", tiny)

    assert "nothing to do" in out
    assert snapshot() == before


def test_a_dry_run_prints_the_plan_and_changes_nothing(tiny: Path) -> None:
    out = run("import_curriculum", tiny, "--dry-run")

    assert out.startswith("Dry run, nothing changed.")
    assert "add      project orm-basics: in basics #1" in out
    assert "add      checks of task orm-basics #1: 1 files, 2 cases" in out
    assert not Program.objects.exists()


def test_the_plan_says_what_changed_and_moved(tiny: Path) -> None:
    run("import_curriculum", tiny)
    files = dict(TINY)
    files["projects/orm-basics.md"] = ORM_MD.replace("  points: 10", "  points: 12")
    files["modules/basics.md"] = TINY["modules/basics.md"].replace(
        "- orm-basics\n- views-basics", "- views-basics\n- orm-basics"
    )
    files["program.md"] = TINY["program.md"].replace("- basics\n- web", "- web\n- basics")
    write(tiny, files)

    plan = run("import_curriculum", tiny, "--dry-run")
    out = run("import_curriculum", tiny)

    assert "change   task orm-basics #0: points" in plan
    assert "move     project orm-basics: #1 → #2" in plan
    assert "move     module basics: #1 → #2" in plan
    assert plan.split("\n", 1)[1] == out.split("\n", 1)[1]
    assert Task.objects.get(project__slug="orm-basics", number=0).points == 12
    assert list(Module.objects.order_by("order").values_list("slug", flat=True)) == [
        "web",
        "basics",
    ]
    assert "nothing to do" in run("import_curriculum", tiny)


def test_a_project_moves_to_another_module(tiny: Path) -> None:
    run("import_curriculum", tiny)
    files = dict(TINY)
    files["modules/basics.md"] = TINY["modules/basics.md"].replace("- views-basics\n", "")
    files["modules/web.md"] = TINY["modules/web.md"].replace(
        "- forms-basics", "- views-basics\n- forms-basics"
    )
    write(tiny, files)

    out = run("import_curriculum", tiny)

    assert "move     project views-basics: basics → web" in out
    views = Project.objects.get(slug="views-basics")
    assert (views.module.slug, views.order) == ("web", 1)
    assert Project.objects.get(slug="forms-basics").order == 2


def test_a_project_nobody_started_is_removed_with_its_tasks(tiny: Path) -> None:
    run("import_curriculum", tiny)
    files = dict(TINY)
    files["modules/web.md"] = TINY["modules/web.md"].replace("- forms-basics", "- views-basics")
    files["modules/basics.md"] = TINY["modules/basics.md"].replace("- views-basics\n", "")
    del files["projects/forms-basics.md"]
    (tiny / "projects/forms-basics.md").unlink()
    write(tiny, files)

    out = run("import_curriculum", tiny)

    assert "remove   project forms-basics: Forms basics" in out
    assert not Project.objects.filter(slug="forms-basics").exists()
    assert not Task.all_objects.filter(project__slug="forms-basics").exists()


@time_machine.travel(NOW, tick=False)
def test_released_projects_and_tasks_are_archived_not_deleted(tiny: Path) -> None:
    run("import_curriculum", tiny)
    program = Program.objects.get(slug="tiny")
    cohort = CohortFactory(program=program)
    learner = UserFactory()
    for slug in ("orm-basics", "forms-basics"):
        release = ProjectReleaseFactory(cohort=cohort, project=Project.objects.get(slug=slug))
        AttemptFactory(release=release, learner=learner)
    files = dict(TINY)
    del files["modules/web.md"], files["projects/forms-basics.md"]
    (tiny / "modules/web.md").unlink()
    (tiny / "projects/forms-basics.md").unlink()
    files["program.md"] = TINY["program.md"].replace("- web\n", "")
    # Task 1 (and its checks) leaves orm-basics.
    head, _, _ = ORM_MD.partition("- number: 1")
    files["projects/orm-basics.md"] = (
        head.rstrip() + "\n---\n\nLearn the ORM.\n\n## Task 0: Models\n\nWrite `models.py`.\n"
    )
    write(tiny, files)

    out = run("import_curriculum", tiny)

    assert "archive  project forms-basics: kept with its history: released to 1 cohort(s)" in out
    assert "archive  module web: it holds archived projects" in out
    assert "archive  task orm-basics #1: kept with its verdicts" in out
    forms = Project.objects.get(slug="forms-basics")
    assert forms.archived and forms.module.archived
    assert forms.tasks.count() == 1  # the project keeps its tasks for its attempts
    orm = Project.objects.get(slug="orm-basics")
    assert list(orm.tasks.values_list("number", flat=True)) == [0]
    assert Task.all_objects.get(project=orm, number=1).archived
    assert CheckSuite.objects.filter(task__project=orm, task__number=1).exists()
    # The curriculum page shows the program as its files say.
    shown = modules_for(CohortChoice(cohort, None), learner, timezone.now())
    assert [(m.module.slug, [e.project.slug for e in m.entries]) for m in shown] == [
        ("basics", ["orm-basics", "views-basics"])
    ]
    assert "nothing to do" in run("import_curriculum", tiny)
    # Putting them back restores them.
    write(tiny, TINY)
    out = run("import_curriculum", tiny)
    assert "restore  project forms-basics: it was archived" in out
    assert "restore  task orm-basics #1: it was archived" in out
    assert not Project.objects.filter(archived=True).exists()
    assert "nothing to do" in run("import_curriculum", tiny)


def test_export_then_import_then_export_is_byte_identical(tiny: Path, tmp_path: Path) -> None:
    run("import_curriculum", tiny)
    run("export_curriculum", "tiny", tmp_path / "first")
    Program.objects.all().delete()  # import into an empty database

    assert "add      program tiny" in run("import_curriculum", tmp_path / "first")
    run("export_curriculum", "tiny", tmp_path / "second")

    assert read(tmp_path / "first") == read(tmp_path / "second")
    assert "nothing to do" in run("import_curriculum", tmp_path / "second")


def test_the_demo_folder_is_what_the_exporter_writes(tmp_path: Path) -> None:
    run("import_curriculum", DEMO_CURRICULUM)

    run("export_curriculum", "prodev-backend", tmp_path / "demo")

    assert read(tmp_path / "demo") == read(DEMO_CURRICULUM)


def test_export_refuses_an_unknown_program_and_a_full_folder(tiny: Path, tmp_path: Path) -> None:
    run("import_curriculum", tiny)
    with pytest.raises(CommandError, match="No program “nope” \\(programs: tiny\\)"):
        run("export_curriculum", "nope", tmp_path / "out")
    with pytest.raises(CommandError, match="is not empty"):
        run("export_curriculum", "tiny", tiny)


# --- Bad input: a clear error, and nothing changes ---------------------------------------------


def test_broken_yaml_is_reported_with_its_line(tiny: Path) -> None:
    write(tiny, {"projects/orm-basics.md": ORM_MD.replace("weight: 2", "weight: [2")})
    refuse(tiny, "projects/orm-basics.md:5: broken YAML")


def test_a_task_with_zero_points_is_reported_with_its_line(tiny: Path) -> None:
    write(tiny, {"projects/orm-basics.md": ORM_MD.replace("  points: 10", "  points: 0")})
    refuse(tiny, "projects/orm-basics.md:11: points must be a positive integer")


def test_a_duplicate_slug_is_reported(tiny: Path) -> None:
    write(
        tiny, {"modules/web.md": TINY["modules/web.md"].replace("- forms", "- orm-basics\n- forms")}
    )
    refuse(tiny, "modules/web.md:4: project “orm-basics” is already listed by modules/basics.md")


def test_a_missing_file_is_reported_where_it_is_named(tiny: Path) -> None:
    (tiny / "projects/views-basics.md").unlink()
    refuse(tiny, "modules/basics.md:8: projects/views-basics.md is missing")


def test_every_problem_is_reported_at_once(tiny: Path) -> None:
    (tiny / "projects/views-basics.md").unlink()
    write(tiny, {"projects/orm-basics.md": ORM_MD.replace("  points: 10", "  points: -1")})
    message = refuse(
        tiny,
        "2 problems,",
        "modules/basics.md:8: projects/views-basics.md is missing",
        "projects/orm-basics.md:11: points must be a positive integer",
    )
    assert message.count("\n") == 2


def test_a_path_that_climbs_out_of_the_folder_is_refused(tiny: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.py").write_text("def test_secret():\n    pass\n")
    write(tiny, {"projects/orm-basics.md": ORM_MD.replace("- test_orm.py", "- ../../secret.py")})
    refuse(
        tiny, "projects/orm-basics.md:21: “../../secret.py” is not a path inside checks/orm-basics/"
    )


def test_a_slug_that_climbs_out_of_the_folder_is_refused(tiny: Path) -> None:
    write(tiny, {"program.md": TINY["program.md"].replace("- basics", "- ../basics")})
    refuse(tiny, "program.md:5: “../basics” is not a slug")


def test_a_symlink_is_refused(tiny: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text(TINY["projects/views-basics.md"])
    (tiny / "projects/views-basics.md").unlink()
    os.symlink(outside, tiny / "projects/views-basics.md")
    refuse(tiny, "projects/views-basics.md: is a symbolic link")


def test_a_50_mb_markdown_file_is_refused_unread(tiny: Path) -> None:
    with open(tiny / "projects/views-basics.md", "r+b") as huge:
        huge.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    refuse(tiny, "projects/views-basics.md: the file is 50.0 MB; a curriculum file may be at most")


def test_anchors_and_aliases_are_refused(tiny: Path) -> None:
    bomb = ORM_MD.replace("weight: 2", "weight: &w 2\nestimated: *w")
    write(tiny, {"projects/orm-basics.md": bomb})
    refuse(tiny, "projects/orm-basics.md:4: broken YAML: anchors and aliases (&name, *name)")


def test_an_unknown_key_and_a_repeated_key_are_refused(tiny: Path) -> None:
    write(
        tiny,
        {
            "projects/views-basics.md": TINY["projects/views-basics.md"].replace(
                "title: Views basics", "title: Views basics\ntitel: typo"
            )
        },
    )
    write(
        tiny,
        {
            "projects/forms-basics.md": TINY["projects/forms-basics.md"].replace(
                "title: Forms basics", "title: Forms basics\ntitle: again"
            )
        },
    )
    refuse(
        tiny,
        "projects/views-basics.md:3: unknown key “titel”",
        "projects/forms-basics.md:3: broken YAML: “title” is given twice",
    )


def test_a_task_without_its_section_is_refused(tiny: Path) -> None:
    write(
        tiny,
        {
            "projects/views-basics.md": TINY["projects/views-basics.md"].replace(
                "## Task 0: A view", "## Task 1: A view"
            )
        },
    )
    refuse(
        tiny,
        "2 problems,",
        "projects/views-basics.md:6: task 0 has no section “## Task 0: Its title”",
        "projects/views-basics.md:13: task 1 is not in the front matter's tasks",
    )


def test_a_slug_of_another_program_is_refused(tiny: Path) -> None:
    ProjectFactory(slug="orm-basics")
    refuse(
        tiny, "projects/orm-basics.md: the slug “orm-basics” is taken by a project of the program"
    )


def test_a_file_no_module_lists_is_refused(tiny: Path) -> None:
    write(tiny, {"projects/stray.md": TINY["projects/views-basics.md"]})
    refuse(tiny, "projects/stray.md: is not part of the program")


def test_the_documented_example_imports(tmp_path: Path) -> None:
    """docs/curriculum-format.md's complete small example is a folder that imports."""
    doc = (Path(__file__).parents[2] / "docs" / "curriculum-format.md").read_text()
    blocks = re.findall(
        r"^`([\w/.-]+\.md)`[^\n]*:\n\n(`{3,4})markdown\n(.*?)\n\2$", doc, re.M | re.S
    )
    files = {path: text + "\n" for path, _, text in blocks}
    assert sorted(files) == ["modules/basics.md", "program.md", "projects/orm-basics.md"]
    files["checks/orm-basics/conftest.py"] = ""
    files["checks/orm-basics/test_queries.py"] = (
        "def test_no_query_in_a_loop():\n    pass\n\n\ndef test_books():\n    pass\n"
    )
    write(tmp_path / "example", files)

    out = run("import_curriculum", tmp_path / "example")

    assert "add      checks of task orm-basics #1: 2 files, 2 cases" in out
    assert Task.objects.get(project__slug="orm-basics", number=0).title == "Models"


def test_an_archived_tasks_number_is_refused_by_task_forms(tiny: Path) -> None:

    run("import_curriculum", tiny)
    orm = Project.objects.get(slug="orm-basics")
    Task.all_objects.filter(project=orm, number=1).update(archived=True)
    form_class = modelform_factory(Task, fields=["project", "number", "title", "kind", "points"])
    data = {"project": orm.pk, "number": 1, "title": "Again", "kind": "mandatory", "points": 5}
    form = form_class(data=data)

    assert not form.is_valid()
    assert "archived" in form.errors["number"][0]

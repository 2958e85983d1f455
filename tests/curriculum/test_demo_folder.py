"""The demo program's folder, curricula/prodev-backend/, says what the demo's checks expect."""

from __future__ import annotations

from core.demo.checks import DEMO_CHECKS, suite_spec
from core.demo.program import demo_program
from core.models import Task


def test_the_folder_reads_as_nine_modules_and_22_projects() -> None:
    program = demo_program()
    assert program.slug == "prodev-backend"
    assert len(program.modules) == 9
    assert len(list(program.projects())) == 22


def test_its_check_suites_are_the_ones_demo_checks_describes() -> None:
    """DEMO_CHECKS drives the sample-solution tests and the demo's runs: the two agree."""
    with_checks = set()
    for _, project in demo_program().projects():
        described = DEMO_CHECKS.get(project.slug)
        for task in project.tasks:
            if described is None:
                assert task.checks is None, (project.slug, task.number)
                assert task.grading == Task.Grading.MENTOR
                continue
            spec = suite_spec(project.slug, task.number)
            assert task.checks is not None, (project.slug, task.number)
            assert task.grading == described.grading
            assert task.checks.files == spec.files
            assert task.checks.hidden == [case.name for case in spec.cases if case.hidden]
            assert task.checks.limits == spec.limits.__dict__
            assert task.checks.pytest_args == spec.pytest_args
            with_checks.add((project.slug, task.number))
    assert with_checks == {(slug, n) for slug, p in DEMO_CHECKS.items() for n in p.tasks}

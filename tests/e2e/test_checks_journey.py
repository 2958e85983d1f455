"""Checks and people in one flow, told as a story with two browsers.

Lina (a learner) presses "Check my code" on her project with a zip of her code: the real
sandbox runs the project's checks and she sees a visible check fail and a hidden one
fail too, with the visible one's output. She fixes her code, checks again (all pass) and
submits the zip. Sam (her mentor) sees "4/4 checks pass" in his queue, claims the work
and finds the checks beside each task: the task graded by checks is not his to judge,
the one the checks pre-fill is pre-filled. He approves; Lina's receipt says which
verdicts came from the checks.

Every page either of them lands on passes axe-core and has no console error.
"""

from __future__ import annotations

import io
import re
import textwrap
import zipfile
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import Attempt, ProjectRelease, User
from tests.checks.conftest import check_runtime, sandbox  # noqa: F401 (fixtures)
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.journey import arrive_at, expect_message, sign_in
from tests.e2e.test_review_loop_journey import claim_from_queue, give_verdict, submit_review
from tests.factories import (
    CheckCaseFactory,
    CheckFileFactory,
    CheckSuiteFactory,
    CohortFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A check runs the real sandbox inside the request (the immediate task backend): seconds,
# more on a busy machine.
CHECKS_TIMEOUT_MS = 60_000

ROWS_SUITE = """
from rows import first


def test_returns_a_list():
    assert isinstance(first(3), list)


def test_returns_n_rows():
    assert first(3) == [0, 1, 2]


def test_an_empty_page():
    assert first(0) == []
"""
PAGES_SUITE = """
from pages import page_count


def test_counts_full_pages():
    assert page_count(20, 10) == 2


def test_counts_a_last_partial_page():
    assert page_count(21, 10) == 3
"""
PAGES = "def page_count(rows, size):\n    return -(-rows // size)\n"
BUGGY = {"rows.py": "def first(n):\n    return list(range(n + 1))\n", "pages.py": PAGES}
FIXED = {"rows.py": "def first(n):\n    return list(range(n))\n", "pages.py": PAGES}


def zip_file(files: dict[str, str]) -> dict[str, object]:
    """A zip of ``files`` as Playwright hands a file to an <input type=file>."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return {"name": "code.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()}


@pytest.fixture
def release(sandbox: None) -> ProjectRelease:  # noqa: F811 (the fixture imported above)
    """Lazy Pagination, open to Lina's cohort: task 0 pre-filled by checks for a mentor,
    task 1 graded by checks alone, task 2 (advanced) a mentor's."""
    project = ProjectFactory(title="Lazy Pagination", slug="lazy-pagination")
    rows = TaskFactory(project=project, number=0, title="Stream the rows", grading="checks_mentor")
    pages = TaskFactory(project=project, number=1, title="Count the pages", grading="checks")
    TaskFactory(project=project, number=2, title="Build a pipeline", kind="advanced")
    for task, content, cases in (
        (rows, ROWS_SUITE, ["test_returns_a_list", "test_returns_n_rows", "test_an_empty_page"]),
        (pages, PAGES_SUITE, ["test_counts_full_pages", "test_counts_a_last_partial_page"]),
    ):
        suite = CheckSuiteFactory(task=task)
        CheckFileFactory(suite=suite, path="test_task.py", content=textwrap.dedent(content))
        for order, name in enumerate(cases):
            CheckCaseFactory(
                suite=suite, name=name, order=order, hidden=name == "test_an_empty_page"
            )
    cohort = CohortFactory(name="Cohort 9", program=project.module.program)
    return ProjectReleaseFactory(
        cohort=cohort,
        project=project,
        opens_at=timezone.now() - timedelta(days=2),
        first_deadline=timezone.now() + timedelta(days=5),
    )


@pytest.fixture
def lina(release: ProjectRelease) -> User:
    user = UserFactory(email="lina@example.com", display_name="Lina Learner")
    MembershipFactory(user=user, cohort=release.cohort, role="learner")
    return user


@pytest.fixture
def sam(release: ProjectRelease) -> User:
    user = UserFactory(email="sam@example.com", display_name="Sam Mentor")
    MembershipFactory(user=user, cohort=release.cohort, role="mentor")
    return user


def check_my_code(page: Page, files: dict[str, str]) -> None:
    """Upload a zip to "Check my code" and wait for its results in the card."""
    card = page.locator("#checks")
    card.get_by_label("A zip archive", exact=True).check()
    card.get_by_label("Zip archive", exact=True).set_input_files(zip_file(files))  # type: ignore[arg-type]
    card.get_by_role("button", name="Check my code").click()
    finished = re.compile(r"check-run-(passed|failed)")
    expect(card.locator(".check-run")).to_have_class(finished, timeout=CHECKS_TIMEOUT_MS)
    check_a11y(page)


def test_a_learner_checks_her_code_and_a_mentor_reviews_beside_the_checks(
    page: Page, open_page: Callable[[str], Page], release: ProjectRelease, lina: User, sam: User
) -> None:
    project = release.project
    learner, mentor = page, open_page("mentor")
    sign_in(learner, lina.email)
    sign_in(mentor, sam.email)

    # Lina checks her buggy code: a visible check fails with its output, a hidden one
    # fails with its name only.
    visit(learner, f"/projects/{project.slug}/")
    card = learner.locator("#checks")
    expect(card).to_contain_text("5 checks on 2 tasks, 1 of them hidden")
    check_my_code(learner, BUGGY)
    expect(card).to_contain_text("3/5 checks pass")
    failing = card.locator(".check-case-failed").filter(has_text="test_returns_n_rows")
    failing.get_by_text("Output").click()
    expect(failing.locator(".check-output")).to_contain_text("assert [0, 1, 2, 3] == [0, 1, 2]")
    hidden = card.locator(".check-case").filter(has_text="test_an_empty_page")
    expect(hidden).to_contain_text("hidden")
    expect(hidden.locator(".check-output")).to_have_count(0)

    # She fixes it and checks again: everything passes.
    check_my_code(learner, FIXED)
    expect(card).to_contain_text("5/5 checks pass")

    # She submits the fixed zip; the checks of the submission run at once.
    learner.get_by_role("link", name="Submit your work").click()
    arrive_at(learner, f"/projects/{project.slug}/submit/")
    learner.get_by_role("textbox", name="Repository URL").fill(
        "https://github.com/lina/lazy-pagination"
    )
    for task in ("0. Stream the rows", "1. Count the pages"):
        learner.get_by_label(task).check()
    learner.get_by_label("Attachments").set_input_files(zip_file(FIXED))  # type: ignore[arg-type]
    learner.get_by_role("button", name="Submit iteration 1").click()
    # The submission's checks run before the answer comes (the immediate backend).
    learner.wait_for_url(re.compile(r".*/attempts/\d+/"), timeout=CHECKS_TIMEOUT_MS)
    arrive_at(learner, re.compile(r"/attempts/\d+/"))
    expect_message(learner, "Iteration 1 of Lazy Pagination is submitted")
    expect(learner.locator(".iteration-checks")).to_contain_text("5/5 pass")

    # Sam sees the checks in his queue, claims the work and reviews beside them.
    visit(mentor, "/review/")
    row = mentor.locator("tr[data-queue-row]").filter(has_text=lina.name)
    expect(row).to_contain_text("5/5 checks pass")
    claim_from_queue(mentor, lina, iteration=1)
    expect(mentor.locator("#review-checks")).to_contain_text("5/5 checks pass")
    rows_task = mentor.locator("#review-task-0")
    expect(rows_task).to_contain_text("Pre-filled from the checks")
    expect(rows_task.get_by_role("radio", name="Pass")).to_be_checked()
    pages_task = mentor.locator("#review-task-1")
    expect(pages_task).to_contain_text("The checks decide this task: Pass")
    expect(pages_task.get_by_role("radio")).to_have_count(0)
    give_verdict(mentor, 2, "Fail", "No pipeline yet.")
    mentor.get_by_role("textbox", name="Overall feedback").fill("Clean code; add the pipeline.")
    submit_review(mentor, "Approved", lina)

    # Lina's receipt says which verdicts came from the checks.
    learner.reload()
    check_a11y(learner)
    expect(learner.locator("#attempt-status")).to_contain_text("Approved")
    expect(learner.locator(".attempt-score-value")).to_have_text("100.00%")
    receipt = learner.locator("#score-receipt #receipt-iteration-1")
    expect(receipt.locator(".receipt-line").filter(has_text="Count the pages")).to_contain_text(
        "by the checks"
    )
    attempt = Attempt.objects.get(learner=lina)
    assert attempt.status == "approved" and str(attempt.score) == "100.00"

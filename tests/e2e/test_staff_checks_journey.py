"""Staff watch the automated checks; a mentor reads a run of her cohort.

A busy afternoon in Cohort 9 on Lazy Pagination. Lina's submission was checked a few
minutes ago: two of three checks pass. Omar's "check my code" is running on worker-1,
Pia's waits in the queue, and Noah's stopped with an error after its first task.

Sam (staff) opens the runs board from the staff navigation: one run queued, one running,
two finished in the last day, one of them errored. He opens the errored run and reads
how far it got, case by case. Mia (Cohort 9's mentor) finds Lina's work in her queue with
its checks badge and follows it to the run, where she reads which case fails and why.

It runs on a desktop (1280 px) and on a phone (390 px), where both reach their pages
through the collapsed navigation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pytest_django.fixtures import Settings

from core.models import CheckRun, Iteration, ProjectRelease, User
from core.reviews.services import iteration_submit
from tests.e2e.conftest import AT_BOTH_WIDTHS
from tests.e2e.journey import arrive_at, go_to, member, open_release, sign_in
from tests.factories import (
    CheckCaseResultFactory,
    CheckRunFactory,
    CheckTaskResultFactory,
    LearnerCheckRunFactory,
    StaffFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FAILURE = "AssertionError: assert [0, 1, 2, 3] == [0, 1, 2]"
CRASH = "Something went wrong on our side while checking. Try again."


@dataclass
class Afternoon:
    """The runs of the afternoon, and the people who look at them."""

    lina_run: CheckRun  # her submission's checks: finished, 2 of 3 pass
    noah_run: CheckRun  # "check my code": errored after its first task
    iteration: Iteration
    sam: User
    mia: User


def record_cases(run: CheckRun, task_number: int, outcomes: dict[str, str]) -> None:
    """The worker's results for one task of ``run``: each case (name → outcome)."""
    task = run.release.project.tasks.get(number=task_number)
    passed = sum(outcome == "passed" for outcome in outcomes.values())
    result = CheckTaskResultFactory(
        run=run,
        task=task,
        outcome="passed" if passed == len(outcomes) else "failed",
        cases_passed=passed,
        cases_total=len(outcomes),
    )
    for order, (name, outcome) in enumerate(outcomes.items()):
        CheckCaseResultFactory(
            task_result=result,
            name=name,
            outcome=outcome,
            order=order,
            output="" if outcome == "passed" else FAILURE,
        )


@pytest.fixture
def afternoon(settings: Settings) -> Afternoon:
    # Omar's worker keeps beating while the journey runs: no page presumes it dead.
    settings.CHECKS_STALE_SECONDS = 3600
    release: ProjectRelease = open_release(
        "Lazy Pagination", "lazy-pagination", ["Stream the rows", "Count the pages"]
    )
    now = timezone.now()
    lina = member(release, "lina@example.com", "Lina Learner", "learner")
    iteration, _ = iteration_submit(
        learner=lina, release=release, repo_url="https://github.com/lina/pagination"
    )
    lina_run = CheckRunFactory(
        iteration=iteration,
        status=CheckRun.Status.FAILED,
        requested_at=now - timedelta(minutes=5),
    )
    record_cases(lina_run, 0, {"test_returns_a_list": "passed", "test_returns_n_rows": "failed"})
    record_cases(lina_run, 1, {"test_counts_full_pages": "passed"})

    def check_my_code(email: str, name: str, **fields: object) -> CheckRun:
        learner = member(release, email, name, "learner")
        run: CheckRun = LearnerCheckRunFactory(learner=learner, release=release, **fields)
        return run

    check_my_code(
        "omar@example.com",
        "Omar Learner",
        status=CheckRun.Status.RUNNING,
        requested_at=now - timedelta(seconds=40),
        started_at=now - timedelta(seconds=30),
        heartbeat_at=now,
        worker="worker-1",
    )
    check_my_code("pia@example.com", "Pia Learner", requested_at=now - timedelta(seconds=10))
    noah_run = check_my_code(
        "noah@example.com",
        "Noah Learner",
        status=CheckRun.Status.ERRORED,
        requested_at=now - timedelta(minutes=20),
        started_at=now - timedelta(minutes=19),
        finished_at=now - timedelta(minutes=18),
        error=CRASH,
    )
    record_cases(noah_run, 0, {"test_returns_a_list": "passed", "test_returns_n_rows": "failed"})
    return Afternoon(
        lina_run=lina_run,
        noah_run=noah_run,
        iteration=iteration,
        sam=StaffFactory(email="sam@example.com", display_name="Sam Staff"),
        mia=member(release, "mia@example.com", "Mia Mentor", "mentor"),
    )


def expect_on_screen(page: Page, locator: Locator) -> None:
    """``locator`` is visible and within the screen's width: on a phone, not past the
    edge of a table that scrolls sideways."""
    expect(locator).to_be_visible()
    box, screen = locator.bounding_box(), page.viewport_size
    assert box is not None and screen is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= screen["width"], locator


def expect_cases(page: Page, task: str, passed: str, failed: str) -> None:
    """The run page lists ``task``'s cases: ``passed`` passes; ``failed`` fails, and its
    output opens to show why."""
    section = page.get_by_role("region", name=task)
    expect(section.locator(".check-case-passed")).to_contain_text(f"{passed}: Passed")
    failing = section.locator(".check-case-failed")
    expect(failing).to_contain_text(f"{failed}: Failed")
    failing.get_by_text("Output", exact=True).click()
    expect(failing.locator(".check-output")).to_be_visible()
    expect(failing.locator(".check-output")).to_have_text(FAILURE)


@AT_BOTH_WIDTHS
def test_staff_watch_the_runs_and_a_mentor_reads_her_cohorts_run(
    page: Page, open_page: Callable[[str], Page], afternoon: Afternoon
) -> None:
    staff, mentor = page, open_page("mentor")
    sign_in(staff, afternoon.sam.email)
    sign_in(mentor, afternoon.mia.email)

    # Sam opens the runs board from the staff navigation.
    go_to(staff, "Review SLA")
    arrive_at(staff, "/staff/sla/")
    staff.get_by_role("navigation", name="Staff review pages").get_by_role(
        "link", name="Check runs"
    ).click()
    arrive_at(staff, "/staff/checks/")

    # One run is queued, one is running, two finished today and one of them errored.
    expect(staff.locator("#checks-queued")).to_have_text("1")
    expect(staff.locator("#checks-finished")).to_have_text("2")
    expect(staff.get_by_text("0 passed · 1 failed · 1 errored")).to_be_visible()
    running = staff.get_by_role("region", name="Running check runs")
    expect(running).to_contain_text("Omar Learner")
    expect_on_screen(staff, running.get_by_text("on worker-1"))
    queued = staff.get_by_role("region", name="Queued check runs")
    expect(queued).to_contain_text("Pia Learner")
    expect_on_screen(staff, queued.get_by_text("Check my code"))
    errors = staff.get_by_role("region", name="Check runs that errored")
    expect(errors).to_contain_text("Noah Learner")
    expect_on_screen(staff, errors.get_by_text(CRASH))

    # He opens the run that errored and reads how far it got, case by case.
    errors.get_by_role("link", name=f"#{afternoon.noah_run.pk}").click()
    arrive_at(staff, f"/checks/{afternoon.noah_run.pk}/")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Checks of Lazy Pagination")
    expect(staff.get_by_role("main")).to_contain_text("Noah Learner · Cohort 9")
    expect(staff.get_by_role("main")).to_contain_text(CRASH)
    expect_cases(staff, "Task 0. Stream the rows", "test_returns_a_list", "test_returns_n_rows")

    # Mia finds Lina's work in her queue with its checks, and follows them to the run.
    go_to(mentor, "Review queue")
    arrive_at(mentor, "/review/")
    row = mentor.locator(".queue-row", has_text="Lina Learner")
    expect(row).to_contain_text("2/3 checks pass")
    row.get_by_role("link", name="Lazy Pagination").click()
    arrive_at(mentor, f"/review/{afternoon.iteration.pk}/")
    mentor.get_by_role("link", name="All results and output").click()
    arrive_at(mentor, f"/checks/{afternoon.lina_run.pk}/")
    expect(mentor.get_by_role("main")).to_contain_text("Lina Learner · Cohort 9")
    expect(mentor.get_by_role("main")).to_contain_text("2/3 checks pass")
    expect_cases(mentor, "Task 0. Stream the rows", "test_returns_a_list", "test_returns_n_rows")
    expect(mentor.get_by_role("region", name="Task 1. Count the pages")).to_contain_text(
        "test_counts_full_pages: Passed"
    )

"""The core loop, told as a story with two people at two browsers at once.

Lina (a learner) submits her project; Sam (her mentor) finds it in the review
queue, claims it and requests changes on one task. Lina is notified, reads the
feedback and answers in the discussion; Sam, whose page stays open, sees her
answer arrive without reloading. Lina resubmits, Sam approves, and Lina sees her
score and the receipt that explains it.

Both browser contexts fail the test on any console or page error (our CSP
reports violations there), and every page either of them lands on passes axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import Attempt, ProjectRelease, User
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.journey import arrive_at, expect_message, sign_in
from tests.factories import (
    CohortFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The thread polls every 5 s (templates/core/reviews/attempt_detail.html); allow three polls.
THREAD_POLL_TIMEOUT_MS = 15_000

FAILED_TASK_COMMENT = "An empty page raises IndexError: return an empty list instead."
FEEDBACK = "Nearly there: fix the empty page and add a test for it."
REPLY = "Thanks Sam! Should the last page also be empty when the table is?"


@pytest.fixture
def release() -> ProjectRelease:
    """A project open to Lina's cohort: two mandatory tasks and an advanced one."""
    project = ProjectFactory(title="Lazy Pagination", slug="lazy-pagination")
    TaskFactory(project=project, number=0, title="Stream the rows", points=10)
    TaskFactory(project=project, number=1, title="Paginate lazily", points=10)
    TaskFactory(project=project, number=2, title="Build a pipeline", kind="advanced", points=10)
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


def claim_from_queue(page: Page, learner: User, iteration: int) -> None:
    """Open the queue, find the learner's iteration and claim it; the review page opens."""
    visit(page, "/review/")
    row = page.locator("tr[data-queue-row]").filter(has_text=learner.name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"#{iteration}")
    expect(row).to_contain_text("Free")
    row.get_by_role("button", name=re.compile(r"^Claim")).click()
    arrive_at(page, re.compile(r"/review/\d+/"))
    expect(page.get_by_role("status").filter(has_text="You hold this review")).to_be_visible()


def give_verdict(page: Page, task_number: int, verdict: str, comment: str = "") -> None:
    """Pass or fail one task on the review page, with an optional comment."""
    task = page.locator(f"#review-task-{task_number}")
    task.locator("label", has_text=verdict).click()
    expect(task.get_by_role("radio", name=verdict)).to_be_checked()
    if comment:
        task.get_by_label(f"Comment on task {task_number}").fill(comment)


def submit_review(page: Page, decision: str, learner: User) -> None:
    page.get_by_role("radio", name=re.compile(rf"^{decision}")).check()
    page.get_by_role("button", name="Submit review").click()
    arrive_at(page, "/review/")
    expect_message(page, f"Review submitted: {decision.lower()}. {learner.name} has been notified.")


def test_a_learner_and_a_mentor_go_round_the_review_loop(
    page: Page, open_page: Callable[[str], Page], release: ProjectRelease, lina: User, sam: User
) -> None:
    project = release.project
    learner, mentor = page, open_page("mentor")
    sign_in(learner, lina.email)
    sign_in(mentor, sam.email)

    # Lina opens her project and submits her work: repository, tasks done, notes.
    visit(learner, f"/projects/{project.slug}/")
    learner.get_by_role("link", name="Submit your work").click()
    arrive_at(learner, f"/projects/{project.slug}/submit/")
    learner.get_by_role("textbox", name="Repository URL").fill(
        "https://github.com/lina/lazy-pagination"
    )
    for task in ("0. Stream the rows", "1. Paginate lazily", "2. Build a pipeline"):
        learner.get_by_label(task).check()
    learner.get_by_role("textbox", name="Notes for your reviewer").fill(
        "All three tasks, with tests."
    )
    learner.get_by_role("button", name="Submit iteration 1").click()
    arrive_at(learner, re.compile(r"/attempts/\d+/"))
    attempt_url = learner.url
    expect_message(learner, "Iteration 1 of Lazy Pagination is submitted")
    expect(learner.locator("#attempt-status")).to_contain_text("Waiting for review")

    # Sam finds it in his queue, claims it, and fails one task with a comment.
    claim_from_queue(mentor, lina, iteration=1)
    expect(mentor.get_by_role("heading", level=1)).to_have_text("Lazy Pagination")
    give_verdict(mentor, 0, "Pass")
    give_verdict(mentor, 1, "Fail", FAILED_TASK_COMMENT)
    give_verdict(mentor, 2, "Pass")
    mentor.get_by_role("textbox", name="Overall feedback").fill(FEEDBACK)
    submit_review(mentor, "Changes requested", lina)

    # Lina's bell lights up; her notifications say what happened.
    learner.reload()
    check_a11y(learner)
    badge = learner.locator("#notifications-bell .notifications-badge")
    expect(badge).to_be_visible()
    assert int(badge.inner_text()) > 0
    learner.locator("#notifications-bell").click()
    arrive_at(learner, "/notifications/")
    learner.get_by_role("button", name="Changes requested on Lazy Pagination", exact=True).click()

    # She reads the verdicts and the feedback on her attempt page.
    arrive_at(learner, re.compile(r"/attempts/\d+/"))
    assert learner.url.split("#")[0] == attempt_url
    expect(learner.locator("#attempt-status")).to_contain_text("Changes requested")
    expect(learner.locator(".verdict-fail")).to_contain_text("Paginate lazily")
    expect(learner.get_by_text(FAILED_TASK_COMMENT)).to_be_visible()
    expect(learner.get_by_text(FEEDBACK)).to_be_visible()

    # Sam opens the same attempt and keeps the page open.
    visit(mentor, attempt_url)
    mentor.evaluate("window.stillTheSamePage = true")
    expect(mentor.get_by_role("heading", name="Discussion")).to_be_visible()

    # Lina asks a question in the discussion...
    learner.get_by_role("textbox", name="Your message").fill(REPLY)
    learner.get_by_role("button", name="Send").click()
    expect(learner.locator("#comment-list").get_by_text(REPLY)).to_be_visible()
    expect(learner.get_by_role("textbox", name="Your message")).to_have_value("")

    # ...and it appears on Sam's page without a reload.
    expect(mentor.locator("#comment-list").get_by_text(REPLY)).to_be_visible(
        timeout=THREAD_POLL_TIMEOUT_MS
    )
    assert mentor.evaluate("window.stillTheSamePage") is True
    check_a11y(mentor)

    # Lina fixes the task and submits again; the form remembers her repository and tasks.
    learner.get_by_role("link", name="Submit a new iteration").click()
    arrive_at(learner, f"/projects/{project.slug}/submit/")
    expect(learner.get_by_role("textbox", name="Repository URL")).to_have_value(
        "https://github.com/lina/lazy-pagination"
    )
    expect(learner.get_by_label("1. Paginate lazily")).to_be_checked()
    learner.get_by_role("textbox", name="Notes for your reviewer").fill(
        "The empty page returns [] now."
    )
    learner.get_by_role("button", name="Submit iteration 2").click()
    arrive_at(learner, re.compile(r"/attempts/\d+/"))
    expect(learner.locator("#attempt-status")).to_contain_text("Waiting for review")

    # Sam claims the resubmission and approves it: every task passes.
    claim_from_queue(mentor, lina, iteration=2)
    expect(mentor.get_by_text("resubmission").first).to_be_visible()
    for number in (0, 1, 2):
        give_verdict(mentor, number, "Pass")
    submit_review(mentor, "Approved", lina)

    # Lina sees her score, and the receipt that shows how it was made.
    learner.reload()
    check_a11y(learner)
    expect(learner.locator("#attempt-status")).to_contain_text("Approved")
    expect(learner.locator(".attempt-score-value")).to_have_text("200.00%")
    receipt = learner.locator("#score-receipt #receipt-iteration-2")
    expect(receipt.locator(".receipt-formula")).to_contain_text("M + M × A")
    expect(receipt.locator(".receipt-formula")).to_contain_text("100.00% + 100.00% × 100.00%")
    expect(receipt.locator(".receipt-total")).to_contain_text("200.00%")
    expect(receipt.locator(".receipt-lateness")).to_contain_text("before the first deadline")
    # The first iteration's receipt is kept, folded away: it scored lower.
    earlier = learner.locator("#score-receipt details").filter(has_text="Iteration 1 scored")
    expect(earlier).to_contain_text("100.00%")
    attempt = Attempt.objects.get(learner=lina)
    assert attempt.status == "approved" and str(attempt.score) == "200.00"

"""A learner disputes a verdict and a mentor overturns it.

Mia failed task 1 of Lina's work ("not lazy"), so Lina scored 50%. Lina believes it is
done: from her score receipt she contests the verdict and says why. The dispute goes
to Noor, the cohort's other mentor, who finds it on her queue page, claims it, reads
the reason and overturns the verdict. Lina's receipt now counts task 1: 100%.

It runs on a desktop (1280 px) and on a phone (390 px), where Noor reaches her queue
through the collapsed navigation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from core.models import Attempt, Iteration, User
from core.reviews.services import VerdictInput, claim_take, iteration_submit, review_save
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.conftest import AT_BOTH_WIDTHS
from tests.e2e.journey import (
    arrive_at,
    expect_message,
    go_to,
    member,
    open_release,
    sign_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REASON = "Task 1 yields each batch lazily: `batch_rows` is a generator (see line 12)."
OUTCOME = "Right: the batches are yielded one at a time. Overturned."


@pytest.fixture
def iteration() -> Iteration:
    """Lina's work, reviewed by Mia: task 0 passes, task 1 fails."""
    release = open_release(
        "Python Generators", "python-generators", ["Stream the rows", "Batch the rows"]
    )
    project = release.project
    lina = member(release, "lina@example.com", "Lina Learner", "learner")
    mia = member(release, "mia@example.com", "Mia Mentor", "mentor")
    submitted, _ = iteration_submit(
        learner=lina, release=release, repo_url="https://github.com/lina/generators"
    )
    claim_take(iteration=submitted, reviewer=mia)
    tasks = {task.number: task.pk for task in project.tasks.all()}
    review_save(
        iteration=submitted,
        reviewer=mia,
        verdicts={tasks[0]: VerdictInput(True), tasks[1]: VerdictInput(False, "Not lazy.")},
        feedback="Batching loads everything at once.",
        decision="changes_requested",
        submit=True,
    )
    return submitted


@pytest.fixture
def noor(iteration: Iteration) -> User:
    return member(iteration.attempt.release, "noor@example.com", "Noor Mentor", "mentor")


@AT_BOTH_WIDTHS
def test_a_learner_disputes_a_verdict_and_a_mentor_overturns_it(
    page: Page, open_page: Callable[[str], Page], iteration: Iteration, noor: User
) -> None:
    learner, mentor = page, open_page("mentor")
    attempt_url = f"/attempts/{iteration.attempt_id}/"
    sign_in(learner, "lina@example.com")
    sign_in(mentor, noor.email)

    # Lina reads her receipt: 50%, task 1 failed. She contests the verdict.
    visit(learner, attempt_url)
    receipt = learner.locator("#score-receipt")
    expect(receipt.locator(".receipt-total")).to_contain_text("50.00%")
    receipt.get_by_role("link", name="Contest a verdict").click()
    arrive_at(learner, f"/attempts/{iteration.attempt_id}/dispute/")
    learner.get_by_label("Task 1. Batch the rows (iteration 1)").check()
    learner.get_by_role("textbox", name="Why this verdict is wrong").fill(REASON)
    learner.get_by_role("button", name="Send dispute").click()
    arrive_at(learner, attempt_url)
    expect_message(learner, "Dispute sent")
    expect(learner.locator("#disputes")).to_contain_text("waiting for a decision")

    # Noor, who did not give the verdict, finds it above her review queue and claims it.
    go_to(mentor, "Review queue")
    arrive_at(mentor, "/review/")
    disputes = mentor.locator("#disputes")
    expect(disputes).to_contain_text("Lina Learner")
    expect(disputes).to_contain_text("routed to you")
    disputes.get_by_role("button", name=re.compile(r"^Claim")).click()
    arrive_at(mentor, re.compile(r"/disputes/\d+/"))
    expect(mentor.locator("main")).to_contain_text("batch_rows")
    expect(mentor.locator("main")).to_contain_text("Not lazy.")

    # She checks the reason and overturns the verdict, with a comment.
    mentor.get_by_label(re.compile(r"^Overturn")).check()
    mentor.get_by_role("textbox", name="Comment for the learner").fill(OUTCOME)
    mentor.get_by_role("button", name="Decide").click()
    arrive_at(mentor, re.compile(r"/disputes/\d+/"))
    expect_message(mentor, "Dispute overturned: Lina Learner is notified.")
    expect(mentor.locator("#dispute-outcome")).to_contain_text("Overturned")

    # Lina's receipt counts task 1 now, and says why.
    learner.reload()
    check_a11y(learner)
    expect(receipt.locator(".receipt-total")).to_contain_text("100.00%")
    expect(learner.locator("#disputes")).to_contain_text("overturned by Noor Mentor")
    expect(learner.locator("#disputes")).to_contain_text(OUTCOME)
    assert Attempt.objects.get(pk=iteration.attempt_id).score == 100

"""A mentor's draft survives an expired claim.

Sam claims Lina's iteration and starts his review: a verdict and some feedback, saved
on the server as he types. He is called away; his claim runs out. When he comes back
the page says his draft is kept; he claims the review again and finds everything he
wrote, then finishes and submits it. On a desktop (1280 px) and on a phone (390 px).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import Iteration, ReviewClaim, User
from core.reviews.services import iteration_submit
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.conftest import AT_BOTH_WIDTHS
from tests.e2e.journey import arrive_at, expect_message, member, open_release, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FEEDBACK = "Streaming works; the batch size is hard-coded, make it a parameter."
# The form saves 1.5 s after the last keystroke; allow a busy machine a few more seconds.
AUTOSAVE_TIMEOUT_MS = 10_000


@pytest.fixture
def iteration() -> Iteration:
    release = open_release(
        "Python Generators", "python-generators", ["Stream the rows", "Batch the rows"]
    )
    lina = member(release, "lina@example.com", "Lina Learner", "learner")
    submitted, _ = iteration_submit(
        learner=lina, release=release, repo_url="https://github.com/lina/generators"
    )
    return submitted


@pytest.fixture
def sam(iteration: Iteration) -> User:
    return member(iteration.attempt.release, "sam@example.com", "Sam Mentor", "mentor")


def claim_again(page: Page) -> None:
    page.get_by_role("button", name="Claim to review").click()
    arrive_at(page, re.compile(r"/review/\d+/"))
    expect(page.get_by_role("status").filter(has_text="You hold this review")).to_be_visible()


@AT_BOTH_WIDTHS
def test_a_mentors_draft_survives_an_expired_claim(
    page: Page, iteration: Iteration, sam: User
) -> None:
    sign_in(page, sam.email)
    visit(page, f"/review/{iteration.pk}/")
    claim_again(page)
    expect(page.locator("#review-draft-status")).to_have_text(
        "Changes save as a draft as you type."
    )

    # Sam passes the first task and starts his feedback; the form saves it as he types.
    page.locator("#review-task-0").locator("label", has_text="Pass").click()
    page.get_by_role("textbox", name="Overall feedback").fill(FEEDBACK)
    expect(page.locator("#review-draft-status")).to_contain_text(
        "Draft saved at", timeout=AUTOSAVE_TIMEOUT_MS
    )
    check_a11y(page)

    # He is called away and his claim runs out.
    ReviewClaim.objects.filter(iteration=iteration, reviewer=sam).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    page.reload()
    check_a11y(page)
    expect(page.get_by_role("status").filter(has_text="Your draft is kept")).to_be_visible()
    feedback = page.get_by_role("textbox", name="Overall feedback")
    expect(feedback).to_have_value(FEEDBACK)
    expect(feedback).to_be_disabled()

    # He claims it again: everything he wrote is back, and he can finish.
    claim_again(page)
    expect(feedback).to_have_value(FEEDBACK)
    expect(feedback).to_be_enabled()
    task_0 = page.locator("#review-task-0")
    expect(task_0.get_by_role("radio", name="Pass")).to_be_checked()
    page.locator("#review-task-1").locator("label", has_text="Fail").click()
    page.get_by_role("radio", name=re.compile(r"^Changes requested")).check()
    page.get_by_role("button", name="Submit review").click()
    arrive_at(page, "/review/")
    expect_message(page, "Review submitted: changes requested. Lina Learner has been notified.")

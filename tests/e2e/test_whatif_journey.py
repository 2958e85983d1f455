"""A learner asks what a fix would earn her.

Lina's mentor passed the first task of her project and failed the second: she scored
50%. On her attempt page she ticks the second task in the what-if panel and sees, without
a reload, that it would earn her 100%, with the receipt that says why. Then she asks what
happens if she takes until after the second deadline: 50%, so her score would stay as it
is. Nothing she asked is saved. She does this on a desktop (1280 px) and on a phone
(390 px). With JavaScript off, the same form answers with a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from core.models import Attempt, User
from core.reviews.services import VerdictInput, claim_take, iteration_submit, review_save
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.conftest import AT_BOTH_WIDTHS
from tests.e2e.journey import member, open_release, sign_in
from tests.factories import (
    PASSWORD,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def attempt() -> Attempt:
    """Lina's attempt, reviewed: task 0 passed, task 1 failed, advanced task 2 failed."""
    release = open_release(
        "Python Generators",
        "python-generators",
        ["Stream the rows", "Batch the rows"],
        advanced=["Lazy pagination"],
    )
    tasks = list(release.project.tasks.order_by("number"))
    lina = member(release, "lina@example.com", "Lina Learner", "learner")
    sam = member(release, "sam@example.com", "Sam Mentor", "mentor")
    iteration, _ = iteration_submit(
        learner=lina, release=release, repo_url="https://github.com/lina/generators"
    )
    claim_take(iteration=iteration, reviewer=sam)
    review_save(
        iteration=iteration,
        reviewer=sam,
        verdicts={
            tasks[0].pk: VerdictInput(passed=True),
            tasks[1].pk: VerdictInput(passed=False, comment="Batches drop the last rows."),
            tasks[2].pk: VerdictInput(passed=False),
        },
        feedback="Nearly there.",
        decision="changes_requested",
        submit=True,
    )
    return iteration.attempt


def _after_the_second_deadline(attempt: Attempt) -> str:
    """A day after the second deadline, as the date field takes it (cohort time)."""
    release = attempt.release
    late = timezone.localtime(release.second_deadline + timedelta(days=1), release.cohort.tz)
    return f"{late:%Y-%m-%dT%H:%M}"


@AT_BOTH_WIDTHS
def test_a_learner_asks_what_a_fix_would_earn(page: Page, attempt: Attempt) -> None:
    lina: User = attempt.learner
    sign_in(page, lina.email)
    visit(page, f"/attempts/{attempt.pk}/")
    panel = page.get_by_role("region", name="What if…")
    expect(panel.get_by_role("checkbox", name="0. Stream the rows")).to_be_checked()
    expect(panel.get_by_role("checkbox", name="1. Batch the rows")).not_to_be_checked()
    expect(panel.get_by_text("The score and its receipt appear here.")).to_be_visible()

    # She ticks the task her mentor failed: the answer comes without a reload.
    panel.get_by_role("checkbox", name="1. Batch the rows").check()
    expect(panel.locator("#whatif-score")).to_have_text("100.00%")
    expect(panel).to_contain_text("Your score would rise from 50.00% to 100.00%.")
    expect(page.locator("#whatif-announce")).to_have_text("The iteration would score 100.00%.")
    receipt = panel.get_by_role("table", name="How the what-if iteration would be scored")
    expect(receipt).to_contain_text("before the first deadline")
    check_a11y(page)

    # And if she took until after the second deadline?
    panel.get_by_label("Submitted on").fill(_after_the_second_deadline(attempt))
    panel.get_by_role("button", name="Show the score").click()
    expect(panel.locator("#whatif-score")).to_have_text("50.00%")
    expect(panel).to_contain_text("Your score would stay at 50.00%")
    expect(receipt).to_contain_text("after the second deadline")
    check_a11y(page)

    # Asking wrote nothing: the score, the iterations and the reviews are as they were.
    attempt.refresh_from_db()
    assert attempt.score == Decimal("50.00")
    assert attempt.iterations.count() == 1


def test_without_javascript_the_form_answers_with_a_page(
    browser: Browser,
    live_server: LiveServer,
    attempt: Attempt,
    open_page: Callable[[str], Page],
) -> None:
    open_page("")  # the fixture's error watch and HTML checks; this context has no scripts
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        # (axe runs scripts, so these pages are checked by the journey above, not here.)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(attempt.learner.email)
        page.get_by_label(re.compile(r"^\s*Password\s*\*?\s*$")).fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        page.goto(f"/attempts/{attempt.pk}/")
        panel = page.get_by_role("region", name="What if…")
        panel.get_by_role("checkbox", name="1. Batch the rows").check()
        panel.get_by_role("button", name="Show the score").click()
        expect(page).to_have_url(re.compile(rf"/attempts/{attempt.pk}/what-if/\?.*#whatif$"))
        expect(page).to_have_title(re.compile(r"^What if · Python Generators"))
        expect(page.get_by_role("heading", level=2, name="What if…")).to_be_visible()
        expect(page.locator("#whatif-score")).to_have_text("100.00%")
        expect(page.get_by_role("checkbox", name="1. Batch the rows")).to_be_checked()
    finally:
        context.close()

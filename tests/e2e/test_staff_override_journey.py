"""Staff adjust a score, and the learner sees why.

Lina's iteration was reviewed while the checker misjudged her second task: her score is
50%. Sam, of staff, opens her attempt, follows "Adjust the score or a verdict", passes
the task with a reason, then sets her final score by hand, with a reason too. Lina opens
her attempt: the receipt says "adjusted by staff", with Sam's reasons, beside what the
review said.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import Attempt, Iteration, ProjectRelease, User
from core.reviews.scoring import attempt_recompute_score
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.journey import arrive_at, expect_message, sign_in
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    StaffFactory,
    TaskFactory,
    UserFactory,
    VerdictFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def attempt() -> Attempt:
    """Lina's iteration 1, reviewed by Mia: task 0 passed, task 1 failed (50%)."""
    project = ProjectFactory(title="Python Generators", slug="python-generators")
    tasks = [
        TaskFactory(project=project, number=0, title="Stream the rows", points=10),
        TaskFactory(project=project, number=1, title="Batch the rows", points=10),
    ]
    cohort = CohortFactory(name="Cohort 9", program=project.module.program)
    now = timezone.now()
    release: ProjectRelease = ProjectReleaseFactory(
        cohort=cohort,
        project=project,
        opens_at=now - timedelta(days=3),
        first_deadline=now + timedelta(days=5),
        second_deadline=now + timedelta(days=12),
    )
    lina = UserFactory(email="lina@example.com", display_name="Lina Learner")
    MembershipFactory(user=lina, cohort=cohort, role="learner")
    mia = UserFactory(email="mia@example.com", display_name="Mia Mentor")
    MembershipFactory(user=mia, cohort=cohort, role="mentor")
    attempt = AttemptFactory(learner=lina, release=release, status="changes_requested")
    iteration = IterationFactory(
        attempt=attempt,
        number=1,
        submitted_at=now - timedelta(days=1),
        status=Iteration.Status.REVIEWED,
    )
    review = ReviewFactory(
        iteration=iteration,
        reviewer=mia,
        decision="changes_requested",
        submitted_at=now - timedelta(hours=20),
    )
    VerdictFactory(review=review, task=tasks[0], passed=True)
    VerdictFactory(review=review, task=tasks[1], passed=False, comment="Batches are off by one.")
    attempt_recompute_score(attempt=attempt)
    assert attempt.score == Decimal("50.00")
    return attempt


@pytest.fixture
def sam(db: None) -> User:
    return StaffFactory(email="sam@example.com", display_name="Sam Staff")


def test_staff_adjust_a_score_and_the_learner_sees_why(
    page: Page, open_page: Callable[[str], Page], attempt: Attempt, sam: User
) -> None:
    sign_in(page, sam.email)
    visit(page, f"/attempts/{attempt.pk}/")
    page.get_by_role("link", name=re.compile(r"Adjust the score or a verdict")).click()
    arrive_at(page, f"/attempts/{attempt.pk}/adjust/")
    expect(page.locator("#adjust-score")).to_have_text("50.00%")

    # The checker misjudged task 1: Sam passes it, and says why.
    verdict_form = page.locator("#adjust-verdict-form")
    verdict_form.get_by_label("Task").select_option(label="1. Batch the rows (mandatory)")
    verdict_form.get_by_role("radio", name="Pass").check()
    verdict_form.get_by_role("textbox", name=re.compile(r"^Reason")).fill(
        "The checker's batch test was **wrong**; fixed since."
    )
    verdict_form.get_by_role("button", name="Set the verdict").click()
    arrive_at(page, f"/attempts/{attempt.pk}/")
    expect_message(page, "Verdict adjusted. The learner sees it on the receipt.")
    expect(page.locator(".attempt-score-value")).to_have_text("100.00%")

    # Then, after a conversation with Lina's mentor, he sets her final score by hand.
    page.get_by_role("link", name=re.compile(r"Adjust the score or a verdict")).click()
    arrive_at(page, f"/attempts/{attempt.pk}/adjust/")
    score_form = page.locator("#adjust-score-form")
    score_form.get_by_label(re.compile(r"Final score")).fill("95")
    score_form.get_by_role("textbox", name=re.compile(r"^Reason")).fill(
        "Five points off: the notes copy a classmate's README."
    )
    score_form.get_by_role("button", name="Set the score").click()
    arrive_at(page, f"/attempts/{attempt.pk}/")
    expect_message(page, "Score adjusted. The learner sees it on the receipt.")

    # Lina opens her attempt: the adjusted score, and why, beside what the review said.
    lina = open_page("Lina")
    sign_in(lina, "lina@example.com")
    visit(lina, f"/attempts/{attempt.pk}/")
    check_a11y(lina)
    expect(lina.locator(".attempt-score-value")).to_have_text("95.00%")
    expect(lina.locator(".attempt-score-adjusted")).to_have_text("Adjusted by staff")
    adjustment = lina.locator("#score-adjustment")
    expect(adjustment).to_contain_text("Adjusted by staff to 95.00% by Sam Staff")
    expect(adjustment).to_contain_text("The reviews give 100.00%")
    expect(adjustment).to_contain_text("the notes copy a classmate's README")
    line = lina.locator(".receipt-line", has_text="Batch the rows")
    expect(line).to_contain_text("Pass")
    expect(line).to_contain_text("Adjusted by staff")
    note = lina.locator(".receipt-staff-row")
    expect(note).to_contain_text("Task 1 adjusted by staff (Sam Staff")
    expect(note).to_contain_text("The review said fail; the staff verdict applies.")
    expect(note.locator("strong", has_text="wrong")).to_be_visible()
    expect(lina.get_by_role("link", name=re.compile(r"Adjust the score"))).to_have_count(0)

    # And on a phone.
    lina.set_viewport_size({"width": 390, "height": 844})
    lina.reload()
    check_a11y(lina)
    expect(lina.locator("#score-adjustment")).to_be_visible()

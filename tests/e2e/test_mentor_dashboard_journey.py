"""A mentor's morning, told as a story.

Sam, the demo mentor, signs in and lands on his dashboard. Bo has handed in
nothing for Python Generators although its first deadline passed last week: Sam
sees Bo among the learners at risk, with that reason. He opens the cohort's
progress matrix, narrows it to the Python module (the table updates in place and
the address follows), and opens Ada's approved Generators cell, which takes him
to her attempt.

Every page on the way loads without console errors (our strict CSP reports
violations there) and passes axe-core.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import Attempt, Cohort, User
from tests.e2e.a11y import check_a11y
from tests.e2e.journey import sign_in, visit
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ModuleFactory,
    ProgramFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    TaskFactory,
    UserFactory,
    VerdictFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cohort() -> Cohort:
    """Cohort 7: Python Generators is past its first deadline, Decorators and Django are open."""
    program = ProgramFactory()
    cohort = CohortFactory(name="ProDev Backend · Cohort 7", slug="cohort-7", program=program)
    python = ModuleFactory(program=program, title="Python", slug="python", order=1)
    django = ModuleFactory(program=program, title="Django", slug="django", order=2)
    now = timezone.now()
    for module, order, title, slug, opened_days_ago in (
        (python, 1, "Python Generators", "python-generators", 20),
        (python, 2, "Decorators", "decorators", 6),
        (django, 1, "Django Models", "django-models", 2),
    ):
        project = ProjectFactory(module=module, order=order, title=title, slug=slug)
        TaskFactory(project=project, number=0, title="The main task")
        opens = now - timedelta(days=opened_days_ago)
        ProjectReleaseFactory(
            cohort=cohort,
            project=project,
            opens_at=opens,
            first_deadline=opens + timedelta(days=13),
            second_deadline=opens + timedelta(days=20),
        )
    return cohort


@pytest.fixture
def sam(cohort: Cohort) -> User:
    user = UserFactory(email="mentor@example.com", display_name="Sam Mentor")
    MembershipFactory(user=user, cohort=cohort, role="mentor")
    return user


@pytest.fixture
def ada_attempt(cohort: Cohort, sam: User) -> Attempt:
    """Ada's Python Generators: approved by Sam, 120%."""
    ada = UserFactory(display_name="Ada Okafor")
    MembershipFactory(user=ada, cohort=cohort, role="learner")
    release = cohort.releases.get(project__slug="python-generators")
    attempt = AttemptFactory(learner=ada, release=release, status="approved")
    iteration = IterationFactory(
        attempt=attempt,
        number=1,
        status="reviewed",
        submitted_at=release.opens_at + timedelta(days=3),
    )
    review = ReviewFactory(
        iteration=iteration,
        reviewer=sam,
        submitted_at=release.opens_at + timedelta(days=4),
        feedback="Clean and lazy: well done.",
    )
    VerdictFactory(review=review, task=release.project.tasks.get(), passed=True)
    Attempt.objects.filter(pk=attempt.pk).update(
        score=Decimal("120.00"), scored_iteration=iteration
    )
    return attempt


@pytest.fixture
def bo(cohort: Cohort) -> User:
    """Bo has handed in nothing at all."""
    user = UserFactory(display_name="Bo Behind")
    MembershipFactory(user=user, cohort=cohort, role="learner")
    return user


def test_the_mentor_spots_a_learner_at_risk_and_opens_their_classmates_work(
    page: Page, sam: User, bo: User, ada_attempt: Attempt
) -> None:
    sign_in(page, sam.email)

    # The dashboard: the cohort's card, its queue, and Bo at risk with the reason.
    cohort_card = page.get_by_role("article", name="ProDev Backend · Cohort 7")
    expect(cohort_card).to_be_visible()
    at_risk = cohort_card.locator(".dash-at-risk-item").filter(has_text="Bo Behind")
    expect(at_risk).to_be_visible()
    expect(at_risk).to_contain_text(
        "Behind schedule: nothing handed in for Python Generators, past its first deadline"
    )
    expect(cohort_card.locator(".dash-at-risk-item").filter(has_text="Ada Okafor")).to_have_count(0)

    # The matrix: every learner × every opened project.
    cohort_card.get_by_role("link", name=re.compile(r"^Progress matrix")).click()
    expect(page).to_have_url(re.compile(r"/cohorts/cohort-7/progress/$"))
    expect(page.get_by_role("heading", name="Progress matrix")).to_be_visible()
    check_a11y(page)
    matrix = page.locator("table.matrix")
    expect(matrix.locator("th.matrix-project")).to_have_text(
        ["Python Generators", "Decorators", "Django Models"]
    )
    expect(matrix.locator("tbody th")).to_have_text(["Ada Okafor", "Bo Behind"])

    # Narrow it to the Python module: the table is swapped in place, the address follows.
    page.get_by_label("Module").select_option(label="Python")
    expect(page).to_have_url(re.compile(r"/cohorts/cohort-7/progress/\?module=python"))
    expect(matrix.locator("th.matrix-project")).to_have_text(["Python Generators", "Decorators"])
    expect(page.get_by_role("status").filter(has_text="in Python")).to_be_visible()
    check_a11y(page)

    # Ada's Generators cell opens her attempt.
    ada_row = matrix.locator("tbody tr").filter(has_text="Ada Okafor")
    cell = ada_row.get_by_role("link", name=re.compile(r"^120 approved$"))
    expect(cell).to_be_visible()
    cell.click()
    expect(page).to_have_url(re.compile(rf"/attempts/{ada_attempt.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Python Generators")
    check_a11y(page)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_mentor_pages_through_a_large_cohort_s_matrix(
    page: Page, cohort: Cohort, sam: User, ada_attempt: Attempt, bo: User, width: int
) -> None:
    """Sixty learners: the matrix shows fifty at a time and pages in place, by name."""
    for number in range(58):
        learner = UserFactory(display_name=f"Learner {number:02}")
        MembershipFactory(user=learner, cohort=cohort, role="learner")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, sam.email)
    visit(page, "/cohorts/cohort-7/progress/")
    matrix = page.locator("table.matrix")
    expect(page.get_by_text("Learners 1–50 of 60.")).to_be_visible()
    expect(matrix.locator("tbody th")).to_have_count(50)
    expect(matrix.locator("tbody th").first).to_have_text("Ada Okafor")
    check_a11y(page)

    pager = page.get_by_role("navigation", name="Matrix pages")
    pager.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"/cohorts/cohort-7/progress/\?sort=name&page=2$"))
    expect(page.get_by_text("Learners 51–60 of 60.")).to_be_visible()
    expect(matrix.locator("tbody th")).to_have_text([f"Learner {n}" for n in range(48, 58)])
    expect(pager.locator('[aria-current="page"]')).to_have_text("2")
    check_a11y(page)

    page.go_back()  # the first page again, from history
    expect(page.get_by_text("Learners 1–50 of 60.")).to_be_visible()

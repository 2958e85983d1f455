"""Staff check on their cohorts, told as a story.

Sam runs the program. His home lists the cohorts, and each has a link to its
health page: he opens Cohort 7's and reads the throughput of the last days. The
navigation has a "Cohort health" link too, which opens the newest running cohort;
he switches to Cohort 7 from there, goes to its schedule, and comes back to its
health in one click. On his phone (390 px wide) the page fits: nothing scrolls
sideways, and the chart scrolls inside its own box.

Every page on the way loads without console errors and passes axe-core.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import Cohort, Iteration, User
from tests.e2e.a11y import check_a11y
from tests.e2e.journey import arrive_at, sign_in
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def cohort() -> Cohort:
    """Cohort 7, two months in, with a review a day over the last week."""
    today = timezone.localdate()
    cohort = CohortFactory(name="Cohort 7", slug="cohort-7", start_date=today - timedelta(days=60))
    release = ProjectReleaseFactory(cohort=cohort, opens_at=timezone.now() - timedelta(days=9))
    mentor = UserFactory(display_name="Mia Mentor")
    MembershipFactory(user=mentor, cohort=cohort, role="mentor")
    for days_ago in range(1, 8):
        learner = UserFactory()
        MembershipFactory(user=learner, cohort=cohort, role="learner")
        submitted = timezone.now() - timedelta(days=days_ago)
        iteration = IterationFactory(
            attempt=AttemptFactory(learner=learner, release=release),
            number=1,
            submitted_at=submitted,
            status=Iteration.Status.REVIEWED,
        )
        ReviewFactory(
            iteration=iteration, reviewer=mentor, submitted_at=submitted + timedelta(hours=3)
        )
    return cohort


@pytest.fixture
def sam() -> User:
    return StaffFactory(email="sam@example.com", display_name="Sam Staff")


def fits_the_width(page: Page) -> bool:
    """Nothing on the page reaches past the viewport's right edge (no sideways scroll)."""
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def test_staff_reach_a_cohorts_health_from_home_the_navigation_and_the_schedule(
    page: Page, cohort: Cohort, sam: User
) -> None:
    newer = CohortFactory(name="Cohort 8", slug="cohort-8", start_date=timezone.localdate())
    sign_in(page, sam.email)

    # From his home: each cohort has its health link.
    page.get_by_role("main").get_by_role("link", name="Health of Cohort 7").click()
    arrive_at(page, "/staff/cohorts/cohort-7/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cohort 7 · health")
    expect(page.locator(".health-stat-value").first).to_have_text("7")  # submissions

    # From the navigation: the newest running cohort, then the switcher.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cohort health").click()
    arrive_at(page, f"/staff/cohorts/{newer.slug}/")
    page.get_by_label("Cohort", exact=True).select_option("cohort-7")
    page.get_by_role("button", name="Show").click()
    arrive_at(page, "/staff/cohorts/cohort-7/")

    # From the schedule, back in one click.
    page.get_by_role("main").get_by_role("link", name="Schedule").click()
    arrive_at(page, "/cohorts/cohort-7/schedule/")
    page.get_by_role("main").get_by_role("link", name="Cohort health").click()
    arrive_at(page, "/staff/cohorts/cohort-7/")

    # On a phone the page fits its width; the chart scrolls inside its own box.
    page.set_viewport_size(PHONE)
    page.reload()
    check_a11y(page)
    assert fits_the_width(page)
    expect(page.locator(".health-chart")).to_be_visible()

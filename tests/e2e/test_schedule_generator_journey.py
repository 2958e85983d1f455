"""Staff release a module's schedule, told as a story.

Sam runs the program. Cohort 7 (in Nairobi) has nothing on its calendar yet, and the
Django module has three projects. On the cohort's schedule he presses "Release a
schedule", which opens the generator in the admin; he picks the module, keeps a week
per project, and leaves weekends free. The preview lists the three releases with their
dates as Nairobi's clocks show them (EAT), and says all three are new. On his phone
the preview scrolls inside its own box, not the page. He releases them and lands on
the cohort's schedule again: a message says so, and the three projects are on it.

Every page on the way loads without console errors and passes axe-core. The dates are
built from the clock at the start of the story rather than a frozen one: the browser
keeps real time, so a frozen server would hand it cookies that expired long ago.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import Cohort, Module, ProjectRelease, User
from tests.e2e.a11y import check_a11y
from tests.e2e.journey import arrive_at, expect_message, sign_in
from tests.factories import CohortFactory, ModuleFactory, ProjectFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PROJECTS = ["ORM basics", "Middleware", "Signals"]


@pytest.fixture
def cohort() -> Cohort:
    return CohortFactory(name="Cohort 7", slug="cohort-7", time_zone="Africa/Nairobi")


@pytest.fixture
def module(cohort: Cohort) -> Module:
    module = ModuleFactory(program=cohort.program, title="Django", slug="django")
    for order, title in enumerate(PROJECTS, start=1):
        ProjectFactory(module=module, order=order, title=title, slug=f"django-{order}")
    return module


@pytest.fixture
def sam() -> User:
    return StaffFactory(email="sam@example.com", display_name="Sam Staff")


def test_staff_release_a_modules_schedule(
    page: Page, cohort: Cohort, module: Module, sam: User
) -> None:
    # A Monday at least a week ahead, on Nairobi's calendar.
    today = timezone.localdate(timezone=cohort.tz)
    monday = today + timedelta(days=7 + (7 - today.weekday()) % 7)

    sign_in(page, "sam@example.com")
    page.goto(f"/cohorts/{cohort.slug}/schedule/")
    arrive_at(page, f"/cohorts/{cohort.slug}/schedule/")
    expect(page.get_by_text("Nothing is on this cohort's calendar yet")).to_be_visible()

    page.get_by_role("button", name="Release a schedule").click()
    expect(page.get_by_role("heading", name="Release a schedule to Cohort 7")).to_be_visible()
    check_a11y(page)

    page.get_by_label("Release:", exact=True).select_option(label="Django")
    page.get_by_label("First project opens on").fill(monday.isoformat())
    page.get_by_label("Saturday").check()
    page.get_by_label("Sunday").check()
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_text("3 to add, 0 to move, 0 kept (already opened)")).to_be_visible()
    expect(page.get_by_text("in Africa/Nairobi, the cohort's time zone")).to_be_visible()
    rows = page.get_by_role("region", name="Preview of the releases").get_by_role("row")
    expect(rows).to_have_count(1 + len(PROJECTS))
    expect(rows.nth(1)).to_contain_text("ORM basics")
    expect(rows.nth(1)).to_contain_text(f"{monday:%a} {monday.day} {monday:%b %Y}, 09:00 EAT")
    check_a11y(page)

    # On a phone the table scrolls inside its box; the page itself does not.
    page.set_viewport_size(PHONE)
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    check_a11y(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name=re.compile(r"^Release schedule \(3 changes\)$")).click()
    arrive_at(page, f"/cohorts/{cohort.slug}/schedule/")
    expect_message(page, "Released “Django” to Cohort 7: 3 added, 0 updated, 0 kept.")
    schedule = page.get_by_role("table")
    for title in PROJECTS:
        expect(schedule.get_by_role("link", name=title, exact=True)).to_be_visible()
    first = schedule.get_by_role("row").filter(has_text=PROJECTS[0])
    expect(first).to_contain_text(f"{monday:%a} {monday.day} {monday:%b}")
    assert ProjectRelease.objects.filter(cohort=cohort, project__module=module).count() == 3

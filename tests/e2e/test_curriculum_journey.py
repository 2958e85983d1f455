"""The curriculum, told as a story: the demo learner finds her way to today's work.

Lina (learner@example.com, from ``seed_demo``) signs in, opens the curriculum,
sees how long she has left, opens a current project and reads one of its tasks.
A project that has not opened yet is not reachable, even by typing its URL.

Real Chromium against the live server: every page on the way must load with no
console errors (our CSP reports violations there) and pass axe-core.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import ProjectRelease, Task
from tests.e2e.a11y import check_a11y
from tests.e2e.journey import arrive_at, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEARNER = "learner@example.com"
DEMO_PASSWORD = "prodev-demo"


def test_the_demo_learner_finds_a_current_project_and_cannot_open_an_upcoming_one(
    page: Page,
) -> None:
    call_command("seed_demo", "--allow-demo-passwords", stdout=StringIO())
    now = timezone.now()
    releases = ProjectRelease.objects.filter(cohort__slug="cohort-7").select_related("project")
    # The project whose first deadline she is racing, and the next one on the calendar.
    current = releases.current(now).filter(first_deadline__gt=now).order_by("opens_at").first()
    upcoming = releases.upcoming(now).order_by("opens_at").first()
    assert current is not None and upcoming is not None
    task = Task.objects.filter(project=current.project).exclude(files=[]).order_by("number")[1]

    # Lina signs in and lands on her dashboard.
    sign_in(page, LEARNER, DEMO_PASSWORD)

    # She opens the curriculum from the navbar: modules in order, with her dates.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Curriculum").click()
    arrive_at(page, "/curriculum/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Curriculum")
    expect(page.get_by_role("heading", name="Python", exact=True)).to_be_visible()

    # The current project shows a countdown to its next deadline.
    current_row = page.locator("li[data-state=current]").filter(has_text=current.project.title)
    expect(current_row.locator("[data-countdown]")).to_contain_text(re.compile(r"\bleft$"))

    # The next project is listed with its opening date, but not as a link.
    upcoming_row = page.locator("li[data-state=upcoming]").filter(has_text=upcoming.project.title)
    expect(upcoming_row).to_contain_text("Opens")
    expect(upcoming_row.get_by_role("link")).to_have_count(0)

    # She opens the current project: her dates with the countdown, then the brief.
    current_row.get_by_role("link", name=current.project.title).click()
    arrive_at(page, f"/projects/{current.project.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(current.project.title)
    schedule = page.locator("#project-schedule")
    expect(schedule.get_by_role("heading", level=2)).to_contain_text("Your dates")
    expect(schedule.locator("[data-countdown]")).to_contain_text(re.compile(r"\bleft$"))

    # She jumps to a task from the table of contents and reads it, deliverable included.
    page.get_by_role("navigation", name="On this page").get_by_role(
        "link", name=re.compile(re.escape(task.title))
    ).click()
    task_card = page.locator(f"#task-{task.number}")
    expect(task_card).to_be_in_viewport()
    expect(task_card.get_by_role("heading", level=3)).to_contain_text(task.title)
    expect(task_card.locator(".deliverable")).to_contain_text(
        f"Repo: {task.repo} · Directory: {task.directory} · File"
    )
    expect(task_card.locator(".deliverable")).to_contain_text(task.deliverable)

    # Curious, she types the URL of the project that has not opened yet: not found.
    response = page.goto(f"/projects/{upcoming.project.slug}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("We couldn't find that page")
    expect(page.get_by_text(upcoming.project.title)).to_have_count(0)
    check_a11y(page)

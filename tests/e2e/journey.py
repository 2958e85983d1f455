"""Steps every browser journey takes: arriving on a page, signing in, reading a message;
and the scene most of them start from: a project open to a cohort, and its people."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import ProjectRelease, User
from tests.e2e.a11y import check_a11y, visit
from tests.factories import (
    PASSWORD,
    CohortFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)


def arrive_at(page: Page, path: str | re.Pattern[str]) -> None:
    """The browser has landed on ``path`` (ignoring any query or fragment); check the page."""
    pattern = path.pattern if isinstance(path, re.Pattern) else re.escape(path)
    expect(page).to_have_url(re.compile(rf"^https?://[^/]+{pattern}([?#].*)?$"))
    page.wait_for_load_state()
    check_a11y(page)


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real form and land on the dashboard."""
    visit(page, "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile(r"^\s*Password\s*\*?\s*$")).fill(password)
    page.get_by_role("button", name="Sign In").click()
    arrive_at(page, "/dashboard/")


def go_to(page: Page, link: str) -> None:
    """Follow ``link`` in the main navigation; on a phone, open the collapsed menu first."""
    navigation = page.get_by_role("navigation", name="Main")
    menu = navigation.get_by_role("button", name="Toggle navigation")
    if menu.is_visible():
        menu.click()
    navigation.get_by_role("link", name=link, exact=True).click()


def expect_message(page: Page, text: str) -> None:
    """A flash message containing ``text`` is shown."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def open_release(
    title: str, slug: str, tasks: Sequence[str], advanced: Sequence[str] = ()
) -> ProjectRelease:
    """A project released to a new cohort ("Cohort 9") two days ago, its first deadline
    five days ahead: the mandatory ``tasks`` (10 points each), then the ``advanced``
    ones, numbered from 0."""
    project = ProjectFactory(title=title, slug=slug)
    for number, name in enumerate(tasks):
        TaskFactory(project=project, number=number, title=name, points=10)
    for number, name in enumerate(advanced, start=len(tasks)):
        TaskFactory(project=project, number=number, title=name, kind="advanced")
    cohort = CohortFactory(name="Cohort 9", program=project.module.program)
    now = timezone.now()
    return ProjectReleaseFactory(
        cohort=cohort,
        project=project,
        opens_at=now - timedelta(days=2),
        first_deadline=now + timedelta(days=5),
    )


def member(release: ProjectRelease, email: str, name: str, role: str) -> User:
    """A person of the release's cohort in ``role``."""
    user = UserFactory(email=email, display_name=name)
    MembershipFactory(user=user, cohort=release.cohort, role=role)
    return user

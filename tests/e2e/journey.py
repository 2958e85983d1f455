"""Steps every browser journey takes: arriving on a page, signing in, reading a message."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.a11y import check_a11y, visit
from tests.factories import PASSWORD


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


def expect_message(page: Page, text: str) -> None:
    """A flash message containing ``text`` is shown."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()

"""An invited person chooses a password, told as a story.

Staff enrolled Ada into Cohort 9 from a CSV: she had no account, so she gets an
email with a link to choose her password. She opens it, picks a password that is
too common and is told so, picks a good one, and lands on her dashboard signed in,
with the cohort's open project in front of her. The link was for once: opening it
again says it has expired or was used, and how to get a fresh one.

Every page on the way loads without console errors and passes axe-core.
"""

from __future__ import annotations

import re

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import Page, expect

from core.cohorts.enrolment import cohort_enrol, enrolment_rows_read
from core.models import ProjectRelease, User
from tests.e2e.journey import arrive_at, expect_message, open_release
from tests.factories import StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "analytical-engine-1843"


def link_in(email: EmailMessage, path_prefix: str) -> str:
    """The single link in ``email`` whose path starts with ``path_prefix``."""
    links = re.findall(rf"https?://[^\s\"'<>]+{re.escape(path_prefix)}[^\s\"'<>]*", email.body)
    assert len(set(links)) == 1, f"expected one {path_prefix} link in:\n{email.body}"
    return links[0]


def fill_password(page: Page, label: str, value: str) -> None:
    """Fill the password field labelled exactly ``label`` (crispy adds a '*')."""
    page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$")).fill(value)


@pytest.fixture
def release() -> ProjectRelease:
    return open_release("Python Generators", "python-generators", ["Stream rows"])


def test_an_invited_person_sets_a_password_and_lands_on_their_dashboard(
    page: Page, release: ProjectRelease, mailoutbox: list[EmailMessage], live_server: object
) -> None:
    # Staff enrol her (the staff journey shows the pages; here, the service they call).
    rows = enrolment_rows_read(b"email,name,role\nada@example.com,Ada Lovelace,learner\n")
    cohort_enrol(cohort=release.cohort, rows=rows, actor=StaffFactory())
    [email] = mailoutbox
    assert email.to == ["ada@example.com"]
    assert "Cohort 9" in email.subject
    link = link_in(email, "/invitations/")
    path = re.sub(r"^https?://[^/]+", "", link)

    page.goto(path)
    arrive_at(page, path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose your password")
    expect(page.get_by_role("main")).to_contain_text("ada@example.com")

    # Too common a password is refused, and the link still works.
    fill_password(page, "New password", "password123")
    fill_password(page, "New password confirmation", "password123")
    page.get_by_role("button", name="Set password and sign in").click()
    arrive_at(page, path)
    expect(page.get_by_role("main")).to_contain_text("This password is too common.")

    fill_password(page, "New password", PASSWORD)
    fill_password(page, "New password confirmation", PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    arrive_at(page, "/dashboard/")
    expect_message(page, "Welcome to ProDev Hub, Ada Lovelace")
    expect(page.get_by_role("main")).to_contain_text("Python Generators")
    assert User.objects.get(email="ada@example.com").check_password(PASSWORD)

    # The link was for once.
    response = page.goto(path)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This invitation link has expired or was already used"
    )
    from tests.e2e.a11y import check_a11y

    check_a11y(page)

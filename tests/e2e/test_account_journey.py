"""Accounts, told as stories: sign up, sign in, sign out, forget a password.

Each story runs in real Chromium against the live server. Every page on the way
must load with no console errors (our CSP reports violations there) and pass
axe-core.
"""

from __future__ import annotations

import re

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings

from core.models import User
from tests.e2e.a11y import visit
from tests.e2e.journey import arrive_at, expect_message
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-fresh-and-longer-passphrase-42"
SIGNED_OUT_MESSAGE = "You have signed out."
BAD_CREDENTIALS = "The email address and/or password you specified are not correct."


def link_in(email: EmailMessage, path_prefix: str) -> str:
    """The single link in ``email`` whose path starts with ``path_prefix``."""
    links = re.findall(rf"https?://[^\s\"'<>]+{re.escape(path_prefix)}[^\s\"'<>]*", email.body)
    assert len(set(links)) == 1, f"expected one {path_prefix} link in:\n{email.body}"
    return links[0]


def fill_password(page: Page, label: str, value: str) -> None:
    """Fill the password field labelled exactly ``label`` (crispy adds a '*')."""
    page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$")).fill(value)


def sign_in(page: Page, email: str, password: str) -> None:
    """Fill and submit the sign-in form from the page the browser is on."""
    page.get_by_label("Email").fill(email)
    fill_password(page, "Password", password)
    page.get_by_role("button", name="Sign In").click()


def sign_out(page: Page) -> None:
    """Open the user menu in the navbar and press Sign out (a POST form)."""
    navbar = page.get_by_role("navigation", name="Main")
    navbar.locator("button.dropdown-toggle").click()
    sign_out_button = navbar.get_by_role("button", name="Sign out")
    expect(sign_out_button).to_be_visible()
    sign_out_button.click()


def expect_signed_out(page: Page) -> None:
    """The navbar offers Sign in again and the user menu is gone."""
    navbar = page.get_by_role("navigation", name="Main")
    expect(navbar.get_by_role("link", name="Sign in")).to_be_visible()
    expect(navbar.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_visitor_signs_up_verifies_their_email_then_signs_in_and_out(
    page: Page, mailoutbox: list[EmailMessage], settings: Settings
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    email = "ada@example.com"

    # Ada finds ProDev Hub and decides to join.
    visit(page, "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Learn backend engineering by shipping real projects."
    )
    page.get_by_role("link", name="Create your account").click()
    arrive_at(page, "/accounts/signup/")

    # She fills in the sign-up form, giving the name mentors will see.
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name").fill("Ada Lovelace")
    fill_password(page, "Password", PASSWORD)
    fill_password(page, "Password (again)", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()

    # She is asked to verify her address, and the email is waiting for her.
    arrive_at(page, "/accounts/confirm-email/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [email]
    confirm_link = link_in(mailoutbox[0], "/accounts/confirm-email/")

    # She opens the link and confirms the address.
    visit(page, confirm_link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Email Address")
    page.get_by_role("button", name="Confirm").click()
    arrive_at(page, "/accounts/login/")
    expect_message(page, f"You have confirmed {email}.")
    assert User.objects.get(email=email).emailaddress_set.get().verified

    # She signs in and is greeted by name.
    sign_in(page, email, PASSWORD)
    arrive_at(page, "/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Ada Lovelace")

    # She signs out from the user menu and is back on the landing page.
    sign_out(page)
    arrive_at(page, "/")
    expect_message(page, SIGNED_OUT_MESSAGE)
    expect_signed_out(page)


def test_a_wrong_password_is_refused_and_the_visitor_stays_signed_out(page: Page) -> None:
    user = UserFactory(email="bea@example.com")

    visit(page, "/accounts/login/")
    sign_in(page, user.email, "not-the-right-password")

    arrive_at(page, "/accounts/login/")
    expect(page.get_by_text(BAD_CREDENTIALS)).to_be_visible()
    expect_signed_out(page)

    # The dashboard still sends her to sign in.
    page.goto("/dashboard/")
    arrive_at(page, "/accounts/login/")


def test_a_member_resets_a_forgotten_password_and_signs_in_with_the_new_one(
    page: Page, mailoutbox: list[EmailMessage]
) -> None:
    user = UserFactory(email="cyd@example.com", display_name="Cyd Charisse")

    # Cyd has forgotten her password and asks for a reset link.
    visit(page, "/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    arrive_at(page, "/accounts/password/reset/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_role("button", name="Reset My Password").click()
    arrive_at(page, "/accounts/password/reset/done/")

    # The email arrives; she follows its link and chooses a new password.
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [user.email]
    reset_link = link_in(mailoutbox[0], "/accounts/password/reset/key/")
    visit(page, reset_link)
    # allauth moves the key from the URL into the session before showing the form.
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/key/[^/]+-set-password/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Change Password")
    fill_password(page, "New Password", NEW_PASSWORD)
    fill_password(page, "New Password (again)", NEW_PASSWORD)
    page.get_by_role("button", name="Change Password").click()
    arrive_at(page, "/accounts/password/reset/key/done/")
    expect(page.get_by_text("Your password is now changed.")).to_be_visible()

    # Her old password no longer works...
    visit(page, "/accounts/login/")
    sign_in(page, user.email, PASSWORD)
    arrive_at(page, "/accounts/login/")
    expect(page.get_by_text(BAD_CREDENTIALS)).to_be_visible()

    # ...but the new one does.
    sign_in(page, user.email, NEW_PASSWORD)
    arrive_at(page, "/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Cyd Charisse")

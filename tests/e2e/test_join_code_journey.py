"""A person redeems a join code.

Program staff made a join code for Cohort 9, for two people, and posted its link in
the class chat. Dana has no account yet: she follows the link, is asked to sign in,
signs up instead, and comes back to the link, which names the cohort she is joining;
one click and she is on Cohort 9's curriculum. Eli has an account but no cohort: his
home page says so, says whom to write to, and asks "Have a join code?". He types the
code wrong first (the form says so, without a reload), then right, in lower case and
with spaces, and lands on the curriculum too. The code is used up now: when Finn
follows the link, the page tells him so in words, and whom to ask for a new one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from core.cohorts.join_codes import NewJoinCode, join_code_create
from core.models import Membership, ProjectRelease
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.journey import arrive_at, expect_message, open_release, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def release() -> ProjectRelease:
    return open_release("Python Generators", "python-generators", ["Stream the rows"])


@pytest.fixture
def new_code(release: ProjectRelease) -> NewJoinCode:
    """Cohort 9's join code, for two people."""
    return join_code_create(cohort=release.cohort, max_uses=2)


def expect_on_the_curriculum(page: Page) -> None:
    arrive_at(page, "/curriculum/")
    expect_message(page, "Welcome to Cohort 9! Here is your curriculum.")
    expect(page.get_by_text("Cohort 9 · times in")).to_be_visible()
    expect(page.get_by_role("link", name="Python Generators").first).to_be_visible()


def test_a_person_redeems_a_join_code(
    open_page: Callable[[str], Page], new_code: NewJoinCode, release: ProjectRelease
) -> None:
    link = f"/join/{new_code.code}/"

    # Dana follows the link from the class chat. She is not signed in, so she is asked to.
    dana = open_page("Dana")
    dana.goto(link)
    arrive_at(dana, "/accounts/login/")
    # She has no account: the sign-in page's "sign up" keeps the way back to the link.
    dana.get_by_role("main").get_by_role("link", name="sign up").click()
    arrive_at(dana, "/accounts/signup/")
    dana.get_by_label("Email").fill("dana@example.com")
    dana.get_by_label("Your name").fill("Dana Learner")
    dana.get_by_label(re.compile(r"^\s*Password\s*\*?\s*$")).fill(PASSWORD)
    dana.get_by_label(re.compile(r"^\s*Password \(again\)\s*\*?\s*$")).fill(PASSWORD)
    dana.get_by_role("button", name="Sign Up").click()

    # Back on the link, which says which cohort she is joining, and as whom.
    arrive_at(dana, link)
    expect(dana.get_by_role("heading", level=1)).to_have_text("Join Cohort 9")
    expect(dana.get_by_role("main").get_by_text("dana@example.com", exact=True)).to_be_visible()
    dana.get_by_role("button", name="Join Cohort 9").click()
    expect_on_the_curriculum(dana)

    # Eli signed up last week and is in no cohort. His home page says what to do.
    UserFactory(email="eli@example.com", display_name="Eli Learner")
    eli = open_page("Eli")
    sign_in(eli, "eli@example.com")
    expect(eli.get_by_role("heading", name="You are not in a cohort yet")).to_be_visible()
    expect(eli.get_by_role("link", name="programs@prodev.example")).to_be_visible()
    expect(eli.get_by_role("heading", name="Have a join code?")).to_be_visible()

    # He mistypes it: the form answers in place, the page stays.
    code_field = eli.get_by_role("textbox", name="Join code")
    code_field.fill(new_code.code[:-1])
    eli.get_by_role("button", name="Join cohort").click()
    expect(eli.get_by_text("A join code has 20 letters and digits.")).to_be_visible()
    expect(eli).to_have_url(re.compile(r"/dashboard/$"))
    expect(code_field).to_have_attribute("aria-invalid", "true")
    check_a11y(eli)

    # Then he types it right, as people do: lower case, spaces for dashes.
    code_field.fill(new_code.code.lower().replace("-", " "))
    eli.get_by_role("button", name="Join cohort").click()
    expect_on_the_curriculum(eli)
    assert set(
        Membership.objects.filter(cohort=release.cohort).values_list("user__email", "role")
    ) == {("dana@example.com", "learner"), ("eli@example.com", "learner")}

    # The code was for two people. Finn, who follows the link now, is told so in words.
    UserFactory(email="finn@example.com", display_name="Finn Late")
    finn = open_page("Finn")
    sign_in(finn, "finn@example.com")
    response = finn.goto(link)
    assert response is not None and response.status == 410
    check_a11y(finn)
    expect(finn.get_by_role("heading", level=1)).to_have_text("This join code is used up")
    expect(finn.get_by_text("Ask program staff (programs@prodev.example)")).to_be_visible()
    finn.get_by_role("link", name="Go to your dashboard").click()
    arrive_at(finn, "/dashboard/")
    visit(finn, "/join/")

"""Staff enrol a cohort from a CSV, told as a story.

Sam runs the program. Cohort 9 has one project open, one learner (Lee) and nobody
else yet. From the cohort's health page he opens "Enrol from CSV" and uploads the
sheet the admissions team sent: a typo in a role is caught in the preview with its
line and reason, and nothing can be applied. He fixes the file and uploads it again:
the preview says, row by row, who is new, who already has an account, who is
already a member and whose role changes. He applies it and the result page says
what happened. On his phone the preview fits the width.

Every page on the way loads without console errors and passes axe-core.
"""

from __future__ import annotations

import re

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import FilePayload, Page, expect

from core.models import ProjectRelease, User
from tests.e2e.a11y import check_a11y
from tests.e2e.journey import arrive_at, member, open_release, sign_in
from tests.factories import StaffFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

WITH_A_TYPO = """email,name,role
ada@example.com,Ada Lovelace,learner
grace@example.com,Grace Hopper,mentr
"""
FIXED = """email,name,role
ada@example.com,Ada Lovelace,learner
grace@example.com,Grace Hopper,mentor
lee@example.com,Lee Learner,learner
mia@example.com,Mia Mentor,reviewer
"""


def csv(name: str, text: str) -> FilePayload:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


@pytest.fixture
def release() -> ProjectRelease:
    """Cohort 9, its project open; Lee learns in it, Mia is one of its learners for now."""
    release = open_release("Python Generators", "python-generators", ["Stream rows"])
    member(release, "lee@example.com", "Lee Learner", "learner")
    member(release, "mia@example.com", "Mia Mentor", "learner")
    return release


@pytest.fixture
def sam() -> User:
    return StaffFactory(email="sam@example.com", display_name="Sam Staff")


def test_staff_enrol_a_cohort_from_a_csv(
    page: Page, release: ProjectRelease, sam: User, mailoutbox: list[EmailMessage]
) -> None:
    cohort = release.cohort
    UserFactory(email="grace@example.com", display_name="Grace Hopper")  # has an account
    sign_in(page, sam.email)

    # From his home to the cohort's health page, and on to enrolment.
    page.get_by_role("main").get_by_role("link", name=f"Health of {cohort.name}").click()
    arrive_at(page, f"/staff/cohorts/{cohort.slug}/")
    page.get_by_role("main").get_by_role("link", name="Enrol from CSV").click()
    arrive_at(page, f"/staff/cohorts/{cohort.slug}/enrol/")
    expect(page.get_by_label("CSV file")).to_have_accessible_description(
        re.compile("up to 512 KB and 2,000 people")
    )

    # A typo in a role: the preview names the line and the reason, and offers no apply.
    page.get_by_label("CSV file").set_input_files(csv("admissions.csv", WITH_A_TYPO))
    page.get_by_role("button", name="Preview").click()
    arrive_at(page, f"/staff/cohorts/{cohort.slug}/enrol/")
    expect(page.get_by_role("heading", name="1 row cannot be applied")).to_be_visible()
    to_fix = page.get_by_role("table", name="Rows that cannot be applied, with the reason")
    expect(to_fix.get_by_role("row", name="grace@example.com")).to_contain_text(
        "Unknown role “mentr”: use learner, mentor or reviewer."
    )
    expect(page.get_by_role("button", name="Apply enrolment")).to_have_count(0)

    # The fixed file: every row says what it will do; nothing has changed yet.
    page.get_by_role("link", name="upload it again").click()
    arrive_at(page, f"/staff/cohorts/{cohort.slug}/enrol/")
    page.get_by_label("CSV file").set_input_files(csv("admissions.csv", FIXED))
    page.get_by_role("button", name="Preview").click()
    arrive_at(page, f"/staff/cohorts/{cohort.slug}/enrol/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check before you enrol")
    rows = page.get_by_role("table", name="Every row of the file and what enrolling would do")
    expect(rows.get_by_role("row", name="ada@example.com")).to_contain_text("New person")
    expect(rows.get_by_role("row", name="grace@example.com")).to_contain_text(
        "Existing person added"
    )
    expect(rows.get_by_role("row", name="lee@example.com")).to_contain_text("Already a member")
    expect(rows.get_by_role("row", name="mia@example.com")).to_contain_text("Learner → Reviewer")
    assert not User.objects.filter(email="ada@example.com").exists()

    # On his phone the preview fits: each row stacks its cells.
    page.set_viewport_size(PHONE)
    check_a11y(page)
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    page.set_viewport_size({"width": 1280, "height": 900})

    # Applied: the result says what happened, and Ada is invited.
    page.get_by_role("button", name="Apply enrolment").click()
    arrive_at(page, f"/staff/cohorts/{cohort.slug}/enrol/apply/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrolment done")
    expect(page.get_by_role("status").filter(has_text="has 2 new members")).to_contain_text(
        "1 new to ProDev Hub"
    )
    roles = dict(cohort.memberships.values_list("user__email", "role"))
    assert roles == {
        "ada@example.com": "learner",
        "grace@example.com": "mentor",
        "lee@example.com": "learner",
        "mia@example.com": "reviewer",
    }
    assert [message.to for message in mailoutbox] == [["ada@example.com"]]

    # Back to the cohort in one click.
    page.get_by_role("main").get_by_role("link", name="Cohort health").click()
    arrive_at(page, f"/staff/cohorts/{cohort.slug}/")

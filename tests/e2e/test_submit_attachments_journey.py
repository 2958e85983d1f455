"""A refused attachment, told as a story.

Lina attaches her report to her submission, but the file is not the PDF its name
says: the server refuses it and says why, under the file field. She picks the right
file, and the old refusal goes at once (it was about the other file); her new choice
is listed, and this time the submission goes through.

Every page on the way loads without console errors and passes axe-core.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.models import ProjectRelease, User
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.journey import arrive_at, expect_message, member, open_release, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REFUSAL = "“report.pdf” does not look like a PDF"


@pytest.fixture
def release() -> ProjectRelease:
    return open_release("Lazy Pagination", "lazy-pagination", ["Paginate lazily"])


@pytest.fixture
def lina(release: ProjectRelease) -> User:
    return member(release, "lina@example.com", "Lina Learner", "learner")


def test_choosing_another_file_clears_the_refusal_of_the_first(
    page: Page, release: ProjectRelease, lina: User
) -> None:
    sign_in(page, lina.email)
    visit(page, f"/projects/{release.project.slug}/submit/")
    page.get_by_role("textbox", name="Repository URL").fill(
        "https://github.com/lina/lazy-pagination"
    )
    files = page.get_by_label("Attachments")
    files.set_input_files(
        files=[{"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"just text"}]
    )
    page.get_by_role("button", name="Submit iteration 1").click()

    # Refused, with the reason under the field.
    arrive_at(page, f"/projects/{release.project.slug}/submit/")
    field = page.locator("#div_id_attachments")
    expect(field.get_by_text(REFUSAL)).to_be_visible()
    expect(files).to_have_attribute("aria-invalid", "true")

    # She picks the right file: the refusal was about the other one, so it goes.
    files.set_input_files(
        files=[{"name": "report.md", "mimeType": "text/markdown", "buffer": b"# Report\n"}]
    )
    expect(field.get_by_text(REFUSAL)).to_have_count(0)
    expect(files).not_to_have_attribute("aria-invalid", "true")
    expect(files).not_to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("[data-file-list]")).to_contain_text("report.md")
    check_a11y(page)

    page.get_by_role("button", name="Submit iteration 1").click()
    arrive_at(page, re.compile(r"/attempts/\d+/"))
    expect_message(page, "Iteration 1 of Lazy Pagination is submitted")
    expect(page.get_by_role("link", name="report.md")).to_be_visible()

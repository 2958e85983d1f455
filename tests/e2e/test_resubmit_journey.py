"""Resubmitting, told as a story: nothing new is questioned, and the wait is honest.

Lina's mentor Sam asked for changes on her first iteration. She opens the submit
page, which remembers her repository and tasks, and presses submit straight away:
nothing has changed, so the page asks first and says why, and nothing reaches the
mentors' queue. Sam had asked her to hand the same work in again once her
repository was public, so she submits anyway. Her attempt page then shows the
expected wait as a range with what it is based on, and says plainly that the wait
does not make her late: lateness counts from her submission. On a phone the page
fits the screen.

Every page on the way loads without console errors (our strict CSP reports
violations there) and passes axe-core.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import Iteration, ProjectRelease, User
from core.reviews.scoring import attempt_recompute_score
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.journey import arrive_at, expect_message, sign_in
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    TaskFactory,
    UserFactory,
    VerdictFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPO = "https://github.com/lina/lazy-pagination"


@pytest.fixture
def release() -> ProjectRelease:
    """Lazy Pagination, open to Cohort 9: its first deadline is two days away."""
    project = ProjectFactory(title="Lazy Pagination", slug="lazy-pagination")
    TaskFactory(project=project, number=0, title="Stream the rows", points=10)
    TaskFactory(project=project, number=1, title="Paginate lazily", points=10)
    cohort = CohortFactory(name="Cohort 9", program=project.module.program)
    now = timezone.now()
    return ProjectReleaseFactory(
        cohort=cohort,
        project=project,
        opens_at=now - timedelta(days=5),
        first_deadline=now + timedelta(days=2),
    )


@pytest.fixture
def sam(release: ProjectRelease) -> User:
    user = UserFactory(email="sam@example.com", display_name="Sam Mentor")
    MembershipFactory(user=user, cohort=release.cohort, role="mentor")
    return user


@pytest.fixture
def lina(release: ProjectRelease, sam: User) -> User:
    """Lina, whose iteration 1 (every task ticked, no commit) Sam sent back yesterday."""
    user = UserFactory(email="lina@example.com", display_name="Lina Learner")
    MembershipFactory(user=user, cohort=release.cohort, role="learner")
    now = timezone.now()
    attempt = AttemptFactory(learner=user, release=release, status="changes_requested")
    first = IterationFactory(
        attempt=attempt,
        number=1,
        repo_url=REPO,
        commit_sha="",
        notes="",
        status="reviewed",
        submitted_at=now - timedelta(days=2),
    )
    first.tasks_claimed.set(release.project.tasks.all())
    review = ReviewFactory(
        iteration=first,
        reviewer=sam,
        decision="changes_requested",
        feedback="Your repository is private: make it public and hand it in again.",
        submitted_at=now - timedelta(days=1),
    )
    for task in release.project.tasks.all():
        VerdictFactory(review=review, task=task, passed=False, comment="Cannot open the repo.")
    attempt_recompute_score(attempt=attempt)
    return user


@pytest.fixture
def busy_week(release: ProjectRelease, sam: User) -> None:
    """Sam reviewed six other iterations this week; two others wait ahead of Lina's next one."""
    now = timezone.now()
    for days_ago in range(6):
        reviewed = IterationFactory(
            attempt=AttemptFactory(release=release),
            number=1,
            status="reviewed",
            submitted_at=now - timedelta(days=days_ago, hours=8),
        )
        ReviewFactory(
            iteration=reviewed, reviewer=sam, submitted_at=now - timedelta(days=days_ago, hours=2)
        )
    for hours_ago in (5, 3):
        IterationFactory(
            attempt=AttemptFactory(release=release),
            number=1,
            submitted_at=now - timedelta(hours=hours_ago),
        )


def test_resubmitting_nothing_is_questioned_and_the_wait_is_honest(
    page: Page, release: ProjectRelease, lina: User, busy_week: None
) -> None:
    project = release.project
    sign_in(page, lina.email)

    # Lina opens the submit page: it remembers her repository and her tasks.
    visit(page, f"/projects/{project.slug}/submit/")
    expect(page.get_by_role("textbox", name="Repository URL")).to_have_value(REPO)
    expect(page.get_by_label("0. Stream the rows")).to_be_checked()
    expect(page.get_by_label("1. Paginate lazily")).to_be_checked()

    # She presses submit straight away: the page asks first, and says why.
    page.get_by_role("button", name="Submit iteration 2").click()
    arrive_at(page, f"/projects/{project.slug}/submit/")
    question = page.get_by_role("alert").filter(has_text="Nothing has changed since iteration 1")
    expect(question).to_be_visible()
    expect(question).to_contain_text("no commit SHA, no notes and no files")
    expect(question).to_contain_text(
        "Your mentor asked for changes on iteration 1 and would find none."
    )
    assert not Iteration.objects.filter(attempt__learner=lina, number=2).exists()
    expect(page.get_by_role("textbox", name="Repository URL")).to_have_value(REPO)

    # Sam asked for the same work once the repository is public: she submits it anyway.
    page.get_by_role("button", name="Submit iteration 2 anyway").click()
    arrive_at(page, re.compile(r"/attempts/\d+/"))
    expect_message(page, "Iteration 2 of Lazy Pagination is submitted")
    second = Iteration.objects.get(attempt__learner=lina, number=2)
    assert (second.status, second.commit_sha, second.notes) == ("waiting", "", "")

    # The wait: a range, what it is based on, and that it does not make her late.
    status = page.locator("#attempt-status")
    expect(status).to_contain_text("Waiting for review")
    expect(status.locator(".attempt-wait")).to_contain_text(
        re.compile(r"Expected wait: (up to )?\d+ \w+( to \d+ \w+)?\.")
    )
    expect(status.locator(".attempt-wait")).to_contain_text(
        "Based on Cohort 9’s last 7 days: mentors submitted 7 reviews (about 1 a day), "
        "and 2 iterations are ahead of yours in the queue."
    )
    expect(status.locator(".attempt-lateness")).to_contain_text(
        "The wait does not count against you. Lateness counts from the submission, not the "
        "review: iteration 2 was submitted before the first deadline, so it is scored at 100% "
        "however long the review takes."
    )

    # On a phone the status fits the screen: nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    check_a11y(page)
    expect(status.locator(".attempt-lateness")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

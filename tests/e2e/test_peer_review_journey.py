"""Peer review, told as a story with three people at their own browsers.

Lina (a learner) submits a project that two peers review. Ben, a classmate who
passed it, asks for the next review on /peer-review/, gets Lina's work and
reviews it; Rex, a reviewer of the cohort, gives the second review. The peers
agree, so their majority decides, and Lina rates Ben's review helpful. Her grade
stays pending until she gives the one review the project asks of her: she asks
for the next review herself, gets Cy's work (which has waited past its peer SLA)
and reviews it; then her score appears. Sam, their mentor, finds Cy's iteration
in his queue marked "Escalated", since it is still short of its second review.

Every browser context fails the test on any console or page error (our CSP
reports violations there), and every page they land on passes axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.models import Attempt, Iteration, ProjectRelease, User
from core.peer.services import peer_next, peer_review_save
from core.reviews.services import VerdictInput, review_due_times
from tests.e2e.a11y import check_a11y, visit
from tests.e2e.journey import arrive_at, expect_message, sign_in
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BEN_FEEDBACK = "Clean generators and good tests. Try a larger page size in the benchmark."


@pytest.fixture
def release() -> ProjectRelease:
    """Two peer reviews per iteration; peers decide; each learner owes one review."""
    project = ProjectFactory(
        title="Lazy Pagination",
        slug="lazy-pagination",
        peer_reviews_required=2,
        peer_reviews_owed=1,
        mentor_review_required=False,
    )
    TaskFactory(project=project, number=0, title="Stream the rows", points=10)
    TaskFactory(project=project, number=1, title="Paginate lazily", points=10)
    TaskFactory(project=project, number=2, title="Build a pipeline", kind="advanced", points=10)
    cohort = CohortFactory(name="Cohort 9", program=project.module.program)
    return ProjectReleaseFactory(
        cohort=cohort,
        project=project,
        opens_at=timezone.now() - timedelta(days=5),
        first_deadline=timezone.now() + timedelta(days=5),
    )


def person(release: ProjectRelease, email: str, name: str, role: str = "learner") -> User:
    user = UserFactory(email=email, display_name=name)
    MembershipFactory(user=user, cohort=release.cohort, role=role)
    return user


def take_next_review(page: Page, learner: User) -> None:
    """On /peer-review/, ask for the next review and open it: it is ``learner``'s work."""
    visit(page, "/peer-review/")
    page.get_by_role("button", name="Get next review").click()
    assignments = page.locator("#peer-assignments")
    expect(assignments.get_by_text("Just assigned to you")).to_be_visible()
    expect(assignments).to_contain_text(f"{learner.name}’s work")
    check_a11y(page)
    assignments.get_by_role("link", name=re.compile(r"^Continue")).click()
    arrive_at(page, re.compile(r"/peer-review/\d+/"))
    expect(page.locator("main header")).to_contain_text(learner.name)
    expect(page.get_by_role("status").filter(has_text="assigned to you")).to_be_visible()


def review_all_pass(page: Page, learner: User, feedback: str) -> None:
    """Pass every task, say how sure we are, approve, submit; back on the dashboard."""
    for number in range(3):
        task = page.locator(f"#review-task-{number}")
        task.locator("label", has_text="Pass").click()
        expect(task.get_by_role("radio", name="Pass")).to_be_checked()
    page.get_by_role("textbox", name="Overall feedback").fill(feedback)
    page.get_by_role("radio", name=re.compile(r"^Approved")).check()
    page.locator("label.review-confidence-option", has_text="Confident").click()
    page.get_by_role("button", name="Submit review").click()
    arrive_at(page, "/peer-review/")
    expect_message(page, f"Review submitted: approved. Thank you — {learner.name} can read it now.")


def test_peers_review_each_other_and_late_work_escalates(
    page: Page, open_page: Callable[[str], Page], release: ProjectRelease
) -> None:
    project = release.project
    lina = person(release, "lina@example.com", "Lina Learner")
    ben = person(release, "ben@example.com", "Ben Classmate")
    AttemptFactory(learner=ben, release=release, status="approved")  # Ben passed it
    rex = person(release, "rex@example.com", "Rex Reviewer", role="reviewer")
    sam = person(release, "sam@example.com", "Sam Mentor", role="mentor")
    cy = person(release, "cy@example.com", "Cy Latecomer")

    # Lina submits her project.
    learner = page
    sign_in(learner, lina.email)
    visit(learner, f"/projects/{project.slug}/")
    learner.get_by_role("link", name="Submit your work").click()
    arrive_at(learner, f"/projects/{project.slug}/submit/")
    learner.get_by_role("textbox", name="Repository URL").fill(
        "https://github.com/lina/lazy-pagination"
    )
    for task in ("0. Stream the rows", "1. Paginate lazily", "2. Build a pipeline"):
        learner.get_by_label(task).check()
    learner.get_by_role("button", name="Submit iteration 1").click()
    arrive_at(learner, re.compile(r"/attempts/\d+/"))
    attempt_url = learner.url.split("#")[0]
    expect(learner.locator("#attempt-status")).to_contain_text("Peer reviews: 0 of 2 in.")

    # Ben asks for the next review and gets Lina's work; he passes every task.
    classmate = open_page("Ben")
    sign_in(classmate, ben.email)
    take_next_review(classmate, lina)
    review_all_pass(classmate, lina, BEN_FEEDBACK)

    # Rex gives the second review (in the background: his browser is not the story).
    iteration = Iteration.objects.get(attempt__learner=lina)
    assert peer_next(reviewer=rex).iteration == iteration
    peer_review_save(
        iteration=iteration,
        reviewer=rex,
        verdicts={task.pk: VerdictInput(True) for task in project.tasks.all()},
        feedback="Agreed: all good.",
        decision="approved",
        confidence=3,
        submit=True,
    )

    # The peers agree: Lina's work is approved, but her grade waits for the review she owes.
    visit(learner, attempt_url)
    expect(learner.locator("#attempt-status")).to_contain_text("Approved")
    expect(learner.get_by_text(BEN_FEEDBACK)).to_be_visible()
    expect(learner.locator(".attempt-pending-value")).to_have_text(
        "Grade pending: 1 of 1 peer review owed"
    )
    expect(learner.locator(".attempt-score-value")).to_have_count(0)

    # She rates Ben's review helpful.
    bens_review = learner.get_by_role("region", name="Peer review by Ben Classmate")
    bens_review.get_by_role("button", name="Helpful", exact=True).click()
    expect(bens_review.get_by_role("status").filter(has_text="Thanks for rating!")).to_be_visible()
    expect(bens_review.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    check_a11y(learner)

    # Meanwhile Cy's work has waited 60 hours without a peer review: past its 48-hour
    # peer SLA, not yet past its 72-hour mentor SLA.
    submitted = timezone.now() - timedelta(hours=60)
    cys = IterationFactory(
        attempt=AttemptFactory(learner=cy, release=release),
        number=1,
        repo_url="https://github.com/cy/lazy-pagination",
        submitted_at=submitted,
        **review_due_times(project, submitted),
    )
    assert cys.peer_due_at < timezone.now() < cys.mentor_due_at

    # Lina goes to peer review from her held grade, gets Cy's work and reviews it.
    learner.get_by_role("link", name="Go to peer review").click()
    arrive_at(learner, "/peer-review/")
    take_next_review(learner, cy)
    review_all_pass(learner, cy, "Works on the sample data; add a test for an empty table.")

    # Her grade is released: the score and whose verdicts made it.
    visit(learner, attempt_url)
    expect(learner.locator(".attempt-pending-value")).to_have_count(0)
    expect(learner.locator(".attempt-score-value")).to_have_text("200.00%")
    expect(learner.locator("#score-receipt")).to_contain_text(
        "Verdicts by the majority of 2 peer reviews"
    )
    assert Attempt.objects.get(learner=lina).score == 200

    # Sam finds Cy's work in his queue, escalated: it is still one peer review short.
    mentor = open_page("Sam")
    sign_in(mentor, sam.email)
    visit(mentor, "/review/")
    rows = mentor.locator("tr[data-queue-row]")
    expect(rows).to_have_count(1)  # Lina's was decided by her peers
    expect(rows.first).to_contain_text("Cy Latecomer")
    expect(rows.first.locator(".queue-escalated")).to_have_text("Escalated")

"""The review page: the learner's iteration beside the verdict form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.models import (
    Attachment,
    Attempt,
    Cohort,
    Iteration,
    Project,
    ProjectRelease,
    Review,
    ReviewClaim,
    Task,
    User,
)
from core.reviews.forms import ReviewForm
from core.reviews.selectors.review import commit_url
from core.reviews.services import claim_take
from tests.checks.support import recorded_run
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ReviewFactory,
    TaskFactory,
    UserFactory,
    VerdictFactory,
)


@pytest.fixture
def attempt(learner: User, release: ProjectRelease) -> Attempt:
    return AttemptFactory(learner=learner, release=release)


@pytest.fixture
def iteration(attempt: Attempt, project: Project) -> Iteration:
    iteration = IterationFactory(
        attempt=attempt,
        number=1,
        repo_url="https://github.com/alice/prodev-backend-python",
        commit_sha="0123456789abcdef0123456789abcdef01234567",
        notes="I used **generators** everywhere.",
        submitted_at=timezone.now() - timedelta(hours=26),
    )
    iteration.tasks_claimed.set(project.tasks.filter(number__in=[0, 1]))
    return iteration


@pytest.fixture
def claimed(iteration: Iteration, mentor: User) -> Iteration:
    claim_take(iteration=iteration, reviewer=mentor)
    return iteration


def tasks(project: Project) -> list[Task]:
    return list(project.tasks.order_by("number"))


def verdict_data(project: Project, *results: str, action: str = "submit", **extra: str) -> dict:
    data: dict[str, str] = {"action": action, "feedback": "Nice work overall.", **extra}
    for task, result in zip(tasks(project), results, strict=False):
        data[f"task_{task.pk}_passed"] = result
        data[f"task_{task.pk}_comment"] = f"Comment on {task.number}"
    return data


def url(iteration: Iteration) -> str:
    return f"/review/{iteration.pk}/"


# Reading


def test_it_shows_the_iteration_to_the_claim_holder(
    mentor_client: Client, claimed: Iteration, project: Project
) -> None:
    response = mentor_client.get(url(claimed))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Python Generators" in body
    assert "Alice Learner" in body
    assert (
        '<a href="https://github.com/alice/prodev-backend-python" target="_blank" '
        'rel="noopener noreferrer"'
    ) in body
    assert (
        'href="https://github.com/alice/prodev-backend-python/commit/'
        '0123456789abcdef0123456789abcdef01234567"'
    ) in body
    assert "<strong>generators</strong>" in body  # notes rendered as Markdown
    assert "2 of 3" in body  # tasks claimed done
    assert body.count('class="review-claimed"') == 2
    assert "You hold this review for <strong>29 more minutes</strong>" in body
    assert f'action="/review/{claimed.pk}/extend/"' in body
    assert f'action="/review/{claimed.pk}/release/"' in body
    for task in tasks(project):
        assert f'name="task_{task.pk}_passed"' in body
        assert f'name="task_{task.pk}_comment"' in body
    assert 'value="draft">Save draft</button>' in body
    assert 'value="submit" data-review-submit>Submit review</button>' in body
    assert 'hx-post="/preview/markdown/"' in body  # feedback has a Markdown preview
    assert "disabled" not in body.split('id="review-form"')[1].split("</form>")[0]


def test_it_links_attachments_and_the_attempt_page(
    mentor_client: Client, iteration: Iteration
) -> None:
    attachment = Attachment.objects.create(
        iteration=iteration,
        file="attachments/0123.pdf",
        original_name="design-notes.pdf",
        content_type="application/pdf",
        size=2048,
    )
    body = mentor_client.get(url(iteration)).content.decode()
    assert f'<a href="/attachments/{attachment.pk}/">design-notes.pdf</a>' in body
    assert "2.0\xa0KB" in body
    assert f'href="/attempts/{iteration.attempt_id}/"' in body


def test_it_is_read_only_until_claimed(mentor_client: Client, iteration: Iteration) -> None:
    body = mentor_client.get(url(iteration)).content.decode()
    assert "Claim to review" in body
    assert f'action="/review/{iteration.pk}/claim/"' in body
    form = body.split('id="review-form"')[1].split("</form>")[0]
    assert "Submit review" not in form
    assert 'name="feedback" cols="40" rows="6" placeholder' in form
    assert "disabled" in form


def test_it_says_who_else_is_reviewing(
    mentor_client: Client, cohort: Cohort, iteration: Iteration
) -> None:
    sam = UserFactory(display_name="Sam")
    MembershipFactory(user=sam, cohort=cohort, role="mentor")
    claim_take(iteration=iteration, reviewer=sam)
    body = mentor_client.get(url(iteration)).content.decode()
    assert "Being reviewed by Sam, 29 min left." in body
    assert "Claim to review" not in body
    assert "Submit review" not in body


def test_it_lists_the_other_iterations_of_the_attempt(
    mentor: User, mentor_client: Client, attempt: Attempt
) -> None:
    first = IterationFactory(attempt=attempt, number=1, status=Iteration.Status.REVIEWED)
    ReviewFactory(iteration=first, reviewer=mentor, decision="changes_requested")
    second = IterationFactory(attempt=attempt, number=2)
    body = mentor_client.get(url(second)).content.decode()
    assert "resubmission" in body
    assert "#1" in body
    assert "Changes requested by Mia Mentor" in body


def test_it_explains_a_superseded_iteration(mentor_client: Client, attempt: Attempt) -> None:
    old = IterationFactory(attempt=attempt, number=1, status=Iteration.Status.SUPERSEDED)
    new = IterationFactory(attempt=attempt, number=2)
    body = mentor_client.get(url(old)).content.decode()
    assert "superseded by iteration #2" in body
    assert f'href="/review/{new.pk}/">Review the latest iteration' in body
    assert "Claim to review" not in body


def test_it_re_shows_a_draft(
    mentor: User, mentor_client: Client, claimed: Iteration, project: Project
) -> None:
    first, second, _ = tasks(project)
    review = ReviewFactory(
        iteration=claimed, reviewer=mentor, decision="", submitted_at=None, feedback="Half way"
    )
    VerdictFactory(review=review, task=first, passed=True, comment="Streams nicely")
    VerdictFactory(review=review, task=second, passed=False, comment="Off by one")
    body = mentor_client.get(url(claimed)).content.decode()
    assert f'name="task_{first.pk}_passed" value="pass" class="btn-check"' in body
    assert (
        f'name="task_{first.pk}_passed" value="pass" class="btn-check" '
        f'id="id_task_{first.pk}_passed_0" checked'
    ) in body
    assert f'id="id_task_{second.pk}_passed_1" checked' in body
    assert "Streams nicely" in body
    assert "Off by one" in body
    assert "Half way" in body
    assert "Draft saved" in body


@pytest.mark.parametrize(
    ("repo", "expected"),
    [
        ("https://github.com/a/b", "https://github.com/a/b/commit/SHA"),
        ("https://github.com/a/b.git", "https://github.com/a/b/commit/SHA"),
        ("https://gitlab.com/a/b/", "https://gitlab.com/a/b/-/commit/SHA"),
        ("https://bitbucket.org/a/b", "https://bitbucket.org/a/b/commits/SHA"),
        ("https://codeberg.org/a/b", "https://codeberg.org/a/b/commit/SHA"),
        ("https://example.com/a/b", ""),
    ],
)
def test_it_links_commits_on_known_hosts(repo: str, expected: str) -> None:
    assert commit_url(repo, "SHA") == expected
    assert commit_url(repo, "") == ""


# Saving and submitting


def test_a_draft_keeps_the_claim_and_the_values(
    mentor: User, mentor_client: Client, claimed: Iteration, project: Project
) -> None:
    response = mentor_client.post(url(claimed), verdict_data(project, "pass", action="draft"))
    assert response.status_code == 302
    assert response["Location"] == url(claimed)
    review = Review.objects.get(iteration=claimed, reviewer=mentor)
    assert review.is_draft
    assert review.feedback == "Nice work overall."
    assert [(v.task.number, v.passed) for v in review.verdicts.all()] == [
        (0, True),
        (1, None),
        (2, None),
    ]
    assert ReviewClaim.objects.filter(iteration=claimed).live().get().reviewer == mentor
    body = mentor_client.get(url(claimed)).content.decode()
    assert "Draft saved. You still hold this review for 29 more minutes." in body
    assert "Comment on 0" in body
    assert "Nice work overall." in body
    claimed.refresh_from_db()
    assert claimed.status == Iteration.Status.WAITING


def test_it_submits_a_review(
    mentor: User, mentor_client: Client, claimed: Iteration, project: Project
) -> None:
    data = verdict_data(project, "pass", "fail", "fail", decision="changes_requested")
    response = mentor_client.post(url(claimed), data, follow=True)
    assert response.redirect_chain == [("/review/", 302)]
    assert (
        "Review submitted: changes requested. Alice Learner has been notified."
        in response.content.decode()
    )
    review = Review.objects.get(iteration=claimed)
    assert review.reviewer == mentor
    assert review.decision == "changes_requested"
    assert [v.passed for v in review.verdicts.order_by("task__number")] == [True, False, False]
    claimed.refresh_from_db()
    assert claimed.status == Iteration.Status.REVIEWED
    assert claimed.attempt.status == Attempt.Status.CHANGES_REQUESTED
    assert not ReviewClaim.objects.filter(iteration=claimed).live().exists()


def test_a_double_submit_records_one_review(
    mentor_client: Client, claimed: Iteration, project: Project
) -> None:
    data = verdict_data(project, "pass", "pass", "pass", decision="approved")
    assert mentor_client.post(url(claimed), data).status_code == 302
    again = mentor_client.post(url(claimed), data, follow=True)
    assert again.redirect_chain == [("/review/", 302)]
    assert "This review was already submitted." in again.content.decode()
    assert Review.objects.filter(iteration=claimed).count() == 1
    assert Review.objects.get(iteration=claimed).verdicts.count() == 3


def test_a_submit_needs_every_verdict_and_a_decision(
    mentor_client: Client, claimed: Iteration, project: Project
) -> None:
    response = mentor_client.post(url(claimed), verdict_data(project, "pass"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Some answers are missing" in body
    assert body.count("Choose pass or fail before submitting.") == 2
    assert "Choose a decision: approved or changes requested." in body
    assert "Comment on 0" in body  # what was typed is kept
    assert "Nice work overall." in body
    assert not Review.objects.filter(iteration=claimed, submitted_at__isnull=False).exists()


def test_only_the_claim_holder_can_post(
    cohort: Cohort, claimed: Iteration, project: Project
) -> None:
    sam = UserFactory(display_name="Sam")
    MembershipFactory(user=sam, cohort=cohort, role="mentor")
    data = verdict_data(project, "pass", "pass", "pass", decision="approved")
    response = client_for(sam).post(url(claimed), data)
    assert response.status_code == 200
    assert "You do not hold a claim on this iteration" in response.content.decode()
    assert not Review.objects.exists()


def test_an_expired_claim_cannot_submit(
    mentor_client: Client, claimed: Iteration, project: Project
) -> None:
    ReviewClaim.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    data = verdict_data(project, "pass", "pass", "pass", decision="approved")
    body = mentor_client.post(url(claimed), data).content.decode()
    assert "You do not hold a claim on this iteration (it may have expired)." in body
    assert "Comment on 2" in body
    assert not Review.objects.filter(submitted_at__isnull=False).exists()


# Who may see it


def test_a_mentor_of_another_cohort_gets_404(iteration: Iteration) -> None:
    stranger = UserFactory()
    MembershipFactory(user=stranger, cohort=CohortFactory(slug="cohort-9"), role="mentor")
    client = client_for(stranger)
    assert client.get(url(iteration)).status_code == 404
    assert client.post(url(iteration), {"action": "draft"}).status_code == 404


@pytest.mark.parametrize("who", ["learner", "reviewer", "outsider"])
def test_everyone_else_gets_404(
    request: pytest.FixtureRequest, iteration: Iteration, who: str
) -> None:
    client: Client = request.getfixturevalue(f"{who}_client")
    assert client.get(url(iteration)).status_code == 404


def test_staff_may_open_it(staff_client: Client, iteration: Iteration) -> None:
    assert staff_client.get(url(iteration)).status_code == 200


def test_it_answers_404_for_unknown_iterations(mentor_client: Client, db: None) -> None:
    assert mentor_client.get("/review/999999/").status_code == 404


def test_it_sends_anonymous_users_to_sign_in(client: Client, iteration: Iteration) -> None:
    response = client.get(url(iteration))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url(iteration)}"


def test_it_refuses_other_methods(mentor_client: Client, iteration: Iteration) -> None:
    assert mentor_client.put(url(iteration)).status_code == 405
    assert mentor_client.delete(url(iteration)).status_code == 405


# Queries


@pytest.mark.parametrize("size", [1, 10])
def test_it_uses_a_constant_number_of_queries(
    mentor: User,
    mentor_client: Client,
    learner: User,
    release: ProjectRelease,
    project: Project,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for number in range(3, 3 + size):
        TaskFactory(project=project, number=number)
    attempt = AttemptFactory(learner=learner, release=release)
    for number in range(1, size + 1):
        earlier = IterationFactory(attempt=attempt, number=number, status="reviewed")
        ReviewFactory(iteration=earlier, reviewer=mentor, decision="changes_requested")
    current = IterationFactory(attempt=attempt, number=size + 1)
    current.tasks_claimed.set(project.tasks.all())
    for index in range(size):
        Attachment.objects.create(
            iteration=current,
            file=f"attachments/{index}.pdf",
            original_name=f"notes-{index}.pdf",
            content_type="application/pdf",
            size=100,
        )
    claim_take(iteration=current, reviewer=mentor)
    draft = ReviewFactory(iteration=current, reviewer=mentor, decision="", submitted_at=None)
    for task in project.tasks.all():
        VerdictFactory(review=draft, task=task, passed=True)
    # (The session comes from the cache.) 1. user  2. iteration with learner, release,
    # project and cohort  3. tasks claimed  4. attachments  5. the attempt's iterations
    # 6. their submitted reviews with reviewers  7. the live claim with its reviewer
    # 8. the user's review  9. its verdicts  10. the iteration's newest check run (none)
    # 11. the project's tasks  12. the user's roles (nav)
    with django_assert_num_queries(12):
        response = mentor_client.get(url(current))
    assert len(response.context["other_iterations"]) == size
    assert len(response.context["tasks"]) == 3 + size


@pytest.mark.parametrize("newest", ["passed", "running"])
@pytest.mark.parametrize("size", [1, 10])
def test_it_uses_a_constant_number_of_queries_with_checks(
    mentor: User,
    mentor_client: Client,
    learner: User,
    release: ProjectRelease,
    project: Project,
    size: int,
    newest: str,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for number in range(3, 3 + size):
        TaskFactory(project=project, number=number)
    project.tasks.update(grading=Task.Grading.CHECKS_MENTOR)  # checks pre-fill every verdict
    tasks = list(project.tasks.all())
    attempt = AttemptFactory(learner=learner, release=release)
    for number in range(1, size + 1):
        earlier = IterationFactory(attempt=attempt, number=number, status="reviewed")
        ReviewFactory(iteration=earlier, reviewer=mentor, decision="changes_requested")
        recorded_run(earlier, tasks, cases=size, failing=1, minutes_ago=60 + number)
    current = IterationFactory(attempt=attempt, number=size + 1)
    current.tasks_claimed.set(tasks)
    # Every task has size cases; an older run of this iteration, then its newest (finished,
    # or still running while the reviewer reads the older run's verdicts).
    recorded_run(current, tasks, cases=size, failing=size, minutes_ago=20)
    recorded_run(current, tasks, status=newest, cases=size, failing=1)
    claim_take(iteration=current, reviewer=mentor)
    draft = ReviewFactory(iteration=current, reviewer=mentor, decision="", submitted_at=None)
    for task in tasks:
        VerdictFactory(review=draft, task=task, passed=True)
    # As without checks (1–9, 11–12), but 10 is the newest run, then: 10a. its task results
    # (+ task)  10b. their cases (none yet while it runs)  10c. while it runs: the newest
    # finished run  10d. its outcomes (what pre-fills the verdicts).
    queries = 14 if newest == "passed" else 15
    with django_assert_num_queries(queries):
        response = mentor_client.get(url(current))
    assert response.status_code == 200
    checks = response.context["checks"]
    assert checks is not None and checks.run.run.status == newest
    assert len(checks.run.tasks) == (3 + size if newest == "passed" else 0)
    # The newest finished run (the newest, or the older while the newest runs) failed the
    # first task and passed the others.
    assert checks.passed == {task.pk: task.number != 0 for task in tasks}
    body = response.content.decode()
    if newest == "passed":
        assert f"{(3 + size) * size - 1}/{(3 + size) * size} checks pass" in body


# The form, as peer reviews will reuse it


def test_the_form_can_leave_the_decision_out(project: Project) -> None:
    data = verdict_data(project, "pass", "fail", "pass")
    form = ReviewForm(data, tasks=tasks(project), with_decision=False)
    assert form.is_valid(), form.errors
    assert "decision" not in form.fields
    assert [(v.passed, v.comment) for v in form.verdicts().values()] == [
        (True, "Comment on 0"),
        (False, "Comment on 1"),
        (True, "Comment on 2"),
    ]


def test_a_draft_needs_nothing(project: Project) -> None:
    form = ReviewForm({"action": "draft"}, tasks=tasks(project))
    assert form.is_valid(), form.errors
    assert {v.passed for v in form.verdicts().values()} == {None}

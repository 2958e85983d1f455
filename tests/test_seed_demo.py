"""``manage.py seed_demo`` loads a living demo site, and running it again changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.db.models import F, Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.checks import sandbox
from core.cohorts.join_codes import code_digest
from core.demo.checks import DEMO_CHECKS
from core.demo.program import demo_program
from core.models import (
    Attempt,
    CheckCase,
    CheckCaseResult,
    CheckFile,
    CheckRun,
    CheckSuite,
    CheckTaskResult,
    Cohort,
    Comment,
    Dispute,
    Extension,
    Iteration,
    JoinCode,
    Membership,
    Module,
    Notification,
    PeerAssignment,
    Program,
    Project,
    ProjectRelease,
    Resource,
    Review,
    ReviewClaim,
    ReviewRating,
    ReviewReport,
    Task,
    User,
    Verdict,
)
from core.reviews.scoring import attempt_receipts, best_receipt
from core.reviews.services import checks_bot, iteration_checks_decide, iteration_submit

pytestmark = pytest.mark.django_db

TABLES: list[type[Model]] = [
    User,
    EmailAddress,
    Program,
    Module,
    Project,
    Project.prerequisites.through,
    Task,
    Resource,
    Cohort,
    Membership,
    ProjectRelease,
    Extension,
    Attempt,
    Iteration,
    Iteration.tasks_claimed.through,
    Review,
    Verdict,
    ReviewClaim,
    Comment,
    Notification,
    PeerAssignment,
    ReviewRating,
    ReviewReport,
    CheckSuite,
    CheckFile,
    CheckCase,
    CheckRun,
    CheckTaskResult,
    CheckCaseResult,
    Dispute,
    JoinCode,
]
DEMO_ACCOUNTS = [
    "learner@example.com",
    "mentor@example.com",
    "reviewer@example.com",
    "staff@example.com",
]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--allow-demo-passwords", stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the command writes, dates included."""
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in TABLES}


@pytest.fixture
def cohort() -> Cohort:
    seed()
    return Cohort.objects.get(slug="cohort-7")


def test_it_changes_nothing_when_run_again() -> None:
    seed()
    before = snapshot()
    out = seed()
    assert snapshot() == before
    assert "Created: nothing (already up to date)." in out


def test_it_makes_one_active_join_code_and_says_it_once() -> None:
    first = seed()
    [code] = re.findall(r"Join code for ProDev Backend · Cohort 7: ([0-9A-Z-]{23}) ", first)
    join_code = JoinCode.objects.get()
    assert join_code.digest == code_digest(code)
    assert join_code.state() == JoinCode.State.ACTIVE
    assert f"/join/{code}/" in first
    assert "Join code" not in seed()  # a rerun keeps it, and cannot show it again


def test_it_changes_nothing_when_run_again_weeks_later() -> None:
    seed()
    before = snapshot()
    with time_machine.travel(timezone.now() + timedelta(days=20)):
        seed()
    assert snapshot() == before


def test_it_puts_modules_back_in_order_when_the_curriculum_reorders_them() -> None:
    seed()
    program = Program.objects.get(slug="prodev-backend")
    python, django = program.modules.order_by("order")[:2]
    # As if a previous curriculum had Django first: swap through a free order.
    Module.objects.filter(pk=python.pk).update(order=99)
    Module.objects.filter(pk=django.pk).update(order=1)
    Module.objects.filter(pk=python.pk).update(order=2)
    Project.objects.filter(module=python).update(order=F("order") + 10)
    seed()
    assert list(program.modules.values_list("slug", flat=True)[:2]) == ["python", "django"]
    assert list(python.projects.values_list("order", flat=True)) == [1, 2, 3]


def test_it_loads_the_nine_modules_in_order(cohort: Cohort) -> None:
    titles = list(cohort.program.modules.order_by("order").values_list("title", flat=True))
    assert titles == [
        "Python",
        "Django",
        "REST APIs",
        "GraphQL",
        "Docker",
        "CI/CD",
        "Database Design",
        "Asynchronous Programming",
        "Caching Strategies",
    ]
    assert list(cohort.program.modules.values_list("order", flat=True)) == list(range(1, 10))


def test_it_loads_projects_with_their_tasks_resources_and_prerequisites(cohort: Cohort) -> None:
    for module in cohort.program.modules.all():
        projects = list(module.projects.all())
        assert len(projects) >= 2, module
        assert [p.order for p in projects] == list(range(1, len(projects) + 1))
        for project in projects:
            numbers = list(project.tasks.values_list("number", flat=True))
            assert 4 <= len(numbers) <= 8, project
            assert numbers == list(range(len(numbers)))
            assert project.resources.exists(), project

    data = demo_program().modules[0].projects[1]
    project = Project.objects.get(slug=data.slug)
    assert sorted(p.slug for p in project.prerequisites.all()) == sorted(data.prerequisites)
    first_task = project.tasks.get(number=0)
    assert first_task.title == data.tasks[0].title
    assert first_task.files == data.tasks[0].files


def test_it_puts_the_cohort_releases_around_today(cohort: Cohort) -> None:
    now = timezone.now()
    releases = ProjectRelease.objects.filter(cohort=cohort)
    projects = Project.objects.filter(module__program=cohort.program)
    assert cohort.time_zone == "Africa/Nairobi"
    assert cohort.name == "ProDev Backend · Cohort 7"
    assert releases.count() == projects.count()

    past, current, upcoming = (
        releases.past(now).count(),
        releases.current(now).count(),
        releases.upcoming(now).count(),
    )
    assert past + current + upcoming == releases.count()
    assert past >= releases.count() // 4  # roughly the first third
    assert upcoming >= releases.count() // 3
    # At least two projects whose first deadline is still ahead: countdowns to watch.
    assert releases.current(now).filter(first_deadline__gt=now).count() >= 2
    assert releases.upcoming(now).filter(opens_at__lt=now + timedelta(days=7)).exists()

    in_curriculum_order = list(
        releases.order_by("project__module__order", "project__order").values_list(
            "opens_at", flat=True
        )
    )
    assert in_curriculum_order == sorted(in_curriculum_order)


def test_it_enrols_the_demo_people(cohort: Cohort) -> None:
    roles = dict(cohort.memberships.values_list("user__email", "role"))
    assert roles["learner@example.com"] == "learner"
    assert roles["mentor@example.com"] == "mentor"
    assert roles["reviewer@example.com"] == "reviewer"
    assert "staff@example.com" not in roles
    assert list(roles.values()).count("learner") >= 9
    assert User.objects.get(email="staff@example.com").is_staff
    assert Extension.objects.filter(release__cohort=cohort).exists()


def test_demo_accounts_can_sign_in(cohort: Cohort, client: Client) -> None:
    for email in DEMO_ACCOUNTS:
        assert client.login(email=email, password="prodev-demo"), email
        assert EmailAddress.objects.get(email=email).verified
        client.logout()


def test_classmates_cannot_sign_in(cohort: Cohort) -> None:
    ada = User.objects.get(email="ada@example.com")
    assert not ada.has_usable_password()


def test_it_refuses_demo_passwords_with_debug_off(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--allow-demo-passwords"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()


def test_it_runs_without_the_flag_in_debug(settings: Any) -> None:
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "Demo data ready." in out.getvalue()
    assert "9 modules" in out.getvalue()


# --- Demo attempts (core/demo/attempts.py) ---------------------------------------------------


def test_it_changes_nothing_when_run_again_after_the_demo_claim_expired() -> None:
    seed()
    before = snapshot()
    assert ReviewClaim.objects.live().count() == 1
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        out = seed()
        assert ReviewClaim.objects.live().count() == 0  # it expired; nobody renews it
    assert snapshot() == before
    assert "Created: nothing (already up to date)." in out


def test_it_leaves_people_who_already_have_work_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # An older demo database: accounts and calendar, but no demo attempts yet...
    monkeypatch.setattr("core.management.commands.seed_demo.seed_attempts", lambda *args: 0)
    seed()
    monkeypatch.undo()
    cohort = Cohort.objects.get(slug="cohort-7")
    # ...where Grace has already submitted something herself.
    grace = User.objects.get(email="grace@example.com")
    release = cohort.releases.current().order_by("opens_at").first()
    iteration, _ = iteration_submit(
        learner=grace, release=release, repo_url="https://github.com/grace/own"
    )

    assert "attempts" in seed()
    assert list(Attempt.objects.filter(learner=grace)) == [iteration.attempt]
    assert Attempt.objects.exclude(learner=grace).count() > 10


def test_the_demo_learner_has_work_in_every_state(cohort: Cohort) -> None:
    now = timezone.now()
    learner = User.objects.get(email="learner@example.com")
    mentor = User.objects.get(email="mentor@example.com")
    attempts = Attempt.objects.filter(learner=learner).select_related("release")
    assert {a.status for a in attempts} == {"approved", "changes_requested", "waiting"}

    # Approved, with a receipt in which an advanced task passed.
    first = attempts.filter(status="approved").order_by("release__opens_at").first()
    receipt = best_receipt(attempt_receipts(first))
    assert receipt is not None and receipt.deadline_met == "first"
    assert receipt.advanced_passed > 0 and receipt.mandatory_passed == receipt.mandatory_total
    assert first.score == receipt.score == Decimal("150.00")

    # Late: submitted after the second deadline, reviewed, scored at 50%.
    late = [
        a
        for a in attempts
        if (r := best_receipt(attempt_receipts(a))) and r.multiplier == Decimal("0.50")
    ]
    assert len(late) == 1
    iteration = late[0].iterations.get()
    assert iteration.submitted_at > late[0].release.second_deadline
    assert late[0].score == Decimal("50.00")

    # Changes requested: failed tasks explained, and a thread with the mentor.
    changes = attempts.get(status="changes_requested")
    review = Review.objects.get(iteration__attempt=changes)
    assert review.reviewer == mentor and review.decision == "changes_requested"
    failed = review.verdicts.filter(passed=False)
    assert failed.exists() and all(verdict.comment for verdict in failed)
    thread = list(changes.comments.order_by("created_at"))
    assert 2 <= len(thread) <= 3
    assert {comment.author for comment in thread} == {learner, mentor}
    assert all(comment.created_at > review.submitted_at for comment in thread)
    assert changes.release.deadlines_for().state(now) == "current"

    # Waiting since yesterday, on a current project, free to claim.
    waiting = attempts.get(status="waiting").iterations.get()
    assert waiting.status == "waiting"
    assert timedelta(hours=12) < now - waiting.submitted_at < timedelta(hours=36)
    assert not waiting.claims.exists()

    # The bell has news, some of it unread.
    notifications = Notification.objects.filter(user=learner)
    assert notifications.count() >= 3
    assert 0 < notifications.unread().count() < notifications.count()


def test_the_classmates_fill_the_queue_and_the_scores(cohort: Cohort) -> None:
    now = timezone.now()
    mentor = User.objects.get(email="mentor@example.com")
    waiting = Iteration.objects.waiting().filter(attempt__release__cohort=cohort)
    classmates = waiting.exclude(attempt__learner__email="learner@example.com")
    assert classmates.count() >= 4
    ages = {now - iteration.submitted_at for iteration in classmates}
    assert max(ages) - min(ages) > timedelta(days=2)
    assert classmates.filter(number=2).count() == 1  # a resubmission
    for iteration in waiting:
        assert iteration.submitted_at <= now
        assert iteration.attempt.release.deadlines_for().state(now) == "current"

    claim = ReviewClaim.objects.live().get()
    assert claim.reviewer == mentor
    assert claim.iteration.status == "waiting"
    assert timedelta(minutes=15) < claim.expires_at - now <= timedelta(minutes=20)
    # The mentor has begun the review: a draft, seen by nobody else, scoring nothing.
    draft = Review.objects.get(iteration=claim.iteration)
    assert draft.reviewer == mentor and draft.is_draft
    assert draft.verdicts.filter(passed=False).exclude(comment="").exists()
    assert claim.iteration.attempt.score is None

    approved = Attempt.objects.filter(status="approved").exclude(
        learner__email="learner@example.com"
    )
    assert len(set(approved.values_list("score", flat=True))) >= 3
    assert Notification.objects.filter(user=mentor).unread().exists()


def test_every_demo_score_equals_a_recompute_and_every_review_is_in_the_past(
    cohort: Cohort,
) -> None:
    now = timezone.now()
    for attempt in Attempt.objects.all():
        best = best_receipt(attempt_receipts(attempt))
        assert attempt.score == (best.score if best else None), attempt
        assert attempt.scored_iteration == (best.iteration if best else None)
    decided = Review.objects.exclude(submitted_at=None)
    for review in decided.select_related("iteration__attempt__release"):
        assert review.iteration.submitted_at < review.submitted_at < now
        assert review.iteration.attempt.release.opens_at < review.iteration.submitted_at
        assert review.verdicts.count() == review.iteration.attempt.release.project.tasks.count()
    # Some reviews fall within the expected-wait window, so waiting work shows an estimate.
    assert decided.filter(submitted_at__gt=now - timedelta(days=7)).count() >= 3


def test_the_demo_pages_show_the_work(cohort: Cohort, client: Client) -> None:
    client.login(email="learner@example.com", password="prodev-demo")
    for attempt in Attempt.objects.filter(learner__email="learner@example.com"):
        response = client.get(attempt.get_absolute_url())
        assert response.status_code == 200
    assert (
        b"Expected wait"
        in client.get(
            Attempt.objects.get(
                learner__email="learner@example.com", status="waiting"
            ).get_absolute_url()
        ).content
    )
    assert client.get("/notifications/").status_code == 200

    client.login(email="mentor@example.com", password="prodev-demo")
    queue = client.get("/review/").content.decode()
    assert "resubmission" in queue
    assert "Yours" in queue  # the live demo claim


def test_staff_have_a_dispute_to_decide_and_the_learner_a_verdict_to_contest(
    cohort: Cohort, client: Client
) -> None:
    """core/demo/disputes.py: a classmate's open dispute of the demo mentor's verdict goes
    to staff (the only mentor gave it); the demo learner may contest one of their own."""
    dispute = Dispute.objects.get(cohort=cohort)
    assert dispute.is_open and dispute.assigned_to is None
    assert dispute.verdict_author.email == "mentor@example.com"
    assert dispute.learner.email != LEARNER
    client.login(email="staff@example.com", password="prodev-demo")
    assert 'class="queue-dispute' in client.get("/review/").content.decode()
    client.login(email=LEARNER, password="prodev-demo")
    pages = [
        client.get(a.get_absolute_url()).content.decode()
        for a in Attempt.objects.filter(learner__email=LEARNER)
    ]
    assert any("Contest a verdict" in page for page in pages)


# --- Demo checks (core/demo/checks.py, core/demo/check_runs.py) ------------------------------

LEARNER = "learner@example.com"


def test_four_projects_have_suites_on_every_task_with_hidden_cases(cohort: Cohort) -> None:
    projects = Project.objects.filter(tasks__check_suite__isnull=False).distinct()
    assert projects.count() >= 4
    for project in projects:
        tasks = list(project.tasks.select_related("check_suite"))
        assert all(hasattr(task, "check_suite") for task in tasks), project
        for task in tasks:
            suite = task.check_suite
            cases = list(suite.cases.all())
            assert 3 <= len(cases) <= 8, task
            assert all(case.label for case in cases), task
            assert suite.files.filter(kind=CheckFile.Kind.TEST).exists(), task
            assert suite.wall_seconds <= 60 and suite.memory_mb <= 512, task
    hidden = CheckCase.objects.filter(hidden=True)
    assert hidden.values("suite__task__project").distinct().count() == projects.count()
    # One project graded by checks alone, one by checks then a mentor, the rest by mentors.
    gradings = {p.slug: set(p.tasks.values_list("grading", flat=True)) for p in projects}
    assert sorted(map(sorted, gradings.values())) == sorted(
        [["checks"], ["checks_mentor"], *[["mentor"]] * (len(gradings) - 2)]
    )
    assert not Task.objects.exclude(project__in=projects).exclude(grading="mentor").exists()
    assert {p.module.slug for p in projects} >= {"python", "rest-apis"}  # plain Python and DRF


def test_the_demo_learner_sees_runs_in_every_state(cohort: Cohort) -> None:
    learner = User.objects.get(email=LEARNER)
    runs = CheckRun.objects.filter(learner=learner)
    requested = runs.filter(trigger="learner", iteration=None)
    submitted = runs.filter(trigger="submission", iteration__isnull=False)
    # One "Check my code" per project page: the card shows the latest.
    assert requested.values("release").distinct().count() == requested.count() >= 3
    assert {run.status for run in runs} >= {"passed", "failed", "errored", "queued"}
    assert {run.status for run in requested} >= {"failed", "queued"}
    assert submitted.filter(status="passed").exists() and submitted.filter(status="failed")
    # Timed out: the reason says so, and the cases it never reached are marked.
    timed_out = CheckTaskResult.objects.get(run__in=requested, outcome="timeout")
    assert timed_out.reason == "Stopped after 20 seconds, the time limit."
    assert timed_out.cases.filter(outcome="timeout").exists()
    # Failed: a visible failure with its output, and a hidden case failing without one.
    failed = CheckCaseResult.objects.filter(task_result__run__in=requested, outcome="failed")
    assert failed.filter(hidden=False).exclude(output="").exists()
    assert failed.filter(hidden=True).exists()
    assert not failed.filter(hidden=True).exclude(output="").exists()
    # Errored: nothing checked, and the learner reads why.
    errored = runs.get(status="errored")
    assert errored.error and not errored.task_results.exists()
    assert not runs.filter(status="queued").exclude(started_at=None).exists()


def test_the_demo_mentor_sees_submissions_checks_in_every_state(cohort: Cohort) -> None:
    mentor = User.objects.get(email="mentor@example.com")
    runs = CheckRun.objects.visible_to(mentor).filter(trigger="submission")
    assert {run.status for run in runs} == {"passed", "failed", "errored", "queued"}
    assert CheckTaskResult.objects.filter(run__in=runs, outcome="timeout").exists()
    for run in runs.select_related("iteration"):
        assert run.requested_at == run.iteration.submitted_at, run
        assert run.repo_url == run.iteration.repo_url and run.commit_sha == run.iteration.commit_sha
        if run.is_finished:
            assert run.requested_at < run.started_at < run.finished_at < timezone.now(), run
    # The queued one is a fresh submission to the project graded by checks alone.
    queued = runs.get(status="queued")
    assert queued.iteration.status == Iteration.Status.CHECKING
    assert queued.iteration.attempt.score is None


def test_the_checks_decide_the_project_graded_by_checks_alone(cohort: Cohort) -> None:
    decided = Review.objects.filter(kind=Review.Kind.CHECKS).select_related("iteration__attempt")
    assert decided.count() >= 3
    assert Review.objects.filter(
        kind=Review.Kind.CHECKS, iteration__attempt__learner__email=LEARNER
    ).exists()
    scores = set()
    for review in decided:
        run = CheckRun.objects.get(iteration=review.iteration, status__in=CheckRun.FINISHED)
        results = {r.task_id: r.passed for r in run.task_results.all()}
        assert review.reviewer == checks_bot() and review.submitted_at == run.finished_at
        assert {v.task_id: v.passed for v in review.verdicts.all()} == results
        assert set(review.verdicts.values_list("source", flat=True)) == {"checks"}
        attempt = review.iteration.attempt
        assert attempt.score == best_receipt(attempt_receipts(attempt)).score
        assert not attempt.iterations.filter(reviews__kind=Review.Kind.MENTOR).exists()
        scores.add(attempt.score)
    assert len(scores) >= 3


def test_the_checks_decisions_are_the_services(cohort: Cohort) -> None:
    """Each decision the demo wrote is the one iteration_checks_decide makes from its run."""
    for review in Review.objects.filter(kind=Review.Kind.CHECKS).select_related(
        "iteration__attempt"
    ):
        iteration, attempt = review.iteration, review.iteration.attempt
        seeded = (review.decision, attempt.status, attempt.score, verdicts_of(review))
        run = CheckRun.objects.get(iteration=iteration, status__in=CheckRun.FINISHED)
        review.verdicts.all().delete()
        review.delete()
        Iteration.objects.filter(pk=iteration.pk).update(status=Iteration.Status.CHECKING)

        iteration_checks_decide(run=run, results=list(run.task_results.all()))

        again = Review.objects.get(iteration=iteration, kind=Review.Kind.CHECKS)
        attempt.refresh_from_db()
        assert (again.decision, attempt.status, attempt.score, verdicts_of(again)) == seeded


def verdicts_of(review: Review) -> list[tuple[int, bool | None, str, bool | None]]:
    return list(
        review.verdicts.order_by("task__number").values_list(
            "task__number", "passed", "source", "checks_passed"
        )
    )


def test_mentors_verdicts_keep_what_the_checks_said(cohort: Cohort) -> None:
    beside = Verdict.objects.filter(
        review__kind=Review.Kind.MENTOR, task__check_suite__isnull=False
    )
    checked = beside.exclude(checks_passed=None)
    assert checked.exists()
    # Where the checks ran, the verdict records their outcome; none ran: nothing recorded.
    for verdict in checked.select_related("review__iteration", "task"):
        run = CheckRun.objects.get(iteration=verdict.review.iteration)
        assert run.task_results.get(task=verdict.task).passed == verdict.checks_passed
    assert beside.filter(review__iteration__check_runs__status="errored", checks_passed=None)
    # Checks then mentor: a verdict against the checks carries the mentor's reason.
    prefilled = checked.filter(task__grading="checks_mentor")
    overridden = prefilled.exclude(passed=F("checks_passed"))
    assert overridden.exists()
    assert not overridden.filter(override_reason="").exists()
    assert not prefilled.filter(passed=F("checks_passed")).exclude(override_reason="").exists()


def test_the_project_pages_show_the_learners_latest_check(cohort: Cohort, client: Client) -> None:
    client.login(email=LEARNER, password="prodev-demo")
    statuses = {"failed": "Some checks fail", "queued": "Queued"}
    shown = set()
    for run in CheckRun.objects.filter(learner__email=LEARNER, trigger="learner"):
        page = client.get(run.release.project.get_absolute_url()).content.decode()
        assert "Check your code" in page
        assert f'id="check-run-{run.pk}"' in page
        if run.status in statuses:
            assert statuses[run.status] in page
            shown.add(run.status)
        if run.task_results.filter(outcome="timeout").exists():
            assert "Stopped after 20 seconds, the time limit." in page
            shown.add("timeout")
    assert shown == {"failed", "queued", "timeout"}

    client.login(email="mentor@example.com", password="prodev-demo")
    for run in CheckRun.objects.filter(trigger="submission"):
        assert client.get(reverse("check_run", args=[run.pk])).status_code == 200


def test_the_demo_runs_no_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """make run works without bubblewrap: every demo result is recorded, nothing runs."""

    def no_sandbox(**kwargs: Any) -> None:
        raise AssertionError("the demo ran code in the sandbox")

    monkeypatch.setattr(sandbox, "_run", no_sandbox)
    seed()
    assert CheckRun.objects.exists()
    assert CheckSuite.objects.count() == sum(len(p.tasks) for p in DEMO_CHECKS.values())


def test_an_edited_suite_is_put_back_and_its_version_moves(cohort: Cohort) -> None:
    suite = CheckSuite.objects.filter(task__project__slug="python-generators").first()
    test_file = suite.files.get(path__startswith="test_")
    original = test_file.content
    CheckFile.objects.filter(pk=test_file.pk).update(content="def test_nothing():\n    pass\n")
    CheckCase.objects.create(suite=suite, name="test_nothing")

    seed()

    suite.refresh_from_db()
    assert suite.version == 2  # runs before it say they ran another version
    assert suite.files.get(pk=test_file.pk).content == original
    assert not suite.cases.filter(name="test_nothing").exists()
    assert CheckSuite.objects.exclude(pk=suite.pk).filter(version__gt=1).count() == 0

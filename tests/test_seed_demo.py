"""``manage.py seed_demo`` loads a living demo site, and running it again changes nothing."""

from __future__ import annotations

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
from django.utils import timezone

from core.demo.curriculum import PROGRAM
from core.models import (
    Attempt,
    Cohort,
    Comment,
    Extension,
    Iteration,
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
from core.services.reviews import iteration_submit
from core.services.scoring import attempt_receipts, best_receipt

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

    data = PROGRAM["modules"][0]["projects"][1]
    project = Project.objects.get(slug=data["slug"])
    assert sorted(p.slug for p in project.prerequisites.all()) == sorted(data["prerequisites"])
    first_task = project.tasks.get(number=0)
    assert first_task.title == data["tasks"][0]["title"]
    assert first_task.files == data["tasks"][0]["files"]


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

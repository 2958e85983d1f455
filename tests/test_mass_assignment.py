"""Mass assignment: extra fields posted to a form change nothing the poster does not own.

Every user-facing form of the site (ours, allauth's and the admin's calendar
actions) is posted a VALID body plus hostile extra fields: ownership (``user``,
``learner``, ``reviewer``, ``author``, ``attempt``, ``iteration``, ``id``/``pk``
of someone else's row), bookkeeping (``number``, ``status``, ``score``,
``submitted_at``, ``expires_at``, ``read_at``…) and privileges (``is_staff``,
``is_superuser``, ``role``, ``cohort``…).

Each test watches the whole database around the request (``db_changes``: every
row of every core and allauth table, before and after) and asserts the exact
set of rows created and columns updated. So (a) the legitimate effect must
happen, and a refused post fails the test, and (b) a hostile field that was
honoured shows up as an unexpected column or row, wherever it landed.

The audit log (core.AuditEvent) is left out of the comparison: it records the
request, it is not data the user owns.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from core.cohorts.join_codes import join_code_create
from core.disputes.services import dispute_claim, dispute_open
from core.models import (
    Attempt,
    AuditEvent,
    CheckRun,
    Cohort,
    Comment,
    Dispute,
    EmailPreference,
    Extension,
    Iteration,
    JoinCode,
    Membership,
    Notification,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    ReviewClaim,
    ReviewRating,
    ReviewReport,
    ScoreExport,
    ScoreOverride,
    User,
    Verdict,
)
from core.reviews.scoring import attempt_recompute_score
from core.reviews.services import claim_take
from tests.conftest import client_for
from tests.disputes.conftest import decide
from tests.factories import (
    PASSWORD,
    CheckFileFactory,
    CheckSuiteFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    NotificationFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    UserFactory,
    VerdictFactory,
)
from tests.peer.test_peer_review import assign, peer_policy, peer_review, submit

FAR_PAST = "2000-01-01T00:00:00+00:00"
FAR_FUTURE = "2100-01-01T00:00:00+00:00"
REPO = "https://github.com/alice/prodev-backend-python"
SHA = "0123456789abcdef0123456789abcdef01234567"

# Privilege fields worth trying on every form: none of them is ever a form field.
PRIVILEGES = {
    "is_staff": "on",
    "is_superuser": "on",
    "is_active": "on",
    "role": "mentor",
    "score": "100",
    "status": "approved",
    "verdict": "approved",
    "outcome": "approved",
}


# --- Watching the database -----------------------------------------------------------------


def _tables() -> list[type[Model]]:
    """Every table a form could reach: core's (with M2M tables) and allauth's addresses."""
    core = apps.get_app_config("core").get_models(include_auto_created=True)
    return [model for model in core if model is not AuditEvent] + [EmailAddress]


Snapshot = dict[str, dict[object, dict[str, object]]]


def snapshot() -> Snapshot:
    return {
        model._meta.label: {
            row[model._meta.pk.attname]: row for row in model._base_manager.order_by().values()
        }
        for model in _tables()
    }


@dataclass
class Changes:
    """What a request did to the database: rows created and deleted, columns updated."""

    created: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    updated: dict[tuple[str, object], set[str]] = field(default_factory=dict)
    deleted: set[tuple[str, object]] = field(default_factory=set)

    def record(self, before: Snapshot, after: Snapshot) -> None:
        for label, rows in after.items():
            old = before[label]
            new = [row for pk, row in rows.items() if pk not in old]
            if new:
                self.created[label] = new
            for pk, row in rows.items():
                if pk in old and row != old[pk]:
                    self.updated[label, pk] = {name for name in row if row[name] != old[pk][name]}
            self.deleted |= {(label, pk) for pk in old if pk not in rows}

    def assert_only(
        self,
        *,
        created: dict[str, int] | None = None,
        updated: dict[tuple[str, object], set[str]] | None = None,
    ) -> None:
        """Exactly these rows were created (per table) and columns updated; none deleted."""
        assert {label: len(rows) for label, rows in self.created.items()} == (created or {})
        assert self.updated == (updated or {})
        assert self.deleted == set()

    def new(self, model: type[Model]) -> dict[str, object]:
        """The one row of ``model`` the request created."""
        (row,) = self.created[model._meta.label]
        return row


@contextmanager
def db_changes() -> Iterator[Changes]:
    changes = Changes()
    before = snapshot()
    yield changes
    changes.record(before, snapshot())


def key(obj: Model) -> tuple[str, object]:
    return obj._meta.label, obj.pk


def just_now(value: object) -> bool:
    """Set by the server while the test ran, not taken from the posted far past or future."""
    return isinstance(value, datetime) and abs(timezone.now() - value) < timedelta(minutes=2)


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media_root(settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(params=["page", "htmx"])
def via(request: pytest.FixtureRequest) -> dict[str, str]:
    """Posted by a plain form and by HTMX: the views that answer both answer each differently."""
    return {"HTTP_HX_REQUEST": "true"} if request.param == "htmx" else {}


def status_for(via: dict[str, str]) -> int:
    """A fragment (or HX-Redirect) for HTMX, a redirect after a plain form post."""
    return 200 if via else 302


@pytest.fixture
def bob(cohort: Cohort, release: ProjectRelease) -> User:
    """Another learner of Cohort 7: the victim whose rows the hostile fields point at."""
    user = UserFactory(display_name="Bob Classmate")
    MembershipFactory(user=user, cohort=cohort, role=Membership.Role.LEARNER)
    return user


@pytest.fixture
def mo(cohort: Cohort, release: ProjectRelease) -> User:
    """A second mentor of Cohort 7."""
    user = UserFactory(display_name="Mo Mentor")
    MembershipFactory(user=user, cohort=cohort, role=Membership.Role.MENTOR)
    return user


@pytest.fixture
def elsewhere(project: Project) -> ProjectRelease:
    """The same project released to another cohort of the program."""
    return ProjectReleaseFactory(project=project, cohort=CohortFactory(slug="cohort-8"))


def waiting_iteration(learner: User, release: ProjectRelease, hours_ago: float) -> Iteration:
    attempt, _ = Attempt.objects.get_or_create(learner=learner, release=release)
    return IterationFactory(
        attempt=attempt,
        number=attempt.iterations.count() + 1,
        submitted_at=timezone.now() - timedelta(hours=hours_ago),
    )


@pytest.fixture
def alice_iteration(learner: User, release: ProjectRelease) -> Iteration:
    return waiting_iteration(learner, release, hours_ago=26)


@pytest.fixture
def bob_iteration(bob: User, release: ProjectRelease) -> Iteration:
    return waiting_iteration(bob, release, hours_ago=3)


def verdict_data(project: Project, *results: str, **extra: str) -> dict[str, str]:
    data = {"action": "submit", "feedback": "Clear code, one bug.", **extra}
    for task, result in zip(project.tasks.order_by("number"), results, strict=True):
        data[f"task_{task.pk}_passed"] = result
        data[f"task_{task.pk}_comment"] = f"On task {task.number}"
    return data


# --- Submitting work -------------------------------------------------------------------------


def test_a_submission_is_the_posters_next_iteration_whatever_it_names(
    learner_client: Client,
    learner: User,
    project: Project,
    alice_iteration: Iteration,
    bob_iteration: Iteration,
    elsewhere: ProjectRelease,
) -> None:
    tasks = list(project.tasks.order_by("number")[:2])
    token = uuid.uuid4()
    data = {
        "repo_url": REPO,
        "commit_sha": SHA,
        "tasks": [task.pk for task in tasks],
        "notes": "Second try.",
        "submit_token": str(token),
        # Hostile: someone else's attempt, another release, our own bookkeeping.
        "learner": bob_iteration.attempt.learner_id,
        "user": bob_iteration.attempt.learner_id,
        "attempt": bob_iteration.attempt_id,
        "release": elsewhere.pk,
        "iteration": bob_iteration.pk,
        "id": bob_iteration.pk,
        "pk": bob_iteration.pk,
        "number": "99",
        "submitted_at": FAR_PAST,
        "peer_due_at": FAR_FUTURE,
        "mentor_due_at": FAR_FUTURE,
        "peer_tie": "on",
        "scored_iteration": bob_iteration.pk,
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = learner_client.post(f"/projects/{project.slug}/submit/", data)
    assert response.status_code == 302
    # The earlier iteration is superseded; the attempt keeps its status and (no) score.
    changes.assert_only(
        created={"core.Iteration": 1, "core.Iteration_tasks_claimed": 2},
        updated={
            key(alice_iteration): {"status"},
            key(alice_iteration.attempt): {"updated_at"},
        },
    )
    iteration = changes.new(Iteration)
    assert iteration["attempt_id"] == alice_iteration.attempt_id  # the poster's own attempt
    assert iteration["number"] == 2  # the next number, not the posted 99
    assert iteration["status"] == Iteration.Status.WAITING
    assert just_now(iteration["submitted_at"])
    assert iteration["mentor_due_at"] == iteration["submitted_at"] + timedelta(
        hours=project.mentor_sla_hours
    )
    assert iteration["peer_tie"] is False
    assert iteration["submit_token"] == token
    claimed = {row["task_id"] for row in changes.created["core.Iteration_tasks_claimed"]}
    assert claimed == {task.pk for task in tasks}


def test_the_live_field_check_writes_nothing(
    learner_client: Client, project: Project, alice_iteration: Iteration, bob: User
) -> None:
    data = {"repo_url": REPO, "attempt": alice_iteration.attempt_id, "learner": bob.pk}
    with db_changes() as changes:
        response = learner_client.post(
            f"/projects/{project.slug}/submit/validate/",
            data | PRIVILEGES,
            HTTP_HX_REQUEST="true",
            HTTP_HX_TRIGGER_NAME="repo_url",
        )
    assert response.status_code == 200
    assert "is-valid" in response.content.decode()
    changes.assert_only()  # nothing at all


def test_the_markdown_preview_writes_nothing(learner_client: Client, learner: User) -> None:
    data = {"field": "body", "body": "**bold**", "user": learner.pk, **PRIVILEGES}
    with db_changes() as changes:
        response = learner_client.post("/preview/markdown/", data)
    assert response.status_code == 200
    assert "<strong>bold</strong>" in response.content.decode()
    changes.assert_only()  # nothing at all


# --- Account settings --------------------------------------------------------------------------


def test_the_settings_form_changes_only_the_display_name(
    learner_client: Client, learner: User, outsider: User, cohort: Cohort
) -> None:
    data = {
        "display_name": "Alice A.",
        "email": "evil@example.com",
        "calendar_token": "a-token-the-attacker-knows",
        "password": "not-a-hash",
        "date_joined": FAR_PAST,
        "last_login": FAR_PAST,
        "id": outsider.pk,
        "pk": outsider.pk,
        "user": outsider.pk,
        "cohort": cohort.pk,
        "groups": "1",
        "user_permissions": "1",
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = learner_client.post("/settings/", data)
    assert response.status_code == 302
    changes.assert_only(updated={key(learner): {"display_name"}})
    learner.refresh_from_db()
    assert learner.display_name == "Alice A."
    assert learner.email == "alice@example.com"
    assert not learner.is_staff and not learner.is_superuser


def test_a_calendar_reset_picks_its_own_token_for_the_poster_only(
    learner_client: Client, learner: User, outsider: User
) -> None:
    old = learner.calendar_token
    chosen = "a-token-the-attacker-knows"
    data = {"calendar_token": chosen, "token": chosen, "user": outsider.pk, "id": outsider.pk}
    with db_changes() as changes:
        response = learner_client.post("/settings/calendar/reset/", data | PRIVILEGES)
    assert response.status_code == 302
    changes.assert_only(updated={key(learner): {"calendar_token"}})
    learner.refresh_from_db()
    assert learner.calendar_token not in {old, chosen}


def test_email_preferences_are_saved_for_the_poster_only(
    learner_client: Client, learner: User, outsider: User
) -> None:
    data = {
        "email_review_done": "on",
        "user": outsider.pk,
        "user_id": outsider.pk,
        "kind": "deadline_soon",
        "enabled": "on",
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = learner_client.post("/settings/notifications/", data)
    assert response.status_code == 302
    rows = changes.created["core.EmailPreference"]
    assert {row["user_id"] for row in rows} == {learner.pk}
    assert {row["kind"] for row in rows if row["enabled"]} == {"review_done"}
    assert len(rows) == len(Notification.Kind)
    changes.assert_only(created={"core.EmailPreference": len(Notification.Kind)})
    assert not EmailPreference.objects.filter(user=outsider).exists()


def test_signing_up_with_privilege_fields_creates_a_plain_unverified_user(
    client: Client, cohort: Cohort
) -> None:
    data = {
        "email": "dana@example.com",
        "password1": "a-long-signup-passphrase",
        "password2": "a-long-signup-passphrase",
        "display_name": "Dana",
        "calendar_token": "a-token-the-attacker-knows",
        "date_joined": FAR_PAST,
        "cohort": cohort.pk,
        "membership": cohort.pk,
        "groups": "1",
        "user_permissions": "1",
        "verified": "on",
        "primary": "on",
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = client.post("/accounts/signup/", data)
    assert response.status_code == 302
    changes.assert_only(created={"core.User": 1, "account.EmailAddress": 1})
    user = changes.new(User)
    assert (user["email"], user["display_name"]) == ("dana@example.com", "Dana")
    assert user["is_staff"] is False
    assert user["is_superuser"] is False
    assert user["calendar_token"] != "a-token-the-attacker-knows"
    assert just_now(user["date_joined"])
    address = changes.new(EmailAddress)
    assert (address["user_id"], address["verified"]) == (user["id"], False)


def test_adding_an_email_address_does_not_verify_it_or_change_the_login(
    learner_client: Client, learner: User, outsider: User
) -> None:
    data = {
        "action_add": "",
        "email": "alice2@example.com",
        "verified": "on",
        "primary": "on",
        "user": outsider.pk,
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = learner_client.post("/accounts/email/", data)
    assert response.status_code == 302
    # The login email and the primary address stay as they were (no update).
    changes.assert_only(created={"account.EmailAddress": 1})
    address = changes.new(EmailAddress)
    assert address["user_id"] == learner.pk
    assert address["email"] == "alice2@example.com"
    assert (address["verified"], address["primary"]) == (False, False)


def test_a_password_change_changes_only_the_password(
    learner_client: Client, learner: User, outsider: User
) -> None:
    data = {
        "oldpassword": PASSWORD,
        "password1": "a-new-long-passphrase",
        "password2": "a-new-long-passphrase",
        "email": "evil@example.com",
        "display_name": "Hacked",
        "user": outsider.pk,
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = learner_client.post("/accounts/password/change/", data)
    assert response.status_code == 302
    changes.assert_only(updated={key(learner): {"password"}})
    learner.refresh_from_db()
    assert learner.check_password("a-new-long-passphrase")


# --- Notifications -----------------------------------------------------------------------------


def test_marking_a_notification_read_touches_only_that_one(
    learner_client: Client, learner: User, outsider: User, via: dict[str, str]
) -> None:
    mine = NotificationFactory(user=learner)
    theirs = NotificationFactory(user=outsider)
    data = {
        "pk": theirs.pk,
        "id": theirs.pk,
        "notification": theirs.pk,
        "user": outsider.pk,
        "read_at": FAR_PAST,
        "url": "https://evil.example/",
        "title": "Forged",
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = learner_client.post(f"/notifications/{mine.pk}/read/", data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(updated={key(mine): {"read_at"}})
    mine.refresh_from_db()
    assert just_now(mine.read_at)
    assert (mine.url, mine.title) == ("/dashboard/", "Python Generators was approved")


def test_marking_all_read_touches_only_the_posters_notifications(
    learner_client: Client, learner: User, outsider: User, via: dict[str, str]
) -> None:
    first, second = NotificationFactory(user=learner), NotificationFactory(user=learner)
    theirs = NotificationFactory(user=outsider)
    data = {"user": outsider.pk, "ids": theirs.pk, "read_at": FAR_PAST, **PRIVILEGES}
    with db_changes() as changes:
        response = learner_client.post("/notifications/read-all/", data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(updated={key(first): {"read_at"}, key(second): {"read_at"}})
    first.refresh_from_db()
    assert just_now(first.read_at)


# --- The discussion ----------------------------------------------------------------------------


def test_a_comment_is_the_posters_on_the_attempt_of_the_url(
    learner_client: Client,
    learner: User,
    mentor: User,
    alice_iteration: Iteration,
    bob_iteration: Iteration,
    via: dict[str, str],
) -> None:
    data = {
        "body": "Why did task 1 fail?",
        "author": mentor.pk,
        "user": mentor.pk,
        "attempt": bob_iteration.attempt_id,
        "created_at": FAR_PAST,
        "id": "1",
        **PRIVILEGES,
    }
    url = f"/attempts/{alice_iteration.attempt_id}/comments/"
    with db_changes() as changes:
        response = learner_client.post(url, data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(created={"core.Comment": 1})
    comment = changes.new(Comment)
    assert comment["attempt_id"] == alice_iteration.attempt_id
    assert comment["author_id"] == learner.pk
    assert comment["body"] == "Why did task 1 fail?"
    assert just_now(comment["created_at"])


# --- Mentor claims and reviews -----------------------------------------------------------------


def claim_hostiles(other: Iteration, other_mentor: User) -> dict[str, object]:
    return {
        "iteration": other.pk,
        "pk": other.pk,
        "id": other.pk,
        "reviewer": other_mentor.pk,
        "user": other_mentor.pk,
        "claimed_at": FAR_PAST,
        "expires_at": FAR_FUTURE,
        "released_at": FAR_PAST,
        "minutes": "100000",
        **PRIVILEGES,
    }


def test_a_claim_is_the_posters_on_the_iteration_of_the_url(
    mentor_client: Client,
    mentor: User,
    mo: User,
    alice_iteration: Iteration,
    bob_iteration: Iteration,
    via: dict[str, str],
) -> None:
    with db_changes() as changes:
        response = mentor_client.post(
            f"/review/{alice_iteration.pk}/claim/", claim_hostiles(bob_iteration, mo), **via
        )
    assert response.status_code == status_for(via)
    changes.assert_only(created={"core.ReviewClaim": 1})
    claim = changes.new(ReviewClaim)
    assert (claim["iteration_id"], claim["reviewer_id"]) == (alice_iteration.pk, mentor.pk)
    assert just_now(claim["claimed_at"])
    assert claim["expires_at"] == claim["claimed_at"] + timedelta(minutes=settings.CLAIM_MINUTES)
    assert claim["released_at"] is None


@pytest.fixture
def two_claims(
    mentor: User, mo: User, alice_iteration: Iteration, bob_iteration: Iteration
) -> tuple[ReviewClaim, ReviewClaim]:
    """Mia holds Alice's iteration (10 minutes left), Mo holds Bob's."""
    mine = claim_take(iteration=alice_iteration, reviewer=mentor)
    ReviewClaim.objects.filter(pk=mine.pk).update(expires_at=timezone.now() + timedelta(minutes=10))
    theirs = claim_take(iteration=bob_iteration, reviewer=mo)
    return ReviewClaim.objects.get(pk=mine.pk), theirs


def test_extending_a_claim_gives_the_posters_claim_the_usual_minutes(
    mentor_client: Client,
    mo: User,
    alice_iteration: Iteration,
    bob_iteration: Iteration,
    two_claims: tuple[ReviewClaim, ReviewClaim],
    via: dict[str, str],
) -> None:
    mine, theirs = two_claims
    data = claim_hostiles(bob_iteration, mo) | {"claim": theirs.pk}
    with db_changes() as changes:
        response = mentor_client.post(f"/review/{alice_iteration.pk}/extend/", data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(updated={key(mine): {"expires_at"}})
    mine.refresh_from_db()
    expected = timezone.now() + timedelta(minutes=settings.CLAIM_MINUTES)
    assert abs(mine.expires_at - expected) < timedelta(minutes=1)


def test_releasing_a_claim_releases_only_the_posters(
    mentor_client: Client,
    mo: User,
    alice_iteration: Iteration,
    bob_iteration: Iteration,
    two_claims: tuple[ReviewClaim, ReviewClaim],
    via: dict[str, str],
) -> None:
    mine, theirs = two_claims
    data = claim_hostiles(bob_iteration, mo) | {"claim": theirs.pk}
    with db_changes() as changes:
        response = mentor_client.post(f"/review/{alice_iteration.pk}/release/", data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(updated={key(mine): {"released_at"}})
    mine.refresh_from_db()
    assert just_now(mine.released_at)


def test_claim_next_takes_the_oldest_iteration_not_the_posted_one(
    mentor_client: Client,
    mentor: User,
    mo: User,
    alice_iteration: Iteration,
    bob_iteration: Iteration,
) -> None:
    with db_changes() as changes:
        response = mentor_client.post("/review/claim-next/", claim_hostiles(bob_iteration, mo))
    assert response.status_code == 302
    claim = changes.new(ReviewClaim)
    # Alice's iteration waited 26 hours, Bob's (the posted one) 3.
    assert (claim["iteration_id"], claim["reviewer_id"]) == (alice_iteration.pk, mentor.pk)
    changes.assert_only(created={"core.ReviewClaim": 1})


def test_an_autosaved_draft_is_the_posters_and_decides_nothing(
    mentor_client: Client,
    mentor: User,
    mo: User,
    project: Project,
    alice_iteration: Iteration,
    bob_iteration: Iteration,
) -> None:
    claim_take(iteration=alice_iteration, reviewer=mentor)
    other_task = ProjectFactory().tasks.create(number=0, title="Elsewhere")
    data = verdict_data(project, "pass", "fail", "fail", decision="approved") | {
        f"task_{other_task.pk}_passed": "pass",
        "action": "submit",  # the autosave never submits, whatever it is sent
        "reviewer": mo.pk,
        "user": mo.pk,
        "kind": "peer",
        "iteration": bob_iteration.pk,
        "submitted_at": FAR_PAST,
        "created_at": FAR_PAST,
        "confidence": "5",
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = mentor_client.post(f"/review/{alice_iteration.pk}/draft/", data)
    assert response.status_code == 200
    changes.assert_only(created={"core.Review": 1, "core.Verdict": 3})
    review = changes.new(Review)
    assert (review["iteration_id"], review["reviewer_id"]) == (alice_iteration.pk, mentor.pk)
    assert (review["kind"], review["confidence"]) == (Review.Kind.MENTOR, None)
    assert review["submitted_at"] is None  # a draft: nothing decided, nothing scored
    verdicts = changes.created["core.Verdict"]
    assert {row["task_id"] for row in verdicts} == set(project.tasks.values_list("pk", flat=True))


def test_a_mentor_review_is_the_posters_and_the_score_is_computed(
    mentor_client: Client,
    mentor: User,
    mo: User,
    project: Project,
    alice_iteration: Iteration,
    bob_iteration: Iteration,
) -> None:
    claim = claim_take(iteration=alice_iteration, reviewer=mentor)
    other_task = ProjectFactory().tasks.create(number=0, title="Elsewhere")
    # Tasks 0 and 1 are mandatory, 2 advanced: half the mandatory points, no advanced.
    data = verdict_data(project, "pass", "fail", "fail", decision="approved") | {
        f"task_{other_task.pk}_passed": "pass",
        "reviewer": mo.pk,
        "user": mo.pk,
        "learner": mentor.pk,
        "kind": "peer",
        "iteration": bob_iteration.pk,
        "attempt": bob_iteration.attempt_id,
        "submitted_at": FAR_PAST,
        "created_at": FAR_PAST,
        "confidence": "5",
        "scored_iteration": bob_iteration.pk,
        **PRIVILEGES,
        "status": "changes_requested",
    }
    with db_changes() as changes:
        response = mentor_client.post(f"/review/{alice_iteration.pk}/", data)
    assert response.status_code == 302
    changes.assert_only(
        created={"core.Review": 1, "core.Verdict": 3},
        updated={
            key(alice_iteration): {"status"},
            key(alice_iteration.attempt): {"status", "score", "scored_iteration_id", "updated_at"},
            key(claim): {"released_at"},
        },
    )
    review = changes.new(Review)
    assert (review["iteration_id"], review["reviewer_id"]) == (alice_iteration.pk, mentor.pk)
    assert review["kind"] == Review.Kind.MENTOR
    assert review["confidence"] is None
    assert review["decision"] == Review.Decision.APPROVED
    assert just_now(review["submitted_at"])
    verdicts = changes.created["core.Verdict"]
    assert {row["task_id"] for row in verdicts} == set(project.tasks.values_list("pk", flat=True))
    attempt = Attempt.objects.get(pk=alice_iteration.attempt_id)
    assert attempt.status == Attempt.Status.APPROVED  # from the decision, not the posted status
    assert attempt.score == Decimal("50.00")  # M = 0.5, A = 0, before the first deadline
    assert attempt.scored_iteration_id == alice_iteration.pk


# --- Peer reviews ------------------------------------------------------------------------------


@pytest.fixture
def peer_project(project: Project) -> Project:
    return peer_policy(project, required=2)


def test_peer_next_assigns_the_oldest_iteration_to_the_poster(
    reviewer_client: Client,
    reviewer: User,
    learner: User,
    bob: User,
    release: ProjectRelease,
    peer_project: Project,
    via: dict[str, str],
) -> None:
    oldest = submit(learner, release, hours_ago=5)
    newer = submit(bob, release, hours_ago=1)
    data = {
        "iteration": newer.pk,
        "pk": newer.pk,
        "reviewer": bob.pk,
        "user": bob.pk,
        "project": ProjectFactory().pk,
        "expires_at": FAR_FUTURE,
        "completed_at": FAR_PAST,
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = reviewer_client.post("/peer-review/next/", data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(created={"core.PeerAssignment": 1})
    assignment = changes.new(PeerAssignment)
    assert (assignment["iteration_id"], assignment["reviewer_id"]) == (oldest.pk, reviewer.pk)
    assert assignment["project_id"] == peer_project.pk
    assert assignment["expires_at"] == assignment["assigned_at"] + timedelta(
        hours=settings.PEER_ASSIGNMENT_HOURS
    )
    assert (assignment["completed_at"], assignment["released_at"]) == (None, None)


def test_a_peer_review_is_the_posters_and_decides_nothing_alone(
    reviewer_client: Client,
    reviewer: User,
    learner: User,
    bob: User,
    release: ProjectRelease,
    peer_project: Project,
) -> None:
    iteration = submit(learner, release, hours_ago=5)
    other = submit(bob, release, hours_ago=1)
    assignment = assign(iteration, reviewer)
    data = verdict_data(peer_project, "pass", "pass", "pass", decision="approved") | {
        "confidence": "4",
        "reviewer": bob.pk,
        "user": bob.pk,
        "kind": "mentor",
        "iteration": other.pk,
        "attempt": other.attempt_id,
        "assignment": assign(other, UserFactory()).pk,
        "submitted_at": FAR_PAST,
        "completed_at": FAR_PAST,
        "peer_reviews_required": "1",
        "peer_tie": "on",
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = reviewer_client.post(f"/peer-review/{assignment.pk}/", data)
    assert response.status_code == 302
    changes.assert_only(
        created={"core.Review": 1, "core.Verdict": 3}, updated={key(assignment): {"completed_at"}}
    )
    review = changes.new(Review)
    assert (review["iteration_id"], review["reviewer_id"]) == (iteration.pk, reviewer.pk)
    assert review["kind"] == Review.Kind.PEER
    assert review["confidence"] == 4
    assert just_now(review["submitted_at"])
    # One of two required peer reviews: the assignment completes, nothing is decided.
    assignment.refresh_from_db()
    assert just_now(assignment.completed_at)


@pytest.fixture
def bobs_review(learner: User, bob: User, release: ProjectRelease, peer_project: Project) -> Review:
    """Bob's submitted peer review of Alice's work (Bob may review: his own work passed)."""
    return peer_review(submit(learner, release, hours_ago=5), bob)


@pytest.fixture
def unrelated_review(cohort: Cohort, release: ProjectRelease, bob: User) -> Review:
    """Bob's peer review of someone else's work: Alice may neither rate nor report it."""
    dave = UserFactory(display_name="Dave Other")
    MembershipFactory(user=dave, cohort=cohort, role=Membership.Role.LEARNER)
    return peer_review(submit(dave, release, hours_ago=4), bob)


def review_hostiles(other: Review, someone: User) -> dict[str, object]:
    return {
        "review": other.pk,
        "pk": other.pk,
        "id": other.pk,
        "rated_by": someone.pk,
        "reporter": someone.pk,
        "user": someone.pk,
        "created_at": FAR_PAST,
        "resolved_at": FAR_PAST,
        "resolution": "Nothing to see here.",
        **PRIVILEGES,
    }


def test_a_rating_is_the_posters_on_the_review_of_the_url(
    learner_client: Client,
    learner: User,
    outsider: User,
    bobs_review: Review,
    unrelated_review: Review,
    via: dict[str, str],
) -> None:
    data = {"helpful": "yes"} | review_hostiles(unrelated_review, outsider)
    with db_changes() as changes:
        response = learner_client.post(f"/reviews/{bobs_review.pk}/rate/", data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(created={"core.ReviewRating": 1})
    rating = changes.new(ReviewRating)
    assert (rating["review_id"], rating["rated_by_id"]) == (bobs_review.pk, learner.pk)
    assert rating["helpful"] is True
    assert just_now(rating["created_at"])


def test_a_report_is_the_posters_open_report_on_the_review_of_the_url(
    learner_client: Client,
    learner: User,
    outsider: User,
    bobs_review: Review,
    unrelated_review: Review,
    via: dict[str, str],
) -> None:
    data = {"reason": "Insulting tone."} | review_hostiles(unrelated_review, outsider)
    with db_changes() as changes:
        response = learner_client.post(f"/reviews/{bobs_review.pk}/report/", data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(created={"core.ReviewReport": 1})
    report = changes.new(ReviewReport)
    assert (report["review_id"], report["reporter_id"]) == (bobs_review.pk, learner.pk)
    assert report["reason"] == "Insulting tone."
    assert (report["resolved_at"], report["resolution"]) == (None, "")
    assert just_now(report["created_at"])


# --- Staff pages -------------------------------------------------------------------------------


def test_an_export_is_of_the_cohort_of_the_url_requested_by_the_poster(
    staff_client: Client,
    staff: User,
    cohort: Cohort,
    outsider: User,
    elsewhere: ProjectRelease,
    via: dict[str, str],
) -> None:
    data = {
        "cohort": elsewhere.cohort_id,
        "slug": elsewhere.cohort.slug,
        "requested_by": outsider.pk,
        "status": "done",
        "file": "../../etc/passwd",
        "rows_total": "5",
        "expires_at": FAR_FUTURE,
        "finished_at": FAR_PAST,
    }
    with db_changes() as changes:
        response = staff_client.post(f"/staff/cohorts/{cohort.slug}/export/", data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(created={"core.ScoreExport": 1})
    export = changes.new(ScoreExport)
    assert (export["cohort_id"], export["requested_by_id"]) == (cohort.pk, staff.pk)
    assert (export["status"], export["file"], export["rows_total"]) == ("pending", "", 0)
    assert export["finished_at"] is None
    assert export["expires_at"] == export["created_at"] + timedelta(hours=settings.EXPORT_TTL_HOURS)


# --- Enrolment by CSV and invitations -----------------------------------------------------------

ENROLMENT_CSV = "email,name,role\nnew@example.com,New Person,reviewer\n"


def _enrolment_upload(client: Client, cohort: Cohort, extra: dict[str, object]) -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("people.csv", ENROLMENT_CSV.encode(), content_type="text/csv")
    response = client.post(f"/staff/cohorts/{cohort.slug}/enrol/", {"file": upload, **extra})
    assert response.status_code == 200
    html = response.content.decode()
    return html.split('name="rows" value="', 1)[1].split('"', 1)[0]


def _hostile_enrolment(cohort: Cohort, outsider: User) -> dict[str, object]:
    return {
        **PRIVILEGES,
        "cohort": cohort.pk,
        "slug": cohort.slug,
        "user": outsider.pk,
        "email": outsider.email,
        "password": "chosen-by-staff",
    }


def test_an_enrolment_preview_writes_nothing(
    staff_client: Client, cohort: Cohort, outsider: User, elsewhere: ProjectRelease
) -> None:
    with db_changes() as changes:
        _enrolment_upload(staff_client, cohort, _hostile_enrolment(elsewhere.cohort, outsider))
    changes.assert_only()


def test_an_enrolment_applies_the_signed_rows_to_the_cohort_of_the_url(
    staff_client: Client, cohort: Cohort, outsider: User, elsewhere: ProjectRelease
) -> None:
    signed = _enrolment_upload(staff_client, cohort, {})
    data = {"rows": signed, **_hostile_enrolment(elsewhere.cohort, outsider)}
    with db_changes() as changes:
        response = staff_client.post(f"/staff/cohorts/{cohort.slug}/enrol/apply/", data)
    assert response.status_code == 200
    changes.assert_only(created={"core.User": 1, "core.Membership": 1})
    person = changes.new(User)
    assert (person["email"], person["display_name"]) == ("new@example.com", "New Person")
    assert (person["is_staff"], person["is_superuser"], person["is_active"]) == (False, False, True)
    assert str(person["password"]).startswith("!")  # unusable: nobody typed one
    membership = changes.new(Membership)
    assert (membership["cohort_id"], membership["user_id"], membership["role"]) == (
        cohort.pk,
        person["id"],
        "reviewer",
    )


def test_an_invitation_sets_only_the_invited_persons_password(
    client: Client, outsider: User
) -> None:
    from django.contrib.auth.hashers import make_password

    from core.accounts.invitations import invitation_path

    invited = User.objects.create(email="ivy@example.com", password=make_password(None))
    data = {
        **PRIVILEGES,
        "new_password1": "a-long-and-new-passphrase",
        "new_password2": "a-long-and-new-passphrase",
        "email": outsider.email,
        "display_name": "Not Ivy",
        "user": outsider.pk,
        "id": outsider.pk,
        "last_login": FAR_PAST,
    }
    with db_changes() as changes:
        response = client.post(invitation_path(invited), data)
    assert response.status_code == 302
    changes.assert_only(
        created={"account.EmailAddress": 1},
        updated={key(invited): {"password", "last_login"}},
    )
    address = changes.new(EmailAddress)
    assert (address["user_id"], address["email"], address["verified"]) == (
        invited.pk,
        "ivy@example.com",
        True,
    )
    invited.refresh_from_db()
    assert invited.check_password("a-long-and-new-passphrase")
    assert just_now(invited.last_login)


# --- The admin ---------------------------------------------------------------------------------


def admin_datetime(name: str, value: datetime, cohort: Cohort) -> dict[str, str]:
    """An admin split date-time field, on the cohort's wall clock."""
    local = timezone.localtime(value, cohort.tz)
    return {f"{name}_0": f"{local:%Y-%m-%d}", f"{name}_1": f"{local:%H:%M:%S}"}


def test_the_release_action_releases_to_the_selected_cohort_only(
    staff_client: Client, cohort: Cohort, release: ProjectRelease, elsewhere: ProjectRelease
) -> None:
    iterators = ProjectFactory(module=release.project.module, title="Python Iterators")
    opens = timezone.now() + timedelta(days=7)
    data = {
        "action": "release_project_action",
        "_selected_action": [cohort.pk],
        "apply": "1",
        "project": iterators.pk,
        **admin_datetime("opens_at", opens, cohort),
        **admin_datetime("first_deadline", opens + timedelta(days=7), cohort),
        **admin_datetime("second_deadline", opens + timedelta(days=14), cohort),
        "first_multiplier": "1.00",
        "second_multiplier": "0.65",
        "late_multiplier": "0.50",
        # Hostile: another cohort, and an existing release to overwrite.
        "cohort": elsewhere.cohort_id,
        "id": release.pk,
        "pk": release.pk,
        "release": release.pk,
    }
    with db_changes() as changes:
        response = staff_client.post(reverse("admin:core_cohort_changelist"), data)
    assert response.status_code == 302
    changes.assert_only(created={"core.ProjectRelease": 1})
    created = changes.new(ProjectRelease)
    assert (created["cohort_id"], created["project_id"]) == (cohort.pk, iterators.pk)


def test_the_schedule_generator_releases_to_the_selected_cohort_only(
    staff_client: Client, cohort: Cohort, release: ProjectRelease, elsewhere: ProjectRelease
) -> None:
    iterators = ProjectFactory(module=release.project.module, title="Python Iterators")
    start = timezone.localdate(timezone=cohort.tz) + timedelta(days=7)
    data = {
        "action": "release_schedule_action",
        "_selected_action": [cohort.pk],
        "apply": "1",
        "module": release.project.module_id,
        "start": f"{start:%Y-%m-%d}",
        "opens_time": "09:00",
        "deadline_time": "23:59",
        "project_days": "7",
        "gap_days": "0",
        "first_deadline_days": "6",
        "second_deadline_days": "13",
        "first_multiplier": "1.00",
        "second_multiplier": "0.65",
        "late_multiplier": "0.50",
        # Hostile: another cohort, its release and the open one to overwrite, dates to set.
        "cohort": elsewhere.cohort_id,
        "id": elsewhere.pk,
        "pk": release.pk,
        "release": release.pk,
        "project": release.project_id,
        "opens_at": FAR_PAST,
        "first_deadline": FAR_PAST,
    }
    url = reverse("admin:core_cohort_changelist")
    preview = staff_client.post(url, data)
    assert preview.status_code == 200
    data |= {"previewed": preview.context["previewed"], "confirm": "Release"}
    with db_changes() as changes:
        response = staff_client.post(url, data)
    assert response.status_code == 302
    changes.assert_only(created={"core.ProjectRelease": 1})  # the open release is kept
    created = changes.new(ProjectRelease)
    assert (created["cohort_id"], created["project_id"]) == (cohort.pk, iterators.pk)


def test_the_shift_action_moves_only_the_selected_cohort(
    staff_client: Client, cohort: Cohort, release: ProjectRelease, elsewhere: ProjectRelease
) -> None:
    data = {
        "action": "shift_deadlines_action",
        "_selected_action": [cohort.pk],
        "apply": "1",
        "days": "7",
        # Hostile: another cohort and its release, and dates to set outright.
        "cohort": elsewhere.cohort_id,
        "release": elsewhere.pk,
        "id": elsewhere.pk,
        "opens_at": FAR_PAST,
        "first_deadline": FAR_PAST,
        "second_deadline": FAR_PAST,
    }
    with db_changes() as changes:
        response = staff_client.post(reverse("admin:core_cohort_changelist"), data)
    assert response.status_code == 302
    changes.assert_only(updated={key(release): {"first_deadline", "second_deadline"}})
    moved = ProjectRelease.objects.get(pk=release.pk)
    assert moved.first_deadline == release.first_deadline + timedelta(days=7)


def test_an_extension_added_in_the_admin_is_granted_by_the_poster(
    staff_client: Client, staff: User, mentor: User, learner: User, release: ProjectRelease
) -> None:
    cohort = release.cohort
    data = {
        "release": release.pk,
        "learner": learner.pk,
        **admin_datetime("first_deadline", release.first_deadline + timedelta(days=3), cohort),
        **admin_datetime("second_deadline", release.second_deadline + timedelta(days=3), cohort),
        "reason": "Illness, with a note",
        "granted_by": mentor.pk,
        "created_at": FAR_PAST,
        "_save": "Save",
    }
    with db_changes() as changes:
        response = staff_client.post(reverse("admin:core_extension_add"), data)
    assert response.status_code == 302
    changes.assert_only(created={"core.Extension": 1})
    extension = changes.new(Extension)
    assert (extension["learner_id"], extension["granted_by_id"]) == (learner.pk, staff.pk)
    assert just_now(extension["created_at"])


def test_resolving_a_report_in_the_admin_keeps_who_reported_what(
    staff_client: Client,
    learner: User,
    outsider: User,
    bobs_review: Review,
    unrelated_review: Review,
) -> None:
    report = ReviewReport.objects.create(
        review=bobs_review, reporter=learner, reason="Insulting tone."
    )
    # Only the resolution is editable; the reporter, reason and dates are read-only.
    data = review_hostiles(unrelated_review, outsider) | {
        "resolution": "Spoke to the reviewer.",
        "reason": "Forged reason",
        "_save": "Save",
    }
    with db_changes() as changes:
        response = staff_client.post(
            reverse("admin:core_reviewreport_change", args=[report.pk]), data
        )
    assert response.status_code == 302
    changes.assert_only(updated={key(report): {"resolution", "resolved_at"}})
    report.refresh_from_db()
    assert (report.reporter, report.review, report.reason) == (
        learner,
        bobs_review,
        "Insulting tone.",
    )
    assert just_now(report.resolved_at)


def test_a_check_request_is_the_posters_own_whatever_it_names(
    learner_client: Client,
    learner: User,
    project: Project,
    release: ProjectRelease,
    bob_iteration: Iteration,
    elsewhere: ProjectRelease,
) -> None:
    suite = CheckSuiteFactory(task=project.tasks.get(number=0))
    CheckFileFactory(suite=suite)
    data = {
        "source": "repository",
        "repo_url": REPO,
        "commit_sha": SHA,
        # Hostile: someone else's iteration, another release, the run's bookkeeping.
        "learner": bob_iteration.attempt.learner_id,
        "user": bob_iteration.attempt.learner_id,
        "requested_by": bob_iteration.attempt.learner_id,
        "release": elsewhere.pk,
        "iteration": bob_iteration.pk,
        "trigger": "rerun",
        "status": "passed",
        "tries": "5",
        "stamp": "99",
        "worker": "evil:1",
        "error": "",
        "started_at": FAR_PAST,
        "finished_at": FAR_PAST,
        "suite_versions": "{}",
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = learner_client.post(f"/projects/{project.slug}/checks/", data)
    assert response.status_code == 302
    changes.assert_only(created={"core.CheckRun": 1})
    run = changes.new(CheckRun)
    assert (run["learner_id"], run["requested_by_id"]) == (learner.pk, learner.pk)
    assert (run["release_id"], run["iteration_id"]) == (release.pk, None)
    assert (run["trigger"], run["status"], run["tries"]) == ("learner", "queued", 0)
    assert (run["repo_url"], run["commit_sha"]) == (REPO, SHA)


# --- Staff overrides -----------------------------------------------------------------------------


def test_a_staff_verdict_is_on_the_attempt_of_the_url_set_by_the_poster(
    staff_client: Client,
    staff: User,
    mentor: User,
    bob: User,
    project: Project,
    alice_iteration: Iteration,
    bob_iteration: Iteration,
) -> None:
    """Staff pass task 1 of alice's attempt: the override is alice's, by staff, standing."""
    review = ReviewFactory(iteration=alice_iteration, reviewer=mentor, decision="changes_requested")
    tasks = list(project.tasks.order_by("number"))
    for task in tasks:
        VerdictFactory(review=review, task=task, passed=task.number == 0)
    attempt = alice_iteration.attempt
    attempt_recompute_score(attempt=attempt)
    data = {
        "action": "verdict",
        "verdict-task": tasks[1].pk,
        "verdict-passed": "pass",
        "verdict-reason": "The checker was wrong.",
        # Hostile: another attempt, another author, the override's bookkeeping.
        "attempt": bob_iteration.attempt_id,
        "verdict-attempt": bob_iteration.attempt_id,
        "created_by": bob.pk,
        "verdict-created_by": bob.pk,
        "created_at": FAR_PAST,
        "cleared_at": FAR_PAST,
        "cleared_by": bob.pk,
        "kind": "score",
        "verdict-score": "200",
        "id": "1",
        **PRIVILEGES,
    }
    with db_changes() as changes:
        response = staff_client.post(f"/attempts/{attempt.pk}/adjust/", data)
    assert response.status_code == 302
    changes.assert_only(created={"core.ScoreOverride": 1}, updated={key(attempt): {"score"}})
    override = changes.new(ScoreOverride)
    assert (override["attempt_id"], override["created_by_id"]) == (attempt.pk, staff.pk)
    assert (override["kind"], override["task_id"], override["passed"]) == (
        "verdict",
        tasks[1].pk,
        True,
    )
    assert (override["score"], override["cleared_at"], override["cleared_by_id"]) == (
        None,
        None,
        None,
    )
    assert just_now(override["created_at"])


# --- Every form is covered ---------------------------------------------------------------------

# Each URL of core/urls.py that takes a POST, with the test above that posts to it.


# --- Disputes ------------------------------------------------------------------------------


@pytest.fixture
def failed_verdicts(alice_iteration: Iteration, mentor: User) -> list[Verdict]:
    """Mia decided Alice's iteration, failing tasks 1 and 2."""
    review = decide(alice_iteration, mentor)
    return list(review.verdicts.filter(passed=False).order_by("task__number"))


def dispute_hostiles(other: Iteration, someone: User) -> dict[str, object]:
    return {
        "attempt": other.attempt_id,
        "learner": someone.pk,
        "assigned_to": someone.pk,
        "verdict_author": someone.pk,
        "claimed_by": someone.pk,
        "resolved_by": someone.pk,
        "status": "overturned",
        "was_passed": "true",
        "created_at": FAR_PAST,
        "resolved_at": FAR_PAST,
        "claim_expires_at": FAR_FUTURE,
        "score": "200",
        **PRIVILEGES,
    }


def test_a_dispute_is_the_posters_on_their_attempt_and_routed_by_the_server(
    learner_client: Client,
    learner: User,
    mentor: User,
    mo: User,
    bob: User,
    bob_iteration: Iteration,
    failed_verdicts: list[Verdict],
) -> None:
    verdict = failed_verdicts[0]
    attempt = verdict.review.iteration.attempt
    with db_changes() as changes:
        response = learner_client.post(
            f"/attempts/{attempt.pk}/dispute/",
            # The hostile fields first: PRIVILEGES names a "verdict" and an "outcome" too.
            {
                **dispute_hostiles(bob_iteration, bob),
                "verdict": verdict.pk,
                "reason": "It is lazy.",
            },
        )
    assert response.status_code == 302
    changes.assert_only(created={"core.Dispute": 1})
    dispute = changes.new(Dispute)
    assert (dispute["attempt_id"], dispute["learner_id"]) == (attempt.pk, learner.pk)
    assert (dispute["verdict_id"], dispute["verdict_author_id"]) == (verdict.pk, mentor.pk)
    assert dispute["assigned_to_id"] == mo.pk
    assert (dispute["status"], dispute["was_passed"]) == ("open", False)
    assert dispute["claimed_by_id"] is None and dispute["resolved_by_id"] is None
    assert just_now(dispute["created_at"])


def test_a_dispute_claim_is_the_posters_for_the_usual_minutes(
    learner: User, mo: User, bob: User, bob_iteration: Iteration, failed_verdicts: list[Verdict]
) -> None:
    dispute = dispute_open(learner=learner, verdict=failed_verdicts[0], reason="It is lazy.")
    client = client_for(mo)
    with db_changes() as changes:
        response = client.post(
            f"/disputes/{dispute.pk}/claim/", dispute_hostiles(bob_iteration, bob)
        )
    assert response.status_code == 302
    changes.assert_only(
        updated={key(dispute): {"claimed_by_id", "claim_expires_at"}},
    )
    dispute.refresh_from_db()
    assert dispute.claimed_by == mo
    assert dispute.claim_expires_at is not None and just_now(
        dispute.claim_expires_at - timedelta(minutes=settings.CLAIM_MINUTES)
    )


def test_a_dispute_outcome_is_the_posters_and_the_score_the_servers(
    learner: User, mo: User, bob: User, bob_iteration: Iteration, failed_verdicts: list[Verdict]
) -> None:
    verdict = failed_verdicts[0]
    dispute = dispute_open(learner=learner, verdict=verdict, reason="It is lazy.")
    dispute_claim(dispute=dispute, user=mo)
    attempt = Attempt.objects.get(pk=dispute.attempt_id)
    assert attempt.score == Decimal("50.00")
    client = client_for(mo)
    with db_changes() as changes:
        response = client.post(
            f"/disputes/{dispute.pk}/resolve/",
            {
                **dispute_hostiles(bob_iteration, bob),
                "outcome": "overturned",
                "comment": "Right, it is lazy.",
            },
        )
    assert response.status_code == 302
    changes.assert_only(
        updated={
            key(dispute): {
                "status",
                "outcome_comment",
                "resolved_by_id",
                "resolved_at",
                "claim_expires_at",
            },
            key(verdict): {"passed"},
            key(attempt): {"score"},
        },
    )
    dispute.refresh_from_db()
    attempt.refresh_from_db()
    assert (dispute.status, dispute.resolved_by) == ("overturned", mo)
    assert just_now(dispute.resolved_at)
    assert attempt.score == Decimal("100.00")  # tasks 0 and 1 pass: M = 100%, A = 0%


# --- Joining a cohort with a code ------------------------------------------------------------


def hostile_join_fields(bob: User, elsewhere: ProjectRelease) -> dict[str, object]:
    """Who joins, where, as what, and the code's own bookkeeping: none of it is a field."""
    return {
        **PRIVILEGES,
        "user": bob.pk,
        "cohort": elsewhere.cohort_id,
        "uses": "0",
        "max_uses": "999",
        "expires_at": FAR_FUTURE,
        "revoked_at": "",
        "created_at": FAR_PAST,
    }


def test_a_join_code_makes_the_poster_a_learner_of_the_codes_cohort(
    outsider_client: Client,
    outsider: User,
    bob: User,
    cohort: Cohort,
    elsewhere: ProjectRelease,
    via: dict[str, str],
) -> None:
    new = join_code_create(cohort=cohort, max_uses=3)
    data = {"code": new.code, **hostile_join_fields(bob, elsewhere)}
    with db_changes() as changes:
        response = outsider_client.post(reverse("join"), data, **via)
    assert response.status_code == status_for(via)
    changes.assert_only(created={"core.Membership": 1}, updated={key(new.join_code): {"uses"}})
    membership = changes.new(Membership)
    assert (membership["user_id"], membership["cohort_id"], membership["role"]) == (
        outsider.pk,
        cohort.pk,
        "learner",
    )
    new.join_code.refresh_from_db()
    assert (new.join_code.uses, new.join_code.max_uses) == (1, 3)


def test_a_join_link_makes_the_poster_a_learner_of_its_cohort(
    outsider_client: Client,
    outsider: User,
    bob: User,
    cohort: Cohort,
    elsewhere: ProjectRelease,
) -> None:
    new = join_code_create(cohort=cohort, max_uses=3)
    data = {"code": "another-code", **hostile_join_fields(bob, elsewhere)}
    with db_changes() as changes:
        response = outsider_client.post(reverse("join_link", args=[new.code]), data)
    assert response.status_code == 302
    changes.assert_only(created={"core.Membership": 1}, updated={key(new.join_code): {"uses"}})
    membership = changes.new(Membership)
    assert (membership["user_id"], membership["cohort_id"], membership["role"]) == (
        outsider.pk,
        cohort.pk,
        "learner",
    )


def test_a_join_code_added_in_the_admin_gets_its_secret_from_the_server(
    staff_client: Client, staff: User, mentor: User, cohort: Cohort
) -> None:
    data = {
        "cohort": cohort.pk,
        **admin_datetime("expires_at", timezone.now() + timedelta(days=3), cohort),
        "max_uses": "20",
        "digest": "0" * 64,
        "hint": "AAAAA",
        "uses": "19",
        "created_by": mentor.pk,
        "created_at": FAR_PAST,
        "revoked_at": FAR_PAST,
        "_save": "Save",
    }
    with db_changes() as changes:
        response = staff_client.post(reverse("admin:core_joincode_add"), data)
    assert response.status_code == 302
    changes.assert_only(created={"core.JoinCode": 1})
    row = changes.new(JoinCode)
    assert row["digest"] != "0" * 64 and row["hint"] != "AAAAA"
    assert (row["uses"], row["max_uses"], row["created_by_id"]) == (0, 20, staff.pk)
    assert row["revoked_at"] is None and just_now(row["created_at"])


FORMS = {
    "project_submit": test_a_submission_is_the_posters_next_iteration_whatever_it_names,
    "project_submit_validate": test_the_live_field_check_writes_nothing,
    "markdown_preview": test_the_markdown_preview_writes_nothing,
    "account_settings": test_the_settings_form_changes_only_the_display_name,
    "calendar_reset": test_a_calendar_reset_picks_its_own_token_for_the_poster_only,
    "notification_settings": test_email_preferences_are_saved_for_the_poster_only,
    "notification_read": test_marking_a_notification_read_touches_only_that_one,
    "notifications_read_all": test_marking_all_read_touches_only_the_posters_notifications,
    "attempt_comments": test_a_comment_is_the_posters_on_the_attempt_of_the_url,
    "review_claim": test_a_claim_is_the_posters_on_the_iteration_of_the_url,
    "review_extend": test_extending_a_claim_gives_the_posters_claim_the_usual_minutes,
    "review_release": test_releasing_a_claim_releases_only_the_posters,
    "review_claim_next": test_claim_next_takes_the_oldest_iteration_not_the_posted_one,
    "review_detail": test_a_mentor_review_is_the_posters_and_the_score_is_computed,
    "review_draft": test_an_autosaved_draft_is_the_posters_and_decides_nothing,
    "peer_next": test_peer_next_assigns_the_oldest_iteration_to_the_poster,
    "peer_review": test_a_peer_review_is_the_posters_and_decides_nothing_alone,
    "review_rate": test_a_rating_is_the_posters_on_the_review_of_the_url,
    "review_report": test_a_report_is_the_posters_open_report_on_the_review_of_the_url,
    "staff_export_start": test_an_export_is_of_the_cohort_of_the_url_requested_by_the_poster,
    "cohort_enrol": test_an_enrolment_preview_writes_nothing,
    "cohort_enrol_apply": test_an_enrolment_applies_the_signed_rows_to_the_cohort_of_the_url,
    "invitation_accept": test_an_invitation_sets_only_the_invited_persons_password,
    "project_checks": test_a_check_request_is_the_posters_own_whatever_it_names,
    "attempt_adjust": test_a_staff_verdict_is_on_the_attempt_of_the_url_set_by_the_poster,
    "dispute_new": test_a_dispute_is_the_posters_on_their_attempt_and_routed_by_the_server,
    "dispute_claim": test_a_dispute_claim_is_the_posters_for_the_usual_minutes,
    "dispute_resolve": test_a_dispute_outcome_is_the_posters_and_the_score_the_servers,
    "join": test_a_join_code_makes_the_poster_a_learner_of_the_codes_cohort,
    "join_link": test_a_join_link_makes_the_poster_a_learner_of_its_cohort,
}
# The rest only read (GET/HEAD; their POST is refused with 405, see the authorization matrix).
READ_ONLY = {
    "landing",
    "home",
    "curriculum",
    "project_detail",
    "calendar_feed",
    "cohort_schedule",
    "cohort_progress",
    "notifications",
    "notifications_bell",
    "review_queue",
    "attachment_download",
    "attempt_detail",
    "attempt_whatif",
    "peer_dashboard",
    "healthz",
    "staff_sla",
    "staff_reviewers",
    "staff_cohort_health",
    "staff_cohorts",
    "staff_export_status",
    "staff_export_download",
    "check_run",
    "review_checks",
    "staff_checks",
    "dispute_detail",
}


def test_every_url_of_the_app_is_listed_as_a_form_or_read_only() -> None:
    from core.urls import urlpatterns

    names = {pattern.name for pattern in urlpatterns if isinstance(pattern, URLPattern)}
    assert set(FORMS) | READ_ONLY == names, "list a new view in FORMS (with its test) or READ_ONLY"
    assert not set(FORMS) & READ_ONLY

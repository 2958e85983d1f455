"""The audit log: which events are written, what they hold, and what they never hold."""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.core import mail
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django.fixtures import Settings

from core.cohorts.services import shift_cohort_deadlines
from core.models import (
    Attempt,
    AuditEvent,
    Cohort,
    Comment,
    Membership,
    ProjectRelease,
    User,
)
from core.platform.audit import audit, login_label, scrub
from core.platform.logging import JsonFormatter, RequestContextFilter
from tests.factories import (
    PASSWORD,
    AttemptFactory,
    ExtensionFactory,
    IterationFactory,
    MembershipFactory,
    StaffFactory,
)

LOGIN = "/accounts/login/"
Action = AuditEvent.Action


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- The service -----------------------------------------------------------------------


def test_it_scrubs_secret_keys_and_shortens_values() -> None:
    detail = scrub(
        {
            "password": "hunter2",
            "new_password1": "hunter3",
            "csrfmiddlewaretoken": "abc",
            "session_key": "s",
            "reset_key": "k",
            "api_secret": "x",
            "note": "n" * 500,
            "nested": {"Token": "t", "ok": [1, 2, {"sessionid": "s"}]},
            "many": list(range(100)),
        }
    )
    for key in ("password", "new_password1", "csrfmiddlewaretoken", "session_key", "reset_key"):
        assert detail[key] == "[redacted]"
    assert detail["api_secret"] == "[redacted]"
    assert len(detail["note"]) == 200 and detail["note"].endswith("…")
    assert detail["nested"]["Token"] == "[redacted]"
    assert detail["nested"]["ok"][:2] == [1, 2]
    assert detail["nested"]["ok"][2] == "…"  # deeper than three levels is cut
    assert len(detail["many"]) == 20
    assert "hunter" not in json.dumps(detail)


def test_it_records_actor_ip_and_request_id_from_the_request(learner: User) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    request.user = learner
    request.request_id = "req-12345678"
    event = audit(request=request, action="score_override", obj=learner, detail={"to": 55})
    event.refresh_from_db()
    assert event.actor == learner
    assert event.ip == "203.0.113.9"
    assert event.request_id == "req-12345678"
    assert (event.object_type, event.object_id) == ("core.user", str(learner.pk))
    assert event.object_repr == str(learner)
    assert event.detail == {"to": 55}
    assert event.created_at.utcoffset() == timedelta(0)


def test_it_refuses_an_unknown_action(db: None) -> None:
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit(action="made_up")


def test_it_keeps_only_email_addresses_of_failed_sign_ins() -> None:
    assert login_label("alice@example.com") == "alice@example.com"
    # Someone typed their password into the email field: it is not kept.
    assert login_label("correct horse battery") == "(not an email address)"
    assert login_label("hunter2") == "(not an email address)"
    assert login_label(None) == "(not an email address)"


# --- Accounts ----------------------------------------------------------------------------


def test_it_records_a_sign_in_with_the_request_id(client: Client, learner: User) -> None:
    response = client.post(LOGIN, {"login": learner.email, "password": PASSWORD})
    assert response.status_code == 302
    (event,) = events(Action.SIGN_IN)
    assert event.actor == learner
    assert event.ip == "127.0.0.1"
    assert event.request_id == response["X-Request-ID"]
    assert event.object_id == str(learner.pk)


def test_it_records_a_failed_sign_in_without_the_password(client: Client, learner: User) -> None:
    response = client.post(LOGIN, {"login": learner.email, "password": "not-the-password"})
    assert response.status_code == 200
    (event,) = events(Action.SIGN_IN_FAILED)
    assert event.actor is None
    assert event.detail == {"login": learner.email}
    assert event.object_id == str(learner.pk)  # whose account was tried
    assert "not-the-password" not in json.dumps(model_to_dict(event), default=str)


def test_it_records_a_failed_sign_in_for_an_unknown_address(client: Client, db: None) -> None:
    client.post(LOGIN, {"login": "nobody@example.com", "password": "whatever-1"})
    (event,) = events(Action.SIGN_IN_FAILED)
    assert event.detail == {"login": "nobody@example.com"}
    assert event.object_id == ""


def test_it_records_a_lockout_once_a_minute(
    client: Client, learner: User, settings: Settings
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "2/5m/key"}
    for _ in range(5):
        client.post(LOGIN, {"login": learner.email, "password": "wrong-password"})
    assert len(events(Action.SIGN_IN_FAILED)) == 2
    (lockout,) = events(Action.LOCKOUT)
    assert lockout.detail == {"login": learner.email}


def test_it_records_allauths_429_on_sign_in_as_a_lockout(
    client: Client, db: None, settings: Settings
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "1/m/ip"}
    client.post(LOGIN, {"login": "a@example.com", "password": "wrong-password"})
    for _ in range(3):
        response = client.post(LOGIN, {"login": "a@example.com", "password": "wrong-password"})
    assert response.status_code == 429
    assert "Slow down a little" in response.content.decode()  # our page, in the layout
    (lockout,) = events(Action.LOCKOUT)
    assert lockout.detail == {"view": "account_login", "method": "POST", "by": "allauth"}


def test_it_records_a_sign_out(learner_client: Client, learner: User) -> None:
    learner_client.post("/accounts/logout/")
    (event,) = events(Action.SIGN_OUT)
    assert event.actor == learner


def test_it_records_a_password_change(learner_client: Client, learner: User) -> None:
    response = learner_client.post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "a-new-long-passphrase",
            "password2": "a-new-long-passphrase",
        },
    )
    assert response.status_code == 302
    (event,) = events(Action.PASSWORD_CHANGED)
    assert event.actor == learner
    assert "a-new-long-passphrase" not in json.dumps(model_to_dict(event), default=str)


def test_it_records_email_addresses_added_and_removed(
    learner_client: Client, learner: User
) -> None:
    learner_client.post("/accounts/email/", {"action_add": "", "email": "alice2@example.com"})
    (added,) = events(Action.EMAIL_ADDED)
    assert added.actor == learner
    assert added.detail == {"email": "alice2@example.com"}
    learner_client.post("/accounts/email/", {"action_remove": "", "email": "alice2@example.com"})
    (removed,) = events(Action.EMAIL_REMOVED)
    assert removed.detail == {"email": "alice2@example.com"}


# --- Authorization denials ---------------------------------------------------------------


@pytest.fixture
def attempt(learner: User, release: ProjectRelease) -> Attempt:
    attempt = AttemptFactory(learner=learner, release=release)
    IterationFactory(attempt=attempt, number=1)
    return attempt


def test_it_records_a_404_on_an_object_url(
    outsider_client: Client, outsider: User, attempt: Attempt
) -> None:
    response = outsider_client.get(f"/attempts/{attempt.pk}/")
    assert response.status_code == 404
    (event,) = events(Action.AUTHZ_DENIED)
    assert event.actor == outsider
    assert event.request_id == response["X-Request-ID"]
    assert event.detail == {
        "status": 404,
        "view": "attempt_detail",
        "route": "attempts/<int:pk>/",
        "kwargs": {"pk": str(attempt.pk)},
        "method": "GET",
    }


def test_it_records_denied_posts_too(outsider_client: Client, attempt: Attempt) -> None:
    outsider_client.post(f"/attempts/{attempt.pk}/comments/", {"body": "hi"})
    (event,) = events(Action.AUTHZ_DENIED)
    assert event.detail["method"] == "POST"
    assert not Comment.objects.exists()


def test_it_never_stores_a_url_token(outsider_client: Client) -> None:
    token = "Zm9vYmFyYmF6cXV4LXNlY3JldC10b2tlbg"
    assert outsider_client.get(f"/calendar/{token}.ics").status_code == 404
    (event,) = events(Action.AUTHZ_DENIED)
    assert event.detail["kwargs"] == {"token": "[redacted]"}
    assert token not in json.dumps(model_to_dict(event), default=str)


def test_it_does_not_record_anonymous_visitors_or_unknown_urls(
    client: Client, outsider_client: Client, attempt: Attempt
) -> None:
    assert client.get(f"/attempts/{attempt.pk}/").status_code == 302  # sent to sign in
    assert outsider_client.get("/no-such-page/").status_code == 404  # names no object
    assert outsider_client.get("/dashboard/").status_code == 200
    assert not events(Action.AUTHZ_DENIED)


# --- Roles, memberships, deadlines, admin ------------------------------------------------


def test_it_records_membership_changes(cohort: Cohort, outsider: User) -> None:
    membership = MembershipFactory(user=outsider, cohort=cohort, role="learner")
    membership.role = Membership.Role.MENTOR
    membership.save()
    membership_id = membership.pk
    membership.delete()

    added, removed = events(Action.MEMBERSHIP_CHANGED)
    assert added.detail["change"] == "added" and added.detail["role"] == "learner"
    assert added.object_id == str(membership_id)
    (role,) = events(Action.ROLE_CHANGED)
    assert role.detail["changes"] == {"role": ["learner", "mentor"]}
    assert removed.detail == {
        "change": "removed",
        "user_id": outsider.pk,
        "cohort_id": cohort.pk,
        "role": "mentor",
    }
    assert removed.object_id == str(membership_id)


def test_it_does_not_record_saves_that_change_nothing(learner: User) -> None:
    membership = learner.memberships.get()
    before = AuditEvent.objects.count()
    membership.save()
    learner.display_name = "Alice L."
    learner.save()
    learner.save(update_fields=["last_login"])
    assert AuditEvent.objects.count() == before


def test_it_records_staff_grants_and_deactivation(outsider: User) -> None:
    outsider.is_staff = True
    outsider.save()
    outsider.is_active = False
    outsider.save()
    outsider.groups.add(Group.objects.create(name="Program staff"))

    grant, groups = events(Action.ROLE_CHANGED)
    assert grant.detail == {"is_staff": [False, True]}
    assert grant.object_id == str(outsider.pk)
    assert list(groups.detail) == ["groups"]
    (deactivated,) = events(Action.ACCOUNT_DEACTIVATED)
    assert deactivated.detail == {"is_active": [True, False]}


def test_it_records_a_new_superuser(db: None) -> None:
    user = StaffFactory()
    (event,) = events(Action.ROLE_CHANGED)
    assert event.object_id == str(user.pk)
    assert event.detail == {"is_staff": [None, True], "is_superuser": [None, True]}


def test_it_records_a_release_whose_dates_moved(release: ProjectRelease) -> None:
    old = release.first_deadline
    release.first_deadline = old + timedelta(days=2)
    release.second_deadline += timedelta(days=2)
    release.save()
    (event,) = events(Action.DEADLINE_SHIFT)
    assert event.object_id == str(release.pk)
    assert event.detail["first_deadline"][0] == old.isoformat()
    assert set(event.detail) == {"first_deadline", "second_deadline"}


def test_it_records_a_cohort_wide_shift(release: ProjectRelease, cohort: Cohort) -> None:
    shift_cohort_deadlines(cohort=cohort, days=3)
    (event,) = events(Action.DEADLINE_SHIFT)
    assert (event.object_type, event.object_id) == ("core.cohort", str(cohort.pk))
    assert event.detail == {
        "days": 3,
        "only_open": False,
        "move_openings": False,
        "closed_open": [],
        "releases": [release.pk],
        "extensions": 0,
    }


def test_it_records_an_extension(release: ProjectRelease, learner: User, staff: User) -> None:
    extension = ExtensionFactory(release=release, learner=learner, granted_by=staff)
    (event,) = events(Action.EXTENSION_GRANTED)
    assert event.actor == staff
    assert event.object_id == str(extension.pk)
    assert event.detail["learner_id"] == learner.pk


def test_it_mirrors_admin_changes(staff_client: Client, staff: User) -> None:
    response = staff_client.post(reverse("admin:auth_group_add"), {"name": "Program staff"})
    assert response.status_code == 302
    group = Group.objects.get()
    (event,) = events(Action.ADMIN_CHANGE)
    assert event.actor == staff
    assert (event.object_type, event.object_id) == ("auth.group", str(group.pk))
    assert event.object_repr == "Program staff"
    assert event.detail == {"flag": "addition", "change": "Added."}


def test_it_mirrors_bulk_admin_actions(staff: User, learner: User, outsider: User) -> None:
    LogEntry.objects.log_actions(staff.pk, [learner, outsider], CHANGE, "Bulk action.")
    mirrored = events(Action.ADMIN_CHANGE)
    assert {event.object_id for event in mirrored} == {str(learner.pk), str(outsider.pk)}


# --- The admin ---------------------------------------------------------------------------


def test_the_admin_lists_filters_and_searches_events(
    staff_client: Client, learner: User, outsider: User
) -> None:
    audit(actor=learner, action="sign_in", obj=learner)
    audit(actor=outsider, action="authz_denied", detail={"status": 404})
    url = reverse("admin:core_auditevent_changelist")

    def rows(**params: str) -> str:
        body = staff_client.get(url, params).content.decode()
        return body.split('id="result_list"')[1].split("</table>")[0]

    denied = rows(action__exact="authz_denied")
    assert "charlie@example.com" in denied and "alice@example.com" not in denied
    alice = rows(q="alice@example.com")
    assert "Signed in" in alice and "Access denied" not in alice
    assert "Past 7 days" in staff_client.get(url).content.decode()  # the date filter


def test_the_admin_is_read_only(staff_client: Client, learner: User) -> None:
    event = audit(actor=learner, action="sign_in", detail={"method": "password"})
    change = reverse("admin:core_auditevent_change", args=[event.pk])
    page = staff_client.get(change)
    assert page.status_code == 200
    assert "&quot;method&quot;: &quot;password&quot;" in page.content.decode()
    assert 'type="submit"' not in page.content.decode().split('id="content-main"')[1]
    staff_client.post(change, {"action": "sign_out"})
    event.refresh_from_db()
    assert event.action == "sign_in"
    assert staff_client.get(reverse("admin:core_auditevent_add")).status_code == 403
    delete = reverse("admin:core_auditevent_delete", args=[event.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- A full journey leaves no secret behind ----------------------------------------------


def _cookie(client: Client, name: str) -> str | None:
    morsel = client.cookies.get(name)
    return morsel.value if morsel is not None else None


def test_a_full_journey_leaves_no_secret_in_events_or_logs(
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
    cohort: Cohort,
    release: ProjectRelease,
    mentor: User,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    caplog.set_level(logging.DEBUG)
    email = "dana@example.com"
    first, wrong, second, third = (
        "first-Passphrase-123",
        "wrong-Passphrase-456",
        "second-Passphrase-789",
        "third-Passphrase-012",
    )
    secrets: set[str] = {first, wrong, second, third}
    client = Client()

    def remember() -> None:
        for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
            value = _cookie(client, name)
            if value:
                secrets.add(value)

    # Sign up (signed in straight away in development) and out again.
    client.get("/accounts/signup/")
    remember()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {"email": email, "password1": first, "password2": first, "display_name": "Dana"},
        )
    assert response.status_code == 302
    (verification,) = mail.outbox
    confirm = re.search(r"/accounts/confirm-email/([^/\s]+)/", verification.body)
    assert confirm is not None
    secrets.add(confirm.group(1))
    remember()
    client.post("/accounts/logout/")

    # A wrong password, then the right one.
    client.post(LOGIN, {"login": email, "password": wrong})
    assert client.post(LOGIN, {"login": email, "password": first}).status_code == 302
    remember()

    # Change the password; then forget it and reset it from the emailed link.
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": first, "password1": second, "password2": second},
    )
    assert response.status_code == 302
    remember()
    client.post("/accounts/logout/")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the email is sent on commit
        client.post("/accounts/password/reset/", {"email": email})
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/accounts/password/reset/key/(\S+?)/", message.body)
    assert link is not None
    url_token = link.group(1)
    secrets.update({url_token, url_token.split("-", 1)[1]})
    response = client.get(f"/accounts/password/reset/key/{url_token}/")
    assert response.status_code == 302
    response = client.post(response["Location"], {"password1": third, "password2": third})
    assert response.status_code == 302, response.content.decode()
    assert client.post(LOGIN, {"login": email, "password": third}).status_code == 302
    remember()

    # Submit the project and comment on the attempt.
    user = User.objects.get(email=email)
    MembershipFactory(user=user, cohort=cohort, role="learner")
    tasks = [task.pk for task in release.project.tasks.order_by("number")[:2]]
    response = client.post(
        "/projects/python-generators/submit/",
        {
            "repo_url": "https://github.com/dana/prodev-backend-python",
            "commit_sha": "0123456789abcdef0123456789abcdef01234567",
            "tasks": tasks,
            "notes": "Done.",
            "submit_token": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 302, response.content.decode()
    attempt = Attempt.objects.get(learner=user)
    assert client.post(f"/attempts/{attempt.pk}/comments/", {"body": "Ready!"}).status_code == 302
    remember()

    # The journey was recorded...
    recorded = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "sign_up",
        "sign_in",
        "sign_in_failed",
        "sign_out",
        "password_changed",
        "password_reset",
        "membership_changed",
    } <= recorded
    # ...and nothing recorded or logged holds a secret.
    formatter = JsonFormatter()
    context = RequestContextFilter()
    haystacks: list[str] = []
    for event in AuditEvent.objects.all():
        haystacks.append(json.dumps(model_to_dict(event), default=str))
    for record in caplog.records:
        context.filter(record)
        haystacks.append(formatter.format(record))
    haystacks.append(caplog.text)
    assert len(secrets) >= 8  # passwords, cookies, the reset link's token and key
    for haystack in haystacks:
        for secret in secrets:
            assert secret not in haystack, f"{secret!r} leaked into {haystack[:200]!r}"

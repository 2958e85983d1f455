"""Invitations: the one-time link a person enrolled by CSV uses to choose their password."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture
from pytest_django.fixtures import Settings

from core.accounts.invitations import invitation_path, invitation_tokens, invited_user
from core.models import AuditEvent, User
from tests.conftest import client_for
from tests.factories import CohortFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "a-long-and-new-passphrase"


@pytest.fixture
def invited(db: None) -> User:
    """Someone staff enrolled: an account with no usable password and no verified email."""
    return User.objects.create(
        email="ada@example.com", display_name="Ada Lovelace", password=make_password(None)
    )


def split(path: str) -> tuple[str, str]:
    uid, token = path.rstrip("/").split("/")[-2:]
    return uid, token


def test_the_link_works_until_it_expires(invited: User, settings: Settings) -> None:
    settings.INVITATION_EXPIRY_DAYS = 7
    with time_machine.travel(NOW, tick=False):
        path = invitation_path(invited)
    with time_machine.travel(NOW + timedelta(days=7) - timedelta(minutes=1), tick=False):
        assert invited_user(*split(path)) == invited
    with time_machine.travel(NOW + timedelta(days=7, minutes=1), tick=False):
        assert invited_user(*split(path)) is None


def test_a_password_reset_token_is_no_invitation(invited: User) -> None:
    from django.contrib.auth.tokens import default_token_generator

    uid, _ = split(invitation_path(invited))
    assert invited_user(uid, default_token_generator.make_token(invited)) is None
    assert not default_token_generator.check_token(invited, invitation_tokens.make_token(invited))


def test_an_account_with_a_password_has_no_invitation(invited: User) -> None:
    path = invitation_path(invited)
    invited.set_password(NEW_PASSWORD)
    invited.save()
    assert invited_user(*split(path)) is None


@pytest.mark.parametrize(
    ("uid", "token"), [("MQ", "nope"), ("!!", "x-y"), ("OTk5OTk5OTk5OTk5OTk5OTk5OQ", "a-b")]
)
def test_garbage_links_find_nobody(invited: User, uid: str, token: str) -> None:
    assert invited_user(uid, token) is None


def test_the_invited_person_chooses_a_password_and_lands_on_their_dashboard(
    client: Client, invited: User
) -> None:
    path = invitation_path(invited)
    page = client.get(path)
    assert page.status_code == 200
    assert "Choose your password" in page.content.decode()
    assert "ada@example.com" in page.content.decode()
    assert page["X-Robots-Tag"] == "noindex, nofollow"

    response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200  # signed in

    invited.refresh_from_db()
    assert invited.check_password(NEW_PASSWORD)
    address = EmailAddress.objects.get(user=invited)
    assert (address.email, address.verified, address.primary) == ("ada@example.com", True, True)
    event = AuditEvent.objects.get(action="password_set")
    assert (event.actor, event.detail) == (invited, {"via": "invitation"})
    assert NEW_PASSWORD not in str(AuditEvent.objects.values_list("detail", flat=True))

    # The link works once.
    again = Client().get(path)
    assert again.status_code == 404
    assert "expired or was already used" in again.content.decode()


def test_a_weak_or_mismatched_password_is_refused_and_the_link_still_works(
    client: Client, invited: User
) -> None:
    path = invitation_path(invited)
    response = client.post(path, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": "other-one"})
    assert "didn’t match" in response.content.decode()
    invited.refresh_from_db()
    assert not invited.has_usable_password()
    assert client.get(path).status_code == 200


def test_an_expired_link_says_so_with_404(
    client: Client, invited: User, settings: Settings
) -> None:
    with time_machine.travel(NOW, tick=False):
        path = invitation_path(invited)
    with time_machine.travel(NOW + timedelta(days=settings.INVITATION_EXPIRY_DAYS + 1)):
        response = client.get(path)
        assert response.status_code == 404
        assert "expired or was already used" in response.content.decode()
        response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        assert response.status_code == 404
    invited.refresh_from_db()
    assert not invited.has_usable_password()


def test_someone_elses_link_does_not_sign_in_as_a_member_with_a_password(client: Client) -> None:
    member = UserFactory(email="lee@example.com")
    assert client.get(invitation_path(member)).status_code == 404


def test_wrong_methods_get_405(client: Client, invited: User) -> None:
    assert client.put(invitation_path(invited)).status_code == 405
    assert client.delete(invitation_path(invited)).status_code == 405


def test_csrf_is_required(invited: User) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        invitation_path(invited),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 403
    invited.refresh_from_db()
    assert not invited.has_usable_password()


def test_guessing_is_rate_limited(client: Client, invited: User, settings: Settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "invitations": 2}
    uid, _ = split(invitation_path(invited))
    bad = reverse("invitation_accept", args=[uid, "abc-def"])
    for _ in range(2):
        assert client.post(bad).status_code == 404
    assert client.post(bad).status_code == 429


def test_staff_send_the_invitation_again_to_whoever_has_no_password_yet(
    invited: User, staff: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """Lost, or past its days: staff select the memberships in the admin and send again.
    Only people without a password get one, each a fresh working link for their cohort."""
    cohort = CohortFactory(name="Cohort 9")
    pending = MembershipFactory(user=invited, cohort=cohort, role="learner")
    settled = MembershipFactory(user=UserFactory(email="bo@example.com"), cohort=cohort)
    client = client_for(staff)
    changelist = reverse("admin:core_membership_changelist")
    listing = client.get(changelist).content.decode()
    assert "column-password_chosen" in listing  # the column: who has not accepted yet

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            changelist,
            {"action": "resend_invitations", "_selected_action": [pending.pk, settled.pk]},
            follow=True,
        )

    body = response.content.decode()
    assert "Sent 1 invitation again. Skipped 1: a password already chosen, or deactivated." in body
    assert [message.to for message in mail.outbox] == [["ada@example.com"]]
    assert "Cohort 9" in mail.outbox[0].subject
    found = re.search(r"/invitations/[^/\s]+/[^/\s]+/", mail.outbox[0].body)
    assert found and invited_user(*split(found.group(0))) == invited
    assert AuditEvent.objects.filter(
        actor=staff, action="admin_change", detail__invitations_sent_again=[invited.pk]
    ).exists()


def test_sending_again_to_nobody_pending_says_so(
    staff: User, django_capture_on_commit_callbacks: Capture
) -> None:
    membership = MembershipFactory(user=UserFactory(email="bo@example.com"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(staff).post(
            reverse("admin:core_membership_changelist"),
            {"action": "resend_invitations", "_selected_action": [membership.pk]},
            follow=True,
        )
    assert "Sent 0 invitations again. Skipped 1" in response.content.decode()
    assert not mail.outbox

"""A newcomer follows a join link, signs up, confirms their address and signs in: they
land on the link again, not on an empty home page (``?next=`` does not survive the
email confirmation, so the link remembers itself in the browser's session)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.cohorts.join_codes import join_code_create
from core.models import Cohort, Membership, User
from tests.factories import PASSWORD, UserFactory

HOME = reverse("home")


@pytest.fixture
def link(cohort: Cohort, staff: User) -> str:
    code = join_code_create(cohort=cohort, max_uses=3, created_by=staff).code
    return reverse("join_link", args=[code])


def sign_in(client: Client, email: str) -> str:
    """Sign in through the form, no ``?next=``; where it sends the browser."""
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    return str(response["Location"])


@override_settings(ACCOUNT_EMAIL_VERIFICATION="mandatory")
def test_a_newcomer_comes_back_to_the_join_link_after_confirming_their_address(
    client: Client, link: str, cohort: Cohort, django_capture_on_commit_callbacks: Capture
) -> None:
    login = client.get(link)["Location"]
    signup = reverse("account_signup") + login[login.index("?") :]  # as the sign-in page links
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            signup,
            {"email": "newcomer@example.com", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert response["Location"] == reverse("account_email_verification_sent")
    found = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body)
    assert found
    response = client.post(found.group(1))
    assert response["Location"] == reverse("account_login")  # confirmed, not signed in

    assert sign_in(client, "newcomer@example.com") == link
    assert "Join Cohort 7" in client.get(link).content.decode()
    client.post(link)
    assert Membership.objects.filter(
        user__email="newcomer@example.com", cohort=cohort, role="learner"
    ).exists()
    # Used once: the next sign-in goes home as usual.
    client.post(reverse("account_logout"))
    assert sign_in(client, "newcomer@example.com") == HOME


def test_a_member_who_came_back_by_next_is_not_sent_to_the_link_again(
    client: Client, link: str
) -> None:
    UserFactory(email="dana@example.com")
    login = client.get(link)["Location"]
    response = client.post(login, {"login": "dana@example.com", "password": PASSWORD})
    assert response["Location"] == link  # by ?next=
    client.get(link)  # seen, signed in: nothing left to come back to
    client.post(reverse("account_logout"))
    assert sign_in(client, "dana@example.com") == HOME


def test_a_sign_in_without_a_join_link_goes_home(client: Client, db: None) -> None:
    UserFactory(email="erin@example.com")
    assert sign_in(client, "erin@example.com") == HOME

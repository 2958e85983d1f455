"""Email preferences: which notification kinds also arrive by email."""

from __future__ import annotations

import re

from django.test import Client

from core.models import EmailPreference, Notification, User
from core.notifications.services import EMAIL_BY_DEFAULT

URL = "/settings/notifications/"
KINDS = [kind.value for kind in Notification.Kind]


def checked(body: str) -> set[str]:
    """The kinds whose checkbox is checked in the rendered form."""
    return set(re.findall(r'name="email_(\w+)" id="id_email_\w+" checked', body))


def test_it_shows_a_switch_per_kind_with_the_defaults(learner_client: Client) -> None:
    response = learner_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Email me when…" in body
    for kind in KINDS:
        assert f'name="email_{kind}"' in body
    assert checked(body) == {kind.value for kind in EMAIL_BY_DEFAULT}
    assert "a deadline is less than 24 hours away" in body
    assert 'href="/settings/"' in body  # back to the other settings
    assert 'href="/notifications/"' in body
    assert "style=" not in body


def test_it_shows_saved_choices_over_the_defaults(learner_client: Client, learner: User) -> None:
    EmailPreference.objects.create(user=learner, kind="review_done", enabled=False)
    EmailPreference.objects.create(user=learner, kind="claim_taken", enabled=True)
    body = learner_client.get(URL).content.decode()
    expected = {kind.value for kind in EMAIL_BY_DEFAULT} - {"review_done"} | {"claim_taken"}
    assert checked(body) == expected


def test_it_saves_every_kind(learner_client: Client, learner: User) -> None:
    response = learner_client.post(
        URL, {"email_claim_taken": "on", "email_new_comment": "on"}, follow=True
    )
    assert response.redirect_chain == [(URL, 302)]
    assert "Your email preferences were saved." in response.content.decode()
    saved = dict(EmailPreference.objects.filter(user=learner).values_list("kind", "enabled"))
    assert saved == {kind: kind in {"claim_taken", "new_comment"} for kind in KINDS}
    assert checked(response.content.decode()) == {"claim_taken", "new_comment"}


def test_it_updates_rather_than_duplicates(learner_client: Client, learner: User) -> None:
    learner_client.post(URL, {"email_review_done": "on"})
    learner_client.post(URL, {"email_deadline_soon": "on"})
    assert EmailPreference.objects.filter(user=learner).count() == len(KINDS)
    assert set(
        EmailPreference.objects.filter(user=learner, enabled=True).values_list("kind", flat=True)
    ) == {"deadline_soon"}


def test_it_changes_only_the_signed_in_users_choices(
    learner_client: Client, outsider: User
) -> None:
    EmailPreference.objects.create(user=outsider, kind="review_done", enabled=True)
    learner_client.post(URL, {})
    assert EmailPreference.objects.get(user=outsider, kind="review_done").enabled is True
    assert EmailPreference.objects.filter(user=outsider).count() == 1


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"
    assert client.post(URL, {}).status_code == 302
    assert not EmailPreference.objects.exists()


def test_it_refuses_other_methods(learner_client: Client) -> None:
    assert learner_client.put(URL).status_code == 405
    assert learner_client.delete(URL).status_code == 405


def test_it_needs_a_csrf_token(learner: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    assert client.post(URL, {"email_review_done": "on"}).status_code == 403
    assert not EmailPreference.objects.exists()

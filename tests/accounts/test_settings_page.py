"""Account settings: the display name, and the private calendar link and its reset."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from core.models import User


def test_it_shows_the_profile_and_the_calendar_link(learner_client: Client, learner: User) -> None:
    response = learner_client.get("/settings/")
    assert response.status_code == 200
    body = response.content.decode()
    feed = f"{settings.SITE_URL.rstrip('/')}/calendar/{learner.calendar_token}.ics"
    assert f'value="{feed}"' in body
    assert "readonly" in body
    assert 'data-copy-target="calendar-url"' in body
    assert "webcal://" in body
    assert "https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2F" in body
    assert 'value="Alice Learner"' in body
    assert 'action="/settings/calendar/reset/"' in body
    assert 'href="/accounts/email/"' in body
    assert 'href="/accounts/password/change/"' in body
    assert "Your calendar is empty for now" not in body


def test_it_loads_the_copy_script_without_inline_code(learner_client: Client) -> None:
    body = learner_client.get("/settings/").content.decode()
    assert '<script src="/static/js/settings.js" defer></script>' in body
    assert "onclick" not in body
    assert "hx-on" not in body
    assert "style=" not in body


def test_it_says_when_the_calendar_will_be_empty(mentor_client: Client) -> None:
    body = mentor_client.get("/settings/").content.decode()
    assert "Your calendar is empty for now" in body


def test_it_links_settings_from_the_user_menu(learner_client: Client) -> None:
    body = learner_client.get("/dashboard/").content.decode()
    assert '<a class="dropdown-item" href="/settings/">Settings</a>' in body


def test_it_saves_the_display_name(learner_client: Client, learner: User) -> None:
    response = learner_client.post("/settings/", {"display_name": "  Alice A.  "}, follow=True)
    assert response.redirect_chain == [("/settings/", 302)]
    learner.refresh_from_db()
    assert learner.display_name == "Alice A."
    assert "Your name was saved." in response.content.decode()


def test_it_rejects_a_name_that_is_too_long(learner_client: Client, learner: User) -> None:
    response = learner_client.post("/settings/", {"display_name": "x" * 81})
    assert response.status_code == 200
    assert "at most 80 characters" in response.content.decode()
    learner.refresh_from_db()
    assert learner.display_name == "Alice Learner"


@pytest.mark.parametrize(
    "name", ["Alice\r\nBcc: all@example.com", "Alice\nLearner", "A\tB", "A\u2028B"]
)
def test_it_rejects_a_name_with_control_characters(
    learner_client: Client, learner: User, name: str
) -> None:
    # A name travels into email subjects, where a line break broke every email.
    response = learner_client.post("/settings/", {"display_name": name})
    assert response.status_code == 200
    assert "Your name can hold letters, spaces and punctuation" in response.content.decode()
    learner.refresh_from_db()
    assert learner.display_name == "Alice Learner"


def test_it_keeps_names_in_any_script(learner_client: Client, learner: User) -> None:
    name = "Zoë Ńguyễn-مرحبا 李 👩🏽‍💻"
    assert learner_client.post("/settings/", {"display_name": name}).status_code == 302
    learner.refresh_from_db()
    assert learner.display_name == name


def test_sign_up_rejects_a_name_with_control_characters(client: Client, db: None) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-new-passphrase",
            "password2": "a-long-new-passphrase",
            "display_name": "New\r\nPerson",
        },
    )
    assert response.status_code == 200
    assert "Your name can hold letters, spaces and punctuation" in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()


def test_the_admin_rejects_a_name_with_control_characters(
    staff_client: Client, learner: User
) -> None:
    url = f"/admin/core/user/{learner.pk}/change/"
    response = staff_client.post(
        url,
        {
            "email": learner.email,
            "display_name": "Alice\r\nLearner",
            "is_active": "on",
            "date_joined_0": "2030-01-01",
            "date_joined_1": "00:00:00",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Your name can hold letters, spaces and punctuation" in response.content.decode()
    learner.refresh_from_db()
    assert learner.display_name == "Alice Learner"


def test_it_resets_the_calendar_link(learner_client: Client, learner: User) -> None:
    old_token = learner.calendar_token
    response = learner_client.post("/settings/calendar/reset/", follow=True)
    assert response.redirect_chain == [("/settings/", 302)]
    learner.refresh_from_db()
    assert learner.calendar_token != old_token
    body = response.content.decode()
    assert "The old link stopped working" in body
    assert learner.calendar_token in body
    assert old_token not in body


def test_it_resets_only_by_post(learner_client: Client, learner: User) -> None:
    old_token = learner.calendar_token
    assert learner_client.get("/settings/calendar/reset/").status_code == 405
    learner.refresh_from_db()
    assert learner.calendar_token == old_token


def test_it_refuses_other_methods(learner_client: Client) -> None:
    assert learner_client.put("/settings/").status_code == 405
    assert learner_client.delete("/settings/").status_code == 405


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.get("/settings/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/settings/"
    response = client.post("/settings/calendar/reset/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_needs_a_csrf_token_to_reset(learner: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    old_token = learner.calendar_token
    assert client.post("/settings/calendar/reset/").status_code == 403
    learner.refresh_from_db()
    assert learner.calendar_token == old_token


def test_it_changes_only_the_signed_in_users_link(
    learner_client: Client, learner: User, outsider: User
) -> None:
    outsider_token = outsider.calendar_token
    learner_client.post("/settings/calendar/reset/")
    outsider.refresh_from_db()
    assert outsider.calendar_token == outsider_token

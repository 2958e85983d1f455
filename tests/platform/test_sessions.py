"""Sessions: rotated at sign-in, dead after sign-out, password change or deactivation,
and ended after an idle timeout and an absolute lifetime."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from pytest_django.fixtures import Settings

from core.models import AuditEvent, User
from core.platform.middleware import LAST_SEEN, SIGNED_IN_AT
from tests.factories import PASSWORD
from tests.support import manage

LOGIN = "/accounts/login/"
HOME = "/dashboard/"
NOW = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)


def signed_in(client: Client) -> bool:
    """Whether ``client``'s session cookie still authenticates (the home page needs it)."""
    return client.get(HOME).status_code == 200


def sign_in(user: User, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post(LOGIN, {"login": user.email, "password": password})
    assert response.status_code == 302
    return client


def session_key(client: Client) -> str:
    return client.cookies["sessionid"].value


def with_cookie(key: str) -> Client:
    """A fresh browser holding only a copy of session cookie ``key``."""
    client = Client()
    client.cookies["sessionid"] = key
    return client


# --- Rotation and invalidation -----------------------------------------------------------


def test_the_session_key_rotates_at_sign_in(client: Client, learner: User) -> None:
    session = client.session  # an anonymous session, as a visitor (or attacker) holds
    session["visited"] = True
    session.save()
    before = session.session_key
    client.cookies["sessionid"] = before
    client.post(LOGIN, {"login": learner.email, "password": PASSWORD})
    after = session_key(client)
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert not signed_in(with_cookie(before))  # a fixed (planted) key gains nothing
    assert signed_in(client)


def test_sign_out_deletes_the_session_on_the_server(learner: User) -> None:
    client = sign_in(learner)
    key = session_key(client)
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    assert not signed_in(with_cookie(key))  # a copied cookie is worthless now


def test_a_password_change_ends_the_other_sessions_but_not_this_one(learner: User) -> None:
    laptop, phone = sign_in(learner), sign_in(learner)
    response = phone.post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "brand-new-passphrase",
            "password2": "brand-new-passphrase",
        },
    )
    assert response.status_code == 302
    assert signed_in(phone)
    assert not signed_in(laptop)


def test_a_password_reset_ends_every_session(learner: User) -> None:
    laptop = sign_in(learner)
    learner.set_password("reset-by-email-passphrase")  # what the reset flow does
    learner.save()
    assert not signed_in(laptop)


def test_deactivation_refuses_an_existing_session(learner: User) -> None:
    client = sign_in(learner)
    assert signed_in(client)
    learner.is_active = False
    learner.save()
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


# --- Idle timeout and absolute lifetime --------------------------------------------------


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def limits(settings: Settings) -> Settings:
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    settings.SESSION_ABSOLUTE_HOURS = 8
    return settings


def test_sign_in_starts_both_clocks(limits: Settings, clock: object, learner: User) -> None:
    client = sign_in(learner)
    assert client.session[SIGNED_IN_AT] == int(NOW.timestamp())
    assert client.session[LAST_SEEN] == int(NOW.timestamp())


def test_activity_keeps_a_session_alive(
    limits: Settings, clock: time_machine.Coordinates, learner: User
) -> None:
    client = sign_in(learner)
    for _ in range(6):  # an hour and a half, a request every 15 minutes
        clock.shift(timedelta(minutes=15))
        assert signed_in(client)


def test_last_seen_is_written_at_most_once_a_minute(
    limits: Settings, clock: time_machine.Coordinates, learner: User
) -> None:
    client = sign_in(learner)
    clock.shift(timedelta(seconds=59))
    client.get(HOME)
    assert client.session[LAST_SEEN] == int(NOW.timestamp())
    clock.shift(timedelta(seconds=2))
    client.get(HOME)
    assert client.session[LAST_SEEN] == int(NOW.timestamp()) + 61


def test_background_polls_do_not_count_as_activity(
    limits: Settings, clock: time_machine.Coordinates, learner: User
) -> None:
    client = sign_in(learner)
    for _ in range(30):  # the notification bell polls; nobody is at the keyboard
        clock.shift(timedelta(minutes=1))
        client.get("/notifications/bell/", headers={"HX-Request": "true"})
    assert client.session[LAST_SEEN] == int(NOW.timestamp())
    clock.shift(timedelta(minutes=1))
    assert not signed_in(client)


def test_an_htmx_request_after_the_timeout_goes_to_sign_in(
    limits: Settings, clock: time_machine.Coordinates, learner: User
) -> None:
    client = sign_in(learner)
    clock.shift(timedelta(minutes=31))
    response = client.get(
        "/notifications/bell/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/curriculum/?c=1"},
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fcurriculum%2F%3Fc%3D1"
    assert "signed out after 30 minutes" in client.get(response["HX-Redirect"]).content.decode()


def test_an_idle_session_ends(
    limits: Settings, clock: time_machine.Coordinates, learner: User
) -> None:
    client = sign_in(learner)
    key = session_key(client)
    clock.shift(timedelta(minutes=31))
    response = client.get(HOME, follow=True)
    assert response.redirect_chain[-1][0].startswith(LOGIN)
    assert "signed out after 30 minutes without activity" in response.content.decode()
    assert not Session.objects.filter(session_key=key).exists()
    (event,) = AuditEvent.objects.filter(action="session_expired")
    assert event.actor == learner and event.detail == {"reason": "idle"}
    assert not AuditEvent.objects.filter(action="sign_out").exists()


def test_a_busy_session_still_ends_after_its_absolute_lifetime(
    limits: Settings, clock: time_machine.Coordinates, learner: User
) -> None:
    client = sign_in(learner)
    for _ in range(8 * 4):  # eight hours of requests, one every 15 minutes
        clock.shift(timedelta(minutes=15))
        assert signed_in(client)
    clock.shift(timedelta(minutes=1))
    response = client.get(HOME, follow=True)
    assert response.redirect_chain[-1][0].startswith(LOGIN)
    assert "sessions last at most 8 hours" in response.content.decode()
    (event,) = AuditEvent.objects.filter(action="session_expired")
    assert event.detail == {"reason": "absolute"}


def test_zero_turns_the_limits_off(
    settings: Settings, clock: time_machine.Coordinates, learner: User
) -> None:
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 0
    settings.SESSION_ABSOLUTE_HOURS = 0
    client = sign_in(learner)
    clock.shift(timedelta(days=10))
    assert signed_in(client)


def test_a_session_from_before_the_limits_starts_its_clocks_now(
    limits: Settings, clock: time_machine.Coordinates, learner: User
) -> None:
    client = sign_in(learner)
    session = client.session
    del session[SIGNED_IN_AT], session[LAST_SEEN]
    session.save()
    assert signed_in(client)
    assert client.session[SIGNED_IN_AT] == int(NOW.timestamp())


def test_the_limits_come_from_the_environment() -> None:
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_IDLE_TIMEOUT_MINUTES, s.SESSION_ABSOLUTE_HOURS, s.SESSION_COOKIE_AGE)"
    )
    env = {"SESSION_IDLE_TIMEOUT_MINUTES": "45", "SESSION_ABSOLUTE_HOURS": "12"}
    result = manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["45", "12", str(12 * 3600)]


@pytest.mark.parametrize("variable", ["SESSION_IDLE_TIMEOUT_MINUTES", "SESSION_ABSOLUTE_HOURS"])
def test_a_bad_limit_stops_the_site_naming_the_variable(variable: str) -> None:
    result = manage("check", env={variable: "soon"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and variable in result.stderr

"""Sign-in throttling: a classroom behind one address, lockouts that spare the owner,
429 answers, and counts that survive a cache outage (docs/security.md, "Sign-in")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from pytest_django.fixtures import Settings

from core.models import User
from core.platform import cache as versioned
from tests.factories import PASSWORD, UserFactory

LOGIN = "/accounts/login/"
WRONG = "not-the-password"
CLASSROOM = "203.0.113.40"  # one NAT address for a whole room
# Mid-minute, so a test never straddles two of allauth's per-minute windows.
NOW = datetime(2030, 5, 6, 9, 0, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


def sign_in(client: Client, email: str, password: str = PASSWORD, ip: str = CLASSROOM) -> int:
    response = client.post(LOGIN, {"login": email, "password": password}, REMOTE_ADDR=ip)
    return response.status_code


def test_a_classroom_behind_one_address_signs_in_at_nine(db: None) -> None:
    # allauth's default let 30 sign-ins a minute through from one address; a
    # bootcamp room of forty signs in within the same minute.
    learners = UserFactory.create_batch(40)
    statuses = [sign_in(Client(), learner.email) for learner in learners]
    assert statuses == [302] * len(learners)


def test_wrong_passwords_from_one_address_are_still_limited(db: None, settings: Settings) -> None:
    # The per-address failure limit stays: one address guessing many accounts stops.
    limit = settings.SIGN_IN_FAILURES_PER_IP_PER_MINUTE
    victims = UserFactory.create_batch(limit + 1)
    statuses = [sign_in(Client(), victim.email, WRONG) for victim in victims]
    assert statuses == [200] * limit + [429]


def test_a_paused_sign_in_answers_429_with_the_reason(learner: User, settings: Settings) -> None:
    client = Client()
    for _ in range(settings.SIGN_IN_FAILURES_PER_ACCOUNT):
        assert sign_in(client, learner.email, WRONG) == 200  # the form, "wrong password"
    # Paused for this browser, the right password included.
    response = client.post(LOGIN, {"login": learner.email, "password": PASSWORD})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many wrong passwords were tried for this account" in page
    assert 'href="/accounts/password/reset/"' in page
    # The oldest failure leaves the 5-minute window in 5 minutes.
    assert response["Retry-After"] == str(settings.SIGN_IN_FAILURE_WINDOW_MINUTES * 60)
    assert "Try again in 5 minutes." in page


def test_a_pause_from_one_address_says_so(db: None, settings: Settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "login_failed": "2/m/ip,5/5m/key",
    }
    for victim in UserFactory.create_batch(2):
        sign_in(Client(), victim.email, WRONG)
    response = Client().post(
        LOGIN, {"login": "someone@example.com", "password": WRONG}, REMOTE_ADDR=CLASSROOM
    )
    assert response.status_code == 429
    assert "Too many wrong passwords were tried from your network" in response.content.decode()
    assert response["Retry-After"] == "60"


# --- Known devices -------------------------------------------------------------------------


def known_device(user: User) -> Client:
    """A browser ``user`` signed in with (and then signed out of)."""
    client = Client()
    assert sign_in(client, user.email, ip="198.51.100.9") == 302
    client.post("/accounts/logout/")
    return client


def pause_account(user: User, settings: Settings) -> None:
    """Someone else's browser spends the account's budget of wrong passwords."""
    # An address of its own per account, valid whatever the primary key (PostgreSQL's
    # sequences outrun 255 in a long run, and "192.0.2.847" is refused as no address).
    pk = user.pk
    attacker, ip = Client(), f"10.{pk >> 16 & 255}.{pk >> 8 & 255}.{pk & 255}"
    for _ in range(settings.SIGN_IN_FAILURES_PER_ACCOUNT):
        sign_in(attacker, user.email, WRONG, ip=ip)
    assert sign_in(attacker, user.email, PASSWORD, ip=ip) == 429


def test_a_browser_that_signed_in_before_gets_in_while_the_account_is_paused(
    learner: User, settings: Settings
) -> None:
    owner = known_device(learner)
    pause_account(learner, settings)
    assert sign_in(Client(), learner.email) == 429  # a browser never used: still paused
    assert sign_in(owner, learner.email) == 302


def test_the_known_device_cookie_is_signed_long_lived_and_http_only(
    learner: User, settings: Settings
) -> None:
    client = Client()
    response = client.post(LOGIN, {"login": learner.email, "password": PASSWORD})
    cookie = response.cookies[settings.KNOWN_DEVICE_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == settings.KNOWN_DEVICE_DAYS * 24 * 3600
    assert learner.email not in cookie.value  # which accounts, as keyed digests only
    client.post("/accounts/logout/")
    pause_account(learner, settings)
    client.cookies[settings.KNOWN_DEVICE_COOKIE_NAME] = cookie.value[:-1] + "x"  # tampered
    assert sign_in(client, learner.email) == 429


def test_a_known_device_is_known_for_the_accounts_that_signed_in_there_only(
    learner: User, mentor: User, settings: Settings
) -> None:
    lab_computer = known_device(learner)
    assert sign_in(lab_computer, mentor.email) == 302  # a second account on the same browser
    lab_computer.post("/accounts/logout/")
    outsider = UserFactory()
    for user in (learner, mentor, outsider):
        pause_account(user, settings)
    assert sign_in(lab_computer, outsider.email) == 429
    assert sign_in(lab_computer, learner.email) == 302
    lab_computer.post("/accounts/logout/")
    assert sign_in(lab_computer, mentor.email) == 302


def test_a_known_devices_typos_do_not_pause_the_account_elsewhere(
    learner: User, settings: Settings
) -> None:
    owner = known_device(learner)
    for _ in range(settings.SIGN_IN_FAILURES_PER_ACCOUNT):
        assert sign_in(owner, learner.email, WRONG) == 200
    assert sign_in(Client(), learner.email, ip="198.51.100.10") == 302


def test_a_known_device_that_spent_its_budget_is_a_stranger_again(
    learner: User, settings: Settings
) -> None:
    # A stolen cookie buys one more budget of guesses, no more.
    owner = known_device(learner)
    budget = settings.SIGN_IN_FAILURES_PER_ACCOUNT
    statuses = [sign_in(owner, learner.email, WRONG) for _ in range(2 * budget + 1)]
    assert statuses == [200] * (2 * budget) + [429]
    assert sign_in(Client(), learner.email, ip="198.51.100.10") == 429


def test_a_known_device_signs_in_while_its_network_is_paused(
    learner: User, settings: Settings
) -> None:
    owner = known_device(learner)
    for victim in UserFactory.create_batch(settings.SIGN_IN_FAILURES_PER_IP_PER_MINUTE):
        sign_in(Client(), victim.email, WRONG)  # classmates' typos, behind the same address
    assert sign_in(Client(), learner.email) == 429
    assert sign_in(owner, learner.email) == 302


# --- While the cache is down ---------------------------------------------------------------

UNREACHABLE = {
    "default": {
        "BACKEND": "core.platform.cache_backend.ReusingRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture
def cache_down() -> Iterator[None]:
    """allauth counts in the cache: with Redis unreachable its counts are lost."""
    with override_settings(CACHES=UNREACHABLE):
        versioned.reset_backoff()
        yield
    versioned.reset_backoff()


def test_wrong_passwords_are_counted_in_the_database_while_the_cache_is_down(
    learner: User, settings: Settings, cache_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    client, budget = Client(), settings.SIGN_IN_FAILURES_PER_ACCOUNT
    statuses = [sign_in(client, learner.email, WRONG) for _ in range(budget + 3)]
    assert statuses == [200] * budget + [429] * 3  # eight wrong passwords all went through
    response = client.post(LOGIN, {"login": learner.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many wrong passwords were tried for this account" in response.content.decode()
    assert response["Retry-After"] == str(settings.SIGN_IN_FAILURE_WINDOW_MINUTES * 60)
    assert "allauth rate limit not counted: cache unavailable" in caplog.text


def test_the_address_limit_holds_while_the_cache_is_down(
    db: None, settings: Settings, cache_down: None
) -> None:
    limit = settings.SIGN_IN_FAILURES_PER_IP_PER_MINUTE
    victims = UserFactory.create_batch(limit + 1)
    statuses = [sign_in(Client(), victim.email, WRONG) for victim in victims]
    assert statuses == [200] * limit + [429]


def test_a_known_device_gets_in_while_the_cache_is_down(
    learner: User, settings: Settings, cache_down: None, _frozen_clock: time_machine.Coordinates
) -> None:
    owner = known_device(learner)
    for _ in range(settings.SIGN_IN_FAILURES_PER_ACCOUNT):
        sign_in(Client(), learner.email, WRONG, ip="192.0.2.66")
    assert sign_in(Client(), learner.email, ip="192.0.2.66") == 429
    assert sign_in(owner, learner.email) == 302
    # Its own wrong passwords are counted too: a budget, then a stranger's limits.
    owner.post("/accounts/logout/")
    budget = settings.SIGN_IN_FAILURES_PER_ACCOUNT
    statuses = [sign_in(owner, learner.email, WRONG) for _ in range(budget + 1)]
    assert statuses == [200] * budget + [429]


def test_a_pause_counted_in_the_database_ends_with_its_window(
    learner: User, settings: Settings, cache_down: None, _frozen_clock: time_machine.Coordinates
) -> None:
    client = Client()
    for _ in range(settings.SIGN_IN_FAILURES_PER_ACCOUNT):
        sign_in(client, learner.email, WRONG)
    assert sign_in(client, learner.email) == 429
    _frozen_clock.shift(timedelta(minutes=settings.SIGN_IN_FAILURE_WINDOW_MINUTES, seconds=1))
    assert sign_in(client, learner.email) == 302

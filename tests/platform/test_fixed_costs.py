"""What every signed-in page pays: the nav's roles, the Redis client, the session read.

Run it against Redis too (the cache backend's tests need it):
``REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/pytest tests/platform/test_fixed_costs.py``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import cache, caches
from django.db import connection
from django.templatetags.static import static
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, set_script_prefix
from pytest_django.fixtures import DjangoAssertNumQueries

from core.models import Cohort, Membership, User
from core.platform import cache as versioned
from core.platform.cache_backend import ReusingRedisCache
from core.platform.context_processors import LAYOUT_ASSETS, nav_memberships
from core.platform.sessions import SESSION_CACHE_SECONDS, SessionStore
from tests.conftest import client_for
from tests.factories import PASSWORD, CohortFactory, MembershipFactory

NOTIFICATIONS = "/notifications/"  # renders base.html and passes no nav_memberships
HOME = "/dashboard/"  # passes its own Membership rows as nav_memberships
LOGIN = "/accounts/login/"
REVIEW_QUEUE_LINK = 'href="/review/"'
PEER_REVIEW_LINK = 'href="/peer-review/"'
CURRICULUM_LINK = 'href="/curriculum/"'

UNREACHABLE = {
    "default": {
        "BACKEND": "core.platform.cache_backend.ReusingRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}

needs_redis = pytest.mark.skipif(
    "redis" not in settings.CACHES["default"]["BACKEND"].lower(),
    reason="needs Redis: set REDIS_URL=redis://…",
)


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    """Each test meets the cache as it is, not as an earlier test left its back-off."""
    versioned.reset_backoff()
    yield
    versioned.reset_backoff()


def nav(client: Client, url: str = NOTIFICATIONS) -> str:
    """The navbar of ``url`` as ``client`` sees it."""
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    return body[body.index('<nav class="navbar') : body.index("</nav>")]


# --- The navbar's roles ------------------------------------------------------------------


def test_it_shows_the_review_queue_on_the_next_request_after_a_mentor_joins(
    outsider: User, cohort: Cohort
) -> None:
    client = client_for(outsider)
    assert REVIEW_QUEUE_LINK not in nav(client)
    assert CURRICULUM_LINK not in nav(client)
    membership = MembershipFactory(user=outsider, cohort=cohort, role="mentor")
    for url in (NOTIFICATIONS, HOME):
        assert REVIEW_QUEUE_LINK in nav(client, url)
        assert CURRICULUM_LINK in nav(client, url)
        assert PEER_REVIEW_LINK not in nav(client, url)
    membership.delete()
    for url in (NOTIFICATIONS, HOME):
        assert REVIEW_QUEUE_LINK not in nav(client, url)
        assert CURRICULUM_LINK not in nav(client, url)


def test_it_shows_peer_review_once_to_a_learner_who_also_reviews(
    outsider: User, cohort: Cohort
) -> None:
    client = client_for(outsider)
    MembershipFactory(user=outsider, cohort=cohort, role="learner")
    assert nav(client).count(PEER_REVIEW_LINK) == 1
    MembershipFactory(user=outsider, cohort=CohortFactory(), role="reviewer")
    MembershipFactory(user=outsider, cohort=CohortFactory(), role="mentor")
    bar = nav(client)
    assert bar.count(PEER_REVIEW_LINK) == 1
    assert bar.count(REVIEW_QUEUE_LINK) == 1
    Membership.objects.filter(user=outsider).exclude(role="mentor").delete()
    assert PEER_REVIEW_LINK not in nav(client)


def test_a_role_change_shows_on_the_next_request(learner: User) -> None:
    client = client_for(learner)
    assert REVIEW_QUEUE_LINK not in nav(client)
    Membership.objects.filter(user=learner).update(role="mentor")
    assert REVIEW_QUEUE_LINK in nav(client)


def test_the_nav_reads_only_roles_in_one_query(
    learner: User, mentor: User, reviewer: User, cohort: Cohort
) -> None:
    MembershipFactory(user=learner, cohort=CohortFactory(), role="reviewer")
    MembershipFactory(user=learner, cohort=CohortFactory(), role="learner")
    assert [item.role for item in nav_memberships(learner.pk)] == ["learner", "reviewer"]
    assert nav_memberships(0) == []  # no such user
    with CaptureQueriesContext(connection) as queries:
        nav(client_for(learner))
    roles = [query["sql"] for query in queries if "core_membership" in query["sql"]]
    assert len(roles) == 1, roles
    assert "JOIN" not in roles[0] and "ORDER BY" not in roles[0]


# --- The layout's static files ----------------------------------------------------------


@pytest.mark.parametrize("page", [NOTIFICATIONS, "/accounts/login/", "/no-such-page/"])
def test_the_layout_links_its_static_files_as_static_would(learner: User, page: str) -> None:
    client = client_for(learner) if page == NOTIFICATIONS else Client()
    body = client.get(page).content.decode()
    for path in LAYOUT_ASSETS.values():
        assert f'"{static(path)}"' in body, path
    assert body.count('<link rel="stylesheet" href="/static/') == 4


def test_the_static_urls_follow_a_settings_change(learner: User) -> None:
    with override_settings(STATIC_URL="/assets/"):
        body = client_for(learner).get(NOTIFICATIONS).content.decode()
    assert '<link rel="stylesheet" href="/assets/css/app.css">' in body
    body = client_for(learner).get(NOTIFICATIONS).content.decode()
    assert '<link rel="stylesheet" href="/static/css/app.css">' in body


# --- The layout's links --------------------------------------------------------------------


@pytest.mark.parametrize("page", [NOTIFICATIONS, "/accounts/login/", "/no-such-page/"])
def test_the_layout_links_where_reverse_does(learner: User, page: str) -> None:
    client = client_for(learner) if page == NOTIFICATIONS else Client()
    body = client.get(page).content.decode()
    names = (
        ["home", "curriculum", "notifications", "notifications_bell", "account_logout"]
        if page == NOTIFICATIONS
        else ["landing", "account_login", "account_signup"]
    )
    for name in names:
        assert f'="{reverse(name)}"' in body, name


def test_the_layout_links_follow_the_prefix_the_site_is_served_under(learner: User) -> None:
    client = client_for(learner)
    # What the WSGI handler does for a site served under /hub/ (the test client does not).
    set_script_prefix("/hub/")
    try:
        body = client.get(NOTIFICATIONS).content.decode()
    finally:
        set_script_prefix("/")
    assert 'href="/hub/dashboard/"' in body
    assert 'hx-get="/hub/notifications/bell/"' in body
    body = client.get(NOTIFICATIONS).content.decode()
    assert 'href="/dashboard/"' in body and "/hub/" not in body


def test_the_layout_links_follow_a_urlconf_change(learner: User) -> None:
    client = client_for(learner)
    with override_settings(ROOT_URLCONF="tests.platform.urls_moved"):
        body = client.get("/moved/notifications/").content.decode()
    assert 'href="/moved/dashboard/"' in body
    assert 'href="/dashboard/"' in client.get(NOTIFICATIONS).content.decode()


# --- The Redis cache backend -------------------------------------------------------------


@pytest.fixture
def redis_cache() -> ReusingRedisCache:
    location = settings.CACHES["default"]["LOCATION"]
    return ReusingRedisCache(location, {"KEY_PREFIX": "test-fixed-costs"})


@needs_redis
def test_production_uses_the_reusing_backend_with_the_same_options() -> None:
    default = settings.CACHES["default"]
    assert default["BACKEND"] == "core.platform.cache_backend.ReusingRedisCache"
    assert default["OPTIONS"] == {"socket_connect_timeout": 1, "socket_timeout": 1}
    assert isinstance(caches["default"], ReusingRedisCache)


@needs_redis
def test_it_reuses_one_client_per_connection_pool(redis_cache: ReusingRedisCache) -> None:
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client
    assert redis_cache._cache.get_client("any-key") is client
    redis_cache.set("answer", {"value": 42})
    assert redis_cache.get("answer") == {"value": 42}
    assert redis_cache.add("answer", 1) is False
    redis_cache.set("count", 1)
    assert redis_cache.incr("count") == 2
    assert redis_cache.get_many(["answer", "count", "missing"]) == {
        "answer": {"value": 42},
        "count": 2,
    }
    redis_cache.delete_many(["answer", "count"])
    assert redis_cache.get("answer") is None
    assert redis_cache._cache.get_client() is client


@needs_redis
def test_threads_share_the_client_safely(redis_cache: ReusingRedisCache) -> None:
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            for round_ in range(50):
                redis_cache.set(f"thread:{number}", (number, round_))
                assert redis_cache.get(f"thread:{number}") == (number, round_)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # The threads started before any client existed: still one pool, one client.
    assert len(redis_cache._cache._pools) == len(redis_cache._cache._clients) == 1
    redis_cache.delete_many([f"thread:{number}" for number in range(8)])


def test_a_down_redis_still_raises_and_the_helpers_still_degrade(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    import redis

    down = ReusingRedisCache("redis://127.0.0.1:1/0", UNREACHABLE["default"])
    for _ in range(2):  # the second call goes through the reused client
        with pytest.raises(redis.ConnectionError):
            down.get("anything")
    with override_settings(CACHES=UNREACHABLE), caplog.at_level(logging.WARNING):
        assert versioned.safe_get("dash1:x") is None
        versioned.reset_backoff()
        versioned.safe_set("dash1:x", 1)
    messages = [record.getMessage() for record in caplog.records]
    assert "Cache unavailable (get); computing without it" in messages
    assert "Cache unavailable (set); computing without it" in messages


# --- Sessions read through the cache -----------------------------------------------------


def test_sessions_are_read_through_the_default_cache() -> None:
    assert settings.SESSION_ENGINE == "core.platform.sessions"
    assert settings.SESSION_CACHE_ALIAS == "default"  # the cache core.platform.cache backs off from


def test_a_session_is_read_from_the_cache_without_a_query(
    db: None, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    session = SessionStore()
    session["colour"] = "blue"
    session.save()
    with django_assert_num_queries(0):
        assert SessionStore(session.session_key)["colour"] == "blue"
    cache.delete(SessionStore.cache_key_prefix + session.session_key)  # evicted
    with django_assert_num_queries(1):  # the row, then the copy is cached again
        assert SessionStore(session.session_key)["colour"] == "blue"
    with django_assert_num_queries(0):
        assert SessionStore(session.session_key)["colour"] == "blue"


@needs_redis
def test_a_cached_copy_lives_at_most_session_cache_seconds(db: None) -> None:
    session = SessionStore()
    session["colour"] = "blue"
    session.save()
    key = cache.make_and_validate_key(SessionStore.cache_key_prefix + session.session_key)
    ttl = cache._cache.get_client().ttl(key)  # type: ignore[attr-defined]
    assert 0 < ttl <= SESSION_CACHE_SECONDS


def test_sign_out_removes_the_cached_copy(learner: User) -> None:
    client = Client()
    client.post(LOGIN, {"login": learner.email, "password": PASSWORD})
    key = client.cookies["sessionid"].value
    assert client.get(HOME).status_code == 200
    client.post("/accounts/logout/")
    assert cache.get(SessionStore.cache_key_prefix + key) is None
    copied = Client()
    copied.cookies["sessionid"] = key
    assert copied.get(HOME).status_code == 302


def test_pages_and_sign_out_work_while_the_cache_is_down(
    learner: User, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    with override_settings(CACHES=UNREACHABLE), caplog.at_level(logging.WARNING):
        # allauth counts sign-in attempts in the cache: while it is down they go uncounted.
        response = client.post(LOGIN, {"login": learner.email, "password": PASSWORD})
        assert response.status_code == 302
        assert any("rate limit not counted" in r.getMessage() for r in caplog.records)
        versioned.reset_backoff()
        key = client.cookies["sessionid"].value
        assert client.get(NOTIFICATIONS).status_code == 200
        assert client.get(NOTIFICATIONS).status_code == 200  # backing off: no cache call
        versioned.reset_backoff()
        client.post("/accounts/logout/")
        assert not Session.objects.filter(session_key=key).exists()
    assert client.get(HOME).status_code == 302
    assert any("Cache unavailable" in record.getMessage() for record in caplog.records)


def test_a_new_key_is_made_while_the_cache_is_down(db: None) -> None:
    """What sign-in and a password change do to the session (Django's cached_db raised)."""
    with override_settings(CACHES=UNREACHABLE):
        session = SessionStore()
        session[SESSION_KEY] = "1"
        session.save()
        old = session.session_key
        session.cycle_key()
    assert session.session_key != old
    assert not Session.objects.filter(session_key=old).exists()
    versioned.reset_backoff()
    assert SessionStore(session.session_key)[SESSION_KEY] == "1"
    assert SessionStore(old).load() == {}


def test_a_session_saved_while_the_cache_was_down_is_read_from_the_database(db: None) -> None:
    with override_settings(CACHES=UNREACHABLE):
        session = SessionStore()
        session["colour"] = "blue"
        session.save()
    versioned.reset_backoff()
    assert SessionStore(session.session_key)["colour"] == "blue"

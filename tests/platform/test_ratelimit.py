"""Per-user rate limits on submissions, comments, review requests, exports and Markdown
previews (429)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from pytest_django.fixtures import Settings

from core.models import Attempt, AuditEvent, Comment, Iteration, ProjectRelease, User
from core.platform.clients import client_ip
from core.platform.ratelimit import ratelimit
from tests.factories import AttemptFactory, IterationFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
# Mid-minute, so a test never straddles two windows.
NOW = datetime(2030, 5, 6, 10, 0, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock() -> object:
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


@pytest.fixture
def clock(_frozen_clock: time_machine.Coordinates) -> time_machine.Coordinates:
    return _frozen_clock


@pytest.fixture
def tight(settings: Settings) -> Settings:
    """Every scope allows two requests a minute."""
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS, 2)
    return settings


# --- client_ip -------------------------------------------------------------------------


def _request(remote: str = "10.0.0.9", forwarded: str | None = None) -> HttpRequest:
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/", **headers)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, None, "10.0.0.9"),
        (0, "1.2.3.4", "10.0.0.9"),  # no proxy: the header is the client's own words
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # spoofed entry on the left
        (2, "6.6.6.6, 198.51.100.7, 10.1.1.1", "198.51.100.7"),
        (2, "198.51.100.7", "10.0.0.9"),  # fewer entries than proxies: not via them
        (1, "not-an-ip", "10.0.0.9"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_trusts_only_our_proxies(
    settings: Settings, proxies: int, forwarded: str | None, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip(_request(forwarded=forwarded)) == expected


# --- The decorator ---------------------------------------------------------------------


@ratelimit("comments")
def _view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def _anonymous(forwarded: str) -> HttpRequest:
    request = _request(remote="10.0.0.1", forwarded=forwarded)
    request.user = AnonymousUser()
    return request


def test_a_spoofed_forwarded_for_does_not_reset_the_limit(tight: Settings, db: None) -> None:
    tight.TRUSTED_PROXY_COUNT = 1
    statuses = [
        _view(_anonymous(f"{spoof}, 198.51.100.7")).status_code
        for spoof in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4")
    ]
    assert statuses == [200, 200, 429, 429]
    # Another client behind the same proxy has its own count.
    assert _view(_anonymous("1.1.1.1, 198.51.100.8")).status_code == 200


def test_ipv6_clients_are_counted_per_network(tight: Settings, db: None) -> None:
    tight.TRUSTED_PROXY_COUNT = 1
    statuses = [_view(_anonymous(f"2001:db8::{n}")).status_code for n in range(1, 4)]
    assert statuses == [200, 200, 429]


def test_it_only_limits_the_methods_named(tight: Settings, learner: User) -> None:
    for _ in range(5):
        request = RequestFactory().get("/")
        request.user = learner
        assert _view(request).status_code == 200


def test_a_new_minute_starts_a_new_count(
    tight: Settings, learner: User, clock: time_machine.Coordinates
) -> None:
    def post() -> int:
        request = RequestFactory().post("/")
        request.user = learner
        return _view(request).status_code

    assert [post(), post(), post()] == [200, 200, 429]
    clock.shift(timedelta(seconds=40))  # 10:01:00
    assert post() == 200


def test_a_cache_outage_lets_requests_through(
    tight: Settings,
    learner: User,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr("core.platform.ratelimit.cache.add", broken)
    for _ in range(5):
        request = RequestFactory().post("/")
        request.user = learner
        assert _view(request).status_code == 200
    assert "Rate limit comments not counted: cache unavailable" in caplog.text


def test_the_first_refusal_of_a_minute_is_audited(tight: Settings, learner: User) -> None:
    for _ in range(6):
        request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.5")
        request.user = learner
        _view(request)
    (event,) = AuditEvent.objects.filter(action="rate_limited")
    assert event.actor == learner
    assert event.detail == {"scope": "comments", "limit": 2}
    assert event.ip == "203.0.113.5"


# --- The views it protects -------------------------------------------------------------


@pytest.fixture
def media_root(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def attempt(learner: User, release: ProjectRelease) -> Attempt:
    attempt = AttemptFactory(learner=learner, release=release)
    IterationFactory(attempt=attempt, number=1)
    return attempt


@pytest.fixture
def waiting(attempt: Attempt) -> Iteration:
    return attempt.iterations.get()


def _submission(release: ProjectRelease, attempt: int) -> dict[str, object]:
    """The learner's ``attempt``-th submission: a new commit each time (an unchanged one
    would be asked about first, core/reviews/services.py NothingChanged)."""
    return {
        "repo_url": "https://github.com/alice/prodev-backend-python",
        "commit_sha": f"{attempt:040x}",
        "tasks": [task.pk for task in release.project.tasks.order_by("number")[:2]],
        "notes": "Done.",
        "submit_token": str(uuid.uuid4()),
    }


def test_submissions_are_limited(
    tight: Settings, learner_client: Client, release: ProjectRelease, media_root: Path
) -> None:
    url = "/projects/python-generators/submit/"
    statuses = [learner_client.post(url, _submission(release, n)).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert Iteration.objects.count() == 2
    assert learner_client.get(url).status_code == 200  # reading the page is not limited


def test_comments_are_limited(tight: Settings, learner_client: Client, attempt: Attempt) -> None:
    url = f"/attempts/{attempt.pk}/comments/"
    statuses = [learner_client.post(url, {"body": "Hi"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert Comment.objects.count() == 2


@pytest.mark.parametrize(
    "url",
    [lambda iteration: f"/review/{iteration.pk}/claim/", lambda iteration: "/review/claim-next/"],
    ids=["claim", "claim-next"],
)
def test_review_requests_are_limited(
    tight: Settings, mentor_client: Client, waiting: Iteration, url: Callable[[Iteration], str]
) -> None:
    statuses = [mentor_client.post(url(waiting)).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_peer_review_requests_are_limited(
    tight: Settings, reviewer_client: Client, release: ProjectRelease
) -> None:
    statuses = [reviewer_client.post("/peer-review/next/").status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_exports_are_limited(
    tight: Settings, staff_client: Client, release: ProjectRelease
) -> None:
    url = "/staff/cohorts/cohort-7/export/"
    statuses = [staff_client.post(url).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_markdown_previews_are_limited(tight: Settings, learner_client: Client) -> None:
    url, data = "/preview/markdown/", {"field": "notes", "notes": "**hi**"}
    statuses = [learner_client.post(url, data).status_code for _ in range(2)]
    assert statuses == [200, 200]
    assert learner_client.post(url, data).status_code == 429
    htmx = learner_client.post(url, data, **HTMX)  # the editor's Preview button
    assert htmx.status_code == 429
    assert htmx["HX-Retarget"] == "body"
    assert "Slow down a little." in htmx.content.decode()


def test_each_user_has_their_own_count(
    tight: Settings, learner_client: Client, mentor_client: Client, attempt: Attempt
) -> None:
    url = f"/attempts/{attempt.pk}/comments/"
    for _ in range(3):
        learner_client.post(url, {"body": "Hi"})
    assert mentor_client.post(url, {"body": "Hello"}).status_code == 302


def test_the_429_page_is_friendly(
    tight: Settings, learner_client: Client, attempt: Attempt
) -> None:
    url = f"/attempts/{attempt.pk}/comments/"
    for _ in range(2):
        learner_client.post(url, {"body": "Hi"})
    response = learner_client.post(url, {"body": "Hi"})
    assert response.status_code == 429
    assert response["Retry-After"] == "40"  # the minute ends at 10:01:00
    body = response.content.decode()
    assert "<html" in body and '<h1 class="h3">Slow down a little</h1>' in body
    assert "Try again in 40 seconds." in body


def test_htmx_gets_a_message_over_the_page(
    tight: Settings, learner_client: Client, attempt: Attempt
) -> None:
    url = f"/attempts/{attempt.pk}/comments/"
    for _ in range(2):
        learner_client.post(url, {"body": "Hi"}, **HTMX)
    response = learner_client.post(url, {"body": "Hi"}, **HTMX)
    assert response.status_code == 429
    assert response["HX-Retarget"] == "body"
    assert response["HX-Reswap"] == "beforeend"
    assert response["Retry-After"] == "40"
    body = response.content.decode()
    assert "<html" not in body
    assert 'role="alert"' in body and "rate-limit-toast" in body
    assert "Slow down a little." in body


def test_htmx_is_told_to_swap_429_responses(client: Client, db: None) -> None:
    body = client.get("/").content.decode()
    assert '{"code": "429", "swap": true, "error": false}' in body

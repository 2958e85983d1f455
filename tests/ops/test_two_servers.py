"""Two app servers behind one load balancer behave as one site.

Two gunicorn processes, started with the production settings (DEBUG off, Redis
cache, database sessions, ``__Host-`` cookies), share one PostgreSQL database and one
Redis. A browser signs in on server A and carries on on server B with the same
session; a change made through one server is seen through the other at once, even
where pages are cached (the mentor's dashboard counts waiting iterations from a
Redis-cached read model that the learner's submission on the other server
invalidates).

The servers speak plain HTTP on 127.0.0.1 as if behind a TLS-terminating proxy:
each request carries ``X-Forwarded-Proto: https`` and ``X-Forwarded-For``, which
the settings trust with ``TRUSTED_PROXY_COUNT=1``. The cookies are Secure, which
``http.cookiejar`` would never send over http, so ``Browser`` keeps them by hand.

PostgreSQL and Redis only: skipped without them, failed in CI (``CI`` or
``REQUIRE_BROWSER_TESTS`` set).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.ops.conftest import REQUIRED, connect, database_url, needs_postgres
from tests.support import PRODUCTION_ENV, ROOT

pytestmark = [pytest.mark.postgres]

HOST = "prodev.example"  # PRODUCTION_ENV's ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS
ORIGIN = f"https://{HOST}"
CLIENT_IP = "203.0.113.7"
REDIS_DB = 11  # this test's own Redis database
START_SECONDS = 30  # for both servers to answer /healthz
REQUEST_SECONDS = 15
DEMO_PASSWORD = "prodev-demo"
LEARNER = ("learner@example.com", "Lina Learner")
MENTOR = ("mentor@example.com", "Sam Mentor")

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_TOKEN_INPUT = re.compile(r'<input[^>]*name="submit_token"[^>]*value="([^"]+)"')


def redis_url() -> str | None:
    """REDIS_URL's server with this test's database number, or None without Redis."""
    configured = os.environ.get("REDIS_URL", "").strip()
    if not configured:
        return None
    url = urlsplit(configured)
    return url._replace(path=f"/{REDIS_DB}").geturl()


def needs_services() -> str:
    """The Redis URL to share; skips (fails in CI) without PostgreSQL and Redis."""
    needs_postgres(required=REQUIRED)
    url = redis_url()
    if url is None:
        message = "needs Redis: set REDIS_URL=redis://…"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        if REQUIRED:
            pytest.fail(f"Redis at {url} does not answer: {error}")
        pytest.skip(f"Redis at {url} does not answer: {error}")
    return url


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Browser:
    """One person's browser: the cookies it was given, sent to whichever server it asks."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def request(
        self, port: int, method: str, path: str, form: dict[str, object] | None = None
    ) -> Response:
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": CLIENT_IP,
            "User-Agent": "prodev-two-servers-test",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # What a browser sends on a same-origin POST over HTTPS (checked by CSRF).
            headers["Origin"] = ORIGIN
            headers["Referer"] = f"{ORIGIN}{path}"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_SECONDS)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read().decode(errors="replace"))
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.set_cookie_headers.append(header)
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, port: int, path: str) -> Response:
        return self.request(port, "GET", path)

    def post(self, port: int, path: str, form: dict[str, object], page: Response) -> Response:
        """POST ``form`` with the CSRF token of ``page`` (the page the form is on)."""
        match = _CSRF_INPUT.search(page.text)
        assert match is not None, f"no CSRF token on the page before POST {path}"
        return self.request(port, "POST", path, {**form, "csrfmiddlewaretoken": match.group(1)})

    def sign_in(self, port: int, email: str) -> Response:
        page = self.get(port, "/accounts/login/")
        assert page.status == 200, page.status
        response = self.post(
            port, "/accounts/login/", {"login": email, "password": DEMO_PASSWORD}, page
        )
        assert response.status == 302, (response.status, response.text[:500])
        return response


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def output(self, tail: int | None = 4000) -> str:
        text = self.log.read_text(errors="replace")
        return text[-tail:] if tail else text


def start_server(name: str, env: dict[str, str], log: Path) -> Server:
    port = free_port()
    handle = log.open("wb")
    process = subprocess.Popen(
        # The Procfile's command, without gunicorn's control socket: its default path is
        # one per user, and two servers on one machine would fight over it.
        [
            sys.executable,
            "-m",
            "gunicorn",
            "site_config.wsgi",
            "-c",
            "gunicorn.conf.py",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env | {"PORT": str(port)},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    return Server(name, port, process, log)


def wait_until_healthy(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server {server.name} exited:\n{server.output()}")
        try:
            if Browser().get(server.port, "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(
        f"server {server.name} did not answer /healthz in {START_SECONDS}s:\n{server.output()}"
    )


def stop(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=5)


@pytest.fixture
def servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, Server, str]]:
    """Servers A and B on free ports, sharing a fresh seeded database (named third) and
    one Redis."""
    shared_redis = needs_services()
    clone: Callable[[str], str] = request.getfixturevalue("clone_seeded")
    database = clone("two")
    prefix = f"prodev-ops-two-{os.getpid()}"
    # The test run's own switches stay out, as in tests.support.manage; PYTEST_VERSION
    # stays in: without it the settings would want collectstatic's manifest and the
    # demo passwords (hashed by seed_demo under test settings) would not verify.
    unset = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env |= PRODUCTION_ENV | {
        "DATABASE_URL": database_url(database),
        "REDIS_URL": shared_redis,
        "CACHE_KEY_PREFIX": prefix,
        "TRUSTED_PROXY_COUNT": "1",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        # Email waits in the database for a worker (none runs here), as in production.
        "TASKS_BACKEND": "database",
    }
    started = [
        start_server("A", env, tmp_path / "server-a.log"),
        start_server("B", env, tmp_path / "server-b.log"),
    ]
    try:
        deadline = time.monotonic() + START_SECONDS
        for server in started:
            wait_until_healthy(server, deadline)
        yield started[0], started[1], database
    finally:
        for server in started:
            stop(server)
        import redis

        client = redis.Redis.from_url(shared_redis)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


_WAITING_STAT = re.compile(r"<dt>Waiting for review</dt>\s*<dd>(\d+)</dd>")
_CURRENT_PROJECT = re.compile(r'href="/projects/([\w-]+)/\?cohort=')


def waiting_for_review(mentor: Browser, server: Server) -> int:
    """The mentor dashboard's "Waiting for review" (a Redis-cached read model)."""
    page = mentor.get(server.port, "/dashboard/")
    assert page.status == 200, page.status
    match = _WAITING_STAT.search(page.text)
    assert match is not None, "no waiting count on the mentor's dashboard"
    return int(match.group(1))


def mentor_reviewed(database: str) -> set[str]:
    """Slugs of the projects whose submissions go straight to the mentors' queue."""
    with closing(connect(database)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT slug FROM core_project"
            " WHERE mentor_review_required OR peer_reviews_required = 0"
        )
        return {slug for (slug,) in cursor.fetchall()}


def submit_somewhere(learner: Browser, server: Server, slugs: set[str]) -> str:
    """Hand in an iteration of a current project among ``slugs`` with nothing waiting;
    the attempt's URL."""
    dashboard = learner.get(server.port, "/dashboard/")
    for slug in dict.fromkeys(_CURRENT_PROJECT.findall(dashboard.text)):
        if slug not in slugs:
            continue
        path = f"/projects/{slug}/submit/"
        page = learner.get(server.port, path)
        token = _TOKEN_INPUT.search(page.text)
        if page.status != 200 or token is None or "is still waiting for review" in page.text:
            continue
        form = {
            "repo_url": f"https://github.com/lina/{slug}",
            "commit_sha": "0123456789abcdef0123456789abcdef01234567",
            "notes": "Handed in on one server, reviewed from the other.",
            "submit_token": token.group(1),
        }
        response = learner.post(server.port, path, form, page)
        assert response.status == 302, (response.status, response.text[:1000])
        assert response.location.startswith("/attempts/"), response.location
        return response.location
    pytest.fail("the demo learner has no current project to hand in")


def test_two_servers_share_sessions_and_cache(servers: tuple[Server, Server, str]) -> None:
    a, b, database = servers

    # Signed in on A, the same cookie is a valid session on B.
    learner = Browser()
    learner.sign_in(a.port, LEARNER[0])
    session = next(h for h in learner.set_cookie_headers if h.startswith("__Host-sessionid="))
    attributes = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"secure", "httponly", "path=/", "samesite=lax"} <= attributes
    assert not any(part.startswith("domain") for part in attributes)
    on_b = learner.get(b.port, "/dashboard/")
    assert on_b.status == 200, (on_b.status, on_b.location)
    assert LEARNER[1] in on_b.text

    # A change saved through B shows through A.
    settings_page = learner.get(b.port, "/settings/")
    saved = learner.post(b.port, "/settings/", {"display_name": "Lina Two Servers"}, settings_page)
    assert saved.status == 302, (saved.status, saved.text[:500])
    assert "Lina Two Servers" in learner.get(a.port, "/dashboard/").text

    # The mentor's cached count, read through B, moves when the learner submits through A.
    mentor = Browser()
    mentor.sign_in(b.port, MENTOR[0])
    before = waiting_for_review(mentor, b)
    assert waiting_for_review(mentor, a) == before
    # A project mentors review first: its submission joins their queue at once.
    attempt = submit_somewhere(learner, a, mentor_reviewed(database))
    assert waiting_for_review(mentor, b) == before + 1
    assert waiting_for_review(mentor, a) == before + 1
    # …and the new iteration is in the queue B serves, with the learner's new name.
    queue = mentor.get(b.port, "/review/")
    assert queue.status == 200
    assert "Lina Two Servers" in queue.text
    assert learner.get(b.port, attempt).status == 200

    # Signing out on A ends the session on B too (database sessions).
    page = learner.get(a.port, "/dashboard/")
    signed_out = learner.post(a.port, "/accounts/logout/", {}, page)
    assert signed_out.status == 302, signed_out.status
    after = Browser()
    after.cookies = {"__Host-sessionid": session.split(";")[0].split("=", 1)[1]}
    refused = after.get(b.port, "/dashboard/")
    assert refused.status == 302
    assert refused.location.startswith("/accounts/login/")

    # Both servers really served this journey.
    assert '"POST /accounts/login/ HTTP/1.1" 302' in a.output(tail=None)
    assert '"GET /dashboard/ HTTP/1.1" 200' in b.output(tail=None)

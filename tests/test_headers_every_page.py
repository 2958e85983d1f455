"""Every page type carries the production security headers and no inline script.

Each page is fetched over HTTPS with the production security settings applied
(read from a production-environment subprocess, as in test_security_headers.py).
Its response must carry the CSP, HSTS, COOP, nosniff, Referrer-Policy and
X-Frame-Options headers, any cookie it sets must be secure, and its HTML must
hold no inline script without the response's nonce, no inline event handlers,
no ``hx-on`` attributes, no ``style`` attributes and no ``javascript:`` URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from core.models import Iteration, PeerAssignment, Project, ProjectRelease, User
from core.services.reviews import claim_take
from tests.factories import AttemptFactory, IterationFactory, NotificationFactory
from tests.test_security_headers import (  # noqa: F401 (fixtures used by name)
    HttpsClient,
    production,
    production_settings,
)

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "data"}


@dataclass
class Objects:
    """The objects whose pages are fetched, built on the fixed cast."""

    project: Project
    iteration: Iteration
    assignment: PeerAssignment
    users: dict[str, User] = field(default_factory=dict)


@pytest.fixture
def objects(
    learner: User,
    mentor: User,
    reviewer: User,
    staff: User,
    outsider: User,
    release: ProjectRelease,
    project: Project,
) -> Objects:
    attempt = AttemptFactory(learner=learner, release=release)
    iteration = IterationFactory(
        attempt=attempt,
        number=1,
        submitted_at=timezone.now() - timedelta(hours=5),
        notes="I used **generators** everywhere.",
    )
    iteration.tasks_claimed.set(project.tasks.filter(number__in=[0, 1]))
    claim_take(iteration=iteration, reviewer=mentor)
    now = timezone.now()
    assignment = PeerAssignment.objects.create(
        iteration=iteration,
        project=project,
        reviewer=reviewer,
        assigned_at=now - timedelta(hours=1),
        expires_at=now + timedelta(hours=8),
    )
    NotificationFactory(user=learner)
    users = {
        "anonymous": None,
        "learner": learner,
        "mentor": mentor,
        "reviewer": reviewer,
        "staff": staff,
        "outsider": outsider,
    }
    return Objects(project=project, iteration=iteration, assignment=assignment, users=users)


Path = Callable[[Objects], str]


def fixed(path: str) -> Path:
    return lambda objects: path


# (name, user, path builder, expected status)
PAGES: list[tuple[str, str, Path, int]] = [
    ("landing", "anonymous", fixed("/"), 200),
    ("sign-in", "anonymous", fixed("/accounts/login/"), 200),
    ("sign-up", "anonymous", fixed("/accounts/signup/"), 200),
    ("password-reset", "anonymous", fixed("/accounts/password/reset/"), 200),
    ("dashboard-learner", "learner", fixed("/dashboard/"), 200),
    ("dashboard-mentor", "mentor", fixed("/dashboard/"), 200),
    ("dashboard-staff", "staff", fixed("/dashboard/"), 200),
    ("curriculum", "learner", fixed("/curriculum/"), 200),
    ("project-detail", "learner", lambda o: f"/projects/{o.project.slug}/", 200),
    ("project-submit", "learner", lambda o: f"/projects/{o.project.slug}/submit/", 200),
    ("attempt-detail", "learner", lambda o: f"/attempts/{o.iteration.attempt_id}/", 200),
    ("review-queue", "mentor", fixed("/review/"), 200),
    ("review-detail", "mentor", lambda o: f"/review/{o.iteration.pk}/", 200),
    ("peer-dashboard", "reviewer", fixed("/peer-review/"), 200),
    ("peer-review", "reviewer", lambda o: f"/peer-review/{o.assignment.pk}/", 200),
    ("notifications", "learner", fixed("/notifications/"), 200),
    ("settings", "learner", fixed("/settings/"), 200),
    ("notification-settings", "learner", fixed("/settings/notifications/"), 200),
    ("cohort-schedule", "mentor", fixed("/cohorts/cohort-7/schedule/"), 200),
    ("cohort-progress", "mentor", fixed("/cohorts/cohort-7/progress/"), 200),
    ("staff-cohort-health", "staff", fixed("/staff/cohorts/cohort-7/"), 200),
    ("staff-sla", "staff", fixed("/staff/sla/"), 200),
    ("staff-reviewers", "staff", fixed("/staff/reviewers/"), 200),
    ("admin-index", "staff", fixed("/admin/"), 200),
    ("admin-changelist", "staff", fixed("/admin/core/project/"), 200),
    ("admin-change", "staff", lambda o: f"/admin/core/project/{o.project.pk}/change/", 200),
    ("not-found-anonymous", "anonymous", fixed("/no-such-page/"), 404),
    ("not-found-learner", "learner", fixed("/no-such-page/"), 404),
    ("healthz", "anonymous", fixed("/healthz"), 200),
]


class InlineCodeFinder(HTMLParser):
    """Collects every inline-code violation in a page."""

    def __init__(self, nonce: str) -> None:
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.inline_scripts: list[str] = []
        self.handlers: list[str] = []
        self.styles: list[str] = []
        self.javascript_urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        text = self.get_starttag_text() or tag
        if tag == "script" and "src" not in attributes and attributes.get("nonce") != self.nonce:
            self.inline_scripts.append(text)
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on") or name.startswith("data-hx-on"):
                self.handlers.append(text)
            if name == "style":
                self.styles.append(text)
            if name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.javascript_urls.append(text)

    handle_startendtag = handle_starttag


def csp_of(response: HttpResponse) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    for part in response["Content-Security-Policy"].split(";"):
        directive, *values = part.split()
        policy[directive] = values
    return policy


def assert_security_headers(response: HttpResponse) -> str | None:
    """Check every header; return the response's CSP nonce (None if it has none)."""
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"

    csp = csp_of(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    nonces = [token for token in csp["script-src"] if token.startswith("'nonce-")]
    # Django only adds a nonce when the page used one (JSON responses don't).
    assert len(nonces) <= 1, csp["script-src"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    for directive, values in csp.items():
        assert "'unsafe-inline'" not in values, directive
        assert "'unsafe-eval'" not in values, directive

    for name, morsel in response.cookies.items():
        assert morsel["secure"], name
        assert morsel["samesite"] == "Lax", name
        assert morsel["httponly"], name
    return nonces[0][len("'nonce-") : -1] if nonces else None


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize(
    ("user", "path", "status"),
    [pytest.param(user, path, status, id=name) for name, user, path, status in PAGES],
)
def test_every_page_sends_the_headers_and_no_inline_code(
    objects: Objects, user: str, path: Path, status: int
) -> None:
    client: Client = HttpsClient()
    if objects.users[user] is not None:
        client.force_login(objects.users[user])
    url = path(objects)
    response = client.get(url)
    assert response.status_code == status, url

    nonce = assert_security_headers(response)
    if not response["Content-Type"].startswith("text/html"):
        return

    assert nonce is not None, "HTML pages carry a script-src nonce"
    finder = InlineCodeFinder(nonce)
    finder.feed(response.content.decode())
    finder.close()
    assert finder.handlers == [], "inline event handlers"
    assert finder.javascript_urls == [], "javascript: URLs"
    assert finder.inline_scripts == [], "inline scripts without the response's nonce"
    assert finder.styles == [], "style attributes"


def test_the_finder_catches_each_kind_of_inline_code() -> None:
    finder = InlineCodeFinder("abc")
    finder.feed(
        '<script nonce="abc">ok()</script><script src="/static/app.js"></script>'
        '<script>bad()</script><script nonce="xyz">bad()</script>'
        '<button onclick="bad()">x</button><div hx-on:click="bad()"></div>'
        '<p style="color: red"></p><a href=" JavaScript:bad()">x</a><img src="/a.png"/>'
    )
    assert finder.inline_scripts == ["<script>", '<script nonce="xyz">']
    assert finder.handlers == ['<button onclick="bad()">', '<div hx-on:click="bad()">']
    assert finder.styles == ['<p style="color: red">']
    assert finder.javascript_urls == ['<a href=" JavaScript:bad()">']

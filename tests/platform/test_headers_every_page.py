"""Every page type carries the production security headers and no inline script.

Each page is fetched over HTTPS with the production security settings applied
(read from a production-environment subprocess, as in test_security_headers.py).
Its response must carry the CSP, HSTS, COOP, CORP, nosniff, Referrer-Policy,
X-Frame-Options and Permissions-Policy headers, a signed-in page must be private and never stored
(Cache-Control), any cookie it sets must be secure, and its HTML must
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

from core.cohorts.join_codes import join_code_create
from core.disputes.services import dispute_claim
from core.models import (
    CheckRun,
    Dispute,
    Iteration,
    PeerAssignment,
    Project,
    ProjectRelease,
    User,
)
from core.reviews.services import claim_take
from tests.disputes.scene import disputed_verdict
from tests.factories import (
    AttemptFactory,
    CheckCaseResultFactory,
    CheckRunFactory,
    CheckTaskResultFactory,
    IterationFactory,
    NotificationFactory,
)
from tests.platform.test_security_headers import (  # noqa: F401 (fixtures used by name)
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
    dispute: Dispute | None = None  # alice contests a verdict of another project
    check_run: CheckRun | None = None  # the iteration's checks: one case fails, one is hidden
    join_code: str = ""  # Cohort 7's join code


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
    dispute = disputed_verdict(learner, release.cohort)
    dispute_claim(dispute=dispute, user=mentor)  # mia decides it: her page shows the form
    return Objects(
        project=project,
        iteration=iteration,
        assignment=assignment,
        users=users,
        dispute=dispute,
        check_run=failed_checks(iteration, project),
        join_code=join_code_create(cohort=release.cohort, max_uses=5).code,
    )


def failed_checks(iteration: Iteration, project: Project) -> CheckRun:
    """The iteration's checks: task 0 fails one case (with its output), a hidden one passes."""
    run: CheckRun = CheckRunFactory(iteration=iteration, status=CheckRun.Status.FAILED)
    result = CheckTaskResultFactory(
        run=run,
        task=project.tasks.get(number=0),
        outcome="failed",
        cases_passed=1,
        cases_total=2,
        has_hidden=True,
    )
    CheckCaseResultFactory(
        task_result=result, name="test_returns_n_rows", outcome="failed", output="assert 4 == 3"
    )
    CheckCaseResultFactory(task_result=result, name="test_an_empty_page", hidden=True)
    return run


Path = Callable[[Objects], str]


def _whatif_answer(o: Objects) -> str:
    """What-if answered: every task passing, submitted a day from now (cohort time)."""
    release = o.iteration.attempt.release
    at = timezone.localtime(timezone.now() + timedelta(days=1), release.cohort.tz)
    tasks = "".join(f"task={task.pk}&" for task in o.project.tasks.all())
    return f"/attempts/{o.iteration.attempt_id}/what-if/?{tasks}at={at:%Y-%m-%dT%H:%M}"


def disputed(objects: Objects) -> Dispute:
    assert objects.dispute is not None
    return objects.dispute


def checked(objects: Objects) -> CheckRun:
    assert objects.check_run is not None
    return objects.check_run


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
    ("dashboard-no-cohort", "outsider", fixed("/dashboard/"), 200),  # "Have a join code?"
    ("join", "outsider", fixed("/join/"), 200),
    ("join-link", "outsider", lambda o: f"/join/{o.join_code}/", 200),
    ("join-link-member", "learner", lambda o: f"/join/{o.join_code}/", 200),
    ("join-link-unknown", "outsider", fixed("/join/K7QM2-9XWTR-4HB0C-ZP8NS/"), 404),
    ("curriculum", "learner", fixed("/curriculum/"), 200),
    ("project-detail", "learner", lambda o: f"/projects/{o.project.slug}/", 200),
    ("project-submit", "learner", lambda o: f"/projects/{o.project.slug}/submit/", 200),
    ("attempt-detail", "learner", lambda o: f"/attempts/{o.iteration.attempt_id}/", 200),
    ("attempt-adjust", "staff", lambda o: f"/attempts/{o.iteration.attempt_id}/adjust/", 200),
    ("attempt-whatif", "learner", lambda o: f"/attempts/{o.iteration.attempt_id}/what-if/", 200),
    ("attempt-whatif-answer", "learner", lambda o: _whatif_answer(o), 200),
    ("review-queue", "mentor", fixed("/review/"), 200),
    ("dispute-new", "learner", lambda o: f"/attempts/{disputed(o).attempt_id}/dispute/", 200),
    ("dispute-learner", "learner", lambda o: f"/disputes/{disputed(o).pk}/", 200),
    ("dispute-mentor", "mentor", lambda o: f"/disputes/{disputed(o).pk}/", 200),
    ("dispute-staff", "staff", lambda o: f"/disputes/{disputed(o).pk}/", 200),
    ("attempt-disputed", "learner", lambda o: f"/attempts/{disputed(o).attempt_id}/", 200),
    ("review-detail", "mentor", lambda o: f"/review/{o.iteration.pk}/", 200),
    ("check-run-learner", "learner", lambda o: f"/checks/{checked(o).pk}/", 200),
    ("check-run-mentor", "mentor", lambda o: f"/checks/{checked(o).pk}/", 200),
    ("peer-dashboard", "reviewer", fixed("/peer-review/"), 200),
    ("peer-review", "reviewer", lambda o: f"/peer-review/{o.assignment.pk}/", 200),
    ("notifications", "learner", fixed("/notifications/"), 200),
    ("settings", "learner", fixed("/settings/"), 200),
    ("notification-settings", "learner", fixed("/settings/notifications/"), 200),
    ("cohort-schedule", "mentor", fixed("/cohorts/cohort-7/schedule/"), 200),
    ("cohort-progress", "mentor", fixed("/cohorts/cohort-7/progress/"), 200),
    ("staff-cohort-health", "staff", fixed("/staff/cohorts/cohort-7/"), 200),
    ("staff-enrol", "staff", fixed("/staff/cohorts/cohort-7/enrol/"), 200),
    ("staff-sla", "staff", fixed("/staff/sla/"), 200),
    ("staff-reviewers", "staff", fixed("/staff/reviewers/"), 200),
    ("staff-checks", "staff", fixed("/staff/checks/"), 200),
    ("admin-index", "staff", fixed("/admin/"), 200),
    ("admin-changelist", "staff", fixed("/admin/core/project/"), 200),
    ("admin-change", "staff", lambda o: f"/admin/core/project/{o.project.pk}/change/", 200),
    ("not-found-anonymous", "anonymous", fixed("/no-such-page/"), 404),
    ("not-found-learner", "learner", fixed("/no-such-page/"), 404),
    ("healthz", "anonymous", fixed("/healthz"), 200),
    ("invitation-used", "anonymous", fixed("/invitations/MQ/abc-def/"), 404),
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


# Browser features no page of ours uses: switched off for the page and anything in it.
FEATURES_OFF = ("camera", "microphone", "geolocation", "payment", "usb", "serial", "hid")


def assert_powerful_features_off(response: HttpResponse) -> None:
    policy = dict(item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))
    for feature in FEATURES_OFF:
        assert policy.get(feature) == "()", feature


def assert_security_headers(response: HttpResponse) -> str | None:
    """Check every header; return the response's CSP nonce (None if it has none)."""
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert_powerful_features_off(response)

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
    if objects.users[user] is not None:
        # Nobody's private page may be kept by a shared cache or the browser's disk.
        directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
        assert {"private", "no-store"} <= directives, response.get("Cache-Control")
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


@pytest.mark.usefixtures("production")
def test_redirects_to_https_carry_the_browser_policies_too(db: None) -> None:
    # Set before SecurityMiddleware answers: every response has them, not only pages.
    response = Client().get("/accounts/login/")
    assert response.status_code == 301
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert_powerful_features_off(response)

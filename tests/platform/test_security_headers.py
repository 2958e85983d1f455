"""Production responses carry every header and cookie attribute we promise.

The production values are read from settings.py in a separate process started
with a production environment, then applied to this process, so the test
checks what a deployment really sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest
from django.test import Client, override_settings

from tests.factories import PASSWORD, UserFactory
from tests.support import PRODUCTION_ENV, manage

SECURITY_SETTINGS = [
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "X_FRAME_OPTIONS",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_NAME",
    "CSRF_COOKIE_SAMESITE",
    "KNOWN_DEVICE_COOKIE_NAME",
    "MESSAGES_COOKIE_NAME",
]


@pytest.fixture(scope="module")
def production_settings() -> dict[str, object]:
    script = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{k: getattr(settings, k) for k in {SECURITY_SETTINGS!r}}}))"
    )
    result = manage("shell", "-c", script, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def production(production_settings: dict[str, object], db: None) -> Iterator[None]:
    with override_settings(**production_settings):
        yield


class HttpsClient(Client):
    """A client whose every request arrives over HTTPS."""

    def generic(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def, override]
        kwargs["secure"] = True
        return super().generic(*args, **kwargs)


def https_client() -> Client:
    return HttpsClient()


def test_it_redirects_plain_http_to_https(production: None) -> None:
    response = Client().get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


def test_it_leaves_healthz_on_plain_http_for_load_balancers(production: None) -> None:
    assert Client().get("/healthz").status_code == 200


def test_it_sends_every_security_header(production: None) -> None:
    response = https_client().get("/accounts/login/")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]

    csp = {}
    for part in response["Content-Security-Policy"].split(";"):
        directive, _, value = part.strip().partition(" ")
        csp[directive] = value
    assert csp["default-src"] == "'self'"
    script_src = csp["script-src"].split()
    assert script_src[0] == "'self'"
    assert any(token.startswith("'nonce-") for token in script_src)
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["form-action"] == "'self'"
    for directive, value in csp.items():
        assert "unsafe-inline" not in value and "unsafe-eval" not in value, directive
    # The nonce in the header is the one on our script tags.
    nonce = next(t for t in script_src if t.startswith("'nonce-"))[7:-1]
    assert f'nonce="{nonce}"' in response.content.decode()


def test_it_sets_host_prefixed_secure_cookies(production: None) -> None:
    client = https_client()
    client.get("/accounts/login/")
    user = UserFactory()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302

    cookies = SimpleCookie()
    for morsel in response.cookies.values():
        cookies.load(morsel.output(header=""))
    cookies.load(client.cookies["__Host-csrftoken"].output(header=""))
    # Signing in also leaves a flash message ("Successfully signed in…") in a cookie.
    names = ("__Host-sessionid", "__Host-csrftoken", "__Host-prodev_device", "__Host-messages")
    for name in names:
        morsel = cookies[name]
        assert morsel["secure"], name
        assert morsel["path"] == "/", name
        assert not morsel["domain"], name
        assert morsel["samesite"] == "Lax", name
        assert morsel["httponly"], name

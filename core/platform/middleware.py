"""Request-wide security plumbing: request ids, session lifetimes, audit of refusals.

- ``RequestIdMiddleware`` (first in the stack) names every request, returns the name in
  ``X-Request-ID`` and makes it (and the request) available to log records and the
  audit log through context variables.
- ``SessionLifetimeMiddleware`` signs users out after ``SESSION_IDLE_TIMEOUT_MINUTES``
  without a request and ``SESSION_ABSOLUTE_HOURS`` after they signed in.
- ``BrowserPoliciesMiddleware`` sends Permissions-Policy and Cross-Origin-Resource-Policy.
- ``PrivatePagesMiddleware`` marks signed-in pages ``Cache-Control: private, no-store``.
- ``AuditMiddleware`` records refusals: 404/403 answered to a signed-in user on a URL
  that names an object (``authz_denied``), and allauth's 429s (``lockout`` on sign-in).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import patch_cache_control

from core.platform.logging import current_request, current_request_id

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}\Z")

# Session keys (values are Unix times in whole seconds).
SIGNED_IN_AT = "_prodev_signed_in_at"
LAST_SEEN = "_prodev_last_seen"
# last_seen is written at most this often: a session save on every request costs a write.
LAST_SEEN_RESOLUTION = 60

# URL keyword arguments that name one object; denials on such URLs are audited.
OBJECT_KWARGS = frozenset({"pk", "id", "slug", "token", "object_id", "key", "uidb36"})
# Their values are secrets (calendar feed tokens, reset keys) and are never stored.
SECRET_KWARGS = frozenset({"token", "key", "uidb36"})

GetResponse = Callable[[HttpRequest], HttpResponse]


def new_request_id(incoming: str | None) -> str:
    """The proxy's id when it looks like one, else a fresh one (never raw client input)."""
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each request an id, returned in ``X-Request-ID`` and carried by log records."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        # Cleared when the response is finished (below), not on return: Django logs
        # errors ("Not Found: …") after the middleware chain, and they belong to it too.
        current_request_id.set(request_id)
        current_request.set(request)
        request.in_progress = True  # type: ignore[attr-defined]  # our own, read by audit
        try:
            response = self.get_response(request)
        finally:
            # Audit events take their actor from the current request only while its
            # view runs: a streamed response may never send request_finished, and a
            # stale actor must not leak into later work (log lines keep the context).
            request.in_progress = False  # type: ignore[attr-defined]  # our own, read by audit
        response[REQUEST_ID_HEADER] = request_id
        return response


@receiver(request_finished, dispatch_uid="core.platform.middleware.forget_request")
def forget_request(sender: object, **kwargs: object) -> None:
    """The request is over: later log lines in this thread are not part of it."""
    current_request.set(None)
    current_request_id.set("")


def mark_signed_in(request: HttpRequest) -> None:
    """Start the session's clocks (called when the user signs in)."""
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN] = now


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _is_activity(request: HttpRequest) -> bool:
    """A page load or a form post; not an HTMX GET, which is mostly a poll (the bell,
    the queue, a thread) and would keep an abandoned tab signed in forever."""
    return request.method not in ("GET", "HEAD") or not _is_htmx(request)


def _expired(request: HttpRequest, reason: str, message: str) -> HttpResponse | None:
    request.session_end_reason = reason  # type: ignore[attr-defined]  # read by the receiver
    logout(request)
    messages.info(request, message, fail_silently=True)
    if not _is_htmx(request):
        return None  # the view runs signed out: login_required sends the person to sign in
    # An HTMX request would swap the sign-in page into a fragment: navigate instead, and
    # come back to the page the person was on.
    page = urlsplit(request.headers.get("HX-Current-URL", ""))
    here = page.path + (f"?{page.query}" if page.query else "") if page.path else "/"
    response = HttpResponse(status=204)
    response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': here})}"
    return response


class SessionLifetimeMiddleware:
    """Ends sessions idle for too long or older than the absolute lifetime.

    Goes after AuthenticationMiddleware and MessageMiddleware. Costs nothing for
    anonymous visitors and one session write per signed-in user per minute at most.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        idle = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
        absolute = settings.SESSION_ABSOLUTE_HOURS * 3600
        if (idle or absolute) and SESSION_KEY in request.session:
            response = self.check(request, idle, absolute)
            if response is not None:
                return response
        return self.get_response(request)

    def check(self, request: HttpRequest, idle: int, absolute: int) -> HttpResponse | None:
        session = request.session
        now = int(time.time())
        signed_in_at = session.get(SIGNED_IN_AT)
        last_seen = session.get(LAST_SEEN)
        if absolute and isinstance(signed_in_at, int) and now - signed_in_at > absolute:
            return _expired(
                request,
                "absolute",
                "For your security, sessions last at most "
                f"{settings.SESSION_ABSOLUTE_HOURS} hours. Please sign in again.",
            )
        if idle and isinstance(last_seen, int) and now - last_seen > idle:
            return _expired(
                request,
                "idle",
                f"You were signed out after {settings.SESSION_IDLE_TIMEOUT_MINUTES} minutes "
                "without activity. Please sign in again.",
            )
        if not isinstance(signed_in_at, int):
            session[SIGNED_IN_AT] = now  # a session from before these limits: start now
        if not isinstance(last_seen, int) or (
            now - last_seen >= LAST_SEEN_RESOLUTION and _is_activity(request)
        ):
            session[LAST_SEEN] = now
        return None


def _signed_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


class BrowserPoliciesMiddleware:
    """Every response says which browser features the page may use (``Permissions-Policy``)
    and that only our own pages may load it (``Cross-Origin-Resource-Policy``).

    Goes second, before SecurityMiddleware and WhiteNoise, so redirects and static files
    carry both too. Values are settings (PERMISSIONS_POLICY,
    CROSS_ORIGIN_RESOURCE_POLICY); a view that sets its own keeps it.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.permissions_policy = ", ".join(
            f"{feature}=({' '.join(allowed)})"
            for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        response.headers.setdefault(
            "Cross-Origin-Resource-Policy", settings.CROSS_ORIGIN_RESOURCE_POLICY
        )
        return response


class PrivatePagesMiddleware:
    """A response to a signed-in user that says nothing about caching is private and
    never stored: no shared cache may hand one person's page to another, and the
    browser keeps no copy on disk after sign-out.

    Goes after AuthenticationMiddleware. Anonymous pages (the landing page) and static
    files (served by WhiteNoise, earlier in the stack) keep their own caching; views that
    set Cache-Control themselves (``never_cache``, a feed) are left alone.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control") and _signed_in(request):
            patch_cache_control(response, private=True, no_store=True)
        return response


class AuditMiddleware:
    """Records denials on object URLs and allauth's rate-limit refusals.

    Goes last, so it sees the response every view (and its 404/403 handling) produced.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        status = response.status_code
        if status in (403, 404):
            self.denied(request, status)
        elif status == 429 and not getattr(request, "rate_limited", False):
            self.rate_limited(request)
        return response

    def denied(self, request: HttpRequest, status: int) -> None:
        match = request.resolver_match
        if match is None or not OBJECT_KWARGS.intersection(match.kwargs):
            return
        if not _signed_in(request):
            return
        from core.platform.audit import audit

        kwargs = {
            name: "[redacted]" if name in SECRET_KWARGS else str(value)
            for name, value in match.kwargs.items()
        }
        audit(
            request=request,
            action="authz_denied",
            detail={
                "status": status,
                "view": match.view_name,
                "route": match.route,
                "kwargs": kwargs,
                "method": request.method,
            },
        )

    def rate_limited(self, request: HttpRequest) -> None:
        from core.platform.audit import audit_once
        from core.platform.clients import client_ip

        match = request.resolver_match
        view = match.view_name if match else ""
        action = "lockout" if view == "account_login" else "rate_limited"
        audit_once(
            f"{action}:{view}:{client_ip(request)}",
            request=request,
            action=action,
            detail={"view": view, "method": request.method, "by": "allauth"},
        )

"""Sign-in throttling: when a password may be tried, and what a refusal looks like.

allauth counts wrong passwords in the cache (``ACCOUNT_RATE_LIMITS["login_failed"]``:
per address and per account, "key") before each password is checked, and gives the
count back when the password is right. Past a limit it refuses the attempt; our
adapter (core/accounts/adapters.py) turns that refusal into a 429 page that says why
and for how long (``paused``).

Anyone can spend an account's budget, so on its own that budget would let a stranger
lock a mentor out before a review session. A browser that signed in to the account
before is a *known device* for it (OWASP's "device cookies"): a signed, HttpOnly,
long-lived cookie says so (``remember_device``), and its wrong passwords count against
a budget of its own, the same size as the account's (``device_key``). Strangers' failures
never pause it, and its own typos never pause the account elsewhere. Once it spends
its budget it is a stranger again, so a stolen cookie buys one more budget of guesses.

While the cache is down allauth's counts are lost (core.platform.ratelimit.FailOpenCache
lets requests through rather than fail them), so ``admit`` counts the same limits in
the database instead: every wrong password is already an ``AuditEvent`` row
(``sign_in_failed``, with its address, the login tried and, from a known device, a
digest of that device), found through the (action, created_at) index. docs/security.md,
"Sign-in", describes the whole policy.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from allauth.core.internal import ratelimit as allauth_ratelimit
from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from core.models import AuditEvent
from core.platform.audit import login_label
from core.platform.clients import client_ip
from core.platform.ratelimit import allauth_cache_answered, too_many_requests

APP = "allauth.account"
FAILURES = "login_failed"
# Our own allauth rate-limit action: wrong passwords from one known device for one account.
DEVICE_FAILURES = "known_device_failed"
DEVICE_SALT = "core.accounts.signin.known-device"
# 96 bits: random device ids and keyed digests of the addresses signed in to.
DEVICE_ID_BYTES = 12
LOGIN_ID_CHARS = 24
# Set on the request when a known device tries its password: the audit row of a wrong
# one carries the device's digest (core/accounts/receivers.py), so the database can count
# it against that device's budget.
DEVICE_ATTRIBUTE = "sign_in_device"
DEVICE_REF_CHARS = 16

Scope = Literal["address", "account"]

REASONS: dict[Scope, str] = {
    "address": (
        "Too many wrong passwords were tried from your network, so signing in from it "
        "is paused for a moment."
    ),
    "account": (
        "Too many wrong passwords were tried for this account, so signing in to it is "
        "paused for a few minutes."
    ),
}


@dataclass(frozen=True)
class Pause:
    """Why sign-in attempts are refused, and for how many more seconds."""

    scope: Scope
    seconds: float | None


class Paused(Exception):
    """A password attempt refused before it is checked."""

    def __init__(self, pause: Pause) -> None:
        super().__init__(pause.scope)
        self.pause = pause


def admit(request: HttpRequest, *, login: str, key: str) -> allauth_ratelimit.RateLimitUsage | None:
    """Count one password attempt before it is checked, or raise Paused past a limit.

    ``key`` is allauth's per-account key (the site and the login). Returns allauth's
    usage, to be given back when the password is right (None when nothing needs it).
    """
    device = device_key(request, login)
    usage, counted = allauth_cache_answered(lambda: _admit_in_cache(request, key, device))
    if not counted:
        _admit_from_database(request, login, device)
        return None
    if usage is None:
        raise Paused(failure_pause(request, action=FAILURES, key=key))
    return usage


def _admit_in_cache(
    request: HttpRequest, key: str, device: str | None
) -> allauth_ratelimit.RateLimitUsage | None:
    if device is not None:
        usage = consume_device_attempt(request, device)
        if usage is not None:
            _mark_device(request, device)
            return usage
        # This browser spent its own budget: from here on it is a stranger.
    _mark_device(request, None)
    return allauth_ratelimit.consume(request, app=APP, action=FAILURES, key=key)


def _mark_device(request: HttpRequest, device: str | None) -> None:
    setattr(request, DEVICE_ATTRIBUTE, device_ref(device) if device is not None else None)


def device_ref(device: str) -> str:
    """What the audit log keeps of a known device's key: a digest, never the key."""
    return hashlib.sha256(device.encode()).hexdigest()[:DEVICE_REF_CHARS]


def _admit_from_database(request: HttpRequest, login: str, device: str | None) -> None:
    """The limits of ``admit``, counted in the audit log's wrong passwords."""
    failures = AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN_FAILED)
    if device is not None:
        config = device_rates()
        own = failures.filter(detail__device=device_ref(device))
        rates = allauth_ratelimit.get_rates(app=APP, action=DEVICE_FAILURES, config=config)
        if _counted_pause(rates, lambda rate: own) is None:
            _mark_device(request, device)
            return
    _mark_device(request, None)
    strangers = failures.exclude(detail__has_key="device")
    by_address = strangers.filter(ip=client_ip(request) or None)
    by_account = strangers.filter(detail__login__iexact=login_label(login))
    rates = allauth_ratelimit.get_rates(app=APP, action=FAILURES)
    pause = _counted_pause(rates, lambda rate: by_address if rate.per == "ip" else by_account)
    if pause is not None:
        raise Paused(pause)


def _counted_pause(
    rates: list[allauth_ratelimit.Rate],
    failures_for: Callable[[allauth_ratelimit.Rate], QuerySet[AuditEvent]],
) -> Pause | None:
    """The longest pause the stored failures impose, as allauth's sliding windows would."""
    now = timezone.now()
    longest: Pause | None = None
    for rate in rates:
        window = timedelta(seconds=rate.duration)
        times = list(
            failures_for(rate)
            .filter(created_at__gt=now - window)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[: rate.amount]
        )
        if len(times) < rate.amount:
            continue
        wait = (times[-1] + window - now).total_seconds()
        if longest is None or longest.seconds is None or wait > longest.seconds:
            longest = Pause("address" if rate.per == "ip" else "account", wait)
    return longest


def failure_pause(
    request: HttpRequest, *, action: str, key: str, config: dict[str, str] | None = None
) -> Pause:
    """Which of ``action``'s limits is spent, and when its oldest counted failure expires.

    allauth keeps, per limit, the times of the attempts it counted (newest first); a
    limit refuses while it holds ``amount`` of them, so it frees up when the oldest one
    leaves the window. The longest wait wins.
    """
    now = time.time()
    longest = Pause("account", None)
    for rate in allauth_ratelimit.get_rates(app=APP, action=action, config=config):
        cache_key = allauth_ratelimit.get_cache_key(
            request, app=APP, action=action, rate=rate, key=key
        )
        history = allauth_ratelimit.cache.get(cache_key, []) or []
        recent = [at for at in history if at > now - rate.duration]
        if len(recent) < rate.amount:
            continue
        wait = min(recent) + rate.duration - now
        if longest.seconds is None or wait > longest.seconds:
            longest = Pause("address" if rate.per == "ip" else "account", wait)
    return longest


def paused(request: HttpRequest, pause: Pause) -> HttpResponse:
    """429 with the reason; the owner of the account can reset the password by email."""
    context: dict[str, object] = {"reason": REASONS[pause.scope]}
    if pause.scope == "account":
        context["reset_password_url"] = reverse("account_reset_password")
    if pause.seconds is not None:
        context["retry_minutes"] = math.ceil(pause.seconds / 60)
    return too_many_requests(request, pause.seconds, context=context)


# --- Known devices -----------------------------------------------------------------------


@dataclass(frozen=True)
class KnownDevice:
    """What the cookie holds: a random id for the browser, digests of the logins it used."""

    id: str
    logins: tuple[str, ...]


def _login_id(login: str) -> str:
    """A keyed digest of a login: the cookie says which accounts without naming them."""
    digest = salted_hmac(DEVICE_SALT, login.strip().lower(), algorithm="sha256")
    return digest.hexdigest()[:LOGIN_ID_CHARS]


def _read_device(request: HttpRequest) -> KnownDevice | None:
    value = request.COOKIES.get(settings.KNOWN_DEVICE_COOKIE_NAME)
    if not value:
        return None
    try:
        data = signing.loads(
            value, salt=DEVICE_SALT, max_age=timedelta(days=settings.KNOWN_DEVICE_DAYS)
        )
    except signing.BadSignature:  # tampered, from another SECRET_KEY, or too old
        return None
    device_id, logins = (data.get("d"), data.get("a")) if isinstance(data, dict) else (0, 0)
    if not isinstance(device_id, str) or not isinstance(logins, list):
        return None
    return KnownDevice(device_id, tuple(login for login in logins if isinstance(login, str)))


def device_key(request: HttpRequest, login: str) -> str | None:
    """The key of this browser's own failure count for ``login``, when it is known for it."""
    device = _read_device(request)
    login_id = _login_id(login)
    if device is None or login_id not in device.logins:
        return None
    return f"{device.id}:{login_id}"


def device_rates() -> dict[str, str]:
    """A known device's budget: the account's ("key") limits of ``login_failed``, its own."""
    rates = allauth_ratelimit.get_rates(app=APP, action=FAILURES)
    budget = ",".join(f"{r.amount}/{r.duration}s/key" for r in rates if r.per == "key")
    return {DEVICE_FAILURES: budget}


def consume_device_attempt(
    request: HttpRequest, key: str
) -> allauth_ratelimit.RateLimitUsage | None:
    """Count one attempt against the known device's budget; None once it is spent."""
    return allauth_ratelimit.consume(
        request, app=APP, action=DEVICE_FAILURES, key=key, config=device_rates()
    )


def remember_device(request: HttpRequest, response: HttpResponse, logins: Iterable[str]) -> None:
    """After a sign-in: this browser is (still) known for ``logins``, for another year."""
    device = _read_device(request)
    fresh = [_login_id(login) for login in logins if login]
    kept = device.logins if device is not None else ()
    remembered = list(dict.fromkeys([*fresh, *kept]))[: settings.KNOWN_DEVICE_MAX_ACCOUNTS]
    device_id = device.id if device is not None else secrets.token_urlsafe(DEVICE_ID_BYTES)
    response.set_cookie(
        settings.KNOWN_DEVICE_COOKIE_NAME,
        signing.dumps({"d": device_id, "a": remembered}, salt=DEVICE_SALT, compress=True),
        max_age=settings.KNOWN_DEVICE_DAYS * 24 * 3600,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )

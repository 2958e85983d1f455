"""Rate limits beyond allauth's: per user (or client IP) per minute, counted in the cache.

``@ratelimit("submissions")`` under ``@login_required`` counts the user's POSTs in a
fixed one-minute window (``cache.add`` then ``cache.incr``: atomic in Redis, shared by
every process) and answers 429 with a friendly page past ``settings.RATE_LIMITS``. A
cache outage lets requests through (and logs it): a broken cache must never turn into
a broken site. ``client_ip`` is the one place that decides who the client is.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import reswap, retarget

from core.platform.clients import client_ip

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
TEMPLATE = "429.html"
# An HTMX refusal is a message floating at the bottom of the window (.rate-limit-toast),
# seen wherever on the page the person clicked.
HTMX_TARGET = "body"

View = Callable[..., HttpResponse]


def _ip_bucket(ip: str) -> str:
    """IPv6 clients own whole /64 networks: count the network, not the address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return ip


def _who(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{_ip_bucket(client_ip(request))}"


def hit(request: HttpRequest, scope: str, limit: int, now: float | None = None) -> float | None:
    """Count one request; None when allowed, else the seconds until the window resets."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"rl:{scope}:{_who(request)}:{window}"
    try:
        # add() is a no-op when the window's counter exists; incr() is atomic.
        cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr: start again
            cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
            count = 1
    except Exception:
        logger.warning("Rate limit %s not counted: cache unavailable", scope, exc_info=True)
        return None
    if count <= limit:
        return None
    if count == limit + 1:
        # The first refusal of the window is a security event; later ones would flood.
        from core.platform.audit import audit

        audit(request=request, action="rate_limited", detail={"scope": scope, "limit": limit})
    return (window + 1) * WINDOW_SECONDS - now


def too_many_requests(
    request: HttpRequest,
    retry_after: float | None = None,
    *,
    context: dict[str, object] | None = None,
) -> HttpResponse:
    """429 with the friendly page, or for HTMX a dismissible message over the page.

    ``context`` may say why (``reason``, shown instead of the general words) and
    offer a way out (``reset_password_url``, on sign-in pauses).
    """
    seconds = max(1, math.ceil(retry_after)) if retry_after is not None else None
    request.rate_limited = True  # type: ignore[attr-defined]  # audited already (see hit)
    ctx = {"retry_after": seconds, **(context or {})}
    if getattr(request, "htmx", False):
        response = render(request, f"{TEMPLATE}#rate-limit-message", ctx, status=429)
        response = reswap(retarget(response, HTMX_TARGET), "beforeend")
    else:
        response = render(request, TEMPLATE, ctx, status=429)
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


def ratelimit(
    scope: str, *, per_minute: int | None = None, methods: Iterable[str] = ("POST",)
) -> Callable[[View], View]:
    """Limit the view's ``methods`` to ``per_minute`` requests per user per minute.

    ``per_minute`` defaults to ``settings.RATE_LIMITS[scope]``, read on each request so
    tests (and settings overrides) can change it. Put it under ``@login_required``.
    """
    limited = frozenset(method.upper() for method in methods)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in limited:
                limit = per_minute if per_minute is not None else settings.RATE_LIMITS[scope]
                retry_after = hit(request, scope, limit)
                if retry_after is not None:
                    return too_many_requests(request, retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# Set when FailOpenCache swallowed an error, so a caller can tell "allowed" from "not
# counted" (see allauth_cache_answered).
_allauth_cache_failed: ContextVar[bool] = ContextVar("allauth_cache_failed", default=False)


class FailOpenCache:
    """The cache as allauth's rate limits use it, letting requests through while it is down.

    allauth counts sign-in, sign-up and password-reset attempts in the cache
    (``allauth.core.internal.ratelimit``) and lets a cache error escape, so a Redis
    outage would turn every sign-in into a 500. Like ``hit`` above, this logs the error
    and answers as if nothing had been counted: the lock is granted, the history is
    empty, writes are dropped. Wrong passwords must not go uncounted, so sign-in asks
    (``allauth_cache_answered``) and counts them in the database instead
    (core/accounts/signin.py).
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def _call(self, action: str, fallback: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._backend, action)(*args, **kwargs)
        except Exception:
            _allauth_cache_failed.set(True)
            logger.warning("allauth rate limit not counted: cache unavailable", exc_info=True)
            return fallback

    def add(self, *args: Any, **kwargs: Any) -> bool:
        added: bool = self._call("add", True, *args, **kwargs)
        return added

    def get(self, key: str, default: Any = None, **kwargs: Any) -> Any:
        return self._call("get", default, key, default, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        self._call("set", None, *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> None:
        self._call("delete", None, *args, **kwargs)


def allauth_cache_answered[T](count: Callable[[], T]) -> tuple[T, bool]:
    """``count()`` (calls to allauth's rate limits), and whether the cache answered them all."""
    token = _allauth_cache_failed.set(False)
    try:
        result = count()
        return result, not _allauth_cache_failed.get()
    finally:
        _allauth_cache_failed.reset(token)


def allauth_fails_open() -> None:
    """Give allauth's rate limits the FailOpenCache (called once, from CoreConfig.ready)."""
    from allauth.core.internal import ratelimit as allauth_ratelimit

    if not isinstance(allauth_ratelimit.cache, FailOpenCache):
        allauth_ratelimit.cache = FailOpenCache(allauth_ratelimit.cache)

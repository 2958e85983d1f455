"""Who the client is: its IP address, as our own proxies saw it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's IP address: ``REMOTE_ADDR``, or the proxies' word for it.

    With ``TRUSTED_PROXY_COUNT`` = N > 0, each of our N proxies appended the address it
    was connected from to X-Forwarded-For, so the Nth entry from the right is the
    client as our outermost proxy saw it. Anything further left was written by the
    client and is ignored, so a spoofed header cannot change who we count.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "")) or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(forwarded) >= count:
            return _valid_ip(forwarded[-count]) or remote
    return remote

"""Writing the audit log: ``audit(action=..., obj=..., detail=...)`` from anywhere.

The request (for actor, IP and request id) comes from the argument or, in signal
receivers and services, from the context RequestIdMiddleware set. ``detail`` is
scrubbed before it is stored: keys that name a secret are dropped and every value is
shortened, so no password, token or session key can land in the table or the logs.

Score overrides are audited by ``core.reviews.overrides`` (before and after, with the reason).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import models
from django.http import HttpRequest

from core.models import AuditEvent, User
from core.platform.clients import client_ip
from core.platform.logging import current_request, current_request_id

logger = logging.getLogger("prodev.audit")

# Keys whose values are never stored, whatever they hold.
SECRET_KEY_PATTERN = re.compile(r"pass|token|secret|session|key|csrf|cookie|signature", re.I)
REDACTED = "[redacted]"
MAX_STRING = 200
MAX_ITEMS = 20
MAX_DEPTH = 3


def scrub(value: Any, depth: int = 0) -> Any:
    """``value`` made small and safe for the log: secret keys dropped, values truncated."""
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return "…"
        return {
            str(key)[:64]: (
                REDACTED if SECRET_KEY_PATTERN.search(str(key)) else scrub(item, depth + 1)
            )
            for key, item in list(value.items())[:MAX_ITEMS]
        }
    if isinstance(value, list | tuple | set | frozenset):
        if depth >= MAX_DEPTH:
            return "…"
        return [scrub(item, depth + 1) for item in list(value)[:MAX_ITEMS]]
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    text = str(value)
    return text if len(text) <= MAX_STRING else text[: MAX_STRING - 1] + "…"


def _object_fields(obj: models.Model | None) -> dict[str, str]:
    if obj is None:
        return {}
    return {
        "object_type": obj._meta.label_lower,
        "object_id": str(obj.pk)[:64] if obj.pk is not None else "",
        "object_repr": str(obj)[:200],
    }


def _actor_from(request: HttpRequest | None) -> User | None:
    user: User | AnonymousUser | None = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


def audit(
    *,
    request: HttpRequest | None = None,
    actor: User | None = None,
    action: str,
    obj: models.Model | None = None,
    detail: dict[str, Any] | None = None,
    object_fields: dict[str, str] | None = None,
) -> AuditEvent:
    """Record ``action`` (an ``AuditEvent.Action``) by ``actor`` on ``obj``.

    ``actor`` defaults to the request's signed-in user; ``object_fields`` names an
    object that is not loaded (``object_type``, ``object_id``, ``object_repr``).
    """
    event = AuditEvent.objects.create(
        **_event_fields(request, actor, action),
        detail=scrub(detail or {}),
        **{**_object_fields(obj), **(object_fields or {})},
    )
    _log(event)
    return event


def _event_fields(request: HttpRequest | None, actor: User | None, action: str) -> dict[str, Any]:
    """Who did ``action``, from where: the fields every event of one request shares."""
    if action not in AuditEvent.Action.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    if request is None:
        request = current_request.get()
        if request is not None and not getattr(request, "in_progress", False):
            request = None  # a finished request: not this event's
    if actor is None:
        actor = _actor_from(request)
    request_id = getattr(request, "request_id", "") or current_request_id.get()
    ip = client_ip(request) if request is not None else ""
    return {
        "actor": actor if actor is not None and actor.pk else None,
        "action": action,
        "ip": ip or None,
        "request_id": request_id[:64],
    }


def audit_many(
    *,
    request: HttpRequest | None = None,
    actor: User | None = None,
    action: str,
    events: Iterable[tuple[models.Model, dict[str, Any]]],
) -> list[AuditEvent]:
    """``audit`` of ``action`` on many objects (each with its detail) in one INSERT, for
    services that write in bulk (bulk writes send no signals for the receivers to audit)."""
    shared = _event_fields(request, actor, action)
    created = AuditEvent.objects.bulk_create(
        AuditEvent(**shared, detail=scrub(detail), **_object_fields(obj)) for obj, detail in events
    )
    for event in created:
        _log(event)
    return created


def _log(event: AuditEvent) -> None:
    action = event.action
    logger.info(
        "audit %s",
        action,
        extra={
            "audit": {
                "action": action,
                "actor_id": event.actor_id,
                "object": f"{event.object_type}:{event.object_id}" if event.object_type else None,
                "ip": event.ip,
            }
        },
    )


def audit_once(key: str, *, seconds: int = 60, **kwargs: Any) -> AuditEvent | None:
    """``audit(**kwargs)`` unless an event with ``key`` was recorded in the last ``seconds``.

    For events an attacker can repeat at will (lockouts, 429s): one row per minute says
    as much as a thousand. A cache outage errs on the side of recording.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    try:
        first = cache.add(f"audit-once:{digest}", 1, timeout=seconds)
    except Exception:
        first = True
    return audit(**kwargs) if first else None


def login_label(value: object) -> str:
    """What a failed sign-in tried, safe to store: an email address, else a placeholder.

    People type passwords into the email field; anything that is not an address is
    not kept.
    """
    text = str(value or "").strip()
    if "@" in text and " " not in text and len(text) <= 254:
        return text[:MAX_STRING]
    return "(not an email address)"


def stored_values(
    model: type[models.Model], instance: models.Model, fields: tuple[str, ...], **kwargs: Any
) -> dict[str, Any] | None:
    """The stored values of ``fields`` before this save (for a pre_save receiver), or None
    for a new row, a fixture load or a save that touches none of them."""
    if kwargs.get("raw") or instance._state.adding or instance.pk is None:
        return None
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not set(update_fields) & set(fields):
        return None
    return model._default_manager.filter(pk=instance.pk).values(*fields).first()


def changed_values(instance: models.Model, previous: dict[str, Any] | None) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields of ``previous`` that this save changed."""
    if not previous:
        return {}
    return {
        field: [old, getattr(instance, field)]
        for field, old in previous.items()
        if old != getattr(instance, field)
    }

"""The admin's own history, mirrored into the audit log."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_save
from django.dispatch import receiver

from core.platform.audit import audit

_ADMIN_FLAGS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}


def _mirror_admin_entry(entry: LogEntry) -> None:
    assert entry.content_type_id is not None  # the admin logs every entry with its model's
    content_type = ContentType.objects.get_for_id(entry.content_type_id)
    audit(
        actor=entry.user,
        action="admin_change",
        object_fields={
            "object_type": f"{content_type.app_label}.{content_type.model}",
            "object_id": str(entry.object_id or "")[:64],
            "object_repr": entry.object_repr[:200],
        },
        detail={"flag": _ADMIN_FLAGS.get(entry.action_flag), "change": entry.get_change_message()},
    )


@receiver(post_save, sender=LogEntry)
def audit_admin_change(sender: type, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    """Every change made in the admin, as the admin's own history records it."""
    if created and not kwargs.get("raw"):
        _mirror_admin_entry(instance)


def _mirror_bulk_admin_entries(log_actions: Callable[..., Any]) -> Callable[..., Any]:
    """The admin logs actions on several objects with bulk_create, which sends no post_save."""

    @functools.wraps(log_actions)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        entries = log_actions(*args, **kwargs)
        if isinstance(entries, list) and len(entries) > 1:
            for entry in entries:
                _mirror_admin_entry(entry)
        return entries

    wrapped.audit_mirrored = True  # type: ignore[attr-defined]  # a mark on a function
    return wrapped


if not getattr(LogEntry.objects.log_actions, "audit_mirrored", False):
    mirrored = _mirror_bulk_admin_entries(LogEntry.objects.log_actions)
    LogEntry.objects.log_actions = mirrored  # type: ignore[method-assign]  # wrapped on purpose

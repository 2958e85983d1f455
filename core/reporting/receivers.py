"""A learner's own work or their cohort's schedule changed: their standings are stale."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.dispatch import receiver

from core.platform.cache import versions_bumped
from core.reporting.models import Standing


@receiver(versions_bumped)
def mark_standings_stale(
    sender: object, learner: list[int], schedule: list[int], **kwargs: Any
) -> None:
    """What a learner's pages depend on is what their standing does (see ``Standing``)."""
    if learner or schedule:
        Standing.objects.filter(
            Q(membership__user_id__in=learner) | Q(membership__cohort_id__in=schedule)
        ).update(stale=True)

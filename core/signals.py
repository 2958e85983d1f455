"""Domain events fan out from here (notifications, cache invalidation)."""

from __future__ import annotations

"""Admin pages, made for daily use by program staff.

Dates of a cohort's calendar are shown and entered in the cohort's time zone: list
columns format them explicitly, and the change pages of cohorts, releases and
extensions activate the zone around the whole view (see
``core.platform.admin_helpers.CohortZoneAdmin``).
Each domain keeps its admin beside its models; importing this module registers them all.
"""

from __future__ import annotations

from core.accounts import admin as accounts
from core.checks import admin as checks
from core.cohorts import admin as cohorts
from core.curriculum import admin as curriculum
from core.disputes import admin as disputes
from core.peer import admin as peer
from core.platform import admin as audit  # the read-only audit log (issue #7)
from core.reviews import admin as reviews

__all__ = ["accounts", "audit", "checks", "cohorts", "curriculum", "disputes", "peer", "reviews"]

"""Admin pages, made for daily use by program staff.

Dates of a cohort's calendar are shown and entered in the cohort's time zone: list
columns format them explicitly, and the change pages of cohorts, releases and
extensions activate the zone around the whole view (see ``common.CohortZoneAdmin``).
Importing the package registers every model admin.
"""

from __future__ import annotations

from core.admin import accounts, cohorts, curriculum, peer
from core.admin import audit as audit  # the read-only audit log (issue #7)

__all__ = ["accounts", "cohorts", "curriculum", "peer"]

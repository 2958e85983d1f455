"""What every dashboard shares: score roll-up, labels, versioned keys, freshness."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.utils import dateformat, timezone

from core.models import Attempt
from core.platform.cache import cache_versions, key_parts

CENT = Decimal("0.01")
NOT_STARTED = "not_started"
# Cell states of the matrix, with the words a screen reader (and the legend) uses.
CELL_STATES = {
    NOT_STARTED: "not started",
    Attempt.Status.WAITING: "waiting for review",
    Attempt.Status.CHANGES_REQUESTED: "changes requested",
    Attempt.Status.APPROVED: "approved",
}


def percent_label(value: Decimal | None) -> str:
    """'85.5%' (no trailing zeros), or '–' when there is no score."""
    if value is None:
        return "–"
    return f"{format(value.quantize(Decimal('0.1'), ROUND_HALF_UP).normalize(), 'f')}%"


def join_titles(titles: Sequence[str], limit: int = 3) -> str:
    """'A', 'A and B', 'A, B and C', 'A, B, C and 2 more'."""
    shown = list(titles[:limit])
    rest = len(titles) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


# ---------------------------------------------------------------------------
# Score roll-up


class Counted(NamedTuple):
    """One project that counts towards a learner's scores."""

    module_id: int
    weight: int
    score: Decimal


def roll_up(counted: Iterable[Counted]) -> tuple[dict[int, Decimal], Decimal | None]:
    """Module scores (weighted by project weight) and the overall score (their mean)."""
    sums: dict[int, Decimal] = defaultdict(Decimal)
    weights: dict[int, int] = defaultdict(int)
    for item in counted:
        sums[item.module_id] += item.score * item.weight
        weights[item.module_id] += item.weight
    modules = {
        module_id: (sums[module_id] / weights[module_id]).quantize(CENT, ROUND_HALF_UP)
        for module_id in sums
    }
    if not modules:
        return modules, None
    overall = (sum(modules.values(), Decimal()) / len(modules)).quantize(CENT, ROUND_HALF_UP)
    return modules, overall


def counted_score(
    *, score: Decimal | None, handed_in: bool, second_deadline: datetime, now: datetime
) -> Decimal | None:
    """The score a project counts with, or None when it does not count yet (see above)."""
    if score is not None:
        return score
    if not handed_in and now >= second_deadline:
        return Decimal(0)
    return None


def local_label(moment: datetime, tz: ZoneInfo, fmt: str) -> str:
    """``moment`` in ``tz``, formatted like the |date filter."""
    return dateformat.format(timezone.localtime(moment, tz), fmt)


def next_change(times: Iterable[datetime], now: datetime) -> datetime | None:
    """The earliest of ``times`` still ahead: when a clock-dependent result goes stale."""
    return min((moment for moment in times if moment > now), default=None)


def version_parts(names: Iterable[str]) -> list[str] | None:
    """``<name>=<version>`` for each version name, sorted: the parts of a key that depends
    on all of them; None if the cache is down."""
    versions = cache_versions(names)
    return None if versions is None else key_parts(versions)

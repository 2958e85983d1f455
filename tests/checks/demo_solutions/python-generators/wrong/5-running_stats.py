"""Running statistics in a generator fed with send().

Typical mistake: every value is kept in a list, so memory grows with each one.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import NamedTuple

logger = logging.getLogger(__name__)


class Stats(NamedTuple):
    count: int
    mean: float
    minimum: float | None
    maximum: float | None


def running_stats() -> Generator[Stats, object, None]:
    """Yield the statistics of every number sent so far."""
    values: list[float] = []
    stats = Stats(0, 0.0, None, None)
    while True:
        value = yield stats
        if not isinstance(value, int | float):
            logger.warning("Ignoring %r: not a number", value)
            continue
        values.append(value)
        stats = Stats(len(values), sum(values) / len(values), min(values), max(values))

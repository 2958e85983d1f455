"""Running statistics in a generator fed with send()."""

from __future__ import annotations

import logging
from collections.abc import Generator
from numbers import Real
from typing import NamedTuple

logger = logging.getLogger(__name__)


class Stats(NamedTuple):
    count: int
    mean: float
    minimum: float | None
    maximum: float | None


def running_stats() -> Generator[Stats, object, None]:
    """Yield the statistics of every number sent so far."""
    stats = Stats(0, 0.0, None, None)
    while True:
        value = yield stats
        if not isinstance(value, Real) or isinstance(value, bool):
            logger.warning("Ignoring %r: not a number", value)
            continue
        count = stats.count + 1
        stats = Stats(
            count,
            stats.mean + (value - stats.mean) / count,
            value if stats.minimum is None else min(stats.minimum, value),
            value if stats.maximum is None else max(stats.maximum, value),
        )

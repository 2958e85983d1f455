"""Bounded concurrency.

Typical mistake: a new semaphore per read bounds nothing.
"""

from __future__ import annotations

import asyncio

zero = __import__("0-read_sensor")
read_sensor = zero.read_sensor


async def read_bounded(sensor_ids: list[str], limit: int) -> list[zero.Reading]:
    """Read every sensor, never more than ``limit`` at once."""

    async def guarded(sensor_id: str) -> zero.Reading:
        async with asyncio.Semaphore(limit):
            return await read_sensor(sensor_id, 0.1)

    return list(await asyncio.gather(*(guarded(s) for s in sensor_ids)))

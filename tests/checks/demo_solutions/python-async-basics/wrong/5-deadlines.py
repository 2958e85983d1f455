"""Deadlines and cancellation.

Typical mistake: gather(return_exceptions=True) turns an unexpected error into None,
so the other reads carry on and nobody hears about the failure.
"""

from __future__ import annotations

import asyncio

zero = __import__("0-read_sensor")
read_sensor = zero.read_sensor


async def _read_or_none(sensor_id: str, deadline: float) -> zero.Reading | None:
    try:
        async with asyncio.timeout(deadline):
            return await read_sensor(sensor_id, 2.0)
    except TimeoutError:
        return None


async def read_before(sensor_ids: list[str], deadline: float) -> dict[str, zero.Reading | None]:
    """Each sensor's reading if it came within ``deadline`` seconds, else None."""
    results = await asyncio.gather(
        *(_read_or_none(s, deadline) for s in sensor_ids), return_exceptions=True
    )
    return {
        sensor_id: None if isinstance(result, BaseException) else result
        for sensor_id, result in zip(sensor_ids, results, strict=True)
    }

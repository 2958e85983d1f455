"""Read many sensors at once.

Typical mistake: awaiting each read in turn reads the sensors one after another.
"""

from __future__ import annotations

import asyncio

zero = __import__("0-read_sensor")
read_sensor = zero.read_sensor


async def read_all(sensor_ids: list[str], max_latency: float) -> list[zero.Reading]:
    """Every sensor, read one after the other."""
    return [await read_sensor(sensor_id, max_latency) for sensor_id in sensor_ids]


async def read_all_ordered(sensor_ids: list[str], max_latency: float) -> list[zero.Reading]:
    """Every sensor read concurrently, in the order of ``sensor_ids``."""
    return list(await asyncio.gather(*(read_sensor(s, max_latency) for s in sensor_ids)))

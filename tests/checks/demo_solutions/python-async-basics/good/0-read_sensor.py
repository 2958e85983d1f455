"""A slow sensor."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass


@dataclass
class Reading:
    sensor_id: str
    celsius: float
    latency: float


async def read_sensor(sensor_id: str, max_latency: float = 1.0) -> Reading:
    """Wait up to ``max_latency`` seconds, then return the sensor's reading.

    Called without ``await`` (or asyncio.run), ``read_sensor("kitchen")`` only returns
    a coroutine object: nothing runs, and Python warns that it was never awaited.
    """
    latency = random.uniform(0, max_latency)
    await asyncio.sleep(latency)
    return Reading(sensor_id, round(random.uniform(15.0, 35.0), 1), latency)

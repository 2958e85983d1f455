"""Async generators and comprehensions.

Typical mistake: hot_readings appends in an async for loop instead of the async
comprehension the task asks for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

zero = __import__("0-read_sensor")
read_sensor = zero.read_sensor


async def stream_readings(
    sensor_id: str, interval: float, count: int
) -> AsyncIterator[zero.Reading]:
    """Yield a reading every ``interval`` seconds, ``count`` times."""
    for number in range(count):
        if number:
            await asyncio.sleep(interval)
        yield await read_sensor(sensor_id, 0.0)


async def hot_readings(sensor_id: str, threshold: float) -> list[zero.Reading]:
    """The readings above ``threshold`` among ten taken 0.1 s apart."""
    hot = []
    async for reading in stream_readings(sensor_id, 0.1, 10):
        if reading.celsius > threshold:
            hot.append(reading)
    return hot

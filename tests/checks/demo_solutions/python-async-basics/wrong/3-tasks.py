"""Tasks.

Typical mistake: each task is awaited right after it is created, so they run in turn.
"""

from __future__ import annotations

import asyncio

zero = __import__("0-read_sensor")
read_sensor = zero.read_sensor


def schedule_reading(sensor_id: str, max_latency: float) -> asyncio.Task[zero.Reading]:
    """Start reading the sensor in the background; the task to await."""
    return asyncio.create_task(read_sensor(sensor_id, max_latency))


async def read_all_tasks(sensor_ids: list[str], max_latency: float) -> list[zero.Reading]:
    """Read every sensor through a task."""
    readings = []
    for sensor_id in sensor_ids:
        readings.append(await schedule_reading(sensor_id, max_latency))
    return readings

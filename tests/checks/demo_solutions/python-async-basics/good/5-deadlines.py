"""Deadlines and cancellation."""

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
    """Each sensor's reading if it came within ``deadline`` seconds, else None.

    Any other error cancels the other reads (the TaskGroup's rule): a half-read fleet
    would be reported as if it were complete.
    """
    async with asyncio.TaskGroup() as group:
        tasks = {s: group.create_task(_read_or_none(s, deadline)) for s in sensor_ids}
    return {sensor_id: task.result() for sensor_id, task in tasks.items()}

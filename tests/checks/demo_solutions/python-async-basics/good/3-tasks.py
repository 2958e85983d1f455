"""Tasks."""

from __future__ import annotations

import asyncio

zero = __import__("0-read_sensor")
read_sensor = zero.read_sensor

# The event loop keeps only weak references to tasks: one nobody references can be
# garbage-collected before it finishes, so every task we create is kept here too.
_running: set[asyncio.Task[zero.Reading]] = set()


def schedule_reading(sensor_id: str, max_latency: float) -> asyncio.Task[zero.Reading]:
    """Start reading the sensor in the background; the task to await."""
    task = asyncio.create_task(read_sensor(sensor_id, max_latency))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


async def read_all_tasks(sensor_ids: list[str], max_latency: float) -> list[zero.Reading]:
    """Schedule every reading first, then await them in turn."""
    tasks = [schedule_reading(sensor_id, max_latency) for sensor_id in sensor_ids]
    return [await task for task in tasks]

"""Read many sensors at once."""

from __future__ import annotations

import asyncio

zero = __import__("0-read_sensor")
read_sensor = zero.read_sensor
Reading = zero.Reading


async def read_all(sensor_ids: list[str], max_latency: float) -> list[Reading]:
    """Every sensor read concurrently, in the order the readings finished."""
    # as_completed when each result is useful as soon as it arrives (show it, act on
    # it); gather when the caller needs the results lined up with its inputs.
    return [
        await reading
        for reading in asyncio.as_completed([read_sensor(s, max_latency) for s in sensor_ids])
    ]


async def read_all_ordered(sensor_ids: list[str], max_latency: float) -> list[Reading]:
    """Every sensor read concurrently, in the order of ``sensor_ids``."""
    return list(await asyncio.gather(*(read_sensor(s, max_latency) for s in sensor_ids)))

"""Bounded concurrency."""

from __future__ import annotations

import asyncio
import sys
import time

zero = __import__("0-read_sensor")
read_sensor = zero.read_sensor


async def read_bounded(sensor_ids: list[str], limit: int) -> list[zero.Reading]:
    """Read every sensor, never more than ``limit`` at once."""
    semaphore = asyncio.Semaphore(limit)

    async def guarded(sensor_id: str) -> zero.Reading:
        async with semaphore:
            return await read_sensor(sensor_id, 0.1)

    return list(await asyncio.gather(*(guarded(s) for s in sensor_ids)))


if __name__ == "__main__":
    started = time.perf_counter()
    readings = asyncio.run(
        read_bounded([f"s{n}" for n in range(int(sys.argv[1]))], int(sys.argv[3]))
    )
    print(f"read {len(readings)} sensors, elapsed: {time.perf_counter() - started:.2f}s")

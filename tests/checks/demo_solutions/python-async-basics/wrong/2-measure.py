"""Measure the difference between sequential and concurrent reads.

Typical mistake: the command-line part was never written, so the script prints nothing.
"""

from __future__ import annotations

import asyncio
import time

read_sensor = __import__("0-read_sensor").read_sensor
read_all = __import__("1-read_all").read_all


async def _sequential(n: int, max_latency: float) -> None:
    for number in range(n):
        await read_sensor(f"sensor-{number}", max_latency)


def measure(n: int, max_latency: float) -> dict[str, float]:
    """How long reading ``n`` sensors takes one after another, then concurrently."""
    started = time.perf_counter()
    asyncio.run(_sequential(n, max_latency))
    sequential = time.perf_counter() - started
    started = time.perf_counter()
    asyncio.run(read_all([f"sensor-{number}" for number in range(n)], max_latency))
    return {"sequential": sequential, "concurrent": time.perf_counter() - started}

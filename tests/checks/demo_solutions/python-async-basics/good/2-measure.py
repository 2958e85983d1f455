"""Measure the difference between sequential and concurrent reads."""

from __future__ import annotations

import asyncio
import sys
import time

read_sensor = __import__("0-read_sensor").read_sensor
read_all = __import__("1-read_all").read_all


async def _sequential(n: int, max_latency: float) -> None:
    for number in range(n):
        await read_sensor(f"sensor-{number}", max_latency)


def measure(n: int, max_latency: float) -> dict[str, float]:
    """How long reading ``n`` sensors takes one after another, then concurrently.

    Concurrently it takes about the slowest latency (close to max_latency), not
    max_latency / n: the reads wait side by side, so the longest wait sets the time.
    """
    started = time.perf_counter()
    asyncio.run(_sequential(n, max_latency))
    sequential = time.perf_counter() - started
    started = time.perf_counter()
    asyncio.run(read_all([f"sensor-{number}" for number in range(n)], max_latency))
    concurrent = time.perf_counter() - started
    return {"sequential": sequential, "concurrent": concurrent}


if __name__ == "__main__":
    times = measure(int(sys.argv[1]), float(sys.argv[2]))
    speed_up = times["sequential"] / times["concurrent"]
    print(
        f"sequential: {times['sequential']:.2f}s  concurrent: {times['concurrent']:.2f}s  "
        f"speed-up: {speed_up:.1f}x"
    )

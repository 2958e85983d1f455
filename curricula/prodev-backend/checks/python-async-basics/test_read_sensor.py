"""Task 0: 0-read_sensor.py's read_sensor waits a random time, then returns a Reading."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time

import pytest
from conftest import load, run


def readings(count: int, max_latency: float) -> list[object]:
    read_sensor = load("0-read_sensor").read_sensor

    async def many() -> list[object]:
        return await asyncio.gather(*(read_sensor(f"s{n}", max_latency) for n in range(count)))

    return run(many())[0]


def test_read_sensor_is_a_coroutine_function() -> None:
    """read_sensor is defined with async def"""
    assert inspect.iscoroutinefunction(load("0-read_sensor").read_sensor)


def test_it_returns_a_reading_dataclass() -> None:
    """It returns a Reading dataclass with sensor_id, celsius and latency"""
    reading, _ = run(load("0-read_sensor").read_sensor("kitchen", 0.01))
    assert dataclasses.is_dataclass(reading)
    assert [f.name for f in dataclasses.fields(reading)] == ["sensor_id", "celsius", "latency"]
    assert reading.sensor_id == "kitchen"


def test_temperatures_are_between_15_and_35() -> None:
    """Temperatures are random, between 15.0 and 35.0"""
    temperatures = [r.celsius for r in readings(40, 0.0)]
    assert all(15.0 <= t <= 35.0 for t in temperatures)
    assert len(set(temperatures)) > 1, "every reading has the same temperature"


def test_latencies_stay_below_max_latency() -> None:
    """Each latency is between 0 and max_latency"""
    latencies = [r.latency for r in readings(20, 0.02)]
    assert all(0 <= latency <= 0.02 for latency in latencies)


def test_it_waits_with_asyncio_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """It waits with asyncio.sleep, for the latency it reports"""
    waited: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float, *args: object) -> None:
        waited.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    reading, _ = run(load("0-read_sensor").read_sensor("kitchen", 0.5))
    assert waited == [pytest.approx(reading.latency)]


def test_it_never_blocks_with_time_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """time.sleep is never called: it would block every other coroutine"""

    def blocking(seconds: float) -> None:
        raise AssertionError("time.sleep blocks the event loop")

    monkeypatch.setattr(time, "sleep", blocking)
    run(load("0-read_sensor").read_sensor("kitchen", 0.01))

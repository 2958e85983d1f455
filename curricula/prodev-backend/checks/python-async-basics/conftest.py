"""Fixtures shared by the Async Python checks.

Real sensors answer after a random time, which makes slow and flaky checks. Apart from
task 0's, the checks replace ``read_sensor`` with ``FakeSensors``: each sensor answers
after the latency the check gives it (``max_latency`` by default), and the fake
records which reads started, how many were in flight at once, and which were cancelled.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest


def load(name: str) -> ModuleType:
    """The learner's module ``name`` (such as ``1-read_all``), freshly imported."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def run[T](coroutine: Coroutine[Any, Any, T]) -> tuple[T, float]:
    """Run ``coroutine`` in a new event loop; its result and how long it took."""
    started = time.perf_counter()
    result = asyncio.run(coroutine)
    return result, time.perf_counter() - started


@dataclass
class Reading:
    sensor_id: str
    celsius: float
    latency: float


@dataclass
class FakeSensors:
    """A stand-in for read_sensor with chosen latencies, temperatures and failures."""

    latencies: dict[str, float] = field(default_factory=dict)
    temperatures: dict[str, float] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    started: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0

    async def read_sensor(self, sensor_id: str, max_latency: float = 1.0) -> Reading:
        latency = self.latencies.get(sensor_id, max_latency)
        self.started.append(sensor_id)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(latency)
        except asyncio.CancelledError:
            self.cancelled.append(sensor_id)
            raise
        finally:
            self.in_flight -= 1
        if sensor_id in self.failing:
            raise RuntimeError(f"sensor {sensor_id} is on fire")
        return Reading(sensor_id, self.temperatures.get(sensor_id, 21.5), latency)


@pytest.fixture
def sensors(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeSensors]:
    """``sensors(module, latencies=...)`` puts a FakeSensors in place of read_sensor for
    ``module`` and the learner's modules it imported."""

    def replace(module: ModuleType, **options: Any) -> FakeSensors:
        fake = FakeSensors(**options)
        patched = [module, *(m for n, m in sys.modules.items() if n[:1].isdigit())]
        for target in patched:
            if hasattr(target, "read_sensor"):
                monkeypatch.setattr(target, "read_sensor", fake.read_sensor)
        return fake

    return replace

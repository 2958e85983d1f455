"""Task 4: 4-async_generators.py streams readings and filters them in an async comprehension."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import AsyncIterator, Callable

import pytest
from conftest import FakeSensors, Reading, load, run

TEMPERATURES = [20.0, 31.5, 35.0, 29.9, 33.0]


def fake_stream(module: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """stream_readings yields readings of these TEMPERATURES, without waiting."""

    async def stream_readings(
        sensor_id: str, interval: float, count: int
    ) -> AsyncIterator[Reading]:
        for celsius in TEMPERATURES:
            yield Reading(sensor_id, celsius, 0.0)

    monkeypatch.setattr(module, "stream_readings", stream_readings)


def test_stream_readings_is_an_async_generator() -> None:
    """stream_readings is an async generator function"""
    assert inspect.isasyncgenfunction(load("4-async_generators").stream_readings)


def test_it_yields_count_readings(sensors: Callable[..., FakeSensors]) -> None:
    """stream_readings(sensor_id, interval, count) yields count readings of that sensor"""
    module = load("4-async_generators")
    sensors(module, latencies={"roof": 0.0})

    async def collect() -> list[Reading]:
        return [r async for r in module.stream_readings("roof", 0.01, 4)]

    found, _ = run(collect())
    assert [r.sensor_id for r in found] == ["roof"] * 4


def test_it_waits_the_interval_between_readings(sensors: Callable[..., FakeSensors]) -> None:
    """Readings come every interval seconds"""
    module = load("4-async_generators")
    sensors(module, latencies={"roof": 0.0})

    async def collect() -> list[Reading]:
        return [r async for r in module.stream_readings("roof", 0.05, 3)]

    _, elapsed = run(collect())
    assert elapsed >= 0.1


def test_hot_readings_keeps_the_readings_above_the_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """hot_readings(sensor_id, threshold) keeps the readings above the threshold"""
    module = load("4-async_generators")
    fake_stream(module, monkeypatch)
    found, _ = run(module.hot_readings("roof", 30.0))
    assert [r.celsius for r in found] == [31.5, 35.0, 33.0]


def test_nothing_hot_gives_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no reading above the threshold, hot_readings returns an empty list"""
    module = load("4-async_generators")
    fake_stream(module, monkeypatch)
    assert run(module.hot_readings("roof", 40.0))[0] == []


def test_hot_readings_uses_an_async_comprehension() -> None:
    """hot_readings collects with an async comprehension"""
    source = textwrap.dedent(inspect.getsource(load("4-async_generators").hot_readings))
    assert any(
        isinstance(node, ast.comprehension) and node.is_async
        for node in ast.walk(ast.parse(source))
    )

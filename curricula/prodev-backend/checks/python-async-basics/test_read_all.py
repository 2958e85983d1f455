"""Task 1: 1-read_all.py reads many sensors concurrently, in finishing or in input order."""

from __future__ import annotations

from collections.abc import Callable

from conftest import FakeSensors, load, run

LATENCIES = {"attic": 0.15, "basement": 0.05, "cellar": 0.10}
# Five sensors of 0.1 s each take 0.5 s one after the other, about 0.1 s concurrently.
CONCURRENT_BOUND = 0.3


def test_read_all_reads_every_sensor(sensors: Callable[..., FakeSensors]) -> None:
    """read_all returns one reading per sensor"""
    module = load("1-read_all")
    sensors(module, latencies=LATENCIES)
    found, _ = run(module.read_all(list(LATENCIES), 1.0))
    assert sorted(r.sensor_id for r in found) == sorted(LATENCIES)


def test_readings_come_in_the_order_they_finished(sensors: Callable[..., FakeSensors]) -> None:
    """read_all returns the readings in the order they finished (as_completed)"""
    module = load("1-read_all")
    sensors(module, latencies=LATENCIES)
    found, _ = run(module.read_all(list(LATENCIES), 1.0))
    assert [r.sensor_id for r in found] == ["basement", "cellar", "attic"]


def test_the_sensors_are_read_concurrently(sensors: Callable[..., FakeSensors]) -> None:
    """Five sensors of 0.1 s take about 0.1 s, not 0.5 s"""
    module = load("1-read_all")
    sensors(module)
    _, elapsed = run(module.read_all([f"s{n}" for n in range(5)], 0.1))
    assert elapsed < CONCURRENT_BOUND


def test_read_all_ordered_keeps_the_input_order(sensors: Callable[..., FakeSensors]) -> None:
    """read_all_ordered returns the readings in the order of the sensor ids (gather)"""
    module = load("1-read_all")
    sensors(module, latencies=LATENCIES)
    found, elapsed = run(module.read_all_ordered(list(LATENCIES), 1.0))
    assert [r.sensor_id for r in found] == list(LATENCIES)
    assert elapsed < CONCURRENT_BOUND


def test_no_sensors_no_readings(sensors: Callable[..., FakeSensors]) -> None:
    """An empty list of sensors gives an empty list, in both orders"""
    module = load("1-read_all")
    sensors(module)
    assert run(module.read_all([], 1.0))[0] == []
    assert run(module.read_all_ordered([], 1.0))[0] == []

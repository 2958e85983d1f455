"""Task 5: 5-deadlines.py reads every sensor in a TaskGroup, each within a deadline."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import FakeSensors, load, run

LATENCIES = {"fast": 0.01, "slow": 2.0, "quick": 0.02}
DEADLINE = 0.2
# The slow sensor would take 2 s: the whole read ends soon after the deadline instead.
DEADLINE_BOUND = 0.8


def test_every_sensor_is_a_key(sensors: Callable[..., FakeSensors]) -> None:
    """The result has one key per sensor id"""
    module = load("5-deadlines")
    sensors(module, latencies=LATENCIES)
    found, _ = run(module.read_before(list(LATENCIES), DEADLINE))
    assert set(found) == set(LATENCIES)


def test_slow_sensors_give_none(sensors: Callable[..., FakeSensors]) -> None:
    """Sensors within the deadline give their reading, slower ones None"""
    module = load("5-deadlines")
    sensors(module, latencies=LATENCIES)
    found, _ = run(module.read_before(list(LATENCIES), DEADLINE))
    assert found["slow"] is None
    assert found["fast"].sensor_id == "fast" and found["quick"].sensor_id == "quick"


def test_it_ends_at_the_deadline(sensors: Callable[..., FakeSensors]) -> None:
    """It takes about the deadline, not as long as the slowest sensor"""
    module = load("5-deadlines")
    fake = sensors(module, latencies=LATENCIES)
    _, elapsed = run(module.read_before(list(LATENCIES), DEADLINE))
    assert elapsed < DEADLINE_BOUND
    assert fake.cancelled == ["slow"]


def test_an_unexpected_error_cancels_the_other_reads(sensors: Callable[..., FakeSensors]) -> None:
    """A sensor raising an unexpected error cancels the other reads, and the error comes out"""
    module = load("5-deadlines")
    fake = sensors(module, latencies={"broken": 0.01, "slow": 0.5}, failing={"broken"})
    with pytest.raises((ExceptionGroup, RuntimeError)):
        run(module.read_before(["broken", "slow"], 1.0))
    assert fake.cancelled == ["slow"]

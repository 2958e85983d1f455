"""Task 6: 6-bounded.py never has more than ``limit`` reads in flight."""

from __future__ import annotations

from collections.abc import Callable

from conftest import FakeSensors, load, run

SENSORS = [f"sensor-{n}" for n in range(20)]
LATENCY = 0.02


def test_every_sensor_is_read_once(sensors: Callable[..., FakeSensors]) -> None:
    """read_bounded reads each sensor exactly once"""
    module = load("6-bounded")
    fake = sensors(module)
    run(module.read_bounded(SENSORS, 5))
    assert sorted(fake.started) == sorted(SENSORS)


def test_never_more_than_limit_in_flight(sensors: Callable[..., FakeSensors]) -> None:
    """At most limit reads run at the same time"""
    module = load("6-bounded")
    fake = sensors(module, latencies=dict.fromkeys(SENSORS, LATENCY))
    run(module.read_bounded(SENSORS, 5))
    assert fake.peak <= 5


def test_the_whole_limit_is_used(sensors: Callable[..., FakeSensors]) -> None:
    """With more sensors than the limit, limit reads do run at once"""
    module = load("6-bounded")
    fake = sensors(module, latencies=dict.fromkeys(SENSORS, LATENCY))
    run(module.read_bounded(SENSORS, 5))
    assert fake.peak == 5


def test_a_limit_of_one_reads_one_at_a_time(sensors: Callable[..., FakeSensors]) -> None:
    """limit=1 reads the sensors one after another"""
    module = load("6-bounded")
    fake = sensors(module, latencies=dict.fromkeys(SENSORS[:4], LATENCY))
    run(module.read_bounded(SENSORS[:4], 1))
    assert fake.peak == 1

"""Task 2: 2-measure.py times reading n sensors one after another, then concurrently."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conftest import FakeSensors, load

# Four sensors of 0.05 s each: 0.2 s in sequence, about 0.05 s concurrently; the bound
# leaves room for a busy machine.
COUNT, LATENCY = 4, 0.05
CONCURRENT_BOUND = COUNT * LATENCY * 0.75


def test_it_returns_both_durations(sensors: Callable[..., FakeSensors]) -> None:
    """measure(n, max_latency) returns {"sequential": s, "concurrent": s}"""
    module = load("2-measure")
    sensors(module)
    durations = module.measure(COUNT, LATENCY)
    assert {"sequential", "concurrent"} <= set(durations)
    assert all(isinstance(durations[k], float) for k in ("sequential", "concurrent"))


def test_sequential_takes_the_sum_of_the_latencies(sensors: Callable[..., FakeSensors]) -> None:
    """Reading one after another takes about n x latency"""
    module = load("2-measure")
    sensors(module)
    assert module.measure(COUNT, LATENCY)["sequential"] >= COUNT * LATENCY * 0.9


def test_concurrent_takes_about_the_slowest(sensors: Callable[..., FakeSensors]) -> None:
    """Reading concurrently takes about one latency"""
    module = load("2-measure")
    sensors(module)
    assert module.measure(COUNT, LATENCY)["concurrent"] < CONCURRENT_BOUND


def test_each_way_reads_n_sensors(sensors: Callable[..., FakeSensors]) -> None:
    """Each way reads the n sensors once"""
    module = load("2-measure")
    fake = sensors(module)
    module.measure(COUNT, LATENCY)
    assert len(fake.started) == 2 * COUNT


def test_the_script_prints_the_comparison() -> None:
    """python3 2-measure.py 3 0.05 prints both times and the speed-up"""
    script = Path(load("2-measure").__file__)
    done = subprocess.run(
        [sys.executable, str(script), "3", "0.05"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pattern = r"sequential: \d+\.\d+s\s+concurrent: \d+\.\d+s\s+speed-up: \d+\.\d+x"
    assert re.search(pattern, done.stdout), done.stdout

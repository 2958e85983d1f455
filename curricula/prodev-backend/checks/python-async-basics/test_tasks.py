"""Task 3: 3-tasks.py schedules readings as tasks, then awaits them."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

from conftest import FakeSensors, load, run

# Four sensors of 0.1 s each: about 0.1 s when all are scheduled before any is awaited.
CONCURRENT_BOUND = 0.3


def test_schedule_reading_is_a_plain_function() -> None:
    """schedule_reading is a regular function, not a coroutine"""
    schedule_reading = load("3-tasks").schedule_reading
    assert inspect.isfunction(schedule_reading)
    assert not inspect.iscoroutinefunction(schedule_reading)


def test_it_returns_a_task_that_is_not_done_yet(sensors: Callable[..., FakeSensors]) -> None:
    """schedule_reading returns an asyncio.Task, scheduled but not finished"""
    module = load("3-tasks")
    sensors(module)

    async def main() -> tuple[bool, bool, bool]:
        task = module.schedule_reading("garage", 0.05)
        before = task.done()
        await task
        return isinstance(task, asyncio.Task), before, task.done()

    assert run(main())[0] == (True, False, True)


def test_awaiting_the_task_gives_the_reading(sensors: Callable[..., FakeSensors]) -> None:
    """Awaiting the task gives the sensor's reading"""
    module = load("3-tasks")
    sensors(module)

    async def main() -> object:
        return await module.schedule_reading("garage", 0.01)

    assert run(main())[0].sensor_id == "garage"


def test_read_all_tasks_reads_every_sensor(sensors: Callable[..., FakeSensors]) -> None:
    """read_all_tasks returns one reading per sensor"""
    module = load("3-tasks")
    sensors(module)
    found, _ = run(module.read_all_tasks(["a", "b", "c"], 0.01))
    assert sorted(r.sensor_id for r in found) == ["a", "b", "c"]


def test_every_task_is_scheduled_before_any_is_awaited(
    sensors: Callable[..., FakeSensors],
) -> None:
    """All the readings run at once: four sensors of 0.1 s take about 0.1 s"""
    module = load("3-tasks")
    fake = sensors(module)
    _, elapsed = run(module.read_all_tasks(["a", "b", "c", "d"], 0.1))
    assert fake.peak == 4
    assert elapsed < CONCURRENT_BOUND

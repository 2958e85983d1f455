"""A slow sensor.

Typical mistake: time.sleep blocks the whole event loop while one sensor waits.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass


@dataclass
class Reading:
    sensor_id: str
    celsius: float
    latency: float


async def read_sensor(sensor_id: str, max_latency: float = 1.0) -> Reading:
    """Wait up to ``max_latency`` seconds, then return the sensor's reading."""
    latency = random.uniform(0, max_latency)
    time.sleep(latency)
    return Reading(sensor_id, round(random.uniform(15.0, 35.0), 1), latency)

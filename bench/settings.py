"""The production settings plus the harness's urlconf (which adds the baseline page)
and a cache backend that counts its hits and misses (bench/cache.py).

Everything else is exactly what a deployment runs: gunicorn serves
``site_config.wsgi`` with ``DJANGO_SETTINGS_MODULE=bench.settings``.
"""

from __future__ import annotations

from site_config.settings import *  # noqa: F403
from site_config.settings import CACHES

ROOT_URLCONF = "bench.urls"
if CACHES["default"]["BACKEND"] == "core.platform.cache_backend.ReusingRedisCache":
    CACHES["default"]["BACKEND"] = "bench.cache.CountingRedisCache"

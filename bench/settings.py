"""The production settings plus the harness's urlconf (which adds the baseline page).

Everything else is exactly what a deployment runs: gunicorn serves
``site_config.wsgi`` with ``DJANGO_SETTINGS_MODULE=bench.settings``.
"""

from __future__ import annotations

from site_config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

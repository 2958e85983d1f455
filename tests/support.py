"""Helpers shared by tests that run the site as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The environment of a production deployment (what the README tells operators to set).
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-secret-key-for-the-deploy-check-0123456789abcdefghij",
    "ALLOWED_HOSTS": "prodev.example",
    "CSRF_TRUSTED_ORIGINS": "https://prodev.example",
    "SITE_URL": "https://prodev.example",
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` in a fresh interpreter with ``env`` on top of ours."""
    # The test run's own switches (DEBUG, DJANGO_ALLOW_ASYNC_UNSAFE for browser
    # tests) are not part of a deployment's environment.
    unset = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {key: value for key, value in os.environ.items() if key not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
    )

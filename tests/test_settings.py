"""Settings come from the environment and fail loudly on bad values."""

from __future__ import annotations

import os

import pytest

from tests.support import PRODUCTION_ENV as PRODUCTION
from tests.support import manage


def test_it_passes_the_deploy_check_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    # Nothing is silenced on PostgreSQL; on SQLite only W040, about the INCLUDE columns
    # SQLite leaves out of the queue's indexes (never a deployment check).
    silenced = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SILENCED_SYSTEM_CHECKS)",
        env=PRODUCTION,
    ).stdout.strip()
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert silenced == "[]"
        assert "0 silenced" in result.stdout
    else:
        assert silenced == "['models.W040']"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "postgres://user@host:notaport/db"),
        ("DATABASE_URL", "mysql://user@host/db"),
        ("DATABASE_URL", "postgres://host-without-database"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("TASKS_BACKEND", "celery"),
        ("TRUSTED_PROXY_COUNT", "two"),
        ("EMAIL_PORT", "smtp"),
        ("MARKDOWN_MAX_CHARS", "0"),
    ],
)
def test_it_refuses_a_bad_value_naming_the_variable(variable: str, value: str) -> None:
    env = {variable: value}
    if variable == "EMAIL_PORT":
        env["EMAIL_HOST"] = "smtp.example.com"
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_it_requires_a_secret_key_in_production() -> None:
    env = PRODUCTION | {"SECRET_KEY": ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_requires_redis_in_production() -> None:
    result = manage("check", env=PRODUCTION | {"REDIS_URL": ""})
    assert result.returncode != 0
    assert "REDIS_URL must be set" in result.stderr


def test_it_runs_with_no_configuration_at_all() -> None:
    env = {"DEBUG": "", "DATABASE_URL": "", "REDIS_URL": "", "TASKS_BACKEND": ""}
    result = manage("check", env=env)
    assert result.returncode == 0, result.stderr

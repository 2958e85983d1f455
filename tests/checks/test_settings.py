"""The checks' settings: running learner code unsandboxed is for development only."""

from __future__ import annotations

from tests.support import PRODUCTION_ENV as PRODUCTION
from tests.support import manage


def test_it_refuses_unsandboxed_checks_in_production() -> None:
    result = manage("check", env=PRODUCTION | {"CHECKS_ALLOW_UNSANDBOXED": "true"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "CHECKS_ALLOW_UNSANDBOXED must be off when DEBUG is off" in result.stderr


def test_development_may_allow_unsandboxed_checks() -> None:
    result = manage("check", env={"DEBUG": "true", "CHECKS_ALLOW_UNSANDBOXED": "true"})
    assert result.returncode == 0, result.stderr


def test_it_refuses_a_bad_limit_naming_the_variable() -> None:
    result = manage("check", env={"CHECKS_WALL_SECONDS": "forever"})
    assert result.returncode != 0
    assert "CHECKS_WALL_SECONDS" in result.stderr

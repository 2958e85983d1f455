"""Operations files: Dockerfile, Procfile, docker-compose.yml, CI and gunicorn.conf.py.

Linters and schema checks run offline: hadolint is a bundled binary and
check-jsonschema ships the GitHub Actions and Compose schemas it validates against.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent

PROCFILE = {
    "release": "python manage.py migrate --noinput",
    "web": "gunicorn site_config.wsgi -c gunicorn.conf.py",
    "worker": "python manage.py db_worker",
}


def _tool(name: str) -> str:
    """A console script installed next to this interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run make venv.")
    return found


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _procfile() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def _compose() -> dict[str, object]:
    return YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())


def _gunicorn_check(**overrides: str) -> subprocess.CompletedProcess[str]:
    # DEBUG=true lets the settings load without production secrets.
    env = os.environ | {"DEBUG": "true"} | overrides
    return _run(
        _tool("gunicorn"), "--check-config", "-c", "gunicorn.conf.py", "site_config.wsgi", env=env
    )


def test_it_lints_the_dockerfile() -> None:
    result = _run(_tool("hadolint"), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.github-workflows", ".github/workflows/ci.yml"),
        ("vendor.compose-spec", "docker-compose.yml"),
    ],
)
def test_it_validates_against_the_vendored_schema(schema: str, path: str) -> None:
    result = _run(_tool("check-jsonschema"), "--builtin-schema", schema, path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_declares_the_release_web_and_worker_processes() -> None:
    assert _procfile() == PROCFILE


def test_it_runs_the_procfile_commands_in_compose() -> None:
    services = _compose()["services"]
    assert services["web"]["command"] == PROCFILE["web"]
    assert services["worker"]["command"] == PROCFILE["worker"]
    assert services["migrate"]["command"] == PROCFILE["release"]
    assert services["worker"]["environment"]["TASKS_BACKEND"] == "database"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_it_runs_gunicorn_with_the_procfile_command_in_docker() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "site_config.wsgi", "-c", "gunicorn.conf.py"]' in dockerfile


def test_it_accepts_a_valid_gunicorn_config() -> None:
    result = _gunicorn_check(WEB_CONCURRENCY="3", GUNICORN_THREADS="2", PORT="8080")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        # gunicorn itself parses WEB_CONCURRENCY before reading our file.
        ("WEB_CONCURRENCY", "abc", "WEB_CONCURRENCY"),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be at least 1"),
        ("GUNICORN_THREADS", "many", "GUNICORN_THREADS must be a whole number"),
        ("PORT", "http", "PORT must be a whole number"),
    ],
)
def test_it_refuses_a_bad_gunicorn_setting(variable: str, value: str, message: str) -> None:
    result = _gunicorn_check(**{variable: value})
    assert result.returncode != 0, result.stdout + result.stderr
    assert message in result.stdout + result.stderr

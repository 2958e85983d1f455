"""The check runtime: built once, rebuilt only when what it is built from changes."""

from __future__ import annotations

import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from core.checks import runtime
from core.checks.runtime import load_manifest, runtime_dir, runtime_status


def test_a_current_runtime_is_not_rebuilt(check_runtime: None) -> None:
    before = load_manifest()
    out = StringIO()
    started = time.monotonic()
    call_command("build_check_runtime", stdout=out)

    assert time.monotonic() - started < 1
    assert "is current" in out.getvalue()
    assert load_manifest() == before


def test_it_holds_the_interpreter_and_the_pinned_packages(check_runtime: None) -> None:
    manifest = load_manifest()
    assert manifest is not None
    site = runtime_dir() / "python" / "lib" / f"python{manifest.python_version.rsplit('.', 1)[0]}"
    for package in ("pytest", "django", "rest_framework", "pytest_django", "tzdata"):
        assert (site / "site-packages" / package).is_dir(), package
    assert not (site / "test").exists()  # the standard library's own tests are left out
    assert (runtime_dir() / manifest.python).is_file()
    assert manifest.library_dirs and all(Path(d).is_absolute() for d in manifest.library_dirs)


def test_a_changed_requirements_file_makes_the_runtime_out_of_date(
    check_runtime: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tmp_path / "runtime-requirements.txt"
    changed.write_text(runtime.REQUIREMENTS.read_text() + "requests==2.0.0\n")
    monkeypatch.setattr(runtime, "REQUIREMENTS", changed)

    manifest, reason = runtime_status()
    assert manifest is None
    assert "out of date" in reason and "build_check_runtime" in reason


def test_a_missing_runtime_says_how_to_build_it(tmp_path: Path) -> None:
    manifest, reason = runtime_status(tmp_path / "nowhere")
    assert manifest is None
    assert "not built" in reason and "python manage.py build_check_runtime" in reason

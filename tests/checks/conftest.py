"""Fixtures for the checks engine: the runtime (built once a session) and the real sandbox.

Tests that run learner code use the ``sandbox`` fixture: without bubblewrap (or user
namespaces) they skip with the reason, except when REQUIRE_SANDBOX_TESTS=1 (set in
.ci/run), where they fail instead. Every learner submission is written into
``tmp_path`` by ``submission``; ``run`` sends it through ``run_suite`` and then checks
that the host is as it was: no process left under the slot uids it used, and a fresh
run still passes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from core.checks.report import CaseResult
from core.checks.runtime import runtime_status
from core.checks.sandbox import Limits, SandboxResult, run_suite, sandbox_available
from core.checks.slots import slot_held_if_free, uid_processes

# Sample solutions of the demo suites (test_demo_suites.py): learners' code, not our tests.
collect_ignore = ["demo_solutions"]
REQUIRED = os.environ.get("REQUIRE_SANDBOX_TESTS", "").lower() in {"1", "true", "yes"}
# Small limits so hostile submissions end in seconds.
TEST_LIMITS = Limits(
    wall_seconds=10,
    cpu_seconds=5,
    memory_mb=512,
    processes=24,
    output_bytes=16 * 1024,
    disk_mb=32,
    file_size_mb=8,
    open_files=128,
)
SETTINGS_FILE = Path(settings.BASE_DIR) / "site_config" / "settings.py"
PASSING_SUITE = {"test_ok.py": "def test_ok():\n    assert True\n"}


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"Sandbox tests are required here (REQUIRE_SANDBOX_TESTS=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def check_runtime() -> None:
    """The check runtime, built (or found current) once per session."""
    try:
        call_command("build_check_runtime", verbosity=0)
    except (CommandError, OSError, subprocess.SubprocessError) as error:
        _unavailable(f"the check runtime could not be built: {error}")
    manifest, reason = runtime_status()
    if manifest is None:
        _unavailable(reason)


@pytest.fixture(scope="session")
def sandbox(check_runtime: None) -> None:
    """The real bubblewrap sandbox works here (else skip, or fail when required)."""
    available, reason = sandbox_available()
    if not available:
        _unavailable(reason)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (path → dedented text) under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    return root


@dataclass(frozen=True)
class Submission:
    """A learner's code directory and the suite that checks it."""

    code: Path
    suite: Path


@pytest.fixture
def submission(tmp_path: Path) -> Callable[..., Submission]:
    """Make a submission from ``code`` and ``suite`` file maps."""

    def make(code: dict[str, str], suite: dict[str, str]) -> Submission:
        return Submission(
            code=write_tree(tmp_path / "code", code), suite=write_tree(tmp_path / "suite", suite)
        )

    return make


# Far from the real uids (61000+): tests of slots kill this uid's processes, and another
# test session on this machine may be running real sandboxes at the same time.
TEST_UID = 62900


@pytest.fixture
def lock_dir(tmp_path: Path) -> Iterator[Path]:
    """Two slots of their own (uids TEST_UID and TEST_UID + 1), locked in this directory."""
    directory = tmp_path / "slots"
    with override_settings(
        CHECKS_SLOT_LOCK_DIR=directory, CHECKS_SANDBOX_SLOTS=2, CHECKS_SANDBOX_UID_BASE=TEST_UID
    ):
        yield directory


def leftovers(slot: int | None, *, zombies: bool = True) -> list[int]:
    """Processes of ``slot``'s uid, unless ``zombies`` is False unreaped ones too (they
    still count against the slot's next run's process limit); none if another run holds
    the slot now: the lock dir is machine-wide, and another test session may be running
    sandboxes."""
    if slot is None:
        return []
    with slot_held_if_free(slot) as held:
        uid = settings.CHECKS_SANDBOX_UID_BASE + slot
        return uid_processes(uid, zombies=zombies) if held else []


def nothing_left_running() -> None:
    """No process runs as any slot's uid (of the slots no other run holds now). A worker
    that was killed leaves its sandbox's processes to init, to reap in its own time."""
    for slot in range(settings.CHECKS_SANDBOX_SLOTS):
        assert leftovers(slot, zombies=False) == [], f"processes left under slot {slot}'s uid"


@pytest.fixture
def run(
    sandbox: None, submission: Callable[..., Submission], tmp_path: Path
) -> Iterator[Callable[..., SandboxResult]]:
    """Run a learner submission through ``run_suite``; afterwards check the host is intact.

    After the test: no process of the runs' slot uids is left, the settings file and a
    sentinel file outside the sandbox are unchanged, and a fresh run still passes.
    """
    sentinel = tmp_path / "outside.txt"
    sentinel.write_text("untouched")
    settings_digest = hashlib.sha256(SETTINGS_FILE.read_bytes()).hexdigest()
    used: list[int | None] = []

    def go(
        code: dict[str, str],
        suite: dict[str, str],
        links: dict[str, str] | None = None,
        **limits: float,
    ) -> SandboxResult:
        made = submission(code, suite)
        for name, target in (links or {}).items():
            (made.code / name).symlink_to(target)
        chosen = Limits(**{**TEST_LIMITS.__dict__, **limits})
        result = run_suite(code_dir=made.code, suite_dir=made.suite, limits=chosen)
        used.append(result.slot)
        return result

    yield go

    for slot in used:
        assert leftovers(slot) == [], f"processes left under slot {slot}'s uid"
    assert sentinel.read_text() == "untouched"
    assert hashlib.sha256(SETTINGS_FILE.read_bytes()).hexdigest() == settings_digest
    fresh = tmp_path / "after"
    after = run_suite(
        code_dir=write_tree(fresh / "code", {"app.py": "X = 1\n"}),
        suite_dir=write_tree(fresh / "suite", PASSING_SUITE),
        limits=TEST_LIMITS,
    )
    assert after.exit_code == 0, after.output
    assert after.report is not None and after.report.all_passed


def case(result: SandboxResult, name: str) -> CaseResult:
    """The report's case called ``name`` (fails the test when absent)."""
    assert result.report is not None, result.output
    for found in result.report.cases:
        if found.name == name:
            return found
    raise AssertionError(f"no case {name!r} in {[c.name for c in result.report.cases]}")


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """Uploads (zips of code, attachments) go to this test's own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def queue_only(settings: Any) -> None:
    """Queued runs wait for ``support.work_queue`` (a worker) instead of running as they
    are queued: the immediate backend would run them inside the request's commit."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

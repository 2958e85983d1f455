"""checks_doctor: prerequisites, then each guarantee proven against the real sandbox."""

from __future__ import annotations

import os
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.checks.slots import slot_lease
from tests.checks.conftest import TEST_UID as UID


def test_it_prints_each_guarantee_verified(sandbox: None) -> None:
    out = StringIO()
    call_command("checks_doctor", stdout=out)

    text = out.getvalue()
    assert "✗" not in text
    for guarantee in (
        "✓ no network: connect to 127.0.0.1:5432",
        "✓ no network: connect to 127.0.0.1:6379",
        "✓ host processes invisible",
        "✓ fork bomb held at",
        "✓ memory limit",
        "✓ wall limit kills the process tree",
        "✓ application code, settings, media",
        "✓ CPU limit",
    ):
        assert guarantee in text
    assert "guarantees held" in text


def test_it_fails_with_the_reason_when_the_sandbox_cannot_run(
    monkeypatch: pytest.MonkeyPatch, check_runtime: None
) -> None:
    monkeypatch.setattr(
        "core.management.commands.checks_doctor.sandbox_available",
        lambda: (False, "bubblewrap is not installed (apt-get install bubblewrap)"),
    )
    out = StringIO()
    with pytest.raises(CommandError, match="bubblewrap is not installed"):
        call_command("checks_doctor", stdout=out)
    assert "✗ sandbox: bubblewrap is not installed" in out.getvalue()


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to a sandbox uid needs root")
def test_it_names_a_free_slot_whose_uid_still_has_processes(sandbox: None, lock_dir: Path) -> None:
    with slot_lease(wait_seconds=0):
        pass  # slot 0 swept and marked clean
    stray = subprocess.Popen(["sleep", "60"], user=UID + 1, group=UID + 1, extra_groups=[])
    try:
        out = StringIO()
        call_command("checks_doctor", "--no-self-test", stdout=out)
    finally:
        stray.kill()
        stray.wait()
    text = out.getvalue()
    assert f"slot 1 (uid {UID + 1}) is free but its uid has 1 process (pids {stray.pid})" in text
    assert "slot 0 " not in text

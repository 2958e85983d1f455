"""checks_doctor: prerequisites, then each guarantee proven against the real sandbox."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


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

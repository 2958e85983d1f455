"""Say whether this machine can run automated checks, and prove the sandbox's guarantees."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.checks.runtime import runtime_dir, runtime_status
from core.checks.sandbox import sandbox_available
from core.checks.selftest import run_self_test
from core.checks.slots import busy_slots


class Command(BaseCommand):
    help = (
        "Check bubblewrap, user namespaces and the check runtime, then run hostile probes "
        "in the real sandbox and print each guarantee verified. Exits non-zero on a failure."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--no-self-test", action="store_true", help="only check the prerequisites"
        )

    def line(self, ok: bool, message: str) -> None:
        mark = self.style.SUCCESS("✓") if ok else self.style.ERROR("✗")
        self.stdout.write(f"{mark} {message}")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        manifest, runtime_reason = runtime_status()
        self.line(manifest is not None, f"{runtime_reason} at {runtime_dir()}")
        available, reason = sandbox_available()
        self.line(available, f"sandbox: {reason}")
        base, slots = settings.CHECKS_SANDBOX_UID_BASE, settings.CHECKS_SANDBOX_SLOTS
        self.stdout.write(
            f"  {slots} slots (uids {base}–{base + slots - 1}), "
            f"locks in {settings.CHECKS_SLOT_LOCK_DIR}"
        )
        for number, pids in busy_slots().items():
            self.stdout.write(
                self.style.WARNING(
                    f"  slot {number} (uid {base + number}) is free but its uid has "
                    f"{len(pids)} process{'es' if len(pids) != 1 else ''} (pids "
                    f"{', '.join(map(str, pids[:5]))}): runs pass it over until they are gone"
                )
            )
        if not available:
            if settings.CHECKS_ALLOW_UNSANDBOXED and settings.DEBUG:
                self.stdout.write(
                    self.style.WARNING(
                        "  CHECKS_ALLOW_UNSANDBOXED is on: learner code would run UNSANDBOXED "
                        "(development only)."
                    )
                )
            raise CommandError(f"This machine cannot run checks: {reason}")
        if options["no_self_test"]:
            return
        self.stdout.write("Self-test in the real sandbox:")
        findings = run_self_test()
        for finding in findings:
            self.line(finding.ok, finding.message)
        failed = [finding for finding in findings if not finding.ok]
        elapsed = time.monotonic() - started
        if failed:
            raise CommandError(f"{len(failed)} of {len(findings)} guarantees failed.")
        self.stdout.write(f"All {len(findings)} guarantees held ({elapsed:.1f} s).")

"""Build the check runtime that sandboxed check suites run with."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.checks.runtime import RuntimeBuildError, build_runtime, runtime_dir


class Command(BaseCommand):
    help = (
        "Build the check runtime (a copy of Python plus core/checks/runtime-requirements.txt) "
        "in CHECKS_RUNTIME_DIR. Does nothing when it is already current."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--force", action="store_true", help="rebuild even when current")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            built, manifest = build_runtime(force=options["force"], log=self.stdout.write)
        except RuntimeBuildError as error:
            raise CommandError(str(error)) from error
        if not built:
            self.stdout.write(
                f"The check runtime at {runtime_dir()} is current "
                f"({manifest.fingerprint[:12]}, Python {manifest.python_version})."
            )

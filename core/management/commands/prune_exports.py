"""Delete score exports (and their files) that are past their expiry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.reporting.services import score_exports_prune


class Command(BaseCommand):
    help = "Delete expired score exports and their files (run it daily, e.g. from cron)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = score_exports_prune()
        self.stdout.write(f"Deleted {count} expired export{'' if count == 1 else 's'}.")

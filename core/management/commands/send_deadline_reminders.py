"""Remind learners of deadlines less than 24 hours away (run every few minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.notifications.reminders import send_deadline_reminders


class Command(BaseCommand):
    help = (
        "Send a 'deadline in 24 hours' notification to every learner who still owes work "
        "on a deadline less than 24 hours away. Safe to run often: a reminder is never "
        "sent twice, and a moved deadline is reminded again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_deadline_reminders()
        self.stdout.write(f"Sent {sent} deadline reminder{'' if sent == 1 else 's'}.")

"""Notify mentors and staff about reviews past their SLA (run every few minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.reviews.escalation import escalate_reviews


class Command(BaseCommand):
    help = (
        "Tell the cohort's mentors about iterations past their peer SLA and still short "
        "of peer reviews, and staff about iterations past their mentor SLA. Safe to run "
        "often from cron: each notice is sent once. (The queue and the staff SLA board "
        "show escalations without this command; it only sends the notifications.)"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        peer, mentor = escalate_reviews()
        self.stdout.write(
            f"Sent {peer} peer-SLA escalation notice{'' if peer == 1 else 's'} to mentors "
            f"and {mentor} mentor-SLA breach notice{'' if mentor == 1 else 's'} to staff."
        )

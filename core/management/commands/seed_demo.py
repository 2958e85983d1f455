"""Load the demo program and its accounts so a newcomer sees a living site."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.models import User

DEMO_PASSWORD = "prodev-demo"
DEMO_USERS = [
    # email, display name, is_staff
    ("learner@example.com", "Lina Learner", False),
    ("mentor@example.com", "Sam Mentor", False),
    ("reviewer@example.com", "Rae Reviewer", False),
    ("staff@example.com", "Stella Staff", True),
]


class Command(BaseCommand):
    help = "Load the demo program and demo accounts (idempotent: safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-demo-passwords",
            action="store_true",
            help="Create the demo accounts even with DEBUG off (they have a public password).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_demo_passwords"]:
            raise CommandError(
                "DEBUG is off: refusing to create demo accounts with the public password "
                f"{DEMO_PASSWORD!r}. Pass --allow-demo-passwords if you really mean it."
            )
        with transaction.atomic():
            created = self._users()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready ({created} new accounts). Sign in as learner@, mentor@, "
                f"reviewer@ or staff@example.com with the password {DEMO_PASSWORD!r}."
            )
        )

    def _users(self) -> int:
        created = 0
        for email, name, is_staff in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email,
                    password=DEMO_PASSWORD,
                    display_name=name,
                    is_staff=is_staff,
                    is_superuser=is_staff,
                )
                created += 1
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
        return created

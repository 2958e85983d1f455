"""django-allauth hooks: account email goes through the task queue."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter

from core.tasks import send_email_on_commit


class AccountAdapter(DefaultAccountAdapter):
    """Sends allauth's emails as background tasks, after the transaction commits."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        message = self.render_mail(template_prefix, email, context)
        send_email_on_commit(message)

"""django-allauth hooks: account email goes through the task queue."""

from __future__ import annotations

import hashlib
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from core.tasks import send_email_on_commit


class AccountAdapter(DefaultAccountAdapter):
    """Sends allauth's emails as background tasks, after the transaction commits."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        message = self.render_mail(template_prefix, email, context)
        send_email_on_commit(message)

    def get_client_ip(self, request: HttpRequest) -> str:
        """The same client address our own rate limits and the audit log use."""
        from core.ratelimit import client_ip

        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth refuses a sign-in after too many failures: record the lockout."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            from core.audit import audit_once, login_label

            login = login_label(credentials.get("email") or credentials.get("username"))
            digest = hashlib.sha256(login.lower().encode()).hexdigest()
            audit_once(
                f"lockout:{digest}", request=request, action="lockout", detail={"login": login}
            )
            raise

"""django-allauth hooks: account email goes through the task queue; sign-in pauses
answer 429 (core/accounts/signin.py)."""

from __future__ import annotations

import hashlib
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from core.accounts import signin
from core.cohorts.join_codes import JOIN_AFTER_SIGN_IN
from core.models import User
from core.notifications.tasks import send_email_on_commit


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth has no types
    """Sends allauth's emails as background tasks, after the transaction commits; counts
    sign-in attempts our way and remembers the browsers people sign in with; brings a
    newcomer back to the join link they came by."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        message = self.render_mail(template_prefix, email, context)
        send_email_on_commit(message)

    def post_login(self, request: HttpRequest, user: User, **kwargs: Any) -> HttpResponse:
        """Signed in: this browser becomes a known device for the address used (and the
        account's own), exempt from pauses strangers cause."""
        response: HttpResponse = super().post_login(request, user, **kwargs)
        signin.remember_device(request, response, [kwargs.get("email") or "", user.email])
        return response

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """Where a sign-in without ``?next=`` goes: back to the join link that sent this
        browser to sign in (a newcomer's ``next`` is lost in the email confirmation),
        else the home page."""
        pending = request.session.pop(JOIN_AFTER_SIGN_IN, None)
        if isinstance(pending, str):
            return pending
        url: str = super().get_login_redirect_url(request)
        return url

    def get_client_ip(self, request: HttpRequest) -> str:
        """The same client address our own rate limits and the audit log use."""
        from core.platform.clients import client_ip

        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Count the attempt (core/accounts/signin.py); past a wrong-password limit, record
        the lockout and answer 429.

        allauth's own version counts only per address and per account, in the cache only,
        and shows its refusal as a form error (200) unlike every other limit; its
        middleware answers the ImmediateHttpResponse raised here instead.
        """
        login = credentials.get("email") or credentials.get("username") or ""
        key = self._get_login_attempts_cache_key(request, **credentials)
        try:
            # Given back by allauth's authenticate() when the password is right.
            self._login_failed_rl_usage = signin.admit(request, login=login, key=key)
        except signin.Paused as refusal:
            from core.platform.audit import audit_once, login_label

            label = login_label(login)
            digest = hashlib.sha256(label.lower().encode()).hexdigest()
            audit_once(
                f"lockout:{digest}", request=request, action="lockout", detail={"login": label}
            )
            raise ImmediateHttpResponse(signin.paused(request, refusal.pause)) from None

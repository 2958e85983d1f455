"""The audit log: who did what security-relevant thing, to what, from where, when."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One security event; written by core.platform.audit.audit(), read-only everywhere else.

    Never holds passwords, tokens or session keys: the service scrubs ``detail``.
    """

    class Action(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        LOCKOUT = "lockout", "Locked out (too many sign-in attempts)"
        SIGN_OUT = "sign_out", "Signed out"
        SESSION_EXPIRED = "session_expired", "Session expired"
        SIGN_UP = "sign_up", "Signed up"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_SET = "password_set", "Password set"
        PASSWORD_RESET = "password_reset", "Password reset"
        EMAIL_ADDED = "email_added", "Email address added"
        EMAIL_REMOVED = "email_removed", "Email address removed"
        EMAIL_CHANGED = "email_changed", "Primary email changed"
        EMAIL_CONFIRMED = "email_confirmed", "Email address confirmed"
        AUTHZ_DENIED = "authz_denied", "Access denied"
        RATE_LIMITED = "rate_limited", "Rate limited"
        MEMBERSHIP_CHANGED = "membership_changed", "Membership changed"
        ROLE_CHANGED = "role_changed", "Role or permission changed"
        ACCOUNT_DEACTIVATED = "account_deactivated", "Account deactivated"
        ACCOUNT_REACTIVATED = "account_reactivated", "Account reactivated"
        SCORE_OVERRIDE = "score_override", "Score overridden"
        DEADLINE_SHIFT = "deadline_shift", "Deadlines moved"
        EXTENSION_GRANTED = "extension_granted", "Extension granted"
        ADMIN_CHANGE = "admin_change", "Admin change"
        DISPUTE_OPENED = "dispute_opened", "Verdict disputed"
        DISPUTE_CLAIMED = "dispute_claimed", "Dispute claimed"
        DISPUTE_RESOLVED = "dispute_resolved", "Dispute resolved"
        JOIN_CODE_REDEEMED = "join_code_redeemed", "Joined a cohort with a join code"
        JOIN_CODE_REFUSED = "join_code_refused", "Join code refused"
        JOIN_CODE_REVOKED = "join_code_revoked", "Join code revoked"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who did it (empty for anonymous visitors and system jobs).",
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=100, blank=True, help_text="app_label.model")
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    detail = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at"], name="audit_created"),
            models.Index(fields=["action", "-created_at"], name="audit_action_created"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_created"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.created_at:%Y-%m-%d %H:%M:%S} UTC"

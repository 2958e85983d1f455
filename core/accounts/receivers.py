"""Account events: sign-ins, sign-outs, allauth's account changes, roles and permissions
become audit rows; a new display name bumps the cached pages of the user's cohorts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.account import signals as account_signals
from allauth.account.models import EmailAddress
from django.contrib.auth import signals as auth_signals
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from core.accounts.signin import DEVICE_ATTRIBUTE
from core.models import Membership, User
from core.platform.audit import audit, changed_values, login_label, stored_values
from core.platform.cache import bump_on_commit
from core.platform.middleware import mark_signed_in

# Audit log (issue #7): security events from Django, allauth and our models become
# AuditEvent rows (core/platform/audit.py scrubs what they carry). Actor, IP and request id come
# from the current request when a receiver is not handed one.

_ROLE_FIELDS = ("is_staff", "is_superuser", "is_active")


def _user_fields(user: User | None) -> dict[str, str]:
    if user is None or user.pk is None:
        return {}
    return {"object_type": "core.user", "object_id": str(user.pk), "object_repr": user.email}


@receiver(auth_signals.user_logged_in)
def audit_sign_in(sender: type, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """A successful sign-in (allauth, the admin through allauth, or a test's force_login)."""
    if request is not None and hasattr(request, "session"):
        mark_signed_in(request)
    audit(request=request, actor=user, action="sign_in", object_fields=_user_fields(user))


@receiver(auth_signals.user_login_failed)
def audit_sign_in_failed(
    sender: str, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A wrong email or password; only the address tried is kept, never the password.

    From a known device, a digest of it too: sign-in counts its wrong passwords against
    its own budget when the cache is down (core/accounts/signin.py).
    """
    login = login_label(credentials.get("email") or credentials.get("username"))
    target = User.objects.filter(email__iexact=login).only("pk", "email").first()
    detail = {"login": login}
    device = getattr(request, DEVICE_ATTRIBUTE, None)
    if device:
        detail["device"] = device
    audit(
        request=request,
        action="sign_in_failed",
        detail=detail,
        object_fields=_user_fields(target),
    )


@receiver(auth_signals.user_logged_out)
def audit_sign_out(
    sender: type, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    """Signing out, or a session ended by SessionLifetimeMiddleware (idle or too old)."""
    if user is None:
        return
    reason = getattr(request, "session_end_reason", None)
    audit(
        request=request,
        actor=user,
        action="session_expired" if reason else "sign_out",
        detail={"reason": reason} if reason else None,
        object_fields=_user_fields(user),
    )


def _audit_account(action: str) -> Callable[..., None]:
    def receiver_(sender: type, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
        detail = {}
        for name in ("email_address", "from_email_address", "to_email_address"):
            address = kwargs.get(name)
            if address is not None:
                detail[name.removesuffix("_address")] = address.email
        audit(
            request=request,
            actor=user,
            action=action,
            detail=detail,
            object_fields=_user_fields(user),
        )

    receiver_.__name__ = f"audit_{action}"
    receiver_.__doc__ = f"allauth's {action} signal."
    return receiver_


for _signal, _action in (
    (account_signals.user_signed_up, "sign_up"),
    (account_signals.password_changed, "password_changed"),
    (account_signals.password_set, "password_set"),
    (account_signals.password_reset, "password_reset"),
    (account_signals.email_added, "email_added"),
    (account_signals.email_removed, "email_removed"),
    (account_signals.email_changed, "email_changed"),
):
    _signal.connect(_audit_account(_action), dispatch_uid=f"audit_{_action}", weak=False)


@receiver(account_signals.email_confirmed)
def audit_email_confirmed(
    sender: type, request: HttpRequest | None, email_address: EmailAddress, **kwargs: Any
) -> None:
    user = email_address.user
    audit(
        request=request,
        actor=_actor_or_none(request) or user,
        action="email_confirmed",
        detail={"email": email_address.email},
        object_fields=_user_fields(user),
    )


def _actor_or_none(request: HttpRequest | None) -> User | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


@receiver(pre_save, sender=User)
def remember_user_roles(sender: type, instance: User, **kwargs: Any) -> None:
    instance._audit_previous = stored_values(User, instance, _ROLE_FIELDS, **kwargs)


@receiver(post_save, sender=User)
def audit_user_roles(sender: type, instance: User, created: bool, **kwargs: Any) -> None:
    """Staff and superuser flags granted or taken away; accounts deactivated or back."""
    if kwargs.get("raw"):
        return
    if created:
        changes = {f: [None, True] for f in ("is_staff", "is_superuser") if getattr(instance, f)}
    else:
        changes = changed_values(instance, getattr(instance, "_audit_previous", None))
    instance._audit_previous = None
    active = changes.pop("is_active", None)
    if active is not None:
        action = "account_reactivated" if active[1] else "account_deactivated"
        audit(action=action, obj=instance, detail={"is_active": active})
    if changes:
        audit(action="role_changed", obj=instance, detail=changes)


@receiver(m2m_changed, sender=User.groups.through)
@receiver(m2m_changed, sender=User.user_permissions.through)
def audit_user_permissions(
    sender: type, instance: Any, action: str, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Groups and permissions granted to (or taken from) a user."""
    if action not in ("post_add", "post_remove", "post_clear") or not isinstance(instance, User):
        return
    what = "groups" if sender is User.groups.through else "permissions"
    audit(
        action="role_changed",
        obj=instance,
        detail={what: {action.removeprefix("post_"): sorted(pk_set or [])}},
    )


@receiver(post_save, sender=User)
def bump_schedules_after_rename(
    sender: type, instance: User, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    """A new display name shows in the matrix, the at-risk lists and (a reviewer's) in
    learners' feedback, in each of the user's cohorts.

    Saves that name their fields and leave the name alone (``last_login`` at every sign-in)
    bump nothing, so signing in does not empty the cohort's cache.
    """
    if update_fields is not None and "display_name" not in update_fields:
        return
    user_id = instance.pk
    bump_on_commit(
        schedules=lambda: Membership.objects.filter(user_id=user_id).values_list(
            "cohort_id", flat=True
        )
    )

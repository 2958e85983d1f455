"""Invitations: a one-time link for a person staff enrolled, to choose their own password.

The link is ``/invitations/<uid>/<token>/`` with a token from ``InvitationTokenGenerator``:
Django's password-reset token under a salt of its own, so it needs no table. It expires
after ``settings.INVITATION_EXPIRY_DAYS`` and works once: it signs the password hash,
which choosing a password changes. A password-reset link cannot be used as an
invitation, nor the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from core.models import Cohort, Membership, User
from core.notifications.services import email_subject
from core.notifications.tasks import send_email
from core.platform.audit import audit


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Password-reset tokens with their own salt and lifetime (INVITATION_EXPIRY_DAYS)."""

    key_salt = "core.accounts.invitations.InvitationTokenGenerator"

    def check_token(self, user: User | None, token: str | None) -> bool:
        """Django's check, with INVITATION_EXPIRY_DAYS in place of PASSWORD_RESET_TIMEOUT."""
        if user is None or not token:
            return False
        try:
            timestamp = base36_to_int(token.split("-", 1)[0])
        except ValueError:
            return False
        if self._num_seconds(self._now()) - timestamp > settings.INVITATION_EXPIRY_DAYS * 86400:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        # The email too: a link sent to an old address stops working when it changes.
        return f"{user.pk}{user.password}{timestamp}{user.email}"


invitation_tokens = InvitationTokenGenerator()


def invitation_path(user: User) -> str:
    """The site path of ``user``'s invitation link (a new token each call)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("invitation_accept", args=[uid, invitation_tokens.make_token(user)])


def invited_user(uidb64: str, token: str) -> User | None:
    """The user the link was made for, if its token is still good; else None."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except ValueError:  # UnicodeDecodeError too
        return None
    user = User.objects.filter(pk=pk).first()
    if user is None or user.has_usable_password() or not invitation_tokens.check_token(user, token):
        return None
    return user


def invitations_send_on_commit(*, user_ids: Iterable[int], cohort: Cohort) -> None:
    """Once the enrolment commits, email each new person their invitation (one task)."""
    ids, cohort_id = list(user_ids), cohort.pk
    if ids:
        transaction.on_commit(
            lambda: invitations_send.enqueue(user_ids=ids, cohort_id=cohort_id), robust=True
        )


def invitations_resend(*, memberships: Iterable[Membership], actor: User) -> tuple[int, int]:
    """Send a fresh invitation to each of these people who has not chosen a password yet
    (a lost email, or a link past INVITATION_EXPIRY_DAYS), for the membership's cohort;
    the earlier links keep working until they expire. Returns (sent, skipped)."""
    pending: dict[Cohort, list[int]] = {}
    skipped = 0
    for membership in memberships:
        user = membership.user
        if user.is_active and not user.has_usable_password():
            pending.setdefault(membership.cohort, []).append(user.pk)
        else:
            skipped += 1
    for cohort, user_ids in pending.items():
        invitations_send_on_commit(user_ids=user_ids, cohort=cohort)
        audit(
            actor=actor,
            action="admin_change",
            obj=cohort,
            detail={"invitations_sent_again": user_ids},
        )
    return sum(len(user_ids) for user_ids in pending.values()), skipped


@task
def invitations_send(*, user_ids: list[int], cohort_id: int) -> None:
    """Render each invitation and hand it to ``send_email`` (one email task per person,
    so one bounced address delays nobody else). Anyone who has chosen a password
    meanwhile is skipped."""
    cohort = Cohort.objects.select_related("program").get(pk=cohort_id)
    people = User.objects.filter(pk__in=user_ids, is_active=True).order_by("pk")
    site = settings.SITE_URL.rstrip("/")
    title = f"You are invited to {cohort.name} on ProDev Hub"
    for user in people:
        if user.has_usable_password():
            continue
        context = {
            "user": user,
            "cohort": cohort,
            "url": site + invitation_path(user),
            "expiry_days": settings.INVITATION_EXPIRY_DAYS,
        }
        send_email.enqueue(
            subject=email_subject(title),
            body=render_to_string("emails/invitation.txt", context),
            html=render_to_string("emails/invitation.html", context),
            to=[user.email],
        )


@transaction.atomic
def invitation_accept(*, user: User, form: SetPasswordForm[User]) -> User:
    """Save the password the invited person chose (which spends the link), take their
    email as verified (the link reached it), and audit it."""
    user = form.save()
    EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).update(primary=False)
    address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
    if address is None:
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    elif not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])
    audit(actor=user, action="password_set", obj=user, detail={"via": "invitation"})
    return user

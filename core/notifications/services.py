"""Notifications: in-app rows for the bell, and email for those who want it."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from core.models import EmailPreference, Notification, User
from core.notifications.tasks import one_line, send_email

Kind = Notification.Kind

# Kinds emailed unless the user turns them off; the others are in-app only by default.
# Everything a learner hears of their own work is emailed; mentors opt in to the
# stream of new submissions (their queue shows it).
EMAIL_BY_DEFAULT = {
    Kind.CLAIM_TAKEN,
    Kind.REVIEW_DONE,
    Kind.CHANGES_REQUESTED,
    Kind.NEW_COMMENT,
    Kind.PROJECT_RELEASED,
    Kind.DEADLINE_SOON,
    Kind.DISPUTE_OPENED,
    Kind.DISPUTE_RESOLVED,
    Kind.DEADLINE_CHANGED,
}


def email_enabled(user: User, kind: str, preferences: dict[tuple[int, str], bool]) -> bool:
    return preferences.get((user.pk, kind), kind in EMAIL_BY_DEFAULT)


@transaction.atomic
def notify(
    *,
    users: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Create one notification per user and email those who want this kind.

    With ``dedupe_key`` (one user only) a second call creates nothing, so a
    reminder command can run every few minutes without repeating itself.
    """
    recipients = [user for user in users if user.is_active]
    if not recipients:
        return []
    if dedupe_key is not None:
        if len(recipients) != 1:
            raise ValueError("A dedupe_key identifies one notification for one user.")
        try:
            with transaction.atomic():
                created = [
                    Notification.objects.create(
                        user=recipients[0],
                        kind=kind,
                        title=title,
                        body=body,
                        url=url,
                        dedupe_key=dedupe_key,
                    )
                ]
        except IntegrityError:
            return []
    else:
        created = Notification.objects.bulk_create(
            Notification(user=user, kind=kind, title=title, body=body, url=url)
            for user in recipients
        )
    preferences = {
        (pref.user_id, pref.kind): pref.enabled
        for pref in EmailPreference.objects.filter(user__in=recipients, kind=kind)
    }
    for user in recipients:
        if email_enabled(user, kind, preferences):
            _email(user, title=title, body=body, url=url)
    return created


def email_subject(title: str) -> str:
    """The subject of a notification email: one line, whatever the title quotes."""
    # The prefix allauth's account emails carry too.
    return f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{one_line(title)}"


def _email(user: User, *, title: str, body: str, url: str) -> None:
    absolute = f"{settings.SITE_URL}{url}" if url.startswith("/") else url
    context = {"user": user, "title": title, "body": body, "url": absolute}
    subject = email_subject(title)
    text = render_to_string("emails/notification.txt", context)
    html = render_to_string("emails/notification.html", context)
    to = [user.email]
    transaction.on_commit(
        lambda: send_email.enqueue(subject=subject, body=text, html=html, to=to), robust=True
    )

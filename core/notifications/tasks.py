"""Background work, run by Django's tasks framework."""

from __future__ import annotations

import re

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.tasks import task

# Runs of whitespace and control characters (CR, LF, tabs, NUL, line separators…).
_NOT_ONE_LINE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """``text`` as one header line: every run of whitespace or control characters becomes
    one space. Subjects quote names and titles people typed; a line break there would
    start a header of its own, and Django refuses to send such a message at all."""
    return _NOT_ONE_LINE.sub(" ", text).strip()


@task
def send_email(
    *, subject: str, body: str, to: list[str], html: str = "", from_email: str | None = None
) -> None:
    """Send one email; a worker runs it so no request waits on SMTP."""
    message = EmailMultiAlternatives(
        subject=one_line(subject), body=body, to=to, from_email=from_email
    )
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def send_email_on_commit(message: EmailMultiAlternatives) -> None:
    """Enqueue ``message`` once the current transaction commits (never on rollback)."""
    html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = str(content)
    subject, body, to = str(message.subject), str(message.body), list(message.to)
    from_email = message.from_email
    transaction.on_commit(
        lambda: send_email.enqueue(
            subject=subject, body=body, to=to, html=html, from_email=from_email
        ),
        robust=True,
    )

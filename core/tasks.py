"""Background work, run by Django's tasks framework."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.tasks import task


@task
def send_email(
    *, subject: str, body: str, to: list[str], html: str = "", from_email: str | None = None
) -> None:
    """Send one email; a worker runs it so no request waits on SMTP."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to, from_email=from_email)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def send_email_on_commit(message: EmailMultiAlternatives) -> None:
    """Enqueue ``message`` once the current transaction commits (never on rollback)."""
    html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = str(content)
    kwargs = {
        "subject": str(message.subject),
        "body": str(message.body),
        "to": list(message.to),
        "html": html,
        "from_email": message.from_email,
    }
    transaction.on_commit(lambda: send_email.enqueue(**kwargs))


@task
def export_scores(*, export_id: int) -> None:
    """Write a cohort's scores to a CSV file (see core.services.exports)."""
    from core.services.exports import score_export_run

    score_export_run(export_id=export_id)

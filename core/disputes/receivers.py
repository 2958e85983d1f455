"""Disputes fan out to notifications: the routed mentor hears of a new one, the learner of
its outcome (by email too, following their preferences like every other event)."""

from __future__ import annotations

from typing import Any

from core.disputes import signals
from core.disputes.models import Dispute
from core.models import Notification, User
from core.notifications.services import notify
from core.platform.markdown import plain_excerpt

Kind = Notification.Kind

# How much of a reason or comment a notification quotes.
EXCERPT_CHARS = 300


def _subject(dispute: Dispute) -> str:
    task = dispute.verdict.task
    return f"task {task.number} of {dispute.attempt.release.project.title}"


def tell_mentor_about_dispute(sender: type, dispute: Dispute, **kwargs: Any) -> None:
    """The mentor it was routed to, else every staff member (nobody else may decide it)."""
    users = (
        [dispute.assigned_to]
        if dispute.assigned_to is not None
        else list(User.objects.filter(is_staff=True, is_active=True).exclude(pk=dispute.learner_id))
    )
    notify(
        users=users,
        kind=Kind.DISPUTE_OPENED,
        title=f"{dispute.learner.name} contests the verdict on {_subject(dispute)}",
        body=plain_excerpt(dispute.reason, EXCERPT_CHARS),
        url=dispute.get_absolute_url(),
    )


def tell_learner_dispute_decided(sender: type, dispute: Dispute, **kwargs: Any) -> None:
    overturned = dispute.status == Dispute.Status.OVERTURNED
    title = (
        f"Your dispute was accepted: {_subject(dispute)} now passes"
        if overturned
        else f"Your dispute of {_subject(dispute)} was not accepted"
    )
    body = plain_excerpt(dispute.outcome_comment, EXCERPT_CHARS)
    if overturned:
        dispute.attempt.refresh_from_db(fields=["score"])
        if dispute.attempt.score is not None:
            body = f"Your score is now {dispute.attempt.score.normalize():f}%. {body}"
    notify(
        users=[dispute.learner],
        kind=Kind.DISPUTE_RESOLVED,
        title=title,
        body=body[:500],
        url=f"{dispute.attempt.get_absolute_url()}#disputes",
    )


signals.dispute_opened.connect(tell_mentor_about_dispute, dispatch_uid="dispute_opened_notify")
signals.dispute_resolved.connect(
    tell_learner_dispute_decided, dispatch_uid="dispute_resolved_notify"
)

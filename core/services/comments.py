"""The discussion thread's writes: posting a comment on an attempt."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from core import signals
from core.models import Attempt, Comment, User

MAX_COMMENT_CHARS = 10_000


@transaction.atomic
def comment_post(*, attempt: Attempt, author: User, body: str) -> Comment:
    """Add ``author``'s Markdown ``body`` to the attempt's thread; tell the others on commit.

    Who may post is the caller's check (the view loads the attempt for its user).
    """
    body = body.strip()
    if not body:
        raise ValidationError("Write a message first.")
    if len(body) > MAX_COMMENT_CHARS:
        raise ValidationError(f"A message can be at most {MAX_COMMENT_CHARS:,} characters.")
    comment = Comment.objects.create(attempt=attempt, author=author, body=body)
    transaction.on_commit(
        lambda: signals.comment_posted.send(Comment, comment=comment), robust=True
    )
    return comment

"""The review domain's events. Receivers fan them out (notifications, score recomputes);
no rules here."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after the transaction that made them commits.
iteration_submitted = Signal()  # iteration
claim_taken = Signal()  # claim
review_decided = Signal()  # review
comment_posted = Signal()  # comment

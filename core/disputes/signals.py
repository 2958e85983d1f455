"""The disputes' events, sent once the transaction that made them commits."""

from __future__ import annotations

from django.dispatch import Signal

dispute_opened = Signal()  # dispute
dispute_resolved = Signal()  # dispute

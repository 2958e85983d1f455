"""The checks domain's events. Receivers fan them out; no rules here."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that finishes a run (run, results: its CheckTaskResults),
# so what a receiver writes commits with the run's end.
checks_finished = Signal()

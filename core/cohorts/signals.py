"""The cohorts domain's events. Receivers fan them out; no rules here."""

from __future__ import annotations

from django.dispatch import Signal

# Each is sent after the transaction that made it commits.
project_released = Signal()  # release
# Several releases made (``releases``) or moved before opening (``moved``) at once by the
# schedule generator: one event, so each learner hears of the new calendar once rather
# than once per project.
schedule_released = Signal()  # cohort, releases, moved
# One shift of a cohort's calendar: its moved releases, by how many days, and whether
# their openings moved too. Once per shift, whatever the number of releases.
deadlines_shifted = Signal()  # cohort, releases, days, move_openings
# A learner's deadlines on one release changed: an extension "granted", "changed" (its
# dates edited) or "withdrawn" (deleted; the extension is no longer in the database).
extension_changed = Signal()  # extension, change

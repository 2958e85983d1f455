"""Every model of ProDev Hub, re-exported from its area module."""

from __future__ import annotations

from core.models.accounts import User
from core.models.audit import AuditEvent
from core.models.cohorts import Cohort, Deadlines, Extension, Membership, ProjectRelease
from core.models.curriculum import Module, Program, Project, Resource, Task
from core.models.exports import ScoreExport
from core.models.notifications import EmailPreference, Notification
from core.models.peer import PeerAssignment, ReviewRating, ReviewReport
from core.models.submissions import (
    Attachment,
    Attempt,
    Comment,
    Iteration,
    Review,
    ReviewClaim,
    Verdict,
)

# The largest id a 64-bit primary key (BigAutoField) holds: a posted id beyond it is
# refused before it reaches a query, which it would crash.
MAX_ID = 2**63 - 1

__all__ = [
    "MAX_ID",
    "Attachment",
    "Attempt",
    "AuditEvent",
    "Cohort",
    "Comment",
    "Deadlines",
    "EmailPreference",
    "Extension",
    "Iteration",
    "Membership",
    "Module",
    "Notification",
    "PeerAssignment",
    "Program",
    "Project",
    "ProjectRelease",
    "Resource",
    "Review",
    "ReviewClaim",
    "ReviewRating",
    "ReviewReport",
    "ScoreExport",
    "Task",
    "User",
    "Verdict",
]

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

__all__ = [
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

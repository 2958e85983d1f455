"""Every model of ProDev Hub, re-exported from its area module."""

from __future__ import annotations

from core.accounts.models import User
from core.checks.models import (
    CheckCase,
    CheckCaseResult,
    CheckFile,
    CheckRun,
    CheckSuite,
    CheckTaskResult,
)
from core.cohorts.models import (
    Cohort,
    Deadlines,
    Extension,
    JoinCode,
    Membership,
    ProjectRelease,
)
from core.curriculum.models import Module, Program, Project, Resource, Task
from core.disputes.models import Dispute
from core.notifications.models import EmailPreference, Notification
from core.peer.models import PeerAssignment, ReviewRating, ReviewReport
from core.platform.models import AuditEvent
from core.reporting.models import ScoreExport, Standing
from core.reviews.models import (
    Attachment,
    Attempt,
    Comment,
    Iteration,
    Review,
    ReviewClaim,
    ScoreOverride,
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
    "CheckCase",
    "CheckCaseResult",
    "CheckFile",
    "CheckRun",
    "CheckSuite",
    "CheckTaskResult",
    "Cohort",
    "Comment",
    "Deadlines",
    "Dispute",
    "EmailPreference",
    "Extension",
    "Iteration",
    "JoinCode",
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
    "ScoreOverride",
    "Standing",
    "Task",
    "User",
    "Verdict",
]

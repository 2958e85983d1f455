"""Every model of ProDev Hub, re-exported from its area module."""

from __future__ import annotations

from core.models.accounts import User
from core.models.cohorts import Cohort, Deadlines, Extension, Membership, ProjectRelease
from core.models.curriculum import Module, Program, Project, Resource, Task

__all__ = [
    "Cohort",
    "Deadlines",
    "Extension",
    "Membership",
    "Module",
    "Program",
    "Project",
    "ProjectRelease",
    "Resource",
    "Task",
    "User",
]

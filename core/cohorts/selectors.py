"""The cohorts domain's reads: which releases a person learns from."""

from __future__ import annotations

from datetime import datetime

from core.models import ProjectRelease, User


def learner_releases(user: User, *, project_slug: str) -> list[ProjectRelease]:
    """The releases of a project to the cohorts ``user`` learns in, newest opening first,
    each with the user's deadlines (their latest extension applied)."""
    return list(
        ProjectRelease.objects.of_learner(user)
        .filter(project__slug=project_slug)
        .select_related("project__module", "cohort")
        .with_deadlines_for(user)
        .order_by("-opens_at", "-pk")
    )


def open_release(releases: list[ProjectRelease], now: datetime) -> ProjectRelease | None:
    """The newest of ``releases`` that has opened."""
    return next((release for release in releases if release.opens_at <= now), None)

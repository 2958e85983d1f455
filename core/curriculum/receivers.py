"""Curriculum edits bump the cached pages that show them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.models import Project, ProjectRelease, Resource, Task
from core.platform.cache import bump_cohorts_on_commit, bump_version, project_version_name


@receiver(post_save, sender=Project)
def bump_cohorts_after_project_change(sender: type, instance: Project, **kwargs: Any) -> None:
    """A project's title or weight shows (and counts) in every cohort that released it."""
    project_id = instance.pk
    bump_cohorts_on_commit(
        lambda: ProjectRelease.objects.filter(project_id=project_id).values_list(
            "cohort_id", flat=True
        )
    )


@receiver(post_save, sender=Project)
@receiver(post_delete, sender=Project)
@receiver(post_save, sender=Task)
@receiver(post_delete, sender=Task)
@receiver(post_save, sender=Resource)
@receiver(post_delete, sender=Resource)
def bump_project_brief(sender: type, instance: Project | Task | Resource, **kwargs: Any) -> None:
    """The project page's brief (its text, tasks and resources) is cached per project version."""
    project_id = instance.pk if isinstance(instance, Project) else instance.project_id
    name = project_version_name(project_id)
    transaction.on_commit(lambda: bump_version(name), robust=True)

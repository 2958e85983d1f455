"""Curriculum edits bump the cached pages that show them."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.models import Cohort, Module, Program, Project, Resource, Task
from core.platform.cache import bump_on_commit


@receiver(post_save, sender=Project)
def bump_schedules_after_project_change(sender: type, instance: Project, **kwargs: Any) -> None:
    """A project's title or weight shows (and counts) in every cohort that released it, and
    its module's count of projects in every cohort of its program."""
    pk, module_id = instance.pk, instance.module_id
    bump_on_commit(
        schedules=lambda: (
            Cohort.objects.filter(Q(releases__project=pk) | Q(program__modules=module_id))
            .values_list("pk", flat=True)
            .distinct()
        )
    )


@receiver(post_save, sender=Module)
@receiver(post_save, sender=Program)
def bump_schedules_after_program_change(
    sender: type, instance: Module | Program, **kwargs: Any
) -> None:
    """A module's or program's title shows on the learner pages of the program's cohorts."""
    program_id = instance.program_id if isinstance(instance, Module) else instance.pk
    bump_on_commit(
        schedules=lambda: Cohort.objects.filter(program_id=program_id).values_list("pk", flat=True)
    )


@receiver(post_save, sender=Project)
@receiver(post_delete, sender=Project)
@receiver(post_save, sender=Task)
@receiver(post_delete, sender=Task)
@receiver(post_save, sender=Resource)
@receiver(post_delete, sender=Resource)
def bump_project_brief(sender: type, instance: Project | Task | Resource, **kwargs: Any) -> None:
    """The project page's brief (its text, tasks and resources) is cached per project version."""
    bump_on_commit(projects=[instance.pk if isinstance(instance, Project) else instance.project_id])

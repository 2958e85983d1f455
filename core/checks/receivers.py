"""Suite edits bump the cached project page that says how many checks it has."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.models import CheckCase, CheckFile, CheckSuite
from core.platform.cache import bump_on_commit


@receiver(post_save, sender=CheckSuite)
@receiver(post_delete, sender=CheckSuite)
@receiver(post_save, sender=CheckCase)
@receiver(post_delete, sender=CheckCase)
@receiver(post_save, sender=CheckFile)
@receiver(post_delete, sender=CheckFile)
def bump_project_brief_after_checks(
    sender: type, instance: CheckSuite | CheckCase | CheckFile, **kwargs: Any
) -> None:
    """The project page shows its checks' counts with the cached brief."""
    suite = instance if isinstance(instance, CheckSuite) else instance.suite
    bump_on_commit(projects=[suite.task.project_id])

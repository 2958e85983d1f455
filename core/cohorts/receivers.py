"""Cohort calendar and membership changes: scores recomputed, cached pages bumped, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from core.models import Cohort, Extension, Iteration, Membership, ProjectRelease
from core.platform.audit import audit, changed_values, stored_values
from core.platform.cache import bump_on_commit
from core.reviews.scoring import release_recompute_scores


@receiver(post_save, sender=ProjectRelease)
def recompute_after_deadline_change(
    sender: type, instance: ProjectRelease, created: bool, **kwargs: Any
) -> None:
    """Moving a release's deadlines or multipliers recomputes its scores."""
    if not created:
        # Robust: a failing recompute is logged and the bumps queued after it still run.
        transaction.on_commit(lambda: release_recompute_scores(release=instance), robust=True)


@receiver(post_save, sender=Extension)
@receiver(post_delete, sender=Extension)
def recompute_after_extension(sender: type, instance: Extension, **kwargs: Any) -> None:
    """A new (or withdrawn) extension recomputes that learner's score on the release."""
    transaction.on_commit(
        lambda: release_recompute_scores(release=instance.release, learner_id=instance.learner_id),
        robust=True,
    )


def cohort_of_release(release_id: int) -> list[int]:
    return list(ProjectRelease.objects.filter(pk=release_id).values_list("cohort_id", flat=True))


@receiver(pre_save, sender=ProjectRelease)
def note_release_cohort(sender: type, instance: ProjectRelease, **kwargs: Any) -> None:
    """Remember which cohort a saved release had, for the receiver below."""
    saved = None
    if instance.pk is not None:
        rows = ProjectRelease.objects.filter(pk=instance.pk).values_list("cohort_id", flat=True)
        saved = rows.first()
    instance._saved_cohort_id = saved


@receiver(post_save, sender=ProjectRelease)
def move_iterations_with_their_release(
    sender: type, instance: ProjectRelease, **kwargs: Any
) -> None:
    """A release moved to another cohort (in the admin) takes its iterations' cohort along,
    and leaves the schedule it left to be read afresh (the one it joined is bumped below)."""
    before = getattr(instance, "_saved_cohort_id", None)
    if before is None or before == instance.cohort_id:
        return
    Iteration.objects.filter(attempt__release=instance).update(cohort_id=instance.cohort_id)
    bump_on_commit(schedules=[before])


@receiver(post_save, sender=ProjectRelease)
@receiver(post_delete, sender=ProjectRelease)
def bump_schedule_after_release_change(
    sender: type, instance: ProjectRelease, **kwargs: Any
) -> None:
    """A release created, moved, shifted or removed changes columns, deadlines and scores."""
    bump_on_commit(schedules=[instance.cohort_id])


@receiver(post_save, sender=Extension)
@receiver(post_delete, sender=Extension)
def bump_after_extension(sender: type, instance: Extension, **kwargs: Any) -> None:
    """New deadlines for one learner, or their old ones back (their score is recomputed
    first, in an earlier callback)."""
    release_id = instance.release_id
    bump_on_commit(cohorts=lambda: cohort_of_release(release_id), learners=[instance.learner_id])


@receiver(post_save, sender=Cohort)
def bump_schedule_after_cohort_edit(sender: type, instance: Cohort, **kwargs: Any) -> None:
    """A new name, slug, start date or time zone shows wherever the cohort's pages do."""
    bump_on_commit(schedules=[instance.pk])


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def bump_after_membership_change(sender: type, instance: Membership, **kwargs: Any) -> None:
    """Someone joins or leaves (or changes role): the matrix's rows, the mentor's lists and
    the person's own pages; other learners' pages show nothing of it."""
    bump_on_commit(cohorts=[instance.cohort_id], learners=[instance.user_id])


_DEADLINE_FIELDS = ("opens_at", "first_deadline", "second_deadline")


@receiver(pre_save, sender=Membership)
def remember_membership(sender: type, instance: Membership, **kwargs: Any) -> None:
    fields = ("user_id", "cohort_id", "role")
    instance._audit_previous = stored_values(Membership, instance, fields, **kwargs)


def _membership_detail(instance: Membership, change: str) -> dict[str, Any]:
    return {
        "change": change,
        "user_id": instance.user_id,
        "cohort_id": instance.cohort_id,
        "role": instance.role,
    }


@receiver(post_save, sender=Membership)
def audit_membership_saved(
    sender: type, instance: Membership, created: bool, **kwargs: Any
) -> None:
    """Someone joined a cohort, or their role in it changed."""
    if kwargs.get("raw"):
        return
    if created:
        detail = _membership_detail(instance, "added")
        audit(action="membership_changed", obj=instance, detail=detail)
        return
    changes = changed_values(instance, getattr(instance, "_audit_previous", None))
    instance._audit_previous = None
    if not changes:
        return
    action = "role_changed" if set(changes) == {"role"} else "membership_changed"
    audit(
        action=action,
        obj=instance,
        detail={**_membership_detail(instance, "changed"), "changes": changes},
    )


@receiver(post_delete, sender=Membership)
def audit_membership_removed(sender: type, instance: Membership, **kwargs: Any) -> None:
    audit(
        action="membership_changed",
        object_fields={
            "object_type": "core.membership",
            "object_id": str(instance.pk),
            "object_repr": f"user {instance.user_id} in cohort {instance.cohort_id}",
        },
        detail=_membership_detail(instance, "removed"),
    )


@receiver(pre_save, sender=ProjectRelease)
def remember_release_dates(sender: type, instance: ProjectRelease, **kwargs: Any) -> None:
    instance._audit_previous = stored_values(ProjectRelease, instance, _DEADLINE_FIELDS, **kwargs)


@receiver(post_save, sender=ProjectRelease)
def audit_release_dates(
    sender: type, instance: ProjectRelease, created: bool, **kwargs: Any
) -> None:
    """A release's dates moved (the admin, or any save); cohort-wide shifts audit themselves."""
    changes = changed_values(instance, getattr(instance, "_audit_previous", None))
    instance._audit_previous = None
    if changes and not created:
        audit(action="deadline_shift", obj=instance, detail=changes)


@receiver(post_save, sender=Extension)
def audit_extension(sender: type, instance: Extension, created: bool, **kwargs: Any) -> None:
    """An extension granted to one learner."""
    if not created or kwargs.get("raw"):
        return
    audit(
        actor=instance.granted_by,
        action="extension_granted",
        obj=instance,
        detail={
            "learner_id": instance.learner_id,
            "release_id": instance.release_id,
            "first_deadline": instance.first_deadline,
            "second_deadline": instance.second_deadline,
            "reason": instance.reason,
        },
    )

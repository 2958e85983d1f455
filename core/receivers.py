"""Signal receivers: domain events fan out to notifications and score recomputes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from allauth.account import signals as account_signals
from allauth.account.models import EmailAddress
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import signals as auth_signals
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import reverse

from core import signals
from core.audit import audit, login_label
from core.cache import bump_cohorts, bump_version, project_version_name
from core.markdown import plain_excerpt
from core.middleware import mark_signed_in
from core.models import (
    Attempt,
    Cohort,
    Comment,
    Extension,
    Iteration,
    Membership,
    Notification,
    Project,
    ProjectRelease,
    Resource,
    Review,
    ReviewClaim,
    Task,
    User,
)
from core.services.notifications import notify
from core.services.peer import grade_hold
from core.services.scoring import release_recompute_scores

Kind = Notification.Kind
# How much of a comment a notification (and its email) quotes.
NOTIFICATION_EXCERPT_CHARS = 300


@receiver(post_save, sender=ProjectRelease)
def recompute_after_deadline_change(
    sender: type, instance: ProjectRelease, created: bool, **kwargs: Any
) -> None:
    """Moving a release's deadlines or multipliers recomputes its scores."""
    if not created:
        transaction.on_commit(lambda: release_recompute_scores(release=instance))


@receiver(post_save, sender=Extension)
@receiver(post_delete, sender=Extension)
def recompute_after_extension(sender: type, instance: Extension, **kwargs: Any) -> None:
    """A new (or withdrawn) extension recomputes that learner's score on the release."""
    transaction.on_commit(
        lambda: release_recompute_scores(release=instance.release, learner_id=instance.learner_id)
    )


@receiver(signals.iteration_submitted)
def tell_mentors_about_submission(sender: type, iteration: Iteration, **kwargs: Any) -> None:
    attempt = iteration.attempt
    release = attempt.release
    mentors = User.objects.filter(
        memberships__cohort_id=release.cohort_id, memberships__role=Membership.Role.MENTOR
    ).exclude(pk=attempt.learner_id)
    notify(
        users=mentors,
        kind=Kind.ITERATION_SUBMITTED,
        title=(
            f"{attempt.learner.name} submitted {release.project.title} "
            f"(iteration {iteration.number})"
        ),
        url=reverse("review_detail", args=[iteration.pk]),
    )


@receiver(signals.claim_taken)
def tell_learner_review_started(sender: type, claim: ReviewClaim, **kwargs: Any) -> None:
    attempt = claim.iteration.attempt
    notify(
        users=[attempt.learner],
        kind=Kind.CLAIM_TAKEN,
        title=f"{claim.reviewer.name} started reviewing {attempt.release.project.title}",
        url=attempt.get_absolute_url(),
    )


@receiver(signals.review_decided)
def tell_learner_review_done(sender: type, review: Review, **kwargs: Any) -> None:
    attempt = review.iteration.attempt
    project = attempt.release.project.title
    if review.decision == Review.Decision.APPROVED:
        kind, title = Kind.REVIEW_DONE, f"{project} was approved"
    else:
        kind, title = Kind.CHANGES_REQUESTED, f"Changes requested on {project}"
    attempt.refresh_from_db(fields=["score"])
    hold = grade_hold(attempt)
    if hold.held:  # the grade stays hidden until the learner's peer reviews are given
        body = f"Your grade is pending: {hold.remaining} of {hold.owed} peer reviews owed."
    elif attempt.score is not None:
        body = f"Your score is now {attempt.score.normalize():f}%."
    else:
        body = ""
    notify(
        users=[attempt.learner], kind=kind, title=title, body=body, url=attempt.get_absolute_url()
    )


@receiver(signals.comment_posted)
def tell_thread_about_comment(sender: type, comment: Comment, **kwargs: Any) -> None:
    """Everyone in the thread hears of a new comment: the learner, reviewers, commenters.

    Claim holders count as reviewers. Until someone on the reviewing side is in the
    thread, the learner's messages go to the cohort's mentors, so no question goes unheard.
    """
    attempt = comment.attempt
    # Mentors only: peer reviewers never see the attempt page or its thread.
    reviewers = Review.objects.filter(iteration__attempt=attempt, kind=Review.Kind.MENTOR).values(
        "reviewer_id"
    )
    claimers = ReviewClaim.objects.live().filter(iteration__attempt=attempt).values("reviewer_id")
    commenters = attempt.comments.values("author_id")
    thread = Q(pk__in=reviewers) | Q(pk__in=claimers) | Q(pk__in=commenters)
    if not User.objects.filter(thread).exclude(pk=attempt.learner_id).exists():
        thread |= Q(
            memberships__cohort_id=attempt.release.cohort_id,
            memberships__role=Membership.Role.MENTOR,
        )
    participants = (
        User.objects.filter(Q(pk=attempt.learner_id) | thread)
        .exclude(pk=comment.author_id)
        .distinct()
    )
    notify(
        users=participants,
        kind=Kind.NEW_COMMENT,
        title=f"{comment.author.name} commented on {attempt.release.project.title}",
        body=plain_excerpt(comment.body, NOTIFICATION_EXCERPT_CHARS),
        url=f"{attempt.get_absolute_url()}#comment-{comment.pk}",
    )


@receiver(signals.project_released)
def tell_cohort_about_release(sender: type, release: ProjectRelease, **kwargs: Any) -> None:
    learners = User.objects.filter(
        memberships__cohort_id=release.cohort_id, memberships__role=Membership.Role.LEARNER
    )
    notify(
        users=learners,
        kind=Kind.PROJECT_RELEASED,
        title=f"{release.project.title} is on your calendar",
        url=release.project.get_absolute_url(),
    )


# Dashboards (issue #6): bump the cohort's cache version after any write that changes
# what the dashboards and the progress matrix show (see core/cache.py). Receivers only
# fan out; the read models live in core/services/dashboards.py.


def _bump_after_commit(cohort_ids: Callable[[], Iterable[int | None]]) -> None:
    """Once the transaction commits, bump the versions of the cohorts ``cohort_ids`` names."""
    transaction.on_commit(lambda: bump_cohorts(cohort_ids()), robust=True)


def _cohort_of_release(release_id: int) -> list[int]:
    return list(ProjectRelease.objects.filter(pk=release_id).values_list("cohort_id", flat=True))


def _cohort_of_iteration(iteration_id: int) -> list[int]:
    return list(Iteration.objects.filter(pk=iteration_id).values_list("cohort_id", flat=True))


@receiver(post_save, sender=Attempt)
def bump_cohort_after_attempt_change(sender: type, instance: Attempt, **kwargs: Any) -> None:
    """A decision, a status change or a new attempt; scores are recomputed in the same commit."""
    release_id = instance.release_id
    _bump_after_commit(lambda: _cohort_of_release(release_id))


@receiver(post_save, sender=Iteration)
def bump_cohort_after_iteration_change(sender: type, instance: Iteration, **kwargs: Any) -> None:
    """A submission enters (or leaves) the review queue."""
    cohort_id = instance.cohort_id
    _bump_after_commit(lambda: [cohort_id])


@receiver(post_save, sender=Review)
def bump_cohort_after_review(sender: type, instance: Review, **kwargs: Any) -> None:
    """A submitted review (mentor or peer) is the learner's latest feedback; drafts are not."""
    if instance.submitted_at is None:
        return
    iteration_id = instance.iteration_id
    _bump_after_commit(lambda: _cohort_of_iteration(iteration_id))


@receiver(post_save, sender=ReviewClaim)
def bump_cohort_after_claim(sender: type, instance: ReviewClaim, **kwargs: Any) -> None:
    """A claim taken, extended or released changes who the review queue says has the work."""
    iteration_id = instance.iteration_id
    _bump_after_commit(lambda: _cohort_of_iteration(iteration_id))


@receiver(pre_save, sender=ProjectRelease)
def note_release_cohort(sender: type, instance: ProjectRelease, **kwargs: Any) -> None:
    """Remember which cohort a saved release had, for the receiver below."""
    saved = None
    if instance.pk is not None:
        rows = ProjectRelease.objects.filter(pk=instance.pk).values_list("cohort_id", flat=True)
        saved = rows.first()
    instance._saved_cohort_id = saved  # type: ignore[attr-defined]


@receiver(post_save, sender=ProjectRelease)
def move_iterations_with_their_release(
    sender: type, instance: ProjectRelease, **kwargs: Any
) -> None:
    """A release moved to another cohort (in the admin) takes its iterations' cohort along,
    and leaves the cohort it left to be read afresh (the one it joined is bumped below)."""
    before = getattr(instance, "_saved_cohort_id", None)
    if before is None or before == instance.cohort_id:
        return
    Iteration.objects.filter(attempt__release=instance).update(cohort_id=instance.cohort_id)
    _bump_after_commit(lambda: [before])


@receiver(post_save, sender=ProjectRelease)
@receiver(post_delete, sender=ProjectRelease)
def bump_cohort_after_release_change(sender: type, instance: ProjectRelease, **kwargs: Any) -> None:
    """A release created, moved, shifted or removed changes columns, deadlines and scores."""
    cohort_id = instance.cohort_id
    _bump_after_commit(lambda: [cohort_id])


@receiver(post_save, sender=Extension)
@receiver(post_delete, sender=Extension)
def bump_cohort_after_extension(sender: type, instance: Extension, **kwargs: Any) -> None:
    """New deadlines for one learner, or their old ones back (their score is recomputed
    first, in an earlier callback)."""
    release_id = instance.release_id
    _bump_after_commit(lambda: _cohort_of_release(release_id))


@receiver(post_save, sender=Cohort)
def bump_cohort_after_edit(sender: type, instance: Cohort, **kwargs: Any) -> None:
    """A new name, slug, start date or time zone shows wherever the cohort's pages do."""
    cohort_id = instance.pk
    _bump_after_commit(lambda: [cohort_id])


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def bump_cohort_after_membership_change(sender: type, instance: Membership, **kwargs: Any) -> None:
    """A learner joins or leaves (or changes role): the matrix's rows and the mentor's lists."""
    cohort_id = instance.cohort_id
    _bump_after_commit(lambda: [cohort_id])


@receiver(post_save, sender=Project)
def bump_cohorts_after_project_change(sender: type, instance: Project, **kwargs: Any) -> None:
    """A project's title or weight shows (and counts) in every cohort that released it."""
    project_id = instance.pk
    _bump_after_commit(
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
    name = project_version_name(instance.pk if sender is Project else instance.project_id)
    transaction.on_commit(lambda: bump_version(name), robust=True)


# Audit log (issue #7): security events from Django, allauth and our models become
# AuditEvent rows (core/audit.py scrubs what they carry). Actor, IP and request id come
# from the current request when a receiver is not handed one.

_ROLE_FIELDS = ("is_staff", "is_superuser", "is_active")
_DEADLINE_FIELDS = ("opens_at", "first_deadline", "second_deadline")


def _user_fields(user: User | None) -> dict[str, str]:
    if user is None or user.pk is None:
        return {}
    return {"object_type": "core.user", "object_id": str(user.pk), "object_repr": user.email}


@receiver(auth_signals.user_logged_in)
def audit_sign_in(sender: type, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """A successful sign-in (allauth, the admin through allauth, or a test's force_login)."""
    if request is not None and hasattr(request, "session"):
        mark_signed_in(request)
    audit(request=request, actor=user, action="sign_in", object_fields=_user_fields(user))


@receiver(auth_signals.user_login_failed)
def audit_sign_in_failed(
    sender: str, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A wrong email or password; only the address tried is kept, never the password."""
    login = login_label(credentials.get("email") or credentials.get("username"))
    target = User.objects.filter(email__iexact=login).only("pk", "email").first()
    audit(
        request=request,
        action="sign_in_failed",
        detail={"login": login},
        object_fields=_user_fields(target),
    )


@receiver(auth_signals.user_logged_out)
def audit_sign_out(
    sender: type, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    """Signing out, or a session ended by SessionLifetimeMiddleware (idle or too old)."""
    if user is None:
        return
    reason = getattr(request, "session_end_reason", None)
    audit(
        request=request,
        actor=user,
        action="session_expired" if reason else "sign_out",
        detail={"reason": reason} if reason else None,
        object_fields=_user_fields(user),
    )


def _audit_account(action: str) -> Callable[..., None]:
    def receiver_(sender: type, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
        detail = {}
        for name in ("email_address", "from_email_address", "to_email_address"):
            address = kwargs.get(name)
            if address is not None:
                detail[name.removesuffix("_address")] = address.email
        audit(
            request=request,
            actor=user,
            action=action,
            detail=detail,
            object_fields=_user_fields(user),
        )

    receiver_.__name__ = f"audit_{action}"
    receiver_.__doc__ = f"allauth's {action} signal."
    return receiver_


for _signal, _action in (
    (account_signals.user_signed_up, "sign_up"),
    (account_signals.password_changed, "password_changed"),
    (account_signals.password_set, "password_set"),
    (account_signals.password_reset, "password_reset"),
    (account_signals.email_added, "email_added"),
    (account_signals.email_removed, "email_removed"),
    (account_signals.email_changed, "email_changed"),
):
    _signal.connect(_audit_account(_action), dispatch_uid=f"audit_{_action}", weak=False)


@receiver(account_signals.email_confirmed)
def audit_email_confirmed(
    sender: type, request: HttpRequest | None, email_address: EmailAddress, **kwargs: Any
) -> None:
    user = email_address.user
    audit(
        request=request,
        actor=_actor_or_none(request) or user,
        action="email_confirmed",
        detail={"email": email_address.email},
        object_fields=_user_fields(user),
    )


def _actor_or_none(request: HttpRequest | None) -> User | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _previous(
    model: type[models.Model], instance: models.Model, fields: tuple[str, ...], **kwargs: Any
) -> dict[str, Any] | None:
    """The stored values of ``fields`` before this save, or None for a new row."""
    if kwargs.get("raw") or instance._state.adding or instance.pk is None:
        return None
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not set(update_fields) & set(fields):
        return None
    return model._default_manager.filter(pk=instance.pk).values(*fields).first()


def _changes(instance: models.Model, previous: dict[str, Any] | None) -> dict[str, list[Any]]:
    if not previous:
        return {}
    return {
        field: [old, getattr(instance, field)]
        for field, old in previous.items()
        if old != getattr(instance, field)
    }


@receiver(pre_save, sender=User)
def remember_user_roles(sender: type, instance: User, **kwargs: Any) -> None:
    instance._audit_previous = _previous(User, instance, _ROLE_FIELDS, **kwargs)


@receiver(post_save, sender=User)
def audit_user_roles(sender: type, instance: User, created: bool, **kwargs: Any) -> None:
    """Staff and superuser flags granted or taken away; accounts deactivated or back."""
    if kwargs.get("raw"):
        return
    if created:
        changes = {f: [None, True] for f in ("is_staff", "is_superuser") if getattr(instance, f)}
    else:
        changes = _changes(instance, getattr(instance, "_audit_previous", None))
    instance._audit_previous = None
    active = changes.pop("is_active", None)
    if active is not None:
        action = "account_reactivated" if active[1] else "account_deactivated"
        audit(action=action, obj=instance, detail={"is_active": active})
    if changes:
        audit(action="role_changed", obj=instance, detail=changes)


@receiver(m2m_changed, sender=User.groups.through)
@receiver(m2m_changed, sender=User.user_permissions.through)
def audit_user_permissions(
    sender: type, instance: Any, action: str, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Groups and permissions granted to (or taken from) a user."""
    if action not in ("post_add", "post_remove", "post_clear") or not isinstance(instance, User):
        return
    what = "groups" if sender is User.groups.through else "permissions"
    audit(
        action="role_changed",
        obj=instance,
        detail={what: {action.removeprefix("post_"): sorted(pk_set or [])}},
    )


@receiver(pre_save, sender=Membership)
def remember_membership(sender: type, instance: Membership, **kwargs: Any) -> None:
    fields = ("user_id", "cohort_id", "role")
    instance._audit_previous = _previous(Membership, instance, fields, **kwargs)


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
    changes = _changes(instance, getattr(instance, "_audit_previous", None))
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
    instance._audit_previous = _previous(ProjectRelease, instance, _DEADLINE_FIELDS, **kwargs)


@receiver(post_save, sender=ProjectRelease)
def audit_release_dates(
    sender: type, instance: ProjectRelease, created: bool, **kwargs: Any
) -> None:
    """A release's dates moved (the admin, or any save); cohort-wide shifts audit themselves."""
    changes = _changes(instance, getattr(instance, "_audit_previous", None))
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


_ADMIN_FLAGS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}


def _mirror_admin_entry(entry: LogEntry) -> None:
    content_type = ContentType.objects.get_for_id(entry.content_type_id)
    audit(
        actor=entry.user,
        action="admin_change",
        object_fields={
            "object_type": f"{content_type.app_label}.{content_type.model}",
            "object_id": str(entry.object_id or "")[:64],
            "object_repr": entry.object_repr[:200],
        },
        detail={"flag": _ADMIN_FLAGS.get(entry.action_flag), "change": entry.get_change_message()},
    )


@receiver(post_save, sender=LogEntry)
def audit_admin_change(sender: type, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    """Every change made in the admin, as the admin's own history records it."""
    if created and not kwargs.get("raw"):
        _mirror_admin_entry(instance)


def _mirror_bulk_admin_entries(log_actions: Callable[..., Any]) -> Callable[..., Any]:
    """The admin logs actions on several objects with bulk_create, which sends no post_save."""

    @functools.wraps(log_actions)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        entries = log_actions(*args, **kwargs)
        if isinstance(entries, list) and len(entries) > 1:
            for entry in entries:
                _mirror_admin_entry(entry)
        return entries

    wrapped.audit_mirrored = True  # type: ignore[attr-defined]
    return wrapped


if not getattr(LogEntry.objects.log_actions, "audit_mirrored", False):
    LogEntry.objects.log_actions = _mirror_bulk_admin_entries(LogEntry.objects.log_actions)


@receiver(post_save, sender=User)
def bump_cohorts_after_rename(
    sender: type, instance: User, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    """A new display name shows in the matrix and the at-risk lists of the user's cohorts.

    Saves that name their fields and leave the name alone (``last_login`` at every sign-in)
    bump nothing, so signing in does not empty the cohort's cache.
    """
    if update_fields is not None and "display_name" not in update_fields:
        return
    user_id = instance.pk
    _bump_after_commit(
        lambda: Membership.objects.filter(user_id=user_id).values_list("cohort_id", flat=True)
    )

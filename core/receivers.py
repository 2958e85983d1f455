"""Signal receivers: domain events fan out to notifications and score recomputes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse

from core import signals
from core.models import (
    Comment,
    Extension,
    Iteration,
    Membership,
    Notification,
    ProjectRelease,
    Review,
    ReviewClaim,
    User,
)
from core.services.notifications import notify
from core.services.scoring import release_recompute_scores

Kind = Notification.Kind


@receiver(post_save, sender=ProjectRelease)
def recompute_after_deadline_change(
    sender: type, instance: ProjectRelease, created: bool, **kwargs: Any
) -> None:
    """Moving a release's deadlines or multipliers recomputes its scores."""
    if not created:
        transaction.on_commit(lambda: release_recompute_scores(release=instance))


@receiver(post_save, sender=Extension)
def recompute_after_extension(sender: type, instance: Extension, **kwargs: Any) -> None:
    """A new extension recomputes that learner's score on the release."""
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
    body = f"Your score is now {attempt.score}%." if attempt.score is not None else ""
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
    reviewers = Review.objects.filter(iteration__attempt=attempt).values("reviewer_id")
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
        body=comment.body[:300],
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

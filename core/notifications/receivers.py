"""Notifications fan out from the domains' events: submissions, claims, reviews, comments,
releases, deadline changes."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.urls import reverse
from django.utils.text import Truncator

from core.cohorts import signals as cohort_signals
from core.cohorts.services import ExtensionChange
from core.models import (
    Cohort,
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
from core.notifications.services import notify
from core.peer.services import grade_hold
from core.platform.admin_helpers import in_zone
from core.platform.markdown import plain_excerpt
from core.reviews import signals

Kind = Notification.Kind


# How much of a comment a notification (and its email) quotes.
NOTIFICATION_EXCERPT_CHARS = 300
# How many projects a calendar notification names before "and N more".
CALENDAR_PROJECTS_NAMED = 3
NOTIFICATION_BODY_CHARS = 500  # Notification.body's max_length


@receiver(signals.iteration_submitted)
def tell_mentors_about_submission(sender: type, iteration: Iteration, **kwargs: Any) -> None:
    """Mentors hear of work they may review (not of work the checks alone decide)."""
    if iteration.status == Iteration.Status.CHECKING:
        return
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
    """The learner hears that a reviewer started; once per reviewer and iteration, so a
    claim taken again after it expired or was released sends no second message."""
    earlier = ReviewClaim.objects.filter(
        iteration_id=claim.iteration_id, reviewer_id=claim.reviewer_id, pk__lt=claim.pk
    )
    if earlier.exists():
        return
    attempt = claim.iteration.attempt
    notify(
        users=[attempt.learner],
        kind=Kind.CLAIM_TAKEN,
        title=f"{claim.reviewer.name} started reviewing {attempt.release.project.title}",
        body="You will be notified again when the review is done.",
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


@receiver(cohort_signals.project_released)
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


@receiver(cohort_signals.schedule_released)
def tell_cohort_about_schedule(
    sender: type,
    cohort: Cohort,
    releases: list[ProjectRelease],
    moved: list[ProjectRelease] | None = None,
    **kwargs: Any,
) -> None:
    """A whole schedule released (or re-planned) at once: each learner hears of it once."""
    moved = moved or []
    tz = cohort.tz
    ordered = sorted([*releases, *moved], key=lambda release: release.opens_at)
    named = [
        f"{release.project.title} opens {in_zone(release.opens_at, tz)}"
        for release in ordered[:CALENDAR_PROJECTS_NAMED]
    ]
    more = len(ordered) - len(named)
    body = "; ".join(named) + (f"; and {more} more." if more else ".")
    if moved:
        changes = [f"{len(moved)} moved"]
        if releases:
            changes.insert(0, f"{len(releases)} added")
        kind = Kind.DEADLINE_CHANGED
        title = f"Your calendar in {cohort.name} changed: {' and '.join(changes)}"
    else:
        kind = Kind.PROJECT_RELEASED
        title = f"{len(releases)} projects are on your calendar"
    notify(
        users=_cohort_learners(cohort.pk),
        kind=kind,
        title=title,
        body=Truncator(body).chars(NOTIFICATION_BODY_CHARS),
        url=reverse("home"),
    )


def _cohort_learners(cohort_id: int) -> QuerySet[User]:
    return User.objects.filter(
        memberships__cohort_id=cohort_id, memberships__role=Membership.Role.LEARNER
    )


@receiver(cohort_signals.deadlines_shifted)
def tell_cohort_deadlines_moved(
    sender: type,
    cohort: Cohort,
    releases: list[ProjectRelease],
    days: int,
    move_openings: bool,
    **kwargs: Any,
) -> None:
    """The cohort's learners hear of a shift once, however many releases it moved."""
    if not releases:
        return
    tz = cohort.tz
    plural = "s" if abs(days) != 1 else ""
    direction = "later" if days > 0 else "earlier"
    named = [
        f"{release.project.title}, first deadline {in_zone(release.first_deadline, tz)}"
        for release in releases[:CALENDAR_PROJECTS_NAMED]
    ]
    more = len(releases) - len(named)
    body = "; ".join(named) + (f"; and {more} more." if more else ".")
    if not move_openings:
        body += " Opening dates did not move."
    notify(
        users=_cohort_learners(cohort.pk),
        kind=Kind.DEADLINE_CHANGED,
        title=f"Deadlines in {cohort.name} moved {abs(days)} day{plural} {direction}",
        body=Truncator(body).chars(NOTIFICATION_BODY_CHARS),
        url=reverse("home"),
    )


@receiver(cohort_signals.extension_changed)
def tell_learner_about_extension(
    sender: type, extension: Extension, change: ExtensionChange, **kwargs: Any
) -> None:
    """The learner hears of an extension granted, changed or withdrawn, with the
    deadlines that now apply to them."""
    release = extension.release
    project = release.project.title
    if change == ExtensionChange.WITHDRAWN:
        # The extension that applies now, if an older one remains (the ledger's rule).
        applying = release.deadlines_for(
            Extension.objects.latest_for(extension.learner_id, release)
        )
        title = f"Your extension on {project} was withdrawn"
    else:
        applying = release.deadlines_for(extension)
        verb = "granted" if change == ExtensionChange.GRANTED else "changed"
        title = f"Extension {verb} on {project}"
    tz = release.cohort.tz
    body = (
        f"Your deadlines: first {in_zone(applying.first_deadline, tz)}, "
        f"second {in_zone(applying.second_deadline, tz)}."
    )
    if change != ExtensionChange.WITHDRAWN and extension.reason:
        body += f" Reason: {extension.reason}"
    notify(
        users=User.objects.filter(pk=extension.learner_id),
        kind=Kind.DEADLINE_CHANGED,
        title=title,
        body=Truncator(body).chars(NOTIFICATION_BODY_CHARS),
        url=release.project.get_absolute_url(),
    )

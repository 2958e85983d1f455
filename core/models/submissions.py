"""Work and its review: attempts, iterations, claims, reviews, verdicts, comments.

Nothing here is ever overwritten or hard-deleted: a resubmission is a new
Iteration, a decision is a new Review, and foreign keys PROTECT their history.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.models.cohorts import ProjectRelease
from core.models.curriculum import Task
from core.querysets import AttemptQuerySet, IterationQuerySet, ReviewClaimQuerySet

REPOSITORY_HOSTS = {"github.com", "gitlab.com", "bitbucket.org", "codeberg.org"}
_REPO_PATH = re.compile(r"^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+/?$")


def validate_repository_url(value: str) -> None:
    """https://github.com/owner/repo style URLs only (GitHub, GitLab, Bitbucket, Codeberg)."""
    try:
        url = urlsplit(value)
        port = url.port
    except ValueError:  # "https://[" (a broken IPv6 host), a port that is not a number
        raise ValidationError("Enter a valid URL.") from None
    if url.scheme != "https":
        raise ValidationError("Use an https:// link to your repository.")
    if (url.hostname or "").lower() not in REPOSITORY_HOSTS or port or url.username:
        hosts = ", ".join(sorted(REPOSITORY_HOSTS))
        raise ValidationError(f"The repository must be on {hosts}.")
    if not _REPO_PATH.match(url.path) or url.query or url.fragment:
        raise ValidationError("Link to the repository itself, like https://github.com/you/repo.")


validate_commit_sha = RegexValidator(
    r"^[0-9a-f]{40}$", "A commit SHA is 40 lowercase hexadecimal characters."
)


class Attempt(models.Model):
    """One learner's work on one release, across all of its iterations."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attempts"
    )
    release = models.ForeignKey(ProjectRelease, on_delete=models.PROTECT, related_name="attempts")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WAITING)
    # Percent, 0–200 (M + M × A times the lateness multiplier); null until a decision.
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    scored_iteration = models.ForeignKey(
        "Iteration", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["learner", "release"], name="attempt_one_per_release"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=200),
                name="attempt_score_0_to_200",
            ),
        ]
        indexes = [
            models.Index(fields=["release", "status"], name="attempt_release_status"),
            models.Index(fields=["score"], name="attempt_score"),
            # The review queue joins a cohort's attempts to the waiting iterations: covering
            # the join's columns lets PostgreSQL read them from the index alone.
            models.Index(
                fields=["release"], include=["id", "learner"], name="attempt_release_learner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} · {self.release.project}"

    def get_absolute_url(self) -> str:
        return reverse("attempt_detail", args=[self.pk])


class Iteration(models.Model):
    """One submission of an attempt: what the learner handed in, at what time."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for review"
        REVIEWED = "reviewed", "Reviewed"
        SUPERSEDED = "superseded", "Superseded by a newer iteration"

    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="iterations")
    # The attempt's cohort, copied here so the review queue (waiting work of a mentor's
    # cohorts) reads one index instead of joining every attempt; set on save, and kept
    # in step when a release moves to another cohort (core/receivers.py).
    cohort = models.ForeignKey(
        "core.Cohort", on_delete=models.PROTECT, related_name="+", editable=False
    )
    number = models.PositiveSmallIntegerField()
    repo_url = models.URLField(
        "repository URL", max_length=300, validators=[validate_repository_url]
    )
    commit_sha = models.CharField(
        "commit SHA", max_length=40, blank=True, validators=[validate_commit_sha]
    )
    notes = models.TextField(blank=True, help_text="Markdown.")
    tasks_claimed = models.ManyToManyField(Task, blank=True, related_name="claimed_in")
    submitted_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.WAITING)
    # Review SLA, set from the project's policy at submission: past peer_due_at an
    # iteration still short of peer reviews escalates to the mentor queue; past
    # mentor_due_at an undecided one shows on the staff SLA board.
    peer_due_at = models.DateTimeField(null=True, blank=True)
    mentor_due_at = models.DateTimeField(null=True, blank=True)
    # Set when its N peer reviews disagree (a tie on a task or the decision).
    peer_tie = models.BooleanField(default=False)
    # The submit form's one-time token: the same POST twice creates one iteration.
    submit_token = models.UUIDField(unique=True, null=True, blank=True, editable=False)

    objects = IterationQuerySet.as_manager()

    class Meta:
        ordering = ["attempt", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "number"], name="iteration_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="iteration_number_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="iteration_status_submitted"),
            models.Index(
                fields=["mentor_due_at"],
                condition=Q(status="waiting"),
                name="iteration_waiting_mentor_due",
            ),
            # The review queue: waiting iterations oldest first, with what its filters read
            # (count, oldest and the page come from the index alone).
            models.Index(
                fields=["submitted_at"],
                include=["id", "attempt", "peer_due_at", "peer_tie"],
                condition=Q(status="waiting"),
                name="iteration_waiting_queue",
            ),
            # A mentor's queue: their cohorts' waiting work, oldest first.
            models.Index(
                fields=["cohort", "submitted_at"],
                include=["id", "attempt", "peer_due_at", "peer_tie"],
                condition=Q(status="waiting"),
                name="iteration_waiting_cohort",
            ),
        ]

    def __str__(self) -> str:
        return f"Iteration {self.number} of {self.attempt}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.cohort_id is None and self.attempt_id is not None:
            self.cohort_id = self.attempt.release.cohort_id
        super().save(*args, **kwargs)

    @property
    def short_sha(self) -> str:
        return self.commit_sha[:7]


def attachment_path(instance: Attachment, filename: str) -> str:
    """A random name that keeps only the (validated) extension."""
    suffix = PurePosixPath(filename).suffix.lower()
    return f"attachments/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    """A file handed in with an iteration, stored under a random name."""

    iteration = models.ForeignKey(Iteration, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["iteration", "id"]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("attachment_download", args=[self.pk])


class ReviewClaim(models.Model):
    """A mentor's lease on an iteration: while it is live nobody else may review it."""

    iteration = models.ForeignKey(Iteration, on_delete=models.PROTECT, related_name="claims")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_claims"
    )
    claimed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Set when the claim is released, ends in a review, or is found expired.
    released_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-claimed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["iteration"],
                condition=Q(released_at__isnull=True),
                name="claim_one_open_per_iteration",
            ),
        ]
        indexes = [
            models.Index(fields=["reviewer", "released_at", "expires_at"], name="claim_reviewer"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} on {self.iteration}"

    def is_live(self, now: datetime | None = None) -> bool:
        return self.released_at is None and self.expires_at > (now or timezone.now())

    def minutes_left(self, now: datetime | None = None) -> int:
        seconds = (self.expires_at - (now or timezone.now())).total_seconds()
        return max(0, int(seconds // 60))


class Review(models.Model):
    """A reviewer's verdicts on one iteration; a draft until ``submitted_at`` is set."""

    class Kind(models.TextChoices):
        MENTOR = "mentor", "Mentor"
        PEER = "peer", "Peer"

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    iteration = models.ForeignKey(Iteration, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MENTOR)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    feedback = models.TextField(blank=True, help_text="Markdown.")
    # Peer reviews: how sure the reviewer is (1 = not sure … 5 = certain).
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(n, str(n)) for n in range(1, 6)]
    )
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-created_at"]
        constraints = [
            # One review per reviewer and iteration: a double submit records one review.
            models.UniqueConstraint(
                fields=["iteration", "reviewer"], name="review_one_per_reviewer"
            ),
            models.CheckConstraint(
                condition=Q(submitted_at__isnull=True) | ~Q(decision=""),
                name="review_submitted_has_decision",
            ),
        ]
        indexes = [models.Index(fields=["submitted_at"], name="review_submitted")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} review of {self.iteration}"

    @property
    def is_draft(self) -> bool:
        return self.submitted_at is None


class Verdict(models.Model):
    """Pass or fail on one task, with a comment, inside a review."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="verdicts")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="verdicts")
    passed = models.BooleanField(null=True)  # null while the review is a draft
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["review", "task__number"]
        constraints = [
            models.UniqueConstraint(fields=["review", "task"], name="verdict_one_per_task"),
        ]

    def __str__(self) -> str:
        state = {True: "pass", False: "fail", None: "pending"}[self.passed]
        return f"{self.task}: {state}"


class Comment(models.Model):
    """A message in an attempt's discussion thread."""

    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments"
    )
    body = models.TextField(help_text="Markdown.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["attempt", "created_at"], name="comment_attempt_created")]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.attempt}"

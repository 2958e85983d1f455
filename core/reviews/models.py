"""Work and its review: attempts, iterations, claims, reviews, verdicts, comments.

Nothing here is ever overwritten or hard-deleted: a resubmission is a new
Iteration, a decision is a new Review, and foreign keys PROTECT their history.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Aggregate, Count, Min, Q
from django.urls import reverse
from django.utils import timezone

from core.cohorts.models import ProjectRelease, mentored_cohort_ids
from core.curriculum.models import Task
from core.platform.timefmt import now_or

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from core.accounts.models import User


class AttemptQuerySet(models.QuerySet["Attempt"]):
    def visible_to(self, user: User | AnonymousUser) -> AttemptQuerySet:
        """Own attempts for learners; the cohort's for its mentors; all for staff."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(Q(learner=user) | Q(release__cohort_id__in=mentored_cohort_ids(user)))


def mentor_queue_q(now: datetime | None = None) -> Q:
    """Iterations mentors should see: mentor-reviewed projects, and peer-reviewed ones
    that escalated (past their peer SLA) or whose peers tied."""
    return (
        Q(peer_due_at__isnull=True)
        | Q(attempt__release__project__mentor_review_required=True)
        | Q(peer_due_at__lte=now_or(now))
        | Q(peer_tie=True)
    )


def queue_counts(now: datetime | None = None) -> dict[str, Aggregate]:
    """Over waiting iterations, what the queue page and the mentor's home count: how many
    are in the mentors' queue (``waiting``), when its oldest was submitted (``oldest``),
    and when work still with its peers next escalates into it (``escalates``)."""
    now = now_or(now)
    in_queue = mentor_queue_q(now)
    return {
        "waiting": Count("pk", filter=in_queue),
        "oldest": Min("submitted_at", filter=in_queue),
        "escalates": Min("peer_due_at", filter=Q(peer_due_at__gt=now)),
    }


class IterationQuerySet(models.QuerySet["Iteration"]):
    def lock(self, pk: int) -> Iteration:
        """The iteration ``pk`` with its attempt's row locked, then its own (call in a
        transaction; chain ``select_related`` before it as usual).

        Writers take an attempt before its iterations: ``iteration_submit`` locks the
        attempt, then supersedes the iterations still waiting in it. Locking an iteration
        first and its attempt second (to decide it, and so score it) waits on that
        resubmission while it waits on us: a deadlock. Every lock of an iteration whose
        attempt will be written comes through here, so the order is one.
        """
        Attempt.objects.select_for_update(of=("self",)).filter(iterations=pk).first()
        return self.select_for_update(of=("self",)).get(pk=pk)

    def waiting(self) -> IterationQuerySet:
        """Iterations that still need a review decision."""
        return self.filter(status="waiting")

    def for_mentor_queue(self, now: datetime | None = None) -> IterationQuerySet:
        """What mentors should see (see ``mentor_queue_q``)."""
        return self.filter(mentor_queue_q(now))

    def past_mentor_sla(self, now: datetime | None = None) -> IterationQuerySet:
        """Waiting iterations whose mentor SLA has passed (the staff board)."""
        return self.waiting().filter(mentor_due_at__lte=now_or(now))

    def reviewable_by(
        self, user: User | AnonymousUser, cohort_ids: list[int] | None = None
    ) -> IterationQuerySet:
        """Iterations ``user`` may review as a mentor: their cohorts', never their own.

        ``cohort_ids``, when the caller has already read the user's mentored cohorts,
        saves the subquery: with the ids as literals PostgreSQL reads the waiting work
        of those cohorts from one index (``iteration_waiting_cohort``) instead of
        joining every attempt of theirs.
        """
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.exclude(attempt__learner=user)
        if cohort_ids is None:
            return self.filter(cohort_id__in=mentored_cohort_ids(user)).exclude(
                attempt__learner=user
            )
        return self.filter(cohort_id__in=cohort_ids).exclude(attempt__learner=user)


class ReviewClaimQuerySet(models.QuerySet["ReviewClaim"]):
    def live(self, now: datetime | None = None) -> ReviewClaimQuerySet:
        """Claims still held: not released and not expired (expiry is checked on read)."""
        return self.filter(released_at__isnull=True, expires_at__gt=now_or(now))


_REPO_PATH = re.compile(r"^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+/?$")


def validate_repository_url(value: str) -> None:
    """https://github.com/owner/repo style URLs on an allowed host (settings.REPOSITORY_HOSTS:
    GitHub, GitLab, Bitbucket, Codeberg), with no credentials in them."""
    try:
        url = urlsplit(value)
        port = url.port
    except ValueError:  # "https://[" (a broken IPv6 host), a port that is not a number
        raise ValidationError("Enter a valid URL.") from None
    if url.scheme != "https":
        raise ValidationError("Use an https:// link to your repository.")
    if url.username or url.password:
        raise ValidationError(
            "Leave the name or token out of the address: reviewers and checks read public "
            "repositories only."
        )
    host = (url.hostname or "").lower()
    allowed = settings.REPOSITORY_HOSTS
    if (f"{host}:{port}" if port else host) not in allowed:
        hosts = ", ".join(sorted(name for name in allowed if ":" not in name))
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
        # A project graded by checks alone: its checks are running, no person is needed.
        CHECKING = "checking", "Being checked"
        REVIEWED = "reviewed", "Reviewed"
        SUPERSEDED = "superseded", "Superseded by a newer iteration"

    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="iterations")
    # The attempt's cohort, copied here so the review queue (waiting work of a mentor's
    # cohorts) reads one index instead of joining every attempt; set on save, and kept
    # in step when a release moves to another cohort (core/cohorts/receivers.py).
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
    notes = models.TextField(
        blank=True, max_length=settings.MARKDOWN_MAX_CHARS, help_text="Markdown."
    )
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
        # A new iteration has no cohort yet (the stubs type a required key's id as always set).
        if cast("int | None", self.cohort_id) is None and self.attempt_id is not None:
            self.cohort_id = self.attempt.release.cohort_id
        super().save(*args, **kwargs)

    @property
    def short_sha(self) -> str:
        return self.commit_sha[:7]

    def handed_in_again_by(
        self, *, repo_url: str, commit_sha: str, notes: str, task_ids: set[int], files: int
    ) -> bool:
        """Whether a new iteration with this content would hand in this one's work again:
        the same repository and tasks, the same commit or none, the same notes or none,
        and no file. (A commit or notes left empty say nothing new; one query: the tasks.)"""
        return (
            files == 0
            and repo_url == self.repo_url
            and commit_sha in ("", self.commit_sha)
            and notes.strip() in ("", self.notes.strip())
            and task_ids == set(self.tasks_claimed.values_list("pk", flat=True))
        )


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
        return claim_minutes_left(self.expires_at, now)


def claim_minutes_left(expires_at: datetime, now: datetime | None = None) -> int:
    """Whole minutes until a claim expiring at ``expires_at`` runs out (0 once it has)."""
    seconds = (expires_at - (now or timezone.now())).total_seconds()
    return max(0, int(seconds // 60))


class Review(models.Model):
    """A reviewer's verdicts on one iteration; a draft until ``submitted_at`` is set."""

    class Kind(models.TextChoices):
        MENTOR = "mentor", "Mentor"
        PEER = "peer", "Peer"
        # The decision of a project graded by checks alone (its reviewer is the checks bot).
        CHECKS = "checks", "Automated checks"

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    iteration = models.ForeignKey(Iteration, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MENTOR)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    feedback = models.TextField(
        blank=True, max_length=settings.MARKDOWN_MAX_CHARS, help_text="Markdown."
    )
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
        indexes = [
            models.Index(fields=["submitted_at"], name="review_submitted"),
            # A reviewer's recent reviews (the mentor's home, the staff reviewers page): a
            # range of one index, not two bitmaps of thousands of rows ANDed.
            models.Index(fields=["reviewer", "submitted_at"], name="review_reviewer_submitted"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} review of {self.iteration}"

    @property
    def is_draft(self) -> bool:
        return self.submitted_at is None


class Verdict(models.Model):
    """Pass or fail on one task, with a comment, inside a review."""

    class Source(models.TextChoices):
        PERSON = "person", "A person"
        CHECKS = "checks", "Automated checks"

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="verdicts")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="verdicts")
    passed = models.BooleanField(null=True)  # null while the review is a draft
    comment = models.TextField(
        blank=True, max_length=settings.MARKDOWN_MAX_CHARS, help_text="Markdown."
    )
    # Who decided: the checks (a task graded by checks) or a person.
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PERSON)
    # What the checks said when this verdict was given (None: no checks, or none finished);
    # a person's verdict that differs from it is an override and carries its reason.
    checks_passed = models.BooleanField(null=True, blank=True)
    override_reason = models.TextField(blank=True)

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
    body = models.TextField(max_length=settings.MARKDOWN_MAX_CHARS, help_text="Markdown.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["attempt", "created_at"], name="comment_attempt_created")]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.attempt}"


class ScoreOverrideQuerySet(models.QuerySet["ScoreOverride"]):
    def standing(self) -> ScoreOverrideQuerySet:
        """Overrides in force: not cleared by staff."""
        return self.filter(cleared_at__isnull=True)


class ScoreOverride(models.Model):
    """Staff's correction of an attempt: one task's verdict or the final score, with a reason.

    The rule: an override stands until staff clear it. Reviews decided after it and every
    recompute (a deadline move, an extension) keep it; the receipt shows it as "adjusted by
    staff" beside what the reviews say, and which of the two applies (always the override).
    A verdict override applies to that task on every reviewed iteration of the attempt.
    Overrides are never deleted: clearing one records who cleared it and when.
    """

    class Kind(models.TextChoices):
        VERDICT = "verdict", "Task verdict"
        SCORE = "score", "Final score"

    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="overrides")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    task = models.ForeignKey(
        Task, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    passed = models.BooleanField(null=True, blank=True)  # a verdict override's verdict
    score = models.DecimalField(  # a score override's score, percent (0–200)
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    reason = models.TextField(max_length=settings.MARKDOWN_MAX_CHARS, help_text="Markdown.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ScoreOverrideQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="verdict",
                        task__isnull=False,
                        passed__isnull=False,
                        score__isnull=True,
                    )
                    | Q(
                        kind="score",
                        task__isnull=True,
                        passed__isnull=True,
                        score__gte=0,
                        score__lte=200,
                    )
                ),
                name="override_kind_fields",
            ),
            # One standing override per task verdict, and one per final score.
            models.UniqueConstraint(
                fields=["attempt", "task"],
                condition=Q(cleared_at__isnull=True, kind="verdict"),
                name="override_one_standing_verdict",
            ),
            models.UniqueConstraint(
                fields=["attempt"],
                condition=Q(cleared_at__isnull=True, kind="score"),
                name="override_one_standing_score",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.SCORE:
            return f"Score of {self.attempt} set to {self.score}%"
        verdict = "pass" if self.passed else "fail"
        return f"Task {self.task} of {self.attempt} set to {verdict}"

    @property
    def is_standing(self) -> bool:
        return self.cleared_at is None

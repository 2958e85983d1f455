"""The attempt page: iterations as a timeline, reviews, the score receipt and the discussion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from core.forms import CommentForm
from core.models import (
    Attachment,
    Attempt,
    Comment,
    Deadlines,
    Iteration,
    Membership,
    Review,
    ReviewClaim,
    ReviewRating,
    ReviewReport,
    Task,
    Verdict,
)
from core.ratelimit import ratelimit
from core.services.comments import comment_post
from core.services.peer import GradeHold, grade_hold, is_escalated
from core.services.scoring import HUNDRED, Receipt, attempt_receipts, best_receipt
from core.services.waits import WaitEstimate, wait_estimate, wait_label

if TYPE_CHECKING:
    from core.models import User

MENTOR = Membership.Role.MENTOR


@dataclass(frozen=True)
class IterationChanges:
    """What changed since the previous iteration (the 'diffable metadata')."""

    previous_number: int
    sha_before: str
    sha_after: str
    repo_changed: bool
    tasks_added: list[Task]
    tasks_removed: list[Task]
    notes_changed: bool

    @property
    def sha_changed(self) -> bool:
        return self.sha_before != self.sha_after

    @property
    def anything(self) -> bool:
        return bool(
            self.sha_changed
            or self.repo_changed
            or self.tasks_added
            or self.tasks_removed
            or self.notes_changed
        )


@dataclass(frozen=True)
class TimelineEntry:
    """One iteration as the timeline shows it, with its reviews and its changes."""

    iteration: Iteration
    tasks: list[Task]
    attachments: list[Attachment]
    reviews: list[Review]
    live_claim: ReviewClaim | None
    changes: IterationChanges | None
    is_scored: bool


@dataclass(frozen=True)
class ReceiptView:
    """A receipt with the numbers the page prints as percentages."""

    receipt: Receipt
    deadlines: Deadlines  # the learner's, with the receipt's extension applied
    original: Deadlines  # the release's own dates
    is_best: bool
    # Submitted peer reviews of the iteration whose verdicts a mentor's review overrode.
    peers_overridden: int = 0

    @property
    def m_percent(self) -> Decimal:
        return self.receipt.m * HUNDRED

    @property
    def a_percent(self) -> Decimal:
        return self.receipt.a * HUNDRED

    @property
    def multiplier_percent(self) -> Decimal:
        return self.receipt.multiplier * HUNDRED

    @property
    def deadline_shown(self) -> datetime:
        """The deadline the label names: the first one met, else the second."""
        if self.receipt.deadline_met == "first":
            return self.deadlines.first_deadline
        return self.deadlines.second_deadline

    @property
    def first_moved(self) -> bool:
        return self.deadlines.first_deadline != self.original.first_deadline

    @property
    def second_moved(self) -> bool:
        return self.deadlines.second_deadline != self.original.second_deadline


def _attempts_for(user: User) -> QuerySet[Attempt]:
    """Attempts ``user`` may open: ``visible_to`` plus those they reviewed or hold a claim on."""
    if not user.is_authenticated:
        # Checked here: ``none() | other`` would be ``other``.
        return Attempt.objects.none()
    # Mentor reviews only: a peer reviewer sees just the iteration assigned to them
    # (core/views/peer.py), never the attempt's other iterations, score or reviews.
    reviewed = Review.objects.filter(
        iteration__attempt=OuterRef("pk"), reviewer=user, kind=Review.Kind.MENTOR
    )
    claimed = ReviewClaim.objects.live().filter(iteration__attempt=OuterRef("pk"), reviewer=user)
    mentors = Membership.objects.filter(cohort=OuterRef("release__cohort"), user=user, role=MENTOR)
    visible = Attempt.objects.visible_to(user) | Attempt.objects.filter(
        Exists(reviewed) | Exists(claimed)
    )
    return visible.annotate(viewer_mentors=Exists(mentors))


def _get_attempt_for_user(request: HttpRequest, pk: int) -> Attempt:
    """The attempt if the user may see it (learner, mentors, its reviewers, staff), else 404."""
    attempts = _attempts_for(request.user).select_related(
        "learner", "release__project", "release__cohort"
    )
    return get_object_or_404(attempts, pk=pk)


def _viewer_role(attempt: Attempt, user: User) -> str:
    """'learner', 'mentor', 'staff' or 'reviewer' (someone who only reviewed this attempt)."""
    if attempt.learner_id == user.pk:
        return "learner"
    if attempt.viewer_mentors:
        return "mentor"
    return "staff" if user.is_staff else "reviewer"


def _comments(attempt: Attempt, after: int = 0) -> list[Comment]:
    """The thread (or its comments newer than ``after``), oldest first, in one query."""
    role = Membership.objects.filter(
        cohort_id=attempt.release.cohort_id, user_id=OuterRef("author_id")
    ).values("role")[:1]
    comments = (
        Comment.objects.filter(attempt=attempt, pk__gt=after)
        .select_related("author")
        .annotate(author_role=Subquery(role))
        .order_by("pk")
    )
    return list(comments)


def _load_iterations(attempt: Attempt, user: User, role: str) -> list[Iteration]:
    """The iterations, newest first, with everything the timeline shows (fixed queries)."""
    reviews = Review.objects.select_related("reviewer").order_by("submitted_at", "created_at")
    if role == "learner":
        # Drafts are the reviewer's own business until submitted.
        reviews = reviews.exclude(submitted_at=None)
        # The learner's rating and report of each peer review (core/_peer_review_actions.html).
        reviews = reviews.annotate(
            my_rating=Subquery(
                ReviewRating.objects.filter(review=OuterRef("pk")).values("helpful")
            ),
            i_reported=Exists(ReviewReport.objects.filter(review=OuterRef("pk"), reporter=user)),
        )
    else:
        reviews = reviews.filter(Q(submitted_at__isnull=False) | Q(reviewer=user))
    verdicts = Verdict.objects.select_related("task").order_by("task__number")
    # Through the related manager, so each iteration.attempt is this attempt (no query).
    iterations = attempt.iterations.order_by("-number").prefetch_related(
        Prefetch("tasks_claimed", queryset=Task.objects.order_by("number")),
        Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
        Prefetch(
            "claims",
            queryset=ReviewClaim.objects.live().select_related("reviewer"),
            to_attr="live_claims",
        ),
        Prefetch("reviews", queryset=reviews),
        Prefetch("reviews__verdicts", queryset=verdicts),
    )
    return list(iterations)


def _changes(iteration: Iteration, previous: Iteration) -> IterationChanges:
    now_claimed = {task.pk: task for task in iteration.tasks_claimed.all()}
    was_claimed = {task.pk: task for task in previous.tasks_claimed.all()}
    return IterationChanges(
        previous_number=previous.number,
        sha_before=previous.short_sha,
        sha_after=iteration.short_sha,
        repo_changed=iteration.repo_url != previous.repo_url,
        tasks_added=[task for pk, task in now_claimed.items() if pk not in was_claimed],
        tasks_removed=[task for pk, task in was_claimed.items() if pk not in now_claimed],
        notes_changed=iteration.notes.strip() != previous.notes.strip(),
    )


def _timeline(iterations: list[Iteration], scored_id: int | None) -> list[TimelineEntry]:
    entries = []
    for index, iteration in enumerate(iterations):
        previous = iterations[index + 1] if index + 1 < len(iterations) else None
        entries.append(
            TimelineEntry(
                iteration=iteration,
                tasks=list(iteration.tasks_claimed.all()),
                attachments=list(iteration.attachments.all()),
                reviews=list(iteration.reviews.all()),
                live_claim=iteration.live_claims[0] if iteration.live_claims else None,
                changes=_changes(iteration, previous) if previous else None,
                is_scored=iteration.pk == scored_id,
            )
        )
    return entries


def _receipt_views(
    attempt: Attempt, timeline: list[TimelineEntry], peer_counts: dict[int, int]
) -> tuple[ReceiptView | None, list[ReceiptView]]:
    """The receipt that earned the score, and the other iterations' receipts (newest first)."""
    # The timeline has loaded every submitted review with its verdicts already.
    receipts = attempt_receipts(attempt, [review for entry in timeline for review in entry.reviews])
    best = best_receipt(receipts)
    release = attempt.release
    original = release.deadlines_for(None)
    views = [
        ReceiptView(
            receipt=receipt,
            deadlines=release.deadlines_for(receipt.extension),
            original=original,
            is_best=receipt is best,
            peers_overridden=0 if receipt.by_peers else peer_counts.get(receipt.iteration.pk, 0),
        )
        for receipt in receipts
    ]
    best_view = next((view for view in views if view.is_best), None)
    return best_view, [view for view in views if not view.is_best]


def _peer_review_counts(timeline: list[TimelineEntry]) -> dict[int, int]:
    """Submitted peer reviews per iteration id (from the reviews already loaded)."""
    return {
        entry.iteration.pk: sum(
            1 for review in entry.reviews if review.kind == Review.Kind.PEER and review.submitted_at
        )
        for entry in timeline
    }


@dataclass(frozen=True)
class PeerProgress:
    """Where the latest iteration's peer reviews stand, while it waits for them."""

    received: int
    required: int
    escalated: bool
    tie: bool
    sla_hours: int


def _peer_progress(
    attempt: Attempt, latest: TimelineEntry | None, peer_counts: dict[int, int]
) -> PeerProgress | None:
    """For a waiting iteration of a peer-reviewed project: 'Peer reviews: 1 of 2 in', escalation."""
    project = attempt.release.project
    if latest is None or not project.peer_reviews_required:
        return None
    iteration = latest.iteration
    if iteration.status != Iteration.Status.WAITING:
        return None
    return PeerProgress(
        received=peer_counts.get(iteration.pk, 0),
        required=project.peer_reviews_required,
        escalated=is_escalated(iteration),
        tie=iteration.peer_tie,
        sla_hours=project.peer_sla_hours,
    )


def _state(attempt: Attempt, latest: TimelineEntry | None) -> str:
    """'waiting', 'in_review', 'changes_requested' or 'approved' (in review is computed on read)."""
    if latest is not None and latest.iteration.status == Iteration.Status.WAITING:
        return "in_review" if latest.live_claim else "waiting"
    return attempt.status


def _attempt_context(
    request: HttpRequest, attempt: Attempt, form: CommentForm | None = None
) -> dict[str, object]:
    user = request.user
    role = _viewer_role(attempt, user)
    timeline = _timeline(_load_iterations(attempt, user, role), attempt.scored_iteration_id)
    latest = timeline[0] if timeline else None
    state = _state(attempt, latest)
    sees_score = role != "reviewer"
    peer_counts = _peer_review_counts(timeline)
    hold = grade_hold(attempt) if sees_score else GradeHold(0, 0)
    # A held grade is not shown to its learner at all (not even the receipt's numbers).
    grade_pending = hold.held and role == "learner"
    shows_receipts = sees_score and not grade_pending
    best, other_receipts = (
        _receipt_views(attempt, timeline, peer_counts) if shows_receipts else (None, [])
    )
    estimate: WaitEstimate | None = None
    if state == "waiting" and latest is not None:
        estimate = wait_estimate(latest.iteration)
    comments = _comments(attempt)
    decided = [
        review
        for entry in timeline
        for review in entry.reviews
        if review.submitted_at and review.kind == Review.Kind.MENTOR
    ]
    return {
        "attempt": attempt,
        "release": attempt.release,
        "project": attempt.release.project,
        "cohort": attempt.release.cohort,
        "learner": attempt.learner,
        "role": role,
        "is_learner": role == "learner",
        "state": state,
        "timeline": timeline,
        "latest": latest,
        "last_decision": max(decided, key=lambda review: review.submitted_at, default=None),
        "sees_score": sees_score,
        "hold": hold,
        "grade_pending": grade_pending,
        "peer": _peer_progress(attempt, latest, peer_counts),
        "receipt": best,
        "other_receipts": other_receipts,
        "estimate": estimate,
        "wait_label": wait_label(estimate.wait) if estimate and estimate.wait else "",
        "comments": comments,
        "after": comments[-1].pk if comments else 0,
        "form": form or CommentForm(),
    }


@require_safe
@login_required
def attempt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One attempt: its state, expected wait, iterations and reviews, score receipt and thread."""
    attempt = _get_attempt_for_user(request, pk)
    return render(request, "core/attempt_detail.html", _attempt_context(request, attempt))


def _after(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@ratelimit("comments")
def attempt_comments(request: HttpRequest, pk: int) -> HttpResponse:
    """The thread's endpoint: GET polls for comments after ``?after=``, POST adds one."""
    attempt = _get_attempt_for_user(request, pk)
    if request.method == "POST":
        return _comment_create(request, attempt)
    if not request.htmx:
        return redirect(f"{attempt.get_absolute_url()}#discussion")
    after = _after(request.GET.get("after"))
    # One indexed query on (attempt, pk); nothing new is a 204 that htmx does not swap.
    comments = _comments(attempt, after)
    if not comments:
        return HttpResponse(status=204)
    ctx = {
        "attempt": attempt,
        "cohort": attempt.release.cohort,
        "comments": comments,
        "after": comments[-1].pk,
        "oob": True,
    }
    return render(request, "core/attempt_detail.html#attempt-comments-update", ctx)


def _comment_create(request: HttpRequest, attempt: Attempt) -> HttpResponse:
    form = CommentForm(request.POST)
    comment = None
    if form.is_valid():
        try:
            comment = comment_post(
                attempt=attempt, author=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as error:
            form.add_error("body", error)
    if comment is None:
        if request.htmx:
            response = render(
                request,
                "core/attempt_detail.html#attempt-comment-form",
                {"attempt": attempt, "cohort": attempt.release.cohort, "form": form},
            )
            return reswap(retarget(response, "#comment-form"), "outerHTML")
        ctx = _attempt_context(request, attempt, form)
        return render(request, "core/attempt_detail.html", ctx)
    if not request.htmx:
        return redirect(f"{attempt.get_absolute_url()}#comment-{comment.pk}")
    # Everything newer than what this page has shown, so nobody's message is skipped.
    after = _after(request.POST.get("after")) if "after" in request.POST else comment.pk - 1
    comments = _comments(attempt, min(after, comment.pk - 1))
    ctx = {
        "attempt": attempt,
        "cohort": attempt.release.cohort,
        "comments": comments,
        "after": comments[-1].pk,
        "oob": True,
        "form": CommentForm(),
        "reset_form": True,
    }
    return render(request, "core/attempt_detail.html#attempt-comments-update", ctx)

"""Reads of the attempt page: its iterations as a timeline, their reviews, the score
receipts, the wait and the thread, as the viewer may see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict, cast
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.urls import reverse

from core.checks.selectors import ChecksBadge, checks_badges
from core.cohorts.models import mentored_cohort_ids
from core.disputes.selectors import attempt_page_disputes
from core.models import (
    Attachment,
    Attempt,
    Cohort,
    Comment,
    Deadlines,
    Extension,
    Iteration,
    Membership,
    Review,
    ReviewClaim,
    ReviewRating,
    ReviewReport,
    Task,
    Verdict,
)
from core.peer.services import GradeHold, grade_hold, is_escalated
from core.reviews.scoring import (
    HUNDRED,
    Receipt,
    StandingOverrides,
    attempt_receipts,
    best_receipt,
    lateness,
    standing_overrides,
)
from core.reviews.waits import WaitEstimate, pace_label, wait_estimate, wait_range_label

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django_stubs_ext import WithAnnotations

    from core.models import User
    from core.reviews.selectors.whatif import WhatIfPanel


@dataclass(frozen=True)
class Lateness:
    """The deadline an iteration submitted at some time meets, and the multiplier it is
    scored at, for the learner's dates (the submit page: now; the attempt page: its own)."""

    met: str  # "first", "second" or "late"
    deadline: datetime | None
    multiplier: Decimal

    @property
    def percent(self) -> int:
        return int(self.multiplier * 100)


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
    checks: ChecksBadge | None  # its newest check run, summed up


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


class ViewerFlags(TypedDict):
    viewer_mentors: bool  # the viewer mentors the attempt's cohort


class HeldClaims(TypedDict):
    live_claims: list[ReviewClaim]  # its claims still held (prefetched)


if TYPE_CHECKING:  # WithAnnotations takes two arguments for mypy only
    AttemptForViewer = WithAnnotations[Attempt, ViewerFlags]
    IterationWithClaims = WithAnnotations[Iteration, HeldClaims]


def attempts_for(user: User | AnonymousUser) -> QuerySet[AttemptForViewer]:
    """Attempts ``user`` may open: ``visible_to`` plus those they reviewed or hold a claim on."""
    if not user.is_authenticated:
        # Checked here: ``none() | other`` would be ``other``. (No rows lack the annotation.)
        return cast("QuerySet[AttemptForViewer]", Attempt.objects.none())
    # Mentor reviews only: a peer reviewer sees just the iteration assigned to them
    # (core/peer/views.py), never the attempt's other iterations, score or reviews.
    reviewed = Review.objects.filter(
        iteration__attempt=OuterRef("pk"), reviewer=user, kind=Review.Kind.MENTOR
    )
    claimed = ReviewClaim.objects.live().filter(iteration__attempt=OuterRef("pk"), reviewer=user)
    visible: QuerySet[Attempt] = Attempt.objects.visible_to(user) | Attempt.objects.filter(
        Exists(reviewed) | Exists(claimed)
    )
    return visible.annotate(viewer_mentors=Q(release__cohort_id__in=mentored_cohort_ids(user)))


def viewer_role(attempt: AttemptForViewer, user: User) -> str:
    """'learner', 'mentor', 'staff' or 'reviewer' (someone who only reviewed this attempt)."""
    if attempt.learner_id == user.pk:
        return "learner"
    if attempt.viewer_mentors:
        return "mentor"
    return "staff" if user.is_staff else "reviewer"


def _cohort_url(cohort: Cohort, role: str) -> str:
    """Where the cohort's name leads this viewer, never to a page that answers them 404.

    Its mentors and staff get the cohort's schedule. Its learner gets the curriculum of
    that cohort: their own calendar of it, with their deadlines and extensions (the
    schedule is a page for running the cohort: everyone's extensions, release tools).
    Anyone else (a former mentor who reviewed this attempt) gets no link.
    """
    if role in ("mentor", "staff"):
        return reverse("cohort_schedule", args=[cohort.slug])
    if role == "learner":
        return f"{reverse('curriculum')}?{urlencode({'cohort': cohort.slug})}"
    return ""


def thread_comments(attempt: Attempt, after: int = 0) -> list[Comment]:
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


def _load_iterations(attempt: Attempt, user: User, role: str) -> list[IterationWithClaims]:
    """The iterations, newest first, with everything the timeline shows (fixed queries)."""
    reviews = Review.objects.select_related("reviewer").order_by("submitted_at", "created_at")
    if role == "learner":
        # Drafts are the reviewer's own business until submitted.
        reviews = reviews.exclude(submitted_at=None)
        # The learner's rating and report of each peer review (core/peer/_peer_review_actions.html).
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
    # (A plain QuerySet: the stubs type a custom one's prefetched rows as bare iterations.)
    newest_first: QuerySet[Iteration] = attempt.iterations.order_by("-number")
    iterations = newest_first.prefetch_related(
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


def _timeline(iterations: list[IterationWithClaims], scored_id: int | None) -> list[TimelineEntry]:
    badges = checks_badges([iteration.pk for iteration in iterations])
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
                checks=badges.get(iteration.pk),
            )
        )
    return entries


def _receipt_views(
    attempt: Attempt,
    timeline: list[TimelineEntry],
    peer_counts: dict[int, int],
    standing: StandingOverrides,
) -> tuple[ReceiptView | None, list[ReceiptView]]:
    """The receipt that earned the score, and the other iterations' receipts (newest first)."""
    # The timeline has loaded every submitted review with its verdicts already.
    loaded = [review for entry in timeline for review in entry.reviews]
    receipts = attempt_receipts(attempt, loaded, standing=standing)
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
    """'checking', 'waiting', 'in_review', 'changes_requested' or 'approved' (in review is
    computed on read)."""
    if latest is not None and latest.iteration.status == Iteration.Status.CHECKING:
        return "checking"
    if latest is not None and latest.iteration.status == Iteration.Status.WAITING:
        return "in_review" if latest.live_claim else "waiting"
    return attempt.status


def _lateness_of(
    attempt: Attempt, iteration: Iteration, receipts: list[ReceiptView | None]
) -> Lateness:
    """The deadline ``iteration`` met and its multiplier: fixed at its submission, so a long
    review never makes it late. The learner's extension is the receipts' when they have one
    (loaded already), else one query."""
    shown = next((view for view in receipts if view is not None), None)
    extension = (
        shown.receipt.extension
        if shown is not None
        else Extension.objects.latest_for(attempt.learner_id, attempt.release)
    )
    return Lateness(*lateness(attempt.release, extension, iteration.submitted_at))


def attempt_context(user: User, attempt: AttemptForViewer) -> dict[str, object]:
    """Everything the attempt page shows ``user`` of it, apart from the comment form."""
    role = viewer_role(attempt, user)
    timeline = _timeline(_load_iterations(attempt, user, role), attempt.scored_iteration_id)
    latest = timeline[0] if timeline else None
    state = _state(attempt, latest)
    sees_score = role != "reviewer"
    peer_counts = _peer_review_counts(timeline)
    hold = grade_hold(attempt) if sees_score else GradeHold(0, 0)
    # A held grade is not shown to its learner at all (not even the receipt's numbers).
    grade_pending = hold.held and role == "learner"
    shows_receipts = sees_score and not grade_pending
    standing = standing_overrides(attempt) if shows_receipts else StandingOverrides()
    best, other_receipts = (
        _receipt_views(attempt, timeline, peer_counts, standing) if shows_receipts else (None, [])
    )
    estimate: WaitEstimate | None = None
    wait_range = pace = ""
    waited: Lateness | None = None
    if state == "waiting" and latest is not None:
        estimate = wait_estimate(latest.iteration)
        if estimate.low is not None and estimate.high is not None:
            wait_range = wait_range_label(estimate.low, estimate.high)
            pace = pace_label(estimate.reviews, estimate.window_days)
        if sees_score:  # the multiplier is part of the score, which reviewers do not see
            waited = _lateness_of(attempt, latest.iteration, [best, *other_receipts])
    comments = thread_comments(attempt)
    # Submitted reviews only, so each has its submitted_at (cast below for max's key).
    decided = [
        review
        for entry in timeline
        for review in entry.reviews
        if review.submitted_at and review.kind in (Review.Kind.MENTOR, Review.Kind.CHECKS)
    ]
    return {
        "attempt": attempt,
        "release": attempt.release,
        "project": attempt.release.project,
        "cohort": attempt.release.cohort,
        "learner": attempt.learner,
        "role": role,
        "cohort_url": _cohort_url(attempt.release.cohort, role),
        "is_learner": role == "learner",
        "state": state,
        "timeline": timeline,
        "latest": latest,
        "last_decision": max(
            decided, key=lambda review: cast(datetime, review.submitted_at), default=None
        ),
        "sees_score": sees_score,
        "hold": hold,
        "grade_pending": grade_pending,
        "peer": _peer_progress(attempt, latest, peer_counts),
        "receipt": best,
        "other_receipts": other_receipts,
        "estimate": estimate,
        "wait_range": wait_range,  # '12 hours to 3 days'; empty without an estimate
        "pace": pace,  # 'about 2 a day'
        "waiting_lateness": waited,
        "comments": comments,
        "after": comments[-1].pk if comments else 0,
        "can_adjust": user.is_staff,
        **_adjustment_context(standing, best, other_receipts),
        "whatif": _whatif_panel(attempt, best, other_receipts) if sees_score else None,
        # Disputes of its verdicts, beside the receipt (core/disputes).
        **attempt_page_disputes(attempt, role, shows_receipts),
    }


def _adjustment_context(
    standing: StandingOverrides, best: ReceiptView | None, others: list[ReceiptView]
) -> dict[str, object]:
    """Staff's final score, if set, and the newest review decided after it (which it outranks)."""
    adjustment = standing.score
    if adjustment is None or best is None:
        return {"adjustment": None, "reviewed_after_adjustment": None}
    newer = [
        view.receipt
        for view in [best, *others]
        if (decided := view.receipt.reviews[-1].submitted_at) and decided > adjustment.created_at
    ]
    return {
        "adjustment": adjustment,
        "reviewed_after_adjustment": max(newer, key=lambda r: r.iteration.number, default=None),
    }


def _whatif_panel(
    attempt: Attempt, best: ReceiptView | None, others: list[ReceiptView]
) -> WhatIfPanel:
    """The what-if form beside the receipt, from the receipts the page has loaded already."""
    from core.reviews.selectors.whatif import whatif_panel  # it imports this module

    views = ([best] if best else []) + others
    return whatif_panel(attempt=attempt, receipts=[view.receipt for view in views])

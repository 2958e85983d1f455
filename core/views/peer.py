"""Peer review: the reviewer's dashboard, "get next review", and the peer review page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from core.forms import ReviewForm, ReviewRatingForm, ReviewReportForm
from core.models import (
    Attempt,
    Iteration,
    Membership,
    PeerAssignment,
    ProjectRelease,
    Review,
    ReviewRating,
    ReviewReport,
)
from core.ratelimit import ratelimit
from core.services.peer import Agreement, peer_next, peer_review_save, reviewer_agreement
from core.services.reviews import ReviewFlowError
from core.timefmt import time_left
from core.views.review import commit_url

if TYPE_CHECKING:
    from core.models import User

DASHBOARD_TEMPLATE = "core/peer_dashboard.html"
REVIEW_TEMPLATE = "core/peer_review.html"
# How many of the reviews one has given the dashboard lists.
RECENT_GIVEN = 10
NOTHING_TO_REVIEW = "Nothing needs your review right now — check back later."
PEER_ROLES = {Membership.Role.LEARNER, Membership.Role.REVIEWER}


@dataclass(frozen=True)
class OwedRow:
    """One project whose grade waits on the reviews the learner gives to peers."""

    release: ProjectRelease
    given: int
    owed: int
    attempt_id: int | None
    attempt_status: str | None
    submitted: bool

    @property
    def remaining(self) -> int:
        return max(0, self.owed - self.given)

    @property
    def done(self) -> bool:
        return self.given >= self.owed

    @property
    def may_review(self) -> bool:
        """Whether the learner may already review this project (see peer_reviewable_iterations)."""
        if self.attempt_status == Attempt.Status.APPROVED:
            return True
        return self.submitted and self.release.project.submitters_may_review


def _memberships(user: User) -> list[Membership]:
    """The user's memberships, passed on as ``nav_memberships`` (the nav reads their roles)."""
    return list(Membership.objects.filter(user=user).select_related("cohort"))


def _owed_rows(user: User, cohort_ids: list[int], now: datetime) -> list[OwedRow]:
    """Open releases of the user's learner cohorts whose project asks for reviews (one query)."""
    if not cohort_ids:
        return []
    # Counted like core.services.peer.reviews_given: completed, same project and cohort.
    given = (
        PeerAssignment.objects.filter(
            reviewer=user,
            project=OuterRef("project"),
            completed_at__isnull=False,
            iteration__attempt__release__cohort=OuterRef("cohort"),
        )
        .order_by()
        .values("reviewer")
        .annotate(total=Count("pk"))
        .values("total")
    )
    attempt = Attempt.objects.filter(release=OuterRef("pk"), learner=user)
    releases = (
        ProjectRelease.objects.opened(now)
        .filter(cohort_id__in=cohort_ids, project__peer_reviews_owed__gt=0)
        .select_related("project", "cohort")
        .annotate(
            given=Coalesce(Subquery(given), Value(0)),
            attempt_id=Subquery(attempt.values("pk")[:1]),
            attempt_status=Subquery(attempt.values("status")[:1]),
            submitted=Exists(attempt.filter(iterations__isnull=False)),
        )
        .order_by("opens_at", "pk")
    )
    return [
        OwedRow(
            release=release,
            given=min(release.given, release.project.peer_reviews_owed),
            owed=release.project.peer_reviews_owed,
            attempt_id=release.attempt_id,
            attempt_status=release.attempt_status,
            submitted=release.submitted,
        )
        for release in releases
    ]


def _open_assignments(user: User, now: datetime) -> list[PeerAssignment]:
    """The user's live assignments, soonest to expire first, with whether a draft is saved."""
    draft = Review.objects.filter(iteration=OuterRef("iteration"), reviewer=user)
    return list(
        PeerAssignment.objects.live(now)
        .filter(reviewer=user)
        .select_related("iteration__attempt__learner", "project")
        .annotate(has_draft=Exists(draft))
        .order_by("expires_at", "pk")
    )


def _assignments_context(user: User, memberships: list[Membership]) -> dict[str, object]:
    now = timezone.now()
    return {
        "open_assignments": _open_assignments(user, now),
        "may_peer_review": any(m.role in PEER_ROLES for m in memberships),
        "now": now,
    }


def _dashboard_context(user: User, memberships: list[Membership]) -> dict[str, object]:
    """Reviews owed and given, open assignments, ratings received and agreement with mentors."""
    context: dict[str, object] = {
        "memberships": memberships,
        "nav_memberships": memberships,
        "may_peer_review": any(m.role in PEER_ROLES for m in memberships),
    }
    if not memberships:
        return context
    now = timezone.now()
    learner_cohorts = [m.cohort_id for m in memberships if m.role == Membership.Role.LEARNER]
    given = Review.objects.filter(reviewer=user, kind=Review.Kind.PEER, submitted_at__isnull=False)
    stats = given.aggregate(
        given=Count("pk"),
        helpful=Count("pk", filter=Q(rating__helpful=True)),
        not_helpful=Count("pk", filter=Q(rating__helpful=False)),
    )
    assignment = PeerAssignment.objects.filter(
        iteration=OuterRef("iteration"), reviewer=user
    ).values("pk")[:1]
    recent = list(
        given.select_related("iteration__attempt__learner", "iteration__attempt__release__project")
        .annotate(assignment_id=Subquery(assignment), helpful=F("rating__helpful"))
        .order_by("-submitted_at", "-pk")[:RECENT_GIVEN]
    )
    agreement = reviewer_agreement([user.pk]).get(user.pk, Agreement(user.pk, 0, 0))
    return context | {
        "owed": _owed_rows(user, learner_cohorts, now),
        "stats": stats,
        "recent_given": recent,
        "agreement": agreement,
        "open_assignments": _open_assignments(user, now),
        "now": now,
    }


@require_safe
@login_required
def peer_dashboard(request: HttpRequest) -> HttpResponse:
    """What the user owes, has given and holds as a peer reviewer, and the next-review button."""
    memberships = _memberships(request.user)
    return render(request, DASHBOARD_TEMPLATE, _dashboard_context(request.user, memberships))


@vary_on_headers("HX-Request")
@require_POST
@login_required
@ratelimit("review_requests")
def peer_get_next(request: HttpRequest) -> HttpResponse:
    """Take the oldest iteration that still needs a review the user may give."""
    assignment = peer_next(reviewer=request.user)
    if not request.htmx:
        if assignment is None:
            messages.info(request, NOTHING_TO_REVIEW)
            return redirect("peer_dashboard")
        return redirect("peer_review", pk=assignment.pk)
    memberships = _memberships(request.user)
    context = _assignments_context(request.user, memberships) | {
        "new_assignment_id": assignment.pk if assignment else None,
        "nothing_to_review": NOTHING_TO_REVIEW if assignment is None else "",
    }
    return render(request, f"{DASHBOARD_TEMPLATE}#peer-assignments", context)


# The peer review page.


def _get_assignment_for_user(request: HttpRequest, pk: int) -> PeerAssignment:
    """The assignment with its iteration if it was given to the user, else 404."""
    assignments = (
        PeerAssignment.objects.filter(reviewer=request.user)
        .select_related(
            "iteration__attempt__learner",
            "iteration__attempt__release__project",
            "iteration__attempt__release__cohort",
        )
        .prefetch_related("iteration__tasks_claimed", "iteration__attachments")
    )
    return get_object_or_404(assignments, pk=pk)


def _assignment_state(assignment: PeerAssignment, now: datetime) -> str:
    """'live', 'completed', 'superseded' or 'expired'."""
    if assignment.completed_at is not None:
        return "completed"
    if assignment.is_live(now):
        return "live"
    if assignment.iteration.status == Iteration.Status.SUPERSEDED:
        return "superseded"
    return "expired"


def _review_context(request: HttpRequest, assignment: PeerAssignment) -> dict[str, object]:
    """This iteration only: never the attempt's other iterations, score or others' reviews."""
    now = timezone.now()
    iteration = assignment.iteration
    attempt = iteration.attempt
    project = attempt.release.project
    own_review = (
        Review.objects.filter(iteration=iteration, reviewer=request.user)
        .prefetch_related("verdicts")
        .first()
    )
    state = _assignment_state(assignment, now)
    submitted = own_review is not None and not own_review.is_draft
    return {
        "assignment": assignment,
        "iteration": iteration,
        "project": project,
        "cohort": attempt.release.cohort,
        "learner": attempt.learner,
        "tasks": list(project.tasks.all()),
        "claimed_ids": {task.pk for task in iteration.tasks_claimed.all()},
        "attachments": list(iteration.attachments.all()),
        "commit_url": commit_url(iteration.repo_url, iteration.commit_sha),
        "own_review": own_review,
        "state": "completed" if submitted else state,
        "editable": state == "live" and not submitted,
        "now": now,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def peer_review(request: HttpRequest, pk: int) -> HttpResponse:
    """One assigned iteration beside the verdict form; the reviewer saves a draft or submits."""
    assignment = _get_assignment_for_user(request, pk)
    context = _review_context(request, assignment)
    tasks, own_review = context["tasks"], context["own_review"]
    if request.method != "POST":
        form = ReviewForm(
            initial=ReviewForm.initial_for(own_review),
            tasks=tasks,
            with_confidence=True,
            disabled=not context["editable"],
        )
        return render(request, REVIEW_TEMPLATE, context | {"form": form})

    if context["state"] == "completed":
        messages.info(request, "You already submitted this review.")
        return redirect("peer_dashboard")
    if not context["editable"]:
        # Read-only, still showing what was typed; nothing is saved.
        form = ReviewForm(
            initial=request.POST.dict(), tasks=tasks, with_confidence=True, disabled=True
        )
        return render(request, REVIEW_TEMPLATE, context | {"form": form, "refused": True})
    form = ReviewForm(request.POST, tasks=tasks, with_confidence=True)
    if form.is_valid():
        try:
            review, submitted_now = peer_review_save(
                iteration=assignment.iteration,
                reviewer=request.user,
                verdicts=form.verdicts(),
                feedback=form.cleaned_data["feedback"],
                decision=form.cleaned_data.get("decision", ""),
                confidence=form.cleaned_data.get("confidence"),
                submit=form.submitting,
            )
        except ReviewFlowError as error:
            form.add_error(None, str(error))
        else:
            return _after_review_saved(request, assignment, review, submitted_now)
    return render(request, REVIEW_TEMPLATE, context | {"form": form})


def _after_review_saved(
    request: HttpRequest, assignment: PeerAssignment, review: Review, submitted_now: bool
) -> HttpResponse:
    """Draft: back to the page. Submitted (now or by another tab): back to the dashboard."""
    if review.is_draft:
        left = time_left(assignment.expires_at)
        messages.success(request, f"Draft saved; only you can see it. {left} to submit it.")
        return redirect("peer_review", pk=assignment.pk)
    if not submitted_now:
        messages.info(request, "You already submitted this review.")
        return redirect("peer_dashboard")
    learner = assignment.iteration.attempt.learner.name
    messages.success(
        request,
        f"Review submitted: {review.get_decision_display().lower()}. "
        f"Thank you — {learner} can read it now.",
    )
    return redirect("peer_dashboard")


# The reviewed learner's rating and report of a peer review (on the attempt page).

ACTIONS_TEMPLATE = "core/_peer_review_actions.html"
REPORTED = "Thank you for reporting this review: staff will look at it."


def _get_peer_review_for_learner(request: HttpRequest, pk: int) -> Review:
    """A submitted peer review of the user's own work, else 404 (mentor reviews included)."""
    reviews = Review.objects.filter(
        kind=Review.Kind.PEER,
        submitted_at__isnull=False,
        iteration__attempt__learner=request.user,
    ).annotate(
        my_rating=Subquery(ReviewRating.objects.filter(review=OuterRef("pk")).values("helpful")),
        i_reported=Exists(
            ReviewReport.objects.filter(review=OuterRef("pk"), reporter=request.user)
        ),
    )
    return get_object_or_404(reviews, pk=pk)


def _back_to_review(review: Review) -> HttpResponse:
    url = reverse("attempt_detail", args=[review.iteration.attempt_id])
    return redirect(f"{url}#review-{review.pk}")


@vary_on_headers("HX-Request")
@require_POST
@login_required
def review_rate(request: HttpRequest, pk: int) -> HttpResponse:
    """The learner says whether a peer review of their work was helpful (changeable)."""
    review = _get_peer_review_for_learner(request, pk)
    form = ReviewRatingForm(request.POST)
    rated_now = form.is_valid()
    if rated_now:
        helpful = form.cleaned_data["helpful"]
        ReviewRating.objects.update_or_create(
            review=review,
            defaults={"rated_by": request.user, "helpful": helpful, "created_at": timezone.now()},
        )
        review.my_rating = helpful
    if request.htmx:
        context = {"review": review, "rated_now": rated_now, "rating_form": form}
        return render(request, f"{ACTIONS_TEMPLATE}#peer-rating", context)
    if rated_now:
        word = "helpful" if review.my_rating else "not helpful"
        messages.success(request, f"Thanks: you rated {review.reviewer.name}’s review {word}.")
    else:
        messages.error(request, "Choose Helpful or Not helpful.")
    return _back_to_review(review)


@vary_on_headers("HX-Request")
@require_POST
@login_required
def review_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The learner reports a peer review to staff (once per review), with a reason."""
    review = _get_peer_review_for_learner(request, pk)
    form = ReviewReportForm(request.POST)
    reported_now = False
    if form.is_valid() and not review.i_reported:
        _, reported_now = ReviewReport.objects.get_or_create(
            review=review,
            reporter=request.user,
            defaults={"reason": form.cleaned_data["reason"]},
        )
        review.i_reported = True
    if request.htmx:
        context = {"review": review, "reported_now": reported_now, "report_form": form}
        return render(request, f"{ACTIONS_TEMPLATE}#peer-report", context)
    if reported_now:
        messages.success(request, REPORTED)
    elif review.i_reported:
        messages.info(request, "You have already reported this review; staff will look at it.")
    else:
        messages.error(request, form.errors["reason"][0])
    return _back_to_review(review)

"""Peer review: the reviewer's dashboard, "get next review", and the peer review page."""

from __future__ import annotations

from typing import TypedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_stubs_ext import WithAnnotations

from core.models import PeerAssignment, Review, ReviewRating, ReviewReport
from core.peer.forms import ReviewRatingForm, ReviewReportForm
from core.peer.selectors import (
    assignments_context,
    dashboard_context,
    review_context,
    user_memberships,
)
from core.peer.services import peer_next, peer_review_save
from core.platform.access import AuthedRequest
from core.platform.ratelimit import ratelimit
from core.platform.timefmt import time_left
from core.reviews.forms import ReviewForm
from core.reviews.services import ReviewFlowError

DASHBOARD_TEMPLATE = "core/peer/peer_dashboard.html"
REVIEW_TEMPLATE = "core/peer/peer_review.html"
NOTHING_TO_REVIEW = "Nothing needs your review right now — check back later."


@require_safe
@login_required
def peer_dashboard(request: AuthedRequest) -> HttpResponse:
    """What the user owes, has given and holds as a peer reviewer, and the next-review button."""
    memberships = user_memberships(request.user)
    return render(request, DASHBOARD_TEMPLATE, dashboard_context(request.user, memberships))


@vary_on_headers("HX-Request")
@require_POST
@login_required
@ratelimit("review_requests")
def peer_get_next(request: AuthedRequest) -> HttpResponse:
    """Take the oldest iteration that still needs a review the user may give."""
    assignment = peer_next(reviewer=request.user)
    if not request.htmx:
        if assignment is None:
            messages.info(request, NOTHING_TO_REVIEW)
            return redirect("peer_dashboard")
        return redirect("peer_review", pk=assignment.pk)
    memberships = user_memberships(request.user)
    context = assignments_context(request.user, memberships) | {
        "new_assignment_id": assignment.pk if assignment else None,
        "nothing_to_review": NOTHING_TO_REVIEW if assignment is None else "",
    }
    return render(request, f"{DASHBOARD_TEMPLATE}#peer-assignments", context)


# The peer review page.


def _get_assignment_for_user(request: AuthedRequest, pk: int) -> PeerAssignment:
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


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def peer_review(request: AuthedRequest, pk: int) -> HttpResponse:
    """One assigned iteration beside the verdict form; the reviewer saves a draft or submits."""
    assignment = _get_assignment_for_user(request, pk)
    context = review_context(request.user, assignment)
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
    request: AuthedRequest, assignment: PeerAssignment, review: Review, submitted_now: bool
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

ACTIONS_TEMPLATE = "core/peer/_peer_review_actions.html"
REPORTED = "Thank you for reporting this review: staff will look at it."


class LearnerMarks(TypedDict):
    """What the learner said of a peer review: its rating (None: unrated), a report."""

    my_rating: bool | None
    i_reported: bool


def _get_peer_review_for_learner(
    request: AuthedRequest, pk: int
) -> WithAnnotations[Review, LearnerMarks]:
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
def review_rate(request: AuthedRequest, pk: int) -> HttpResponse:
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
def review_report(request: AuthedRequest, pk: int) -> HttpResponse:
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
        messages.error(
            request,
            form.errors["reason"][0],  # type: ignore[arg-type]  # ErrorList[i] is a str
        )
    return _back_to_review(review)

"""The attempt page: iterations as a timeline, reviews, the score receipt and the discussion."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from core.platform.access import AuthedRequest
from core.platform.ratelimit import ratelimit
from core.reviews.forms import CommentForm
from core.reviews.selectors.attempts import attempt_context, attempts_for, thread_comments
from core.reviews.services import comment_post

if TYPE_CHECKING:
    from core.reviews.selectors.attempts import AttemptForViewer


def _get_attempt_for_user(request: AuthedRequest, pk: int) -> AttemptForViewer:
    """The attempt if the user may see it (learner, mentors, its reviewers, staff), else 404."""
    attempts = attempts_for(request.user).select_related(
        "learner", "release__project", "release__cohort"
    )
    return get_object_or_404(attempts, pk=pk)


def _attempt_context(
    request: AuthedRequest, attempt: AttemptForViewer, form: CommentForm | None = None
) -> dict[str, object]:
    """The attempt page's context: what its selector reads, and the comment form."""
    return attempt_context(request.user, attempt) | {"form": form or CommentForm()}


@require_safe
@login_required
def attempt_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """One attempt: its state, expected wait, iterations and reviews, score receipt and thread."""
    attempt = _get_attempt_for_user(request, pk)
    return render(request, "core/reviews/attempt_detail.html", _attempt_context(request, attempt))


def _after(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@ratelimit("comments")
def attempt_comments(request: AuthedRequest, pk: int) -> HttpResponse:
    """The thread's endpoint: GET polls for comments after ``?after=``, POST adds one."""
    attempt = _get_attempt_for_user(request, pk)
    if request.method == "POST":
        return _comment_create(request, attempt)
    if not request.htmx:
        return redirect(f"{attempt.get_absolute_url()}#discussion")
    after = _after(request.GET.get("after"))
    # One indexed query on (attempt, pk); nothing new is a 204 that htmx does not swap.
    comments = thread_comments(attempt, after)
    if not comments:
        return HttpResponse(status=204)
    ctx = {
        "attempt": attempt,
        "cohort": attempt.release.cohort,
        "comments": comments,
        "after": comments[-1].pk,
        "oob": True,
    }
    return render(request, "core/reviews/attempt_detail.html#attempt-comments-update", ctx)


def _comment_create(request: AuthedRequest, attempt: AttemptForViewer) -> HttpResponse:
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
                "core/reviews/attempt_detail.html#attempt-comment-form",
                {"attempt": attempt, "cohort": attempt.release.cohort, "form": form},
            )
            return reswap(retarget(response, "#comment-form"), "outerHTML")
        ctx = _attempt_context(request, attempt, form)
        return render(request, "core/reviews/attempt_detail.html", ctx)
    if not request.htmx:
        return redirect(f"{attempt.get_absolute_url()}#comment-{comment.pk}")
    # Everything newer than what this page has shown, so nobody's message is skipped.
    after = _after(request.POST.get("after")) if "after" in request.POST else comment.pk - 1
    comments = thread_comments(attempt, min(after, comment.pk - 1))
    ctx = {
        "attempt": attempt,
        "cohort": attempt.release.cohort,
        "comments": comments,
        "after": comments[-1].pk,
        "oob": True,
        "form": CommentForm(),
        "reset_form": True,
    }
    return render(request, "core/reviews/attempt_detail.html#attempt-comments-update", ctx)

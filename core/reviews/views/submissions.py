"""The learner's submit page, its live field checks, and attachment downloads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.cohorts.selectors import learner_releases, open_release
from core.models import (
    Attachment,
    Attempt,
    Iteration,
    PeerAssignment,
    Project,
    ProjectRelease,
    ReviewClaim,
    Task,
)
from core.platform.access import AuthedRequest
from core.platform.ratelimit import ratelimit
from core.platform.uploads import ALLOWED_CONTENT_TYPES, clean_name, unreadable_uploads
from core.reviews.forms import SubmitForm
from core.reviews.scoring import lateness
from core.reviews.selectors.attempts import Lateness
from core.reviews.services import NothingChanged, iteration_submit

SUBMIT_TEMPLATE = "core/reviews/submit.html"
REFUSED_TEMPLATE = "core/reviews/submit_refused.html"


def _refusal(
    request: AuthedRequest, project: Project, reason: str, **extra: object
) -> HttpResponse:
    """A friendly page for someone who may see the project but may not submit it (403)."""
    ctx = {"project": project, "reason": reason, **extra}
    return render(request, REFUSED_TEMPLATE, ctx, status=403)


def get_release_for_learner(request: AuthedRequest, slug: str) -> ProjectRelease | HttpResponse:
    """The open release of project ``slug`` the user may submit to as a learner.

    A learner whose release has not opened, or a mentor, reviewer or staff member
    who can see the project, gets a refusal page (403: the project is no secret to
    them). Everyone else gets 404, as for any project they may not see.
    """
    user = request.user
    releases = learner_releases(user, project_slug=slug)
    release = open_release(releases, timezone.now())
    if release is not None:
        return release
    if releases:
        upcoming = min(releases, key=lambda release: release.opens_at)
        return _refusal(request, upcoming.project, "not_open", release=upcoming)
    project = get_object_or_404(
        Project.objects.visible_to(user).select_related("module"), slug=slug
    )
    return _refusal(request, project, "not_learner")


def _tasks(release: ProjectRelease) -> QuerySet[Task]:
    return Task.objects.filter(project_id=release.project_id).order_by("number")


def _form(
    request: AuthedRequest,
    release: ProjectRelease,
    *,
    data: QueryDict | None = None,
    files: MultiValueDict[str, UploadedFile[bytes]] | None = None,
    initial: dict[str, object] | None = None,
    unreadable_uploads: Sequence[str] = (),
) -> SubmitForm:
    validate_url = reverse("project_submit_validate", args=[release.project.slug])
    return SubmitForm(
        data,
        files,
        initial=initial,
        tasks=_tasks(release),
        validate_url=validate_url,
        unreadable_uploads=unreadable_uploads,
    )


def _latest_iteration(request: AuthedRequest, release: ProjectRelease) -> Iteration | None:
    return (
        Iteration.objects.filter(attempt__learner=request.user, attempt__release=release)
        .select_related("attempt")
        .order_by("-number")
        .first()
    )


def _submit_page(
    request: AuthedRequest,
    release: ProjectRelease,
    form: SubmitForm,
    latest: Iteration | None,
    *,
    unchanged: Iteration | None = None,
) -> HttpResponse:
    now = timezone.now()
    deadlines = release.deadlines
    met, deadline, multiplier = lateness(release, deadlines.extension, now)
    waiting = latest if latest and latest.status == Iteration.Status.WAITING else None
    ctx = {
        "form": form,
        "project": release.project,
        "release": release,
        "cohort": release.cohort,
        "deadlines": deadlines,
        "extension": deadlines.extension,
        "lateness": Lateness(met, deadline, multiplier),
        "attempt": latest.attempt if latest else None,
        "latest": latest,
        "next_number": (latest.number if latest else 0) + 1,
        "waiting": waiting,
        # A mentor holding a claim on the waiting iteration loses it when a new one arrives.
        "waiting_claimed": bool(
            waiting and ReviewClaim.objects.live(now).filter(iteration=waiting).exists()
        ),
        # The iteration this one would hand in again: the page asks to confirm, and why.
        "unchanged": unchanged,
    }
    return render(request, SUBMIT_TEMPLATE, ctx)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@ratelimit("submissions")
def project_submit(request: AuthedRequest, slug: str) -> HttpResponse:
    """Hand in a new iteration of a project: repository, commit, tasks, notes, files."""
    release = get_release_for_learner(request, slug)
    if isinstance(release, HttpResponse):
        return release
    latest = _latest_iteration(request, release)
    if request.method != "POST":
        form = _form(request, release, initial=_initial(latest))
        return _submit_page(request, release, form, latest)

    form = _form(
        request,
        release,
        data=request.POST,
        files=request.FILES,
        unreadable_uploads=unreadable_uploads(request),  # read after FILES: parsing sets it
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            iteration, created = iteration_submit(
                learner=request.user,
                release=release,
                repo_url=data["repo_url"],
                commit_sha=data["commit_sha"],
                notes=data["notes"],
                tasks_claimed=data["tasks"],
                attachments=data["attachments"],
                submit_token=data["submit_token"],
                allow_unchanged=data["confirm_unchanged"],
            )
        except NothingChanged as nothing:
            return _submit_page(request, release, form, latest, unchanged=nothing.previous)
        except ValidationError as error:  # the model's own checks, should the form miss one
            form.add_error(None, error.messages)
        else:
            return _submitted(request, release, iteration, created)
    return _submit_page(request, release, form, latest)


def _initial(latest: Iteration | None) -> dict[str, object]:
    """A fresh form's values: its one-time token, and what a resubmission usually keeps
    (the repository and the tasks)."""
    initial: dict[str, object] = {"submit_token": uuid.uuid4()}
    if latest is not None:
        initial["repo_url"] = latest.repo_url
        initial["tasks"] = list(latest.tasks_claimed.order_by().values_list("pk", flat=True))
    return initial


def _submitted(
    request: AuthedRequest, release: ProjectRelease, iteration: Iteration, created: bool
) -> HttpResponse:
    """To the attempt page, saying what happened (a double submit finds the first one)."""
    if created:
        messages.success(
            request,
            f"Iteration {iteration.number} of {release.project.title} is submitted: "
            "it is in the review queue.",
        )
    else:
        messages.info(request, f"Iteration {iteration.number} was already submitted.")
    return redirect(iteration.attempt)


@require_POST
@login_required
def project_submit_validate(request: AuthedRequest, slug: str) -> HttpResponse:
    """Check one field of the submit form as it is filled; answers with that field only."""
    release = get_release_for_learner(request, slug)
    if isinstance(release, HttpResponse):
        return release
    name = request.htmx.trigger_name if request.htmx else None
    if name not in SubmitForm.LIVE_FIELDS:
        return HttpResponseBadRequest("Name a field the submit form checks as you type.")
    form = _form(request, release, data=request.POST)
    form.is_valid()
    field = form[name]
    valid = not field.errors and bool(field.value())
    if valid:
        widget = form.fields[name].widget
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-valid".strip()
    return render(request, f"{SUBMIT_TEMPLATE}#submit-field", {"field": field, "valid": valid})


def _get_attachment_for_user(request: AuthedRequest, pk: int) -> Attachment:
    """The attachment if the user may see its iteration's attempt, else 404.

    A peer reviewer may also fetch the attachments of the iteration assigned to
    them while the assignment is live or once they have completed it.
    """
    attempts = Attempt.objects.visible_to(request.user)
    assigned = PeerAssignment.objects.held().filter(
        iteration=OuterRef("iteration"), reviewer=request.user
    )
    attachments = Attachment.objects.filter(Q(iteration__attempt__in=attempts) | Exists(assigned))
    return get_object_or_404(attachments, pk=pk)


@require_safe
@login_required
def attachment_download(request: AuthedRequest, pk: int) -> FileResponse:
    """Send an attachment as a download, never rendered inline by the browser."""
    attachment = _get_attachment_for_user(request, pk)
    content_type = attachment.content_type
    if content_type not in ALLOWED_CONTENT_TYPES:
        content_type = "application/octet-stream"
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file of this attachment is missing.") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=clean_name(attachment.original_name),
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response

"""Staff enrol people into a cohort from a CSV: upload, preview row by row, apply.

The preview carries the rows to the apply step signed (core/cohorts/enrolment.py), and the
apply plans them again against the database before it writes anything. The form lives
here with its two views: it is only theirs.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.cohorts.enrolment import (
    EnrolmentConflict,
    EnrolmentFileError,
    EnrolmentPlan,
    EnrolmentRow,
    cohort_enrol,
    enrolment_plan,
    enrolment_rows_read,
    max_size_label,
    preview_sign,
    preview_unsign,
)
from core.models import Cohort, Membership
from core.platform.access import AuthedRequest, require_staff
from core.platform.ratelimit import ratelimit

UPLOAD_TEMPLATE = "core/cohorts/enrol_upload.html"
PREVIEW_TEMPLATE = "core/cohorts/enrol_preview.html"
RESULT_TEMPLATE = "core/cohorts/enrol_result.html"


def _get_cohort_for_staff(request: AuthedRequest, slug: str) -> Cohort:
    """The cohort, for staff; 404 for everyone else."""
    require_staff(request)
    return get_object_or_404(Cohort.objects.select_related("program"), slug=slug)


class EnrolmentUploadForm(forms.Form):
    """One CSV file of people; its rows, read, in ``cleaned_data["rows"]``."""

    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # Form's own signature
        self.fields["file"].help_text = (
            f"Columns email, name and role, with a header row; UTF-8; up to "
            f"{max_size_label()} and {settings.ENROLMENT_CSV_MAX_ROWS:,} people. "
            f"A blank role means learner."
        )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        # Refused before it is read: the size the browser sent is the size Django stored.
        if upload.size > settings.ENROLMENT_CSV_MAX_KB * 1024:
            raise forms.ValidationError(
                f"The file is larger than {max_size_label()}: split it into smaller files."
            )
        try:
            self.cleaned_data["rows"] = enrolment_rows_read(upload.read())
        except EnrolmentFileError as error:
            raise forms.ValidationError(str(error)) from None
        return upload


def _preview(
    request: AuthedRequest,
    cohort: Cohort,
    plan: EnrolmentPlan,
    rows: list[EnrolmentRow],
    *,
    file_name: str = "",
    error: str = "",
) -> HttpResponse:
    context = {
        "cohort": cohort,
        "plan": plan,
        "file_name": file_name,
        "error": error,
        "signed": preview_sign(cohort=cohort, actor=request.user, rows=rows)
        if plan.applicable
        else "",
    }
    return render(request, PREVIEW_TEMPLATE, context)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@never_cache
@ratelimit("enrolment")
def cohort_enrol_upload(request: AuthedRequest, slug: str) -> HttpResponse:
    """Upload a CSV of people for the cohort; a valid file answers with its preview."""
    cohort = _get_cohort_for_staff(request, slug)
    if request.method == "POST":
        form = EnrolmentUploadForm(request.POST, request.FILES)
        if form.is_valid():
            rows = form.cleaned_data["rows"]
            plan = enrolment_plan(cohort=cohort, rows=rows)
            return _preview(request, cohort, plan, rows, file_name=form.cleaned_data["file"].name)
    else:
        form = EnrolmentUploadForm()
    context = {
        "cohort": cohort,
        "form": form,
        "roles": Membership.Role.choices,
    }
    return render(request, UPLOAD_TEMPLATE, context)


@require_POST
@login_required
@never_cache
@ratelimit("enrolment")
def cohort_enrol_apply(request: AuthedRequest, slug: str) -> HttpResponse:
    """Apply a signed preview in one transaction and say what happened."""
    cohort = _get_cohort_for_staff(request, slug)
    try:
        rows = preview_unsign(
            cohort=cohort, actor=request.user, signed=request.POST.get("rows", "")
        )
    except EnrolmentFileError as error:
        messages.error(request, str(error))
        return redirect("cohort_enrol", slug=cohort.slug)
    try:
        plan = cohort_enrol(cohort=cohort, rows=rows, actor=request.user)
    except (EnrolmentFileError, EnrolmentConflict) as error:
        # The cohort changed since the preview: show it again as it would apply now.
        plan = enrolment_plan(cohort=cohort, rows=rows)
        return _preview(request, cohort, plan, rows, error=str(error))
    return render(request, RESULT_TEMPLATE, {"cohort": cohort, "plan": plan})

"""Admin of automated checks: suites (files, cases, limits) and runs, with re-runs."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from core.checks.models import CheckCase, CheckFile, CheckRun, CheckSuite
from core.checks.sandbox import sandbox_available
from core.checks.services import checks_rerun
from core.models import Cohort, Iteration, Project, User
from core.platform.admin_helpers import LabelledRowsMixin


class SuiteText(forms.CharField):
    """A suite file's text as typed: newlines as \\n (a browser sends a textarea's as
    \\r\\n), nothing stripped. A fixture's leading or final newline can matter to the test
    that reads it, and a save that changes nothing must not look like a change (which would
    bump the suite's version)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["strip"] = False
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\r\n", "\n")


class CheckFileForm(forms.ModelForm[CheckFile]):
    """A suite file, typed in or uploaded (an upload replaces the text)."""

    upload = forms.FileField(
        required=False, help_text="Optional: a UTF-8 text file whose content replaces the text."
    )

    class Meta:
        model = CheckFile
        fields = ["path", "kind", "content", "upload"]
        field_classes = {"content": SuiteText}
        widgets = {"content": forms.Textarea(attrs={"rows": 12, "class": "vLargeTextField"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An upload without a path is stored under its file name (clean); a required field
        # would refuse it before clean() could name it.
        self.fields["path"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("upload")
        if upload is not None:
            try:
                data["content"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError({"upload": "Upload a UTF-8 text file."}) from None
            self.instance.content = data["content"]
            if not data.get("path"):
                data["path"] = upload.name
                self.instance.path = upload.name
        if not data.get("path") and "path" not in self.errors:
            self.add_error("path", ValidationError("This field is required.", code="required"))
        return data


class CheckFileInline(admin.StackedInline[CheckFile, CheckSuite]):
    model = CheckFile
    form = CheckFileForm
    extra = 0


class CheckCaseInline(LabelledRowsMixin, admin.TabularInline[CheckCase, CheckSuite]):
    model = CheckCase
    fields = ["order", "name", "label", "hidden"]
    extra = 0


def _warn_if_unavailable(request: HttpRequest) -> None:
    available, reason = sandbox_available()
    if not available:
        messages.warning(request, f"Checks cannot run on this server: {reason}.")


@admin.register(CheckSuite)
class CheckSuiteAdmin(admin.ModelAdmin[CheckSuite]):
    """A task's checks: pytest files and fixtures, the named cases, and the limits."""

    list_display = ["task", "project", "case_count", "version", "updated_at"]
    list_select_related = ["task__project"]
    list_filter = ["task__project__module__program", "task__project__module"]
    search_fields = ["task__title", "task__project__title"]
    autocomplete_fields = ["task"]
    readonly_fields = ["version"]
    fieldsets = [
        (None, {"fields": ["task", "pytest_args", "version"]}),
        (
            "Limits",
            {
                "fields": [
                    ("wall_seconds", "cpu_seconds"),
                    ("memory_mb", "processes"),
                    "output_kb",
                ],
                "description": (
                    "What one run of this suite may use in the sandbox. Past the wall time "
                    "every process of the run is killed and the task is marked timed out."
                ),
            },
        ),
    ]
    inlines = [CheckCaseInline, CheckFileInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CheckSuite]:
        return super().get_queryset(request).prefetch_related("cases")

    @admin.display(description="project", ordering="task__project__title")
    def project(self, suite: CheckSuite) -> Project:
        return suite.task.project

    @admin.display(description="cases")
    def case_count(self, suite: CheckSuite) -> int:
        return len(suite.cases.all())

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        _warn_if_unavailable(request)
        return super().changelist_view(request, extra_context)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(f.has_changed() for f in formsets)):
            form.instance.bump_version()
            messages.info(
                request,
                f"The suite is now version {form.instance.version}. Results checked with an "
                "older version stay as they are: re-run them from the check runs list.",
            )


def latest_iterations(iterations: QuerySet[Iteration]) -> list[Iteration]:
    """The newest iteration of each attempt among ``iterations`` (what a re-run checks)."""
    newest: dict[int, Iteration] = {}
    for iteration in iterations.select_related("attempt__learner", "attempt__release__project"):
        if (
            iteration.attempt_id not in newest
            or iteration.number > newest[iteration.attempt_id].number
        ):
            newest[iteration.attempt_id] = iteration
    return list(newest.values())


def rerun_message(request: HttpRequest, queued: int) -> None:
    if queued:
        messages.success(request, f"Queued {queued} check run{'s' if queued != 1 else ''}.")
    else:
        messages.info(request, "Nothing to re-run: no submitted iteration there has checks.")


@admin.action(description="Re-run checks of the selected runs' attempts (newest iterations)")
def rerun_runs(modeladmin: Any, request: HttpRequest, queryset: QuerySet[CheckRun]) -> None:
    # A suite changed: what matters is the learner's current work, so a run of an older
    # iteration re-checks its attempt's newest one, as the project and cohort actions do.
    iterations = Iteration.objects.filter(attempt__iterations__check_runs__in=queryset)
    # The admin site lets in signed-in staff only.
    staff = cast(User, request.user)
    queued = checks_rerun(iterations=latest_iterations(iterations), requested_by=staff)
    rerun_message(request, queued)


@admin.action(description="Re-run checks of these projects' latest iterations")
def rerun_projects(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Project]) -> None:
    iterations = Iteration.objects.filter(attempt__release__project__in=queryset)
    # The admin site lets in signed-in staff only.
    staff = cast(User, request.user)
    queued = checks_rerun(iterations=latest_iterations(iterations), requested_by=staff)
    rerun_message(request, queued)


@admin.action(description="Re-run checks of these cohorts' latest iterations")
def rerun_cohorts(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Cohort]) -> None:
    iterations = Iteration.objects.filter(cohort__in=queryset)
    # The admin site lets in signed-in staff only.
    staff = cast(User, request.user)
    queued = checks_rerun(iterations=latest_iterations(iterations), requested_by=staff)
    rerun_message(request, queued)


@admin.register(CheckRun)
class CheckRunAdmin(admin.ModelAdmin[CheckRun]):
    """Every check run, read-only: who, what, how it ended; re-run from here."""

    list_display = ["id", "learner", "project", "trigger", "status", "requested_at", "view"]
    list_filter = ["status", "trigger", "release__cohort", "release__project"]
    list_select_related = ["learner", "release__project"]
    search_fields = ["learner__email", "learner__display_name", "release__project__title"]
    date_hierarchy = "requested_at"
    actions = [rerun_runs]
    readonly_fields = [
        field.name for field in CheckRun._meta.get_fields() if getattr(field, "concrete", False)
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="project", ordering="release__project__title")
    def project(self, run: CheckRun) -> Project:
        return run.release.project

    @admin.display(description="results")
    def view(self, run: CheckRun) -> str:
        return format_html('<a href="{}">Open</a>', reverse("check_run", args=[run.pk]))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        _warn_if_unavailable(request)
        return super().changelist_view(request, extra_context)

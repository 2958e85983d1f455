"""Admin of content: programs, modules, projects with their tasks and resources."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone

from core.checks.admin import rerun_projects
from core.curriculum.files import CurriculumError, ProgramSpec, Source, read_program
from core.curriculum.services import curriculum_import, curriculum_plan
from core.models import Module, Program, Project, Resource, Task
from core.platform.admin_helpers import CurriculumAdminMixin, LabelledRowsMixin

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class ModuleInline(LabelledRowsMixin, admin.TabularInline[Module, Program]):
    model = Module
    fields = ["order", "title", "slug", "summary"]
    prepopulated_fields = {"slug": ["title"]}
    extra = 0
    show_change_link = True


class ProgramCounts(TypedDict):
    module_count: int
    cohort_count: int


@admin.register(Program)
class ProgramAdmin(CurriculumAdminMixin, admin.ModelAdmin[Program]):
    """A whole curriculum, with its modules in order."""

    list_display = ["name", "slug", "module_count", "cohort_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ModuleInline]
    change_list_template = "admin/core/program/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        import_view = self.admin_site.admin_view(self.import_curriculum)
        return [
            path("import/", import_view, name="core_program_import"),
            *super().get_urls(),
        ]

    def import_curriculum(self, request: HttpRequest) -> HttpResponse:
        """Upload a zipped curriculum folder, see the plan, apply it."""
        return curriculum_upload_view(self, request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Program]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                module_count=Count("modules", distinct=True),
                cohort_count=Count("cohorts", distinct=True),
            )
        )

    @admin.display(description="modules", ordering="module_count")
    def module_count(self, program: WithAnnotations[Program, ProgramCounts]) -> int:
        return program.module_count

    @admin.display(description="cohorts", ordering="cohort_count")
    def cohort_count(self, program: WithAnnotations[Program, ProgramCounts]) -> int:
        return program.cohort_count


class ProjectInline(LabelledRowsMixin, admin.TabularInline[Project, Module]):
    model = Project
    fields = ["order", "title", "slug", "estimated_hours", "weight"]
    prepopulated_fields = {"slug": ["title"]}
    extra = 0
    show_change_link = True


class ModuleCounts(TypedDict):
    project_count: int


@admin.register(Module)
class ModuleAdmin(CurriculumAdminMixin, admin.ModelAdmin[Module]):
    """A module: its place in the program, objectives and projects."""

    list_display = ["program", "order", "title", "project_count"]
    list_display_links = ["title"]
    list_filter = ["program", "archived"]
    list_select_related = ["program"]
    search_fields = ["title", "slug", "summary"]
    ordering = ["program__name", "order"]
    prepopulated_fields = {"slug": ["title"]}
    fields = ["program", ("order", "title", "slug"), "summary", "objectives"]
    inlines = [ProjectInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Module]:
        return super().get_queryset(request).annotate(project_count=Count("projects"))

    @admin.display(description="projects", ordering="project_count")
    def project_count(self, module: WithAnnotations[Module, ModuleCounts]) -> int:
        return module.project_count


class TaskInline(CurriculumAdminMixin, admin.StackedInline[Task, Project]):
    model = Task
    fields = [
        ("number", "title"),
        ("kind", "points"),
        "body",
        ("repo", "directory"),
        "files",
        "grading",
    ]
    extra = 0


class ResourceInline(LabelledRowsMixin, admin.TabularInline[Resource, Project]):
    model = Resource
    fields = ["order", "title", "url"]
    extra = 0


class PeerReviewFilter(admin.SimpleListFilter):
    """Mentor-only projects, or those with peer reviews (fixed choices: no query)."""

    title = "peer reviews required"
    parameter_name = "peer_reviews"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("none", "None (mentor only)"), ("some", "One or more")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Project]) -> QuerySet[Project]:
        if self.value() == "none":
            return queryset.filter(peer_reviews_required=0)
        if self.value() == "some":
            return queryset.filter(peer_reviews_required__gt=0)
        return queryset


class ProjectCounts(TypedDict):
    task_count: int


@admin.register(Project)
class ProjectAdmin(CurriculumAdminMixin, admin.ModelAdmin[Project]):
    """A project with its tasks and resources, edited on one page."""

    list_display = [
        "title",
        "module",
        "order",
        "estimated_hours",
        "weight",
        "peer_reviews_required",
        "task_count",
    ]
    # Archived: dropped from the program's files after a release (docs/curriculum-format.md).
    list_filter = ["module__program", "module", PeerReviewFilter, "archived"]
    list_select_related = ["module"]
    search_fields = ["title", "slug", "summary"]
    ordering = ["module__program__name", "module__order", "order"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["prerequisites"]
    fieldsets = [
        (None, {"fields": ["module", ("order", "title"), "slug", "summary"]}),
        ("Content", {"fields": ["description", "concepts", "objectives", "requirements"]}),
        ("Scheduling and score", {"fields": [("estimated_hours", "weight"), "prerequisites"]}),
        (
            "Review policy",
            {
                "fields": [
                    ("peer_reviews_required", "peer_reviews_owed"),
                    ("mentor_review_required", "submitters_may_review"),
                    ("peer_sla_hours", "mentor_sla_hours"),
                ],
                "description": (
                    "Who reviews each iteration and how fast. With 0 peer reviews a mentor "
                    "reviews everything; past the peer SLA an iteration short of peer "
                    "reviews goes to the mentor queue, past the mentor SLA to the staff "
                    "SLA board."
                ),
            },
        ),
    ]
    inlines = [TaskInline, ResourceInline]
    actions = [rerun_projects]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return super().get_queryset(request).annotate(task_count=Count("tasks"))

    @admin.display(description="tasks", ordering="task_count")
    def task_count(self, project: WithAnnotations[Project, ProjectCounts]) -> int:
        return project.task_count


@admin.register(Task)
class TaskAdmin(CurriculumAdminMixin, admin.ModelAdmin[Task]):
    """Every task of every project, for finding one quickly."""

    list_display = ["number", "title", "project", "project__module", "kind", "points", "grading"]
    list_display_links = ["title"]
    list_filter = ["kind", "grading", "project__module__program", "project__module"]
    list_select_related = ["project__module"]
    search_fields = ["title", "project__title", "project__slug"]
    ordering = ["project__module__order", "project__order", "number"]
    autocomplete_fields = ["project"]
    fields = [
        "project",
        ("number", "title"),
        ("kind", "points"),
        "body",
        ("repo", "directory"),
        "files",
        "grading",
    ]


# --- A curriculum folder, uploaded as a zip archive -------------------------------------------

UPLOAD_FOLDER = "curriculum-imports"
UPLOAD_SALT = "core.curriculum.admin.upload"


class CurriculumUploadForm(forms.Form):
    """A zipped program folder (program.md, modules/, projects/, checks/)."""

    archive = forms.FileField(
        label="Zipped curriculum folder",
        help_text=(
            "A .zip of the folder that holds program.md (docs/curriculum-format.md). "
            "Nothing changes until you have seen the plan and pressed Apply."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip"}),
    )


def _read_upload(upload: UploadedFile[bytes]) -> ProgramSpec:
    return read_program(Source.from_zip(upload))


def _prune_uploads() -> None:
    """Delete archives whose token has expired: a plan read but never applied. Their age
    is in their name, on the application's clock (a file's mtime is the disk's). Bounded
    by the uploads of one max age (the admin's upload is staff-only)."""
    if not default_storage.exists(UPLOAD_FOLDER):
        return
    max_age = timedelta(minutes=settings.CURRICULUM_UPLOAD_MAX_AGE_MINUTES)
    cutoff = int((timezone.now() - max_age).timestamp())
    for filename in default_storage.listdir(UPLOAD_FOLDER)[1]:
        stamp = filename.partition("-")[0]
        if not stamp.isdigit() or int(stamp) < cutoff:
            default_storage.delete(f"{UPLOAD_FOLDER}/{filename}")


def _keep_upload(upload: UploadedFile[bytes]) -> str:
    """Store the checked archive until "Apply"; returns a signed token naming it."""
    _prune_uploads()
    upload.seek(0)
    stamp = int(timezone.now().timestamp())
    name = default_storage.save(f"{UPLOAD_FOLDER}/{stamp}-{uuid.uuid4().hex}.zip", upload)
    return signing.dumps(name, salt=UPLOAD_SALT)


def _kept_upload(token: str) -> str | None:
    """The stored archive a token names, while it is fresh; None otherwise."""
    max_age = timedelta(minutes=settings.CURRICULUM_UPLOAD_MAX_AGE_MINUTES)
    try:
        name = signing.loads(token, salt=UPLOAD_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    if not isinstance(name, str) or not name.startswith(f"{UPLOAD_FOLDER}/"):
        return None
    return name if default_storage.exists(name) else None


def curriculum_upload_view(model_admin: ProgramAdmin, request: HttpRequest) -> HttpResponse:
    """Staff upload a zipped curriculum folder, read its plan, then apply it."""
    if not (model_admin.has_add_permission(request) and model_admin.has_change_permission(request)):
        raise PermissionDenied
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Import a curriculum folder",
        "problems": [],
        "plan": None,
        "token": "",
    }
    form = CurriculumUploadForm()
    if request.method == "POST" and "apply" in request.POST:
        name = _kept_upload(request.POST.get("token", ""))
        if name is None:
            messages.error(request, "That upload has expired or is unknown: upload it again.")
            return redirect("admin:core_program_import")
        try:
            with default_storage.open(name, "rb") as stored:
                kept = UploadedFile(stored, name=Path(name).name, size=default_storage.size(name))
                spec = _read_upload(kept)
                plan = curriculum_import(spec=spec)
        except CurriculumError as error:
            context["problems"] = error.problems
        else:
            default_storage.delete(name)
            program = Program.objects.get(slug=spec.slug)
            model_admin.log_change(request, program, "; ".join(plan.lines()[:50]))
            messages.success(request, plan.lines()[0])
            return redirect("admin:core_program_change", program.pk)
    elif request.method == "POST":
        form = CurriculumUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["archive"]
            try:
                spec = _read_upload(upload)
                context["plan"] = curriculum_plan(spec=spec)
            except CurriculumError as error:
                context["problems"] = error.problems
            else:
                context["token"] = _keep_upload(upload)
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    context["form"] = form
    return TemplateResponse(request, "admin/core/program/import_curriculum.html", context)

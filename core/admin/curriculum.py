"""Admin of content: programs, modules, projects with their tasks and resources."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from core.admin.common import CurriculumAdminMixin
from core.models import Module, Program, Project, Resource, Task


class ModuleInline(admin.TabularInline):
    model = Module
    fields = ["order", "title", "slug", "summary"]
    prepopulated_fields = {"slug": ["title"]}
    extra = 0
    show_change_link = True


@admin.register(Program)
class ProgramAdmin(CurriculumAdminMixin, admin.ModelAdmin):
    """A whole curriculum, with its modules in order."""

    list_display = ["name", "slug", "module_count", "cohort_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ModuleInline]

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
    def module_count(self, program: Program) -> int:
        return program.module_count  # type: ignore[attr-defined]

    @admin.display(description="cohorts", ordering="cohort_count")
    def cohort_count(self, program: Program) -> int:
        return program.cohort_count  # type: ignore[attr-defined]


class ProjectInline(admin.TabularInline):
    model = Project
    fields = ["order", "title", "slug", "estimated_hours", "weight"]
    prepopulated_fields = {"slug": ["title"]}
    extra = 0
    show_change_link = True


@admin.register(Module)
class ModuleAdmin(CurriculumAdminMixin, admin.ModelAdmin):
    """A module: its place in the program, objectives and projects."""

    list_display = ["program", "order", "title", "project_count"]
    list_display_links = ["title"]
    list_filter = ["program"]
    list_select_related = ["program"]
    search_fields = ["title", "slug", "summary"]
    ordering = ["program__name", "order"]
    prepopulated_fields = {"slug": ["title"]}
    fields = ["program", ("order", "title", "slug"), "summary", "objectives"]
    inlines = [ProjectInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Module]:
        return super().get_queryset(request).annotate(project_count=Count("projects"))

    @admin.display(description="projects", ordering="project_count")
    def project_count(self, module: Module) -> int:
        return module.project_count  # type: ignore[attr-defined]


class TaskInline(CurriculumAdminMixin, admin.StackedInline):
    model = Task
    fields = [("number", "title"), ("kind", "points"), "body", ("repo", "directory"), "files"]
    extra = 0


class ResourceInline(admin.TabularInline):
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


@admin.register(Project)
class ProjectAdmin(CurriculumAdminMixin, admin.ModelAdmin):
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
    list_filter = ["module__program", "module", PeerReviewFilter]
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return super().get_queryset(request).annotate(task_count=Count("tasks"))

    @admin.display(description="tasks", ordering="task_count")
    def task_count(self, project: Project) -> int:
        return project.task_count  # type: ignore[attr-defined]


@admin.register(Task)
class TaskAdmin(CurriculumAdminMixin, admin.ModelAdmin):
    """Every task of every project, for finding one quickly."""

    list_display = ["number", "title", "project", "project__module", "kind", "points"]
    list_display_links = ["title"]
    list_filter = ["kind", "project__module__program", "project__module"]
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
    ]

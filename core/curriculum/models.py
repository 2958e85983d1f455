"""Content: a Program's ordered Modules, their Projects, Tasks and Resources."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from core.accounts.models import User


class ProjectQuerySet(models.QuerySet["Project"]):
    def of_program(self, program_id: int) -> ProjectQuerySet:
        """The program's projects as its files say now: archived ones (dropped from the
        files, kept for their history) are no longer released, scheduled or listed."""
        return self.filter(module__program=program_id, archived=False)

    def visible_to(
        self, user: User | AnonymousUser, now: datetime | None = None
    ) -> ProjectQuerySet:
        """Projects with a release ``user`` may open (see ProjectReleaseQuerySet)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        from core.cohorts.models import ProjectRelease

        releases = ProjectRelease.objects.filter(project=OuterRef("pk")).visible_to(user, now)
        return self.filter(Exists(releases))


class Program(models.Model):
    """A whole curriculum, such as ProDev Backend Engineering."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(
        blank=True, max_length=settings.MARKDOWN_CURRICULUM_MAX_CHARS, help_text="Markdown."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Module(models.Model):
    """An ordered part of a program (Python, Django, REST APIs …)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="modules")
    order = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    summary = models.CharField(max_length=300, blank=True)
    objectives = models.JSONField(
        default=list, blank=True, help_text="Learning objectives, one string each."
    )
    archived = models.BooleanField(
        default=False,
        help_text="Dropped from the program's files but kept for the history of its projects.",
    )

    class Meta:
        ordering = ["program", "order"]
        constraints = [
            models.UniqueConstraint(fields=["program", "order"], name="module_unique_order"),
            models.UniqueConstraint(fields=["program", "slug"], name="module_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.title


class Project(models.Model):
    """A hands-on project: the unit learners submit and mentors review."""

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="projects")
    order = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=160)
    slug = models.SlugField(max_length=100, unique=True)
    summary = models.CharField(max_length=400, blank=True)
    description = models.TextField(
        blank=True, max_length=settings.MARKDOWN_CURRICULUM_MAX_CHARS, help_text="Markdown."
    )
    concepts = models.JSONField(default=list, blank=True, help_text="Concept names.")
    objectives = models.JSONField(default=list, blank=True, help_text="Learning objectives.")
    requirements = models.JSONField(default=list, blank=True, help_text="General requirements.")
    estimated_hours = models.PositiveSmallIntegerField(default=8)
    weight = models.PositiveSmallIntegerField(
        default=1, help_text="Weight of this project in its module's score."
    )
    prerequisites = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="unlocks"
    )
    # Review policy.
    peer_reviews_required = models.PositiveSmallIntegerField(
        "peer reviews required",
        default=0,
        help_text="N: peer reviews each iteration gets (0 = mentor review only).",
    )
    peer_reviews_owed = models.PositiveSmallIntegerField(
        "peer reviews owed",
        default=0,
        help_text="M: reviews a learner must give before their own grade is released.",
    )
    mentor_review_required = models.BooleanField(
        default=True, help_text="A mentor reviews every iteration, even after its peer reviews."
    )
    submitters_may_review = models.BooleanField(
        default=False,
        help_text="Learners who have submitted (not only passed) this project may peer-review it.",
    )
    peer_sla_hours = models.PositiveSmallIntegerField(
        "peer SLA (hours)",
        default=48,
        help_text="Past this, an iteration still short of peer reviews goes to the mentor queue.",
    )
    mentor_sla_hours = models.PositiveSmallIntegerField(
        "mentor SLA (hours)",
        default=72,
        help_text="Past this, an undecided iteration shows on the staff SLA board.",
    )
    archived = models.BooleanField(
        default=False,
        help_text=(
            "Dropped from the program's files after it was released: hidden from the "
            "curriculum page, kept with its releases and attempts."
        ),
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["module__program", "module__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["module", "order"], name="project_unique_order"),
            models.CheckConstraint(
                condition=Q(weight__gte=1),
                name="project_weight_positive",
                violation_error_message="The weight must be at least 1.",
            ),
            models.CheckConstraint(
                condition=Q(peer_sla_hours__gte=1, mentor_sla_hours__gte=1),
                name="project_sla_positive",
                violation_error_message="SLAs are at least one hour.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("project_detail", args=[self.slug])


class Resource(models.Model):
    """A link a project recommends (official docs, articles)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="resources")
    order = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=500)

    class Meta:
        ordering = ["project", "order", "id"]

    def __str__(self) -> str:
        return self.title


class TaskManager(models.Manager["Task"]):
    """The tasks of the curriculum as it is now: archived tasks are left out everywhere
    (project pages, submission forms, review forms, scores), so ``project.tasks`` is the
    project as its file says. Verdicts keep pointing at archived tasks (through the
    unfiltered base manager); ``Task.all_objects`` reads every task."""

    def get_queryset(self) -> models.QuerySet[Task]:
        return super().get_queryset().filter(archived=False)


class Task(models.Model):
    """One numbered task of a project, mandatory or advanced, with its deliverable."""

    class Kind(models.TextChoices):
        MANDATORY = "mandatory", "Mandatory"
        ADVANCED = "advanced", "Advanced"

    class Grading(models.TextChoices):
        MENTOR = "mentor", "Mentor"
        CHECKS = "checks", "Checks"
        CHECKS_MENTOR = "checks_mentor", "Checks, then mentor"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(
        blank=True, max_length=settings.MARKDOWN_CURRICULUM_MAX_CHARS, help_text="Markdown."
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANDATORY)
    points = models.PositiveSmallIntegerField(default=10)
    repo = models.CharField("repository", max_length=120, blank=True)
    directory = models.CharField(max_length=200, blank=True)
    files = models.JSONField(default=list, blank=True, help_text="File names, one string each.")
    grading = models.CharField(
        max_length=14,
        choices=Grading.choices,
        default=Grading.MENTOR,
        help_text=(
            "Mentor: a person gives the verdict. Checks: the verdict is pass exactly when every "
            "check passes. Checks, then mentor: the checks pre-fill the verdict and a mentor "
            "confirms it or overrides it with a reason. Checks need a check suite."
        ),
    )
    archived = models.BooleanField(
        default=False,
        help_text="Dropped from its project's file after the project was released.",
    )

    objects = TaskManager()
    all_objects = models.Manager["Task"]()

    class Meta:
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="task_unique_number"),
            models.CheckConstraint(
                condition=Q(points__gte=1),
                name="task_points_positive",
                violation_error_message="A task is worth at least 1 point.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["mandatory", "advanced"]),
                name="task_kind_valid",
                violation_error_message="A task is mandatory or advanced.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"

    def clean(self) -> None:
        # Uniqueness checks read the default manager, which leaves archived tasks out.
        archived = Task.all_objects.filter(
            project_id=self.project_id, number=self.number, archived=True
        ).exclude(pk=self.pk)
        if self.project_id and archived.exists():
            raise ValidationError(
                {
                    "number": f"Task {self.number} of this project is archived (dropped from "
                    "its file after a release): choose another number."
                }
            )

    @property
    def is_advanced(self) -> bool:
        return self.kind == self.Kind.ADVANCED

    @property
    def graded_by_checks(self) -> bool:
        """The checks decide this task's verdict; no person is asked."""
        return self.grading == self.Grading.CHECKS

    @property
    def prefilled_by_checks(self) -> bool:
        """The checks propose this task's verdict and a mentor confirms or overrides it."""
        return self.grading == self.Grading.CHECKS_MENTOR

    @property
    def deliverable(self) -> str:
        """'Repo: … · Directory: … · File: …', the way learners expect it."""
        parts = []
        if self.repo:
            parts.append(f"Repo: {self.repo}")
        if self.directory:
            parts.append(f"Directory: {self.directory}")
        if self.files:
            label = "File" if len(self.files) == 1 else "Files"
            parts.append(f"{label}: {', '.join(self.files)}")
        return " · ".join(parts)

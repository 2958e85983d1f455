"""Content: a Program's ordered Modules, their Projects, Tasks and Resources."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse

from core.querysets import ProjectQuerySet


class Program(models.Model):
    """A whole curriculum, such as ProDev Backend Engineering."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True, help_text="Markdown.")

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
    description = models.TextField(blank=True, help_text="Markdown.")
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


class Task(models.Model):
    """One numbered task of a project, mandatory or advanced, with its deliverable."""

    class Kind(models.TextChoices):
        MANDATORY = "mandatory", "Mandatory"
        ADVANCED = "advanced", "Advanced"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="Markdown.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANDATORY)
    points = models.PositiveSmallIntegerField(default=10)
    repo = models.CharField("repository", max_length=120, blank=True)
    directory = models.CharField(max_length=200, blank=True)
    files = models.JSONField(default=list, blank=True, help_text="File names, one string each.")

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

    @property
    def is_advanced(self) -> bool:
        return self.kind == self.Kind.ADVANCED

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

"""Staff exports: files produced in the background, downloadable for a limited time."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.cohorts.models import Cohort, Membership


def export_ttl() -> timedelta:
    """How long a finished export stays downloadable (EXPORT_TTL_HOURS, default a day)."""
    return timedelta(hours=settings.EXPORT_TTL_HOURS)


def export_stale_after() -> timedelta:
    """Silence after which a queued or running export is reported as failed.

    A worker that died (or was never started) would otherwise leave an endless bar.
    """
    return timedelta(minutes=settings.EXPORT_STALE_MINUTES)


def export_path(instance: ScoreExport, filename: str) -> str:
    """A random, unguessable name: the file is only ever served through the staff view."""
    return f"exports/{secrets.token_hex(16)}.csv"


class ScoreExport(models.Model):
    """A CSV of one cohort's scores, written by a background task; expires after a day."""

    class Status(models.TextChoices):
        PENDING = "pending", "Queued"
        RUNNING = "running", "Writing"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="score_exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=export_path, max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The task's heartbeat: every progress write moves it (see ``is_stale``).
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "running", "done", "failed"]),
                name="export_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["cohort", "-created_at"], name="export_cohort_created"),
            models.Index(fields=["expires_at"], name="export_expires"),
        ]

    def __str__(self) -> str:
        return f"Score export #{self.pk} of {self.cohort}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.expires_at is None:
            self.expires_at = (  # type: ignore[unreachable]  # None until the first save
                self.created_at or timezone.now()
            ) + export_ttl()
        super().save(*args, **kwargs)  # type: ignore[arg-type]  # Model.save's own arguments

    def get_absolute_url(self) -> str:
        return reverse("staff_export_status", args=[self.pk])

    @property
    def download_url(self) -> str:
        return reverse("staff_export_download", args=[self.pk])

    @property
    def percent(self) -> int:
        """Rows written so far, as a whole percentage (100 once done)."""
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())

    def is_stale(self, now: datetime | None = None) -> bool:
        """Queued or running, but silent for longer than EXPORT_STALE_MINUTES."""
        in_progress = self.status in (self.Status.PENDING, self.Status.RUNNING)
        return in_progress and self.updated_at <= (now or timezone.now()) - export_stale_after()

    def state(self, now: datetime | None = None) -> str:
        """What the page shows: 'working', 'done', 'failed' (stale counts as failed), 'expired'."""
        if self.is_stale(now):
            return "failed"
        if self.status in (self.Status.PENDING, self.Status.RUNNING):
            return "working"
        if self.status == self.Status.FAILED:
            return "failed"
        return "expired" if self.is_expired(now) else "done"

    # State changes write only their own columns, so a page reading the row while the
    # task writes it never sees a half-updated export.

    def _write(self, **fields: object) -> None:
        fields.setdefault("updated_at", timezone.now())
        for name, value in fields.items():
            setattr(self, name, value)
        type(self).objects.filter(pk=self.pk).update(**fields)

    def mark_running(self, *, rows_total: int) -> None:
        self._write(status=self.Status.RUNNING, rows_total=rows_total, rows_done=0)

    def mark_progress(self, *, rows_done: int) -> None:
        self._write(rows_done=rows_done)

    def mark_done(self, *, file_name: str) -> None:
        now = timezone.now()
        self._write(
            status=self.Status.DONE,
            rows_done=self.rows_total,
            file=file_name,
            finished_at=now,
            expires_at=now + export_ttl(),
        )

    def mark_failed(self, *, error: str) -> None:
        self._write(status=self.Status.FAILED, error=error[:300], finished_at=timezone.now())


class Standing(models.Model):
    """A learner's scores and missed deadlines in one cohort, as the matrix and the mentor's
    at-risk lists show them: kept so that a cohort page reads 300 small rows instead of
    scoring 18,000 cells (core.reporting.dashboards.cohorts).

    Written only by the read that finds it missing, ``stale`` or past ``valid_until``, from
    the same scoring rule the learner's own pages use. Every committed write that changes
    what it holds marks it stale: a learner's own work (``bump_on_commit(learners=…)``)
    theirs, a schedule or curriculum change (``schedules=…``) the whole cohort's. The clock
    is ``valid_until``: the next opening or deadline, and at most DASHBOARD_CACHE_SECONDS,
    so a write that bypasses the receivers is not shown wrong for longer than that.
    """

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, primary_key=True, related_name="standing"
    )
    overall = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    # {"<module id>": "<score>"}: the weighted score of each module the learner has one in.
    module_scores = models.JSONField(default=dict)
    # Ids of the releases past the learner's first deadline with nothing handed in.
    overdue = models.JSONField(default=list)
    valid_until = models.DateTimeField(null=True)
    stale = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"Standing of membership #{self.pk}"

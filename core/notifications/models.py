"""In-app notifications (the bell) and who wants which by email."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """Something that happened that one user should know about."""

    class Kind(models.TextChoices):
        ITERATION_SUBMITTED = "iteration_submitted", "New submission to review"
        CLAIM_TAKEN = "claim_taken", "Review started"
        REVIEW_DONE = "review_done", "Review done"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        NEW_COMMENT = "new_comment", "New comment"
        PROJECT_RELEASED = "project_released", "Project released"
        DEADLINE_SOON = "deadline_soon", "Deadline in 24 hours"
        DISPUTE_OPENED = "dispute_opened", "Verdict disputed"
        DISPUTE_RESOLVED = "dispute_resolved", "Dispute decided"
        DEADLINE_CHANGED = "deadline_changed", "Deadline changed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=500, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Events that must be sent once at most (deadline reminders) carry a key.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    objects = NotificationQuerySet.as_manager()

    # The icon a list shows, set by the views for their templates (not a column).
    icon: str

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(fields=["user", "-created_at"], name="notification_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailPreference(models.Model):
    """A user's choice to receive (or not) one kind of notification by email."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preferences"
    )
    kind = models.CharField(max_length=24, choices=Notification.Kind.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_preference_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {'on' if self.enabled else 'off'}"

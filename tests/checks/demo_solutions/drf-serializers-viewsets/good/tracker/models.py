"""Boards hold tickets; tickets collect comments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Board(models.Model):
    """A team's board of tickets; an archived board takes no new ones."""

    name = models.CharField(max_length=100)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """Something to fix, reported by a user on a board."""

    class Priority(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="tickets")
    title = models.CharField(max_length=200)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # PROTECT: a ticket's history outlives nobody's account by accident.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_tickets"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def close(self, *, by: object) -> None:
        """Close the ticket now."""
        self.status = self.Status.CLOSED
        self.closed_at = timezone.now()
        self.save(update_fields=["status", "closed_at"])


class Comment(models.Model):
    """A message on a ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ticket_comments"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:50]

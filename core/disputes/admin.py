"""Admin of disputes: read-only, since every decision goes through the dispute page (which
locks, recomputes the score and audits)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from core.models import Dispute


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin[Dispute]):
    list_display = (
        "id",
        "learner",
        "attempt",
        "status",
        "assigned_to",
        "created_at",
        "resolved_at",
    )
    list_filter = ("status", "cohort")
    search_fields = ("learner__email", "learner__display_name", "reason", "outcome_comment")
    list_select_related = ("learner", "attempt__release__project", "assigned_to")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Dispute | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Dispute | None = None) -> bool:
        return False

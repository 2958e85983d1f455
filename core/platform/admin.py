"""The audit log in the admin: read-only, filtered by action and date, searchable."""

from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Nobody adds, edits or deletes audit events here: they are evidence."""

    list_display = ("created_at", "action", "actor__email", "object_repr", "ip")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter), "object_type")
    search_fields = ("actor__email", "object_repr", "=object_id", "=request_id", "=ip")
    list_select_related = ("actor",)
    list_per_page = 50
    # Counting a large log on every page view is slow; the filters narrow it instead.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = (
        "created_at",
        "action",
        "actor",
        "object_type",
        "object_id",
        "object_repr",
        "ip",
        "request_id",
        "detail_json",
    )
    readonly_fields = fields

    @admin.display(description="detail")
    def detail_json(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.detail, indent=2, sort_keys=True))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

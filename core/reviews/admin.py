"""Admin of staff overrides: the history of adjustments, adding one, clearing some.

Adding and clearing go through the same services as the staff page
(``core/reviews/overrides.py``), so the admin's changes are audited and recompute the
score like the page's; an adjustment is never edited or deleted, only cleared.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.models import ScoreOverride
from core.reviews.overrides import OverrideRefused, score_override_clear, score_override_set
from core.reviews.scoring import attempt_receipts, best_receipt


class ScoreOverrideAdminForm(forms.ModelForm[ScoreOverride]):
    """One adjustment: a final score, or one task's verdict (pass ticked or not)."""

    class Meta:
        model = ScoreOverride
        fields = ["attempt", "task", "passed", "score", "reason"]
        help_texts = {
            "task": "For a task verdict: the task, and its verdict below.",
            "passed": "For a task verdict: Yes passes the task, No fails it.",
            "score": "For a final score: 0 to 200. Leave the task empty.",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        attempt, task, score = data.get("attempt"), data.get("task"), data.get("score")
        if attempt is None:
            return data
        if (task is None) == (score is None):
            raise forms.ValidationError("Set either a final score or one task's verdict.")
        if task is not None and task.project_id != attempt.release.project_id:
            raise forms.ValidationError("Choose a task of this attempt's project.")
        if best_receipt(attempt_receipts(attempt)) is None:
            raise forms.ValidationError("No iteration of this attempt has been reviewed yet.")
        if task is not None:
            if data.get("passed") is None:
                raise forms.ValidationError("Say whether the task passes (Yes) or fails (No).")
            self.instance.kind = ScoreOverride.Kind.VERDICT
        else:
            self.instance.kind = ScoreOverride.Kind.SCORE
            data["passed"] = None
        return data


@admin.register(ScoreOverride)
class ScoreOverrideAdmin(admin.ModelAdmin[ScoreOverride]):
    """Staff adjustments of scores and verdicts, standing and cleared."""

    form = ScoreOverrideAdminForm
    list_display = ["__str__", "kind", "created_by", "created_at", "standing", "adjust_page"]
    list_filter = ["kind", ("cleared_at", admin.EmptyFieldListFilter)]
    search_fields = ["attempt__learner__email", "attempt__release__project__title", "reason"]
    list_select_related = [
        "attempt__learner",
        "attempt__release__project",
        "task",
        "created_by",
    ]
    raw_id_fields = ["attempt", "task"]
    actions = ["clear_adjustments"]

    def has_change_permission(self, request: HttpRequest, obj: ScoreOverride | None = None) -> bool:
        return obj is None and super().has_change_permission(request)  # the list, never a row

    def has_delete_permission(self, request: HttpRequest, obj: ScoreOverride | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ScoreOverride, form: Any, change: bool) -> None:
        assert request.user.is_authenticated  # the admin is behind staff sign-in
        try:
            created = score_override_set(
                attempt=obj.attempt,
                by=request.user,
                reason=obj.reason,
                score=obj.score,
                task=obj.task,
                passed=obj.passed,
            )
        except OverrideRefused as error:  # checked by the form; a race changed it since
            raise forms.ValidationError(str(error)) from error
        obj.pk, obj.created_by, obj.created_at = created.pk, created.created_by, created.created_at

    @admin.display(boolean=True, description="standing")
    def standing(self, override: ScoreOverride) -> bool:
        return override.is_standing

    @admin.display(description="page")
    def adjust_page(self, override: ScoreOverride) -> str:
        url = reverse("attempt_adjust", args=[override.attempt_id])
        return format_html('<a href="{}">Adjust</a>', url)

    @admin.action(description="Clear selected adjustments (the reviews apply again)")
    def clear_adjustments(self, request: HttpRequest, queryset: QuerySet[ScoreOverride]) -> None:
        assert request.user.is_authenticated
        cleared = 0
        for override in queryset.filter(cleared_at__isnull=True).select_related("attempt"):
            score_override_clear(override=override, by=request.user)
            cleared += 1
        self.message_user(request, f"{cleared} adjustment(s) cleared.", messages.SUCCESS)

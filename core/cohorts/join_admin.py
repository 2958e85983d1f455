"""Admin of join codes: staff create one for a cohort, copy its link once, revoke it."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from core.cohorts.join_codes import code_assign, join_code_revoke, join_url
from core.models import Cohort, JoinCode
from core.platform.admin_helpers import (
    CohortZoneAdmin,
    LabelledRowsMixin,
    in_zone,
    pk_or_none,
    zone_of,
)

# A new code's suggested maximum: a large cohort's worth of people.
SUGGESTED_MAX_USES = 100
# Changed only through what records them: the cohort never, revoked_at by the action.
READ_ONLY_ON_CHANGE = [
    "cohort",
    "link_note",
    "state_label",
    "uses",
    "created_by",
    "created_at",
    "revoked_at",
]
BOTH_PAGES = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


class JoinCodeAdminForm(forms.ModelForm[JoinCode]):
    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data["expires_at"]
        if self.instance._state.adding and expires_at <= timezone.now():
            raise forms.ValidationError("A new join code must expire in the future.")
        return expires_at

    def clean_max_uses(self) -> Any:
        max_uses = self.cleaned_data["max_uses"]
        if max_uses < self.instance.uses:
            raise forms.ValidationError(
                f"{self.instance.uses} people have joined with this code already: "
                "the maximum cannot be lower."
            )
        return max_uses


class JoinCodeColumns:
    """What staff read of a code: its hint, whether it works, its uses, its expiry."""

    @admin.display(description="code")
    def code_hint(self, join_code: JoinCode) -> str:
        return f"{join_code.hint}-…"

    @admin.display(description="state")
    def state_label(self, join_code: JoinCode) -> str:
        return join_code.state().label

    @admin.display(description="uses", ordering="uses")
    def uses_label(self, join_code: JoinCode) -> str:
        return f"{join_code.uses} of {join_code.max_uses}"

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, join_code: JoinCode) -> str:
        return in_zone(join_code.expires_at, join_code.cohort.tz)


@admin.register(JoinCode)
class JoinCodeAdmin(JoinCodeColumns, CohortZoneAdmin[JoinCode]):
    """Join codes by cohort: when each expires, how many used it, whether it still works."""

    form = JoinCodeAdminForm
    list_display = ["code_hint", "cohort", "state_label", "uses_label", "expires", "created_by"]
    list_filter = [("cohort", admin.RelatedFieldListFilter)]
    list_select_related = ["cohort", "created_by"]
    search_fields = ["cohort__name", "hint"]
    autocomplete_fields = ["cohort"]
    actions = ["revoke_action"]

    def get_fieldsets(self, request: HttpRequest, obj: JoinCode | None = None) -> Any:
        if obj is not None:
            return super().get_fieldsets(request, obj)
        description = (
            "People who use the code join the cohort as learners, each once. Its link is "
            "shown once, after you save: copy it then (only a hash of the code is kept)."
        )
        return [
            (None, {"fields": ["cohort", "expires_at", "max_uses"], "description": description})
        ]

    def get_fields(self, request: HttpRequest, obj: JoinCode | None = None) -> list[Any]:
        if obj is None:
            return ["cohort", "expires_at", "max_uses"]
        return [
            "cohort",
            "link_note",
            "state_label",
            "expires_at",
            ("max_uses", "uses"),
            ("created_by", "created_at"),
            "revoked_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: JoinCode | None = None) -> list[str]:
        return [] if obj is None else list(READ_ONLY_ON_CHANGE)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        expires_at = timezone.now() + timedelta(days=settings.JOIN_CODE_DAYS)
        expires_at = expires_at.replace(second=0, microsecond=0)
        return {"expires_at": expires_at, "max_uses": SUGGESTED_MAX_USES, **initial}

    def cohort_zone(self, request: HttpRequest, object_id: str | None) -> zoneinfo.ZoneInfo | None:
        if object_id is not None:
            code_id = pk_or_none(object_id)
            if code_id is None:
                return None
            return zone_of(JoinCode.objects.filter(pk=code_id), "cohort__time_zone")
        cohort_id = pk_or_none(request.POST.get("cohort") or request.GET.get("cohort"))
        if cohort_id is None:
            return None
        return zone_of(Cohort.objects.filter(pk=cohort_id), "time_zone")

    def save_model(self, request: HttpRequest, obj: JoinCode, form: Any, change: bool) -> None:
        if not change:
            assert request.user.is_authenticated  # the admin serves signed-in staff only
            obj.created_by = request.user
            # The code's text lives only in this request: shown once, in response_add.
            request.new_join_code = code_assign(obj)  # type: ignore[attr-defined]  # for response_add
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: JoinCode, post_url_continue: str | None = None
    ) -> HttpResponse:
        code = getattr(request, "new_join_code", None)
        if code is not None:
            self.message_user(
                request,
                format_html(
                    "Join code for {}: <strong class='join-code-new'>{}</strong> — link to share: "
                    "<a href='{}'>{}</a>. Copy it now: it is shown only this once (only a hash "
                    "of it is stored). Lost it? Revoke this code and create another.",
                    obj.cohort,
                    code,
                    join_url(code),
                    join_url(code),
                ),
                messages.SUCCESS,
            )
        if "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        # To the code's own page, the message above it: where staff look for the link.
        return HttpResponseRedirect(reverse("admin:core_joincode_change", args=[obj.pk]))

    @admin.display(description="link")
    def link_note(self, join_code: JoinCode) -> str:
        return (
            f"/join/{join_code.hint}-…/ (the full link was shown once, when the code was "
            "created; only a hash is stored). Lost it? Revoke this code and create another."
        )

    @admin.action(description="Revoke the selected join codes", location=BOTH_PAGES)
    def revoke_action(self, request: HttpRequest, queryset: QuerySet[JoinCode]) -> None:
        revoked = sum(join_code_revoke(join_code=code) for code in queryset.order_by("pk"))
        self.message_user(
            request,
            f"Revoked {revoked} join code{'s' if revoked != 1 else ''}: "
            "nobody can join with them any more.",
            messages.SUCCESS,
        )


class JoinCodeInline(LabelledRowsMixin, JoinCodeColumns, admin.TabularInline[JoinCode, Cohort]):
    """A cohort's join codes at a glance; they are created and revoked on their own page."""

    model = JoinCode
    verbose_name_plural = "join codes (people join as learners with one)"
    fields = readonly_fields = ("code_hint", "state_label", "uses_label", "expires")
    can_delete = False
    show_change_link = True
    extra = 0
    template = "admin/core/cohort/join_code_inline.html"  # with a "create a join code" link

    def get_queryset(self, request: HttpRequest) -> QuerySet[JoinCode]:
        return super().get_queryset(request).select_related("cohort")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

"""Shared admin pieces: time zones of cohorts, list fields, service errors."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from core.models import MAX_ID, Project, Task


@cache
def time_zone_names() -> list[str]:
    """IANA zone names worth offering (no legacy aliases such as 'US/Eastern')."""
    legacy = ("Etc/", "SystemV/", "US/", "posix", "right/")
    names = {
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(legacy)
    }
    return sorted(names | {"UTC"})


def zone_or_none(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone called ``name``, or None when it is empty or unknown."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def in_zone(value: datetime | None, tz: zoneinfo.ZoneInfo) -> str:
    """'Thu 3 Dec 2026, 23:59 EAT': a moment as the cohort's clocks show it."""
    if value is None:
        return "—"
    return dateformat.format(timezone.localtime(value, tz), "D j M Y, H:i T")


def describe_zone(tz: zoneinfo.ZoneInfo | None) -> str:
    """Help text for a date field: which time zone it is shown and read in."""
    if tz is None:
        return "Entered in the cohort's time zone."
    now = timezone.localtime(timezone.now(), tz)
    offset = now.strftime("%z")
    return f"In {tz.key} time ({now.tzname()}, UTC{offset[:3]}:{offset[3:]}), the cohort's zone."


def pk_or_none(value: str | None) -> int | None:
    """The id ``value`` names, or None when it is not a plain number in the id range."""
    # isascii: "²".isdigit() is true but int("²") raises; the length check spares int()
    # thousands of digits (it raises past 4300) and the database an overflow.
    if not value or not value.isascii() or not value.isdigit() or len(value) > len(str(MAX_ID)):
        return None
    pk = int(value)
    return pk if pk <= MAX_ID else None


class TimeZoneInput(forms.TextInput):
    """A text input that suggests IANA time zone names as you type (a datalist)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"list": "time-zone-names", "autocomplete": "off", **(attrs or {})})

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        options = format_html_join("", '<option value="{}">', ((n,) for n in time_zone_names()))
        datalist = format_html('<datalist id="time-zone-names">{}</datalist>', options)
        return super().render(name, value, attrs, renderer) + datalist


class LabelledRowsMixin:
    """For a tabular inline: every input of a row says what it is and which row it is in.

    The admin's tabular inline names a column only in its header cell, which no input
    points at: a screen reader announces each input as a bare "edit text", and axe
    reports it (rule "label", critical). Each visible input gets an ``aria-label``
    such as "Title, module 3" ("Delete, module 3"; "Title, new module" in the
    template row the "Add another" link copies).
    """

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]  # mixin
        # self.model: the inline admin's, which a mixin cannot declare.
        return labelled_rows(formset, str(self.model._meta.verbose_name))  # type: ignore[attr-defined]


def labelled_rows[F: forms.BaseFormSet[Any]](formset: type[F], noun: str) -> type[F]:
    """``formset`` whose forms label each visible input with its field and row."""

    class Labelled(formset):  # type: ignore[valid-type,misc]  # a class made at run time
        def add_fields(self, form: forms.BaseForm, index: int | None) -> None:
            super().add_fields(form, index)
            row = f"new {noun}" if index is None else f"{noun} {index + 1}"
            for name, field in form.fields.items():
                # A related field's wrapper shares its attrs with the class-level widget
                # (Django's RelatedFieldWidgetWrapper.__deepcopy__): label the copy inside.
                widget = getattr(field.widget, "widget", field.widget)
                if isinstance(widget, forms.Widget) and not widget.is_hidden:
                    label = capfirst(str(field.label or name))
                    widget.attrs["aria-label"] = f"{label}, {row}"

    Labelled.__name__ = Labelled.__qualname__ = formset.__name__
    return Labelled


class CohortZoneFieldsMixin:
    """Says on every date field which time zone it is shown and read in."""

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        field: forms.Field | None = super().formfield_for_dbfield(  # type: ignore[misc]  # mixin
            db_field, request, **kwargs
        )
        if isinstance(db_field, models.DateTimeField) and field is not None:
            field.help_text = describe_zone(getattr(request, "cohort_tz", None))
        return field


class CohortZoneAdmin[M: models.Model](CohortZoneFieldsMixin, admin.ModelAdmin[M]):
    """A change page whose dates display and parse in one cohort's time zone."""

    def cohort_zone(self, request: HttpRequest, object_id: str | None) -> zoneinfo.ZoneInfo | None:
        """The zone of the cohort the page is about (None when not known yet)."""
        raise NotImplementedError

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        tz = self.cohort_zone(request, unquote(object_id) if object_id else None)
        request.cohort_tz = tz  # type: ignore[attr-defined]  # read by formfield_for_dbfield
        with timezone.override(tz):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            # Render inside the override: a TemplateResponse renders lazily, later.
            if isinstance(response, TemplateResponse) and not response.is_rendered:
                response.render()
        return response


def zone_of(queryset: QuerySet[models.Model], lookup: str) -> zoneinfo.ZoneInfo | None:
    """The zone named by ``lookup`` on the queryset's first row (one small query)."""
    return zone_or_none(queryset.values_list(lookup, flat=True).first())


# --- Forms ---------------------------------------------------------------------------------


class LinesField(forms.CharField):
    """A list of strings (objectives, concepts, file names) edited one per line."""

    widget = forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"})

    def __init__(self, *, encoder: Any = None, decoder: Any = None, **kwargs: Any) -> None:
        # JSONField.formfield() passes its encoder and decoder; plain lines need neither.
        super().__init__(**kwargs)
        described = str(self.help_text).removesuffix(".").removesuffix(", one string each")
        self.help_text = f"{described}. One per line." if described else "One per line."

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]  # a list, not a str
        if isinstance(value, list):
            return value
        text = super().to_python(value)
        assert text is not None  # None only with empty_value=None, which this field never has
        return [line.strip() for line in text.splitlines() if line.strip()]


class CurriculumAdminMixin:
    """Content editing: list fields one item per line, counts that start at 1."""

    formfield_overrides: ClassVar[Mapping[type[models.Field[Any, Any]], Mapping[str, Any]]] = {
        models.JSONField: {"form_class": LinesField}
    }
    # The database refuses 0 (CheckConstraint); saying so on the field reads better.
    positive_fields = {(Task, "points"), (Project, "weight")}

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if (db_field.model, db_field.name) in self.positive_fields:
            kwargs.setdefault("min_value", 1)
        if isinstance(db_field, models.TextField):
            kwargs.setdefault(
                "widget", forms.Textarea(attrs={"rows": 10, "class": "vLargeTextField"})
            )
            if db_field.max_length:  # Markdown (core/migrations/0009): say how much
                kwargs.setdefault(
                    "help_text", f"Markdown, up to {db_field.max_length:,} characters."
                )
        field: forms.Field | None = super().formfield_for_dbfield(  # type: ignore[misc]  # mixin
            db_field, request, **kwargs
        )
        return field


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form fields it names (else on top)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)

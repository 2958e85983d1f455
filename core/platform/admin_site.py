"""The admin site: every registered ModelAdmin refuses ids that are not ids.

Django's admin sends ids from the request straight into queries in three places, and
each crashed (500) on a tampered value:

- the add page pre-fills fields from the query string (``?cohort=abc``), and the
  autocomplete and raw-id widgets look the value up;
- list filters (``?cohort__exact=<past 64 bits>``, ``?id__in=…``) run a query Django
  checks for non-numbers but not for numbers past the column's range;
- actions filter ``pk__in=<the posted selection>``.

``IdCheckingAdmin`` checks each against the field it reaches, and ``AdminSite`` mixes it
into every ModelAdmin registered (ours, allauth's, Django's), so a new admin page is
covered without anyone remembering to. tests/test_admin.py walks them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import IGNORED_PARAMS, PAGE_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.db.models.fields.related import RelatedField
from django.db.models.fields.reverse_related import ForeignObjectRel
from django.db.models.query import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from core.platform.admin_helpers import pk_or_none

# Lookups whose values are compared with the field's own values (``__in``: a list).
VALUE_LOOKUPS = frozenset({"exact", "in", "gt", "gte", "lt", "lte"})

Field = models.Field[Any, Any] | ForeignObjectRel


def _value_field(field: Field) -> models.Field[Any, Any] | None:
    """The field a lookup on ``field`` compares values with: a relation's target id."""
    if isinstance(field, ForeignObjectRel):
        return field.related_model._meta.pk
    if field.is_relation:
        assert isinstance(field, RelatedField)  # no model here has a generic foreign key
        return field.related_model._meta.pk if field.many_to_many else field.target_field
    return field


def _field_at(model: type[models.Model], path: list[str]) -> Field | None:
    """The field ``a__b__c`` names from ``model`` (``pk`` included), or None."""
    field: Field | None = None
    for name in path:
        if field is not None:
            if not field.is_relation:
                return None
            assert field.related_model is not None  # no model here has a generic foreign key
            model = field.related_model
        try:
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
    return field


def _fits(field: models.Field[Any, Any], raw: str) -> bool:
    """Whether ``raw`` is a value of ``field`` its column can hold."""
    try:
        value = field.to_python(raw)
        if value is None:
            return False
        field.run_validators(value)  # integer columns: the database's range
    except (ValidationError, ValueError, TypeError, OverflowError):
        return False
    return True


def _is_id(field: models.Field[Any, Any], raw: str) -> bool:
    """Whether ``raw`` names a row by ``field``; integer ids are plain digits only."""
    if isinstance(field, models.IntegerField) and pk_or_none(raw) is None:
        return False
    return _fits(field, raw)


if TYPE_CHECKING:
    # What AdminSite.register mixes IdCheckingAdmin into.
    _ModelAdmin = admin.ModelAdmin[models.Model]
else:
    _ModelAdmin = object


class IdCheckingAdmin(_ModelAdmin):
    """Mixed into every ModelAdmin by AdminSite: tampered ids never reach a query."""

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, str | list[str]]:
        """Drop pre-filled relations whose ids are not ids (the field starts empty)."""
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            target = _value_field(field) if field.is_relation else None
            values = value if isinstance(value, list) else [value]
            if target is not None and not all(_is_id(target, str(item)) for item in values):
                del initial[name]
        return initial

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        """A filter value its column cannot hold is refused as Django refuses a bad one."""
        for name, values in request.GET.lists():
            if name not in IGNORED_PARAMS and name != PAGE_VAR and self._unfit(name, values):
                raise IncorrectLookupParameters(f"{name}: not a value of that field")
        return super().get_changelist_instance(request)

    def _unfit(self, name: str, values: list[str]) -> bool:
        *path, lookup = name.split(LOOKUP_SEP)
        if lookup not in VALUE_LOOKUPS:
            path, lookup = [*path, lookup], "exact"
        field = _field_at(self.model, path)
        if field is None:
            return False  # not a field: Django refuses it on its own
        target = _value_field(field)
        if not isinstance(target, models.IntegerField):
            return False  # Django turns other unparsable values into its own error
        items = [item for value in values for item in value.split(",")]
        return not all(_fits(target, item) for item in (items if lookup == "in" else values))

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        """Refuse a selection that is not one of ids, as the admin refuses an empty one."""
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        pk = self.model._meta.pk
        if any(not _is_id(pk, value) for value in selected):
            plural = self.model._meta.verbose_name_plural
            self.message_user(request, f"Select {plural} from the list.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset, *args, **kwargs)


class AdminSite(admin.AdminSite):
    """Django's admin site, whose every ModelAdmin is an IdCheckingAdmin."""

    def register(
        self,
        model_or_iterable: Any,
        admin_class: type[admin.ModelAdmin[Any]] | None = None,
        **options: Any,
    ) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, IdCheckingAdmin):
            admin_class = type(
                admin_class.__name__,
                (IdCheckingAdmin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        super().register(model_or_iterable, admin_class, **options)

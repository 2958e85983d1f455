"""Admin of schedules: cohorts and their actions, releases, extensions, memberships."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ActionLocation, helpers
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import Truncator

from core.admin.common import (
    CohortZoneAdmin,
    CohortZoneFieldsMixin,
    TimeZoneInput,
    add_service_errors,
    describe_zone,
    in_zone,
    pk_or_none,
    zone_of,
    zone_or_none,
)
from core.models import Cohort, Extension, Membership, Project, ProjectRelease
from core.services.schedule import (
    announce_release,
    check_calendar_dates,
    release_project,
    shift_cohort_deadlines,
)

BOTH_PAGES = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]
# The admin posts an action from a change page under this field name.
CHANGE_FORM_ACTION_FIELD = f"{ActionLocation.CHANGE_FORM.value}-action"
MULTIPLIERS_FIELDSET = (
    "Lateness multipliers",
    {
        "fields": [("first_multiplier", "second_multiplier", "late_multiplier")],
        "description": (
            "Share of the score kept for work passed before the first deadline, "
            "before the second, and after it (0–1)."
        ),
    },
)


class ReleaseDateColumns:
    """A release's dates as columns, on the cohort's wall clock."""

    @admin.display(description="opens", ordering="opens_at")
    def opens(self, release: ProjectRelease) -> str:
        return in_zone(release.opens_at, release.cohort.tz)

    @admin.display(description="first deadline", ordering="first_deadline")
    def first(self, release: ProjectRelease) -> str:
        return in_zone(release.first_deadline, release.cohort.tz)

    @admin.display(description="second deadline", ordering="second_deadline")
    def second(self, release: ProjectRelease) -> str:
        return in_zone(release.second_deadline, release.cohort.tz)

    @admin.display(description="now")
    def status(self, release: ProjectRelease) -> str:
        return release.deadlines_for().state(timezone.now())


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]
    extra = 0

    def formfield_for_dbfield(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "user" and field is not None:
            # People are added on the Users page; here they are only picked.
            field.widget.can_add_related = False
            field.widget.can_change_related = False
            field.widget.can_view_related = False
        return field


class ReleaseInline(ReleaseDateColumns, admin.TabularInline):
    """The cohort's calendar at a glance; dates change through the actions or a release."""

    model = ProjectRelease
    verbose_name_plural = "calendar (release a project or shift deadlines with the actions)"
    fields = ["opens", "first", "second", "status"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProjectRelease]:
        return super().get_queryset(request).select_related("project", "cohort")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReleaseProjectForm(forms.Form):
    """What the "Release a project to this cohort…" action asks."""

    project = forms.ModelChoiceField(queryset=Project.objects.none())
    opens_at = forms.SplitDateTimeField(label="Opens", widget=AdminSplitDateTime)
    first_deadline = forms.SplitDateTimeField(widget=AdminSplitDateTime)
    second_deadline = forms.SplitDateTimeField(widget=AdminSplitDateTime)
    first_multiplier = forms.DecimalField(decimal_places=2, initial="1.00")
    second_multiplier = forms.DecimalField(decimal_places=2, initial="0.65")
    late_multiplier = forms.DecimalField(decimal_places=2, initial="0.50")

    fieldsets = [
        (None, {"fields": ["project"]}),
        ("Dates", {"fields": ["opens_at", "first_deadline", "second_deadline"]}),
        MULTIPLIERS_FIELDSET,
    ]

    def __init__(self, *args: Any, cohort: Cohort, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        project = self.fields["project"]
        project.queryset = (  # type: ignore[attr-defined]
            Project.objects.filter(module__program=cohort.program_id)
            .exclude(releases__cohort=cohort)
            .select_related("module")
            .order_by("module__order", "order")
        )
        project.label_from_instance = lambda p: f"{p.module} · {p.title}"  # type: ignore[attr-defined]
        project.help_text = (
            "Projects of the cohort's program not released to it yet."
            if project.queryset.exists()  # type: ignore[attr-defined]
            else "Every project of the program is already on this cohort's calendar."
        )
        for name in ("opens_at", "first_deadline", "second_deadline"):
            self.fields[name].help_text = describe_zone(cohort.tz)
        for name in ("first_multiplier", "second_multiplier", "late_multiplier"):
            self.fields[name].widget.attrs["size"] = 5


class ShiftDeadlinesForm(forms.Form):
    """What the "Shift deadlines by N days…" action asks."""

    days = forms.IntegerField(
        label="Shift by (days)",
        help_text="A positive number moves dates later, a negative one earlier.",
    )
    only_open = forms.BooleanField(
        required=False,
        label="Only releases not yet closed",
        help_text="Leave releases whose second deadline has passed where they are.",
    )

    fieldsets = [(None, {"fields": ["days", "only_open"]})]


def suggested_release_dates(cohort: Cohort) -> dict[str, datetime]:
    """A week after the cohort's latest release, with its durations; else from tomorrow."""
    tz = cohort.tz
    tomorrow = datetime.combine(timezone.localdate(timezone=tz) + timedelta(days=1), time(9), tz)
    latest = cohort.releases.order_by("-opens_at").first()
    if latest is None:
        opens = tomorrow
        first = datetime.combine(opens.date() + timedelta(days=7), time(23, 59), tz)
        return {
            "opens_at": opens,
            "first_deadline": first,
            "second_deadline": first + timedelta(days=7),
        }
    opens = max(timezone.localtime(latest.opens_at, tz) + timedelta(days=7), tomorrow)
    return {
        "opens_at": opens,
        "first_deadline": opens + (latest.first_deadline - latest.opens_at),
        "second_deadline": opens + (latest.second_deadline - latest.opens_at),
    }


def with_release_counts(cohorts: QuerySet[Cohort], now: datetime | None = None) -> QuerySet:
    """Cohorts with how many releases they have, and how many are not closed yet."""
    now = now or timezone.now()
    return cohorts.annotate(
        # distinct: the admin's queryset already joins memberships for its counts.
        release_total=Count("releases", distinct=True),
        release_open=Count("releases", filter=Q(releases__second_deadline__gt=now), distinct=True),
    )


@admin.register(Cohort)
class CohortAdmin(CohortZoneAdmin):
    """A cohort: its people, its calendar, and the actions that change the calendar."""

    list_display = ["name", "program", "start_date", "time_zone", "learner_count", "mentor_count"]
    list_filter = ["program"]
    list_select_related = ["program"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["program", "name", "slug", ("start_date", "time_zone")]
    inlines = [MembershipInline, ReleaseInline]
    actions = ["release_project_action", "shift_deadlines_action"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cohort]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                learner_count=Count(
                    "memberships", filter=Q(memberships__role="learner"), distinct=True
                ),
                mentor_count=Count(
                    "memberships", filter=Q(memberships__role="mentor"), distinct=True
                ),
            )
        )

    def formfield_for_dbfield(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name == "time_zone":
            kwargs["widget"] = TimeZoneInput
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def cohort_zone(self, request: HttpRequest, object_id: str | None) -> zoneinfo.ZoneInfo | None:
        if object_id is None:
            # A new cohort: dates typed in its inline are in the zone chosen above them.
            return zone_or_none(request.POST.get("time_zone"))
        return zone_of(Cohort.objects.filter(pk=pk_or_none(object_id)), "time_zone")

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Cohort], *args: Any, **kwargs: Any
    ) -> HttpResponseBase | None:
        # Django filters pk__in=<the posted ids>: one that is not an id (a tampered
        # form) would crash the query. Refuse it as the admin refuses an empty selection.
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if any(pk_or_none(value) is None for value in selected):
            self.message_user(request, "Select cohorts from the list.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset, *args, **kwargs)

    @admin.display(description="learners", ordering="learner_count")
    def learner_count(self, cohort: Cohort) -> int:
        return cohort.learner_count  # type: ignore[attr-defined]

    @admin.display(description="mentors", ordering="mentor_count")
    def mentor_count(self, cohort: Cohort) -> int:
        return cohort.mentor_count  # type: ignore[attr-defined]

    # Actions with an intermediate page. They are offered on the list and on a cohort's
    # own page; the page posts back with "apply" and the same action and selection.

    @admin.action(description="Release a project to this cohort…", location=BOTH_PAGES)
    def release_project_action(
        self, request: HttpRequest, queryset: QuerySet[Cohort]
    ) -> HttpResponseBase | None:
        cohorts = list(with_release_counts(queryset.select_related("program"))[:2])
        if len(cohorts) != 1:
            self.message_user(
                request, "Select exactly one cohort to release a project to.", messages.WARNING
            )
            return None
        cohort = cohorts[0]
        with timezone.override(cohort.tz):
            if "apply" not in request.POST:
                form = ReleaseProjectForm(cohort=cohort, initial=suggested_release_dates(cohort))
            else:
                form = ReleaseProjectForm(request.POST, cohort=cohort)
                if form.is_valid():
                    try:
                        release = release_project(cohort=cohort, **form.cleaned_data)
                    except ValidationError as error:
                        add_service_errors(form, error)
                    else:
                        self.log_addition(request, release, [{"added": {}}])
                        self.message_user(
                            request,
                            f"Released “{release.project}” to {cohort}: opens "
                            f"{in_zone(release.opens_at, cohort.tz)}, first deadline "
                            f"{in_zone(release.first_deadline, cohort.tz)}.",
                            messages.SUCCESS,
                        )
                        return None
            return self.action_page(
                request,
                action=self.release_project_action,
                cohorts=cohorts,
                form=form,
                title=f"Release a project to {cohort}",
                submit="Release project",
            )

    @admin.action(description="Shift deadlines by N days…", location=BOTH_PAGES)
    def shift_deadlines_action(
        self, request: HttpRequest, queryset: QuerySet[Cohort]
    ) -> HttpResponseBase | None:
        now = timezone.now()
        cohorts = list(with_release_counts(queryset.select_related("program"), now))
        if "apply" not in request.POST:
            form = ShiftDeadlinesForm()
        else:
            form = ShiftDeadlinesForm(request.POST)
            if form.is_valid():
                try:
                    with transaction.atomic():
                        moved = sum(
                            shift_cohort_deadlines(cohort=cohort, now=now, **form.cleaned_data)
                            for cohort in cohorts
                        )
                except ValidationError as error:
                    add_service_errors(form, error)
                else:
                    days = form.cleaned_data["days"]
                    for cohort in cohorts:
                        self.log_change(request, cohort, f"Shifted deadlines by {days:+d} days.")
                    direction = "later" if days > 0 else "earlier"
                    self.message_user(
                        request,
                        f"Moved {moved} release{'s' if moved != 1 else ''} of "
                        f"{', '.join(f'“{c}”' for c in cohorts)} {abs(days)} "
                        f"day{'s' if abs(days) != 1 else ''} {direction}.",
                        messages.SUCCESS,
                    )
                    return None
        return self.action_page(
            request,
            action=self.shift_deadlines_action,
            cohorts=cohorts,
            form=form,
            title="Shift deadlines",
            submit="Shift deadlines",
        )

    def action_page(
        self,
        request: HttpRequest,
        *,
        action: Callable[..., Any],
        cohorts: Iterable[Cohort],
        form: forms.Form,
        title: str,
        submit: str,
    ) -> TemplateResponse:
        """The intermediate page of an action: its form, posting back to the same URL."""
        on_change_page = CHANGE_FORM_ACTION_FIELD in request.POST
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "cohorts": cohorts,
            "form": form,
            "adminform": helpers.AdminForm(form, form.fieldsets, {}),  # type: ignore[attr-defined]
            "media": self.media + form.media,
            "action_field": CHANGE_FORM_ACTION_FIELD if on_change_page else "action",
            "action_name": action.__name__,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": submit,
        }
        response = TemplateResponse(request, "admin/core/cohort/action_form.html", context)
        return response.render()


def refuse_out_of_calendar(form: forms.Form, *names: str) -> None:
    """Field errors for dates outside the calendar's years (year 1 would crash the save)."""
    try:
        check_calendar_dates(**{name: form.cleaned_data.get(name) for name in names})
    except ValidationError as error:
        add_service_errors(form, error)


class ProjectReleaseAdminForm(forms.ModelForm):
    class Meta:
        model = ProjectRelease
        fields = [
            "cohort",
            "project",
            "opens_at",
            "first_deadline",
            "second_deadline",
            "first_multiplier",
            "second_multiplier",
            "late_multiplier",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cohort, project = cleaned.get("cohort"), cleaned.get("project")
        if cohort and project and project.module.program_id != cohort.program_id:
            self.add_error("project", f"“{project}” is not part of {cohort.program}.")
        refuse_out_of_calendar(self, "opens_at", "first_deadline", "second_deadline")
        return cleaned


class ExtensionAdminForm(forms.ModelForm):
    class Meta:
        model = Extension
        fields = ["release", "learner", "first_deadline", "second_deadline", "reason"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        release = cleaned.get("release") or getattr(self.instance, "release", None)
        learner = cleaned.get("learner")
        if release and learner:
            is_learner = Membership.objects.filter(
                cohort=release.cohort_id, user=learner, role=Membership.Role.LEARNER
            ).exists()
            if not is_learner:
                self.add_error("learner", f"{learner} is not a learner of {release.cohort}.")
        refuse_out_of_calendar(self, "first_deadline", "second_deadline")
        return cleaned


class ExtensionInline(CohortZoneFieldsMixin, admin.TabularInline):
    model = Extension
    form = ExtensionAdminForm
    fields = ["learner", "first_deadline", "second_deadline", "reason", "granted_by", "created_at"]
    readonly_fields = ["granted_by", "created_at"]
    autocomplete_fields = ["learner"]
    extra = 0


@admin.register(ProjectRelease)
class ProjectReleaseAdmin(ReleaseDateColumns, CohortZoneAdmin):
    """A project on a cohort's calendar, with the extensions granted on it."""

    form = ProjectReleaseAdminForm
    list_display = [
        "project",
        "cohort",
        "opens",
        "first",
        "second",
        "status",
        "extension_count",
    ]
    list_filter = ["cohort", "cohort__program"]
    search_fields = ["project__title", "project__slug"]
    autocomplete_fields = ["cohort", "project"]
    fieldsets = [
        (None, {"fields": ["cohort", "project"]}),
        ("Dates", {"fields": ["opens_at", "first_deadline", "second_deadline"]}),
        MULTIPLIERS_FIELDSET,
    ]
    inlines = [ExtensionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProjectRelease]:
        # select_related also serves the autocomplete, which prints "project · cohort".
        return (
            super()
            .get_queryset(request)
            .select_related("project", "cohort")
            .annotate(extension_count=Count("extensions"))
        )

    def cohort_zone(self, request: HttpRequest, object_id: str | None) -> zoneinfo.ZoneInfo | None:
        if object_id is not None:
            releases = ProjectRelease.objects.filter(pk=pk_or_none(object_id))
            return zone_of(releases, "cohort__time_zone")
        cohort_id = pk_or_none(request.POST.get("cohort") or request.GET.get("cohort"))
        return zone_of(Cohort.objects.filter(pk=cohort_id), "time_zone")

    def save_model(
        self, request: HttpRequest, obj: ProjectRelease, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            announce_release(obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for extension in formset.save(commit=False):
            if extension.granted_by_id is None:
                extension.granted_by = request.user
            extension.save()
        for extension in formset.deleted_objects:
            extension.delete()
        formset.save_m2m()

    @admin.display(description="extensions", ordering="extension_count")
    def extension_count(self, release: ProjectRelease) -> int:
        return release.extension_count  # type: ignore[attr-defined]


@admin.register(Extension)
class ExtensionAdmin(CohortZoneAdmin):
    """The ledger of extensions: who got new deadlines on what, why, and from whom."""

    form = ExtensionAdminForm
    list_display = [
        "learner",
        "release",
        "first",
        "second",
        "short_reason",
        "granted_by",
        "created",
    ]
    list_filter = [("release__cohort", admin.RelatedFieldListFilter)]
    list_select_related = ["learner", "granted_by", "release__project", "release__cohort"]
    search_fields = ["learner__email", "learner__display_name"]
    autocomplete_fields = ["release", "learner"]
    readonly_fields = ["granted_by", "created_at"]
    fields = [
        "release",
        "learner",
        ("first_deadline", "second_deadline"),
        "reason",
        "granted_by",
        "created_at",
    ]

    def cohort_zone(self, request: HttpRequest, object_id: str | None) -> zoneinfo.ZoneInfo | None:
        if object_id is not None:
            extensions = Extension.objects.filter(pk=pk_or_none(object_id))
            return zone_of(extensions, "release__cohort__time_zone")
        release_id = pk_or_none(request.POST.get("release") or request.GET.get("release"))
        return zone_of(ProjectRelease.objects.filter(pk=release_id), "cohort__time_zone")

    def save_model(self, request: HttpRequest, obj: Extension, form: Any, change: bool) -> None:
        if obj.granted_by_id is None:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="new first deadline", ordering="first_deadline")
    def first(self, extension: Extension) -> str:
        return in_zone(extension.first_deadline, extension.release.cohort.tz)

    @admin.display(description="new second deadline", ordering="second_deadline")
    def second(self, extension: Extension) -> str:
        return in_zone(extension.second_deadline, extension.release.cohort.tz)

    @admin.display(description="reason")
    def short_reason(self, extension: Extension) -> str:
        return Truncator(extension.reason).words(8)

    @admin.display(description="granted", ordering="created_at")
    def created(self, extension: Extension) -> str:
        return in_zone(extension.created_at, extension.release.cohort.tz)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Who holds which role in which cohort."""

    list_display = ["user", "user__email", "cohort", "role", "created_at"]
    list_filter = ["role", "cohort"]
    list_select_related = ["user", "cohort"]
    search_fields = ["user__email", "user__display_name"]
    autocomplete_fields = ["user", "cohort"]
    fields = ["user", "cohort", "role"]

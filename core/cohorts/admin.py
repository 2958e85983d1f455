"""Admin of schedules: cohorts and their actions, releases, extensions, memberships."""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

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

from core.accounts.invitations import invitations_resend
from core.checks.admin import rerun_cohorts
from core.cohorts.join_admin import JoinCodeInline
from core.cohorts.schedule import (
    WEEKDAYS,
    Change,
    SchedulePlan,
    ScheduleSpec,
    schedule_apply,
    schedule_plan,
)
from core.cohorts.services import (
    ExtensionChange,
    announce_extension,
    announce_release,
    check_calendar_dates,
    release_project,
    shift_cohort_deadlines,
)
from core.models import Cohort, Extension, Membership, Module, Project, ProjectRelease
from core.platform.admin_helpers import (
    CohortZoneAdmin,
    CohortZoneFieldsMixin,
    LabelledRowsMixin,
    TimeZoneInput,
    add_service_errors,
    describe_zone,
    in_zone,
    pk_or_none,
    zone_of,
    zone_or_none,
)

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts
    from django_stubs_ext import WithAnnotations

BOTH_PAGES = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]
# An edit of an extension that touches these tells the learner; its reason alone does not.
EXTENSION_DATES = frozenset({"first_deadline", "second_deadline"})
# The admin posts an action from a change page under this field name.
CHANGE_FORM_ACTION_FIELD = f"{ActionLocation.CHANGE_FORM.value}-action"
MULTIPLIERS_FIELDSET: tuple[str, _FieldOpts] = (
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


class MembershipInline(LabelledRowsMixin, admin.TabularInline[Membership, Cohort]):
    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]
    extra = 0

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "user" and field is not None:
            # People are added on the Users page; here they are only picked.
            field.widget.can_add_related = False
            field.widget.can_change_related = False
            field.widget.can_view_related = False
        return field


class ReleaseInline(
    LabelledRowsMixin, ReleaseDateColumns, admin.TabularInline[ProjectRelease, Cohort]
):
    """The cohort's calendar at a glance; dates change through the actions or a release."""

    model = ProjectRelease
    verbose_name_plural = "calendar (release a project or shift deadlines with the actions)"
    fields = readonly_fields = ("opens", "first", "second", "status")
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
        assert isinstance(project, forms.ModelChoiceField)  # declared so above
        project.queryset = projects = (
            Project.objects.of_program(cohort.program_id)
            .exclude(releases__cohort=cohort)
            .select_related("module")
            .order_by("module__order", "order")
        )
        project.label_from_instance = (  # type: ignore[method-assign]  # this form's labels only
            lambda obj: f"{obj.module} · {obj.title}"
        )
        project.help_text = (
            "Projects of the cohort's program not released to it yet."
            if projects.exists()
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
    move_openings = forms.BooleanField(
        required=False,
        label="Also move openings",
        help_text=(
            "Off: only deadlines move, and projects open now stay open. "
            "On: opening dates move too, which can close a project learners have open."
        ),
    )
    confirm_closing = forms.BooleanField(
        required=False,
        label="Yes, close projects that are open now",
        help_text="Needed only when the shift would close an open project; you are told which.",
    )

    fieldsets = [(None, {"fields": ["days", "only_open", "move_openings", "confirm_closing"]})]


class ScheduleForm(forms.Form):
    """What the "Release a module or the program on a schedule…" action asks."""

    module = forms.ModelChoiceField(
        queryset=Module.objects.none(),
        required=False,
        empty_label="The whole program",
        label="Release",
    )
    # The browser's own date and time pickers: they need no script, suit a phone, and
    # unlike the admin's widgets attach no warning about the browser's time zone (these
    # are read on the cohort's clock, whatever the browser's).
    start = forms.DateField(
        label="First project opens on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    opens_time = forms.TimeField(
        label="Projects open at",
        initial=time(9),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    deadline_time = forms.TimeField(
        label="Deadlines fall at",
        initial=time(23, 59),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    project_days = forms.IntegerField(
        label="Project length (days)",
        initial=7,
        help_text="From one project's opening to the next one's (before any gap).",
    )
    gap_days = forms.IntegerField(
        label="Gap between projects (days)", initial=0, help_text="0: the next opens right away."
    )
    first_deadline_days = forms.IntegerField(label="First deadline (days after opening)", initial=6)
    second_deadline_days = forms.IntegerField(
        label="Second deadline (days after opening)", initial=13
    )
    skip_weekdays = forms.TypedMultipleChoiceField(
        label="Never on",
        choices=list(enumerate(WEEKDAYS)),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    skip_dates = forms.CharField(
        label="Skip these dates",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 20}),
        help_text="Holidays: one date a line, as 2026-12-25; they move like skipped days.",
    )
    first_multiplier = forms.DecimalField(decimal_places=2, initial="1.00")
    second_multiplier = forms.DecimalField(decimal_places=2, initial="0.65")
    late_multiplier = forms.DecimalField(decimal_places=2, initial="0.50")

    fieldsets = [
        (None, {"fields": ["module"]}),
        ("Dates", {"fields": ["start", ("opens_time", "deadline_time")]}),
        (
            "Pace",
            {
                "fields": [
                    ("project_days", "gap_days"),
                    ("first_deadline_days", "second_deadline_days"),
                ]
            },
        ),
        (
            "Days off",
            {
                "fields": ["skip_weekdays", "skip_dates"],
                # Here, not as the weekdays' help text: the admin points a group of
                # checkboxes at a help text it then leaves without an id.
                "description": (
                    "An opening or a deadline that falls on a day off moves to the next "
                    "day that is not one."
                ),
            },
        ),
        MULTIPLIERS_FIELDSET,
    ]

    def __init__(self, *args: Any, cohort: Cohort, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        module = self.fields["module"]
        assert isinstance(module, forms.ModelChoiceField)  # declared so above
        module.queryset = Module.objects.filter(program=cohort.program_id).order_by("order")
        module.help_text = (
            f"A module of {cohort.program}, or all of it. Projects already open keep their "
            "dates; the others get the dates below."
        )
        zone = describe_zone(cohort.tz)
        for name in ("start", "opens_time", "deadline_time"):
            self.fields[name].help_text = zone
        for name in (
            "project_days",
            "gap_days",
            "first_deadline_days",
            "second_deadline_days",
            "first_multiplier",
            "second_multiplier",
            "late_multiplier",
        ):
            # A number input takes no size; the admin's class makes it narrow.
            self.fields[name].widget.attrs["class"] = "vIntegerField"

    def clean_skip_dates(self) -> frozenset[date]:
        dates: set[date] = set()
        lines = [line.strip() for line in self.cleaned_data["skip_dates"].splitlines()]
        for line in filter(None, lines):
            try:
                dates.add(date.fromisoformat(line))
            except ValueError:
                raise ValidationError(
                    f"“{Truncator(line).chars(20)}” is not a date like 2026-12-25."
                ) from None
        return frozenset(dates)

    def spec(self) -> ScheduleSpec:
        """The generator's input (call once the form is valid)."""
        data = self.cleaned_data
        return ScheduleSpec(
            start=data["start"],
            project_days=data["project_days"],
            gap_days=data["gap_days"],
            first_deadline_days=data["first_deadline_days"],
            second_deadline_days=data["second_deadline_days"],
            opens_time=data["opens_time"],
            deadline_time=data["deadline_time"],
            skip_weekdays=frozenset(data["skip_weekdays"]),
            skip_dates=data["skip_dates"],
            first_multiplier=data["first_multiplier"],
            second_multiplier=data["second_multiplier"],
            late_multiplier=data["late_multiplier"],
        )

    def fingerprint(self) -> str:
        """A digest of the inputs: equal exactly when a preview shows what would apply."""
        module = self.cleaned_data["module"]
        text = repr((module.pk if module else None, self.spec()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def suggested_start(cohort: Cohort) -> date:
    """The generator's first opening: the cohort's start date, or tomorrow if it passed,
    and a week after the latest project already open (the generator leaves it be)."""
    tz = cohort.tz
    suggested = max(cohort.start_date, timezone.localdate(timezone=tz) + timedelta(days=1))
    latest = cohort.releases.opened().order_by("-opens_at").values_list("opens_at")[:1]
    for (opens_at,) in latest:
        suggested = max(suggested, timezone.localtime(opens_at, tz).date() + timedelta(days=7))
    return suggested


CHANGE_LABELS = {
    Change.ADDED: "added",
    Change.UPDATED: "new dates",
    Change.UNCHANGED: "unchanged",
    Change.KEPT: "kept (already opened)",
}


def schedule_preview(plan: SchedulePlan) -> dict[str, Any]:
    """The preview table: every release with its dates on the cohort's wall clock."""
    tz = plan.cohort.tz
    return {
        "time_zone": plan.cohort.time_zone,
        "rows": [
            {
                "module": row.project.module.title,
                "project": row.project.title,
                "change": row.change.value,
                "change_label": CHANGE_LABELS[row.change],
                "opens": in_zone(row.opens_at, tz),
                "first": in_zone(row.first_deadline, tz),
                "second": in_zone(row.second_deadline, tz),
            }
            for row in plan.rows
        ],
        "added": plan.count(Change.ADDED),
        "updated": plan.count(Change.UPDATED),
        "kept": plan.count(Change.KEPT),
        "unchanged": plan.count(Change.UNCHANGED),
        "writes": len(plan.changes),
    }


class ReleaseCounts(TypedDict):
    release_total: int
    release_open: int


def with_release_counts(
    cohorts: QuerySet[Cohort], now: datetime | None = None
) -> QuerySet[WithAnnotations[Cohort, ReleaseCounts]]:
    """Cohorts with how many releases they have, and how many are not closed yet."""
    now = now or timezone.now()
    return cohorts.annotate(
        # distinct: the admin's queryset already joins memberships for its counts.
        release_total=Count("releases", distinct=True),
        release_open=Count("releases", filter=Q(releases__second_deadline__gt=now), distinct=True),
    )


class CohortCounts(TypedDict):
    learner_count: int
    mentor_count: int


@admin.register(Cohort)
class CohortAdmin(CohortZoneAdmin[Cohort]):
    """A cohort: its people, its calendar, and the actions that change the calendar."""

    list_display = ["name", "program", "start_date", "time_zone", "learner_count", "mentor_count"]
    list_filter = ["program"]
    list_select_related = ["program"]
    search_fields = ["name", "slug"]
    # The model's order, said again: the counts below group the query, and a grouped
    # query drops Meta.ordering (the autocomplete would page an unordered list).
    ordering = ["-start_date", "name", "pk"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["program", "name", "slug", ("start_date", "time_zone")]
    inlines = [MembershipInline, ReleaseInline, JoinCodeInline]
    actions = [
        "release_schedule_action",
        "release_project_action",
        "shift_deadlines_action",
        rerun_cohorts,
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cohort]:
        cohorts: QuerySet[Cohort] = super().get_queryset(request)
        return cohorts.annotate(
            learner_count=Count(
                "memberships", filter=Q(memberships__role="learner"), distinct=True
            ),
            mentor_count=Count("memberships", filter=Q(memberships__role="mentor"), distinct=True),
        )

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name == "time_zone":
            kwargs["widget"] = TimeZoneInput
        if db_field.name == "start_date":
            # The browser's own date picker, as in the schedule generator: the admin's
            # widget points aria-describedby at a browser time zone warning it seldom
            # adds (meaningless for a date alone), and its calendar <dialog> repeats its
            # own role: neither is valid HTML.
            kwargs["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def cohort_zone(self, request: HttpRequest, object_id: str | None) -> zoneinfo.ZoneInfo | None:
        if object_id is None:
            # A new cohort: dates typed in its inline are in the zone chosen above them.
            return zone_or_none(request.POST.get("time_zone"))
        cohort_id = pk_or_none(object_id)
        if cohort_id is None:
            return None
        return zone_of(Cohort.objects.filter(pk=cohort_id), "time_zone")

    @admin.display(description="learners", ordering="learner_count")
    def learner_count(self, cohort: WithAnnotations[Cohort, CohortCounts]) -> int:
        return cohort.learner_count

    @admin.display(description="mentors", ordering="mentor_count")
    def mentor_count(self, cohort: WithAnnotations[Cohort, CohortCounts]) -> int:
        return cohort.mentor_count

    # Actions with an intermediate page. They are offered on the list and on a cohort's
    # own page; the page posts back with "apply" and the same action and selection.

    @admin.action(description="Release a module or the program on a schedule…", location=BOTH_PAGES)
    def release_schedule_action(
        self, request: HttpRequest, queryset: QuerySet[Cohort]
    ) -> HttpResponseBase | None:
        """The schedule generator: fill the pace, preview every release, then apply."""
        cohorts = list(with_release_counts(queryset.select_related("program"))[:2])
        if len(cohorts) != 1:
            self.message_user(
                request, "Select exactly one cohort to release a schedule to.", messages.WARNING
            )
            return None
        cohort = cohorts[0]
        now = timezone.now()
        plan: SchedulePlan | None = None
        with timezone.override(cohort.tz):
            if "apply" not in request.POST:
                form = ScheduleForm(cohort=cohort, initial={"start": suggested_start(cohort)})
            else:
                form = ScheduleForm(request.POST, cohort=cohort)
                if form.is_valid():
                    module, spec = form.cleaned_data["module"], form.spec()
                    # "Release" applies only the inputs of the preview on screen; inputs
                    # changed since are previewed first.
                    seen = request.POST.get("previewed") == form.fingerprint()
                    try:
                        if "confirm" in request.POST and seen:
                            plan = schedule_apply(cohort=cohort, module=module, spec=spec, now=now)
                        else:
                            plan = schedule_plan(cohort=cohort, module=module, spec=spec, now=now)
                    except ValidationError as error:
                        add_service_errors(form, error)
                        plan = None
                    else:
                        if "confirm" in request.POST and seen:
                            return self.schedule_applied(request, cohort, module, plan)
            return self.action_page(
                request,
                action=self.release_schedule_action,
                cohorts=cohorts,
                form=form,
                title=f"Release a schedule to {cohort}",
                submit="Preview" if plan is None else "Preview again",
                plan=plan,
            )

    def schedule_applied(
        self, request: HttpRequest, cohort: Cohort, module: Module | None, plan: SchedulePlan
    ) -> HttpResponseRedirect:
        """Say what the generator did, on the cohort's schedule, where its releases show."""
        scope = f"“{module}”" if module else f"all of {cohort.program}"
        added, updated = plan.count(Change.ADDED), plan.count(Change.UPDATED)
        kept = plan.count(Change.KEPT) + plan.count(Change.UNCHANGED)
        summary = f"{added} added, {updated} updated, {kept} kept"
        self.log_change(request, cohort, f"Released {scope} on a schedule: {summary}.")
        self.message_user(request, f"Released {scope} to {cohort}: {summary}.", messages.SUCCESS)
        return HttpResponseRedirect(cohort.get_absolute_url())

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
                        # Logged as the release it is (its own content type), from the
                        # cohort's page: the stubs expect this admin's model only.
                        self.log_addition(request, release, [{"added": {}}])  # type: ignore[arg-type]
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
                            len(shift_cohort_deadlines(cohort=cohort, now=now, **form.cleaned_data))
                            for cohort in cohorts
                        )
                except ValidationError as error:
                    add_service_errors(form, error)
                else:
                    days = form.cleaned_data["days"]
                    for cohort in cohorts:
                        self.log_change(request, cohort, f"Shifted deadlines by {days:+d} days.")
                    direction = "later" if days > 0 else "earlier"
                    what = "" if form.cleaned_data["move_openings"] else "the deadlines of "
                    self.message_user(
                        request,
                        f"Moved {what}{moved} release{'s' if moved != 1 else ''} of "
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
        form: ReleaseProjectForm | ShiftDeadlinesForm | ScheduleForm,
        title: str,
        submit: str,
        plan: SchedulePlan | None = None,
    ) -> TemplateResponse:
        """The intermediate page of an action: its form, posting back to the same URL (and
        for the schedule generator, the preview of its plan)."""
        on_change_page = CHANGE_FORM_ACTION_FIELD in request.POST
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "cohorts": cohorts,
            "form": form,
            # AdminForm lays out any form; its stubs ask for a ModelForm and plain fieldsets.
            "adminform": helpers.AdminForm(form, form.fieldsets, {}),  # type: ignore[arg-type]
            "media": self.media + form.media,
            "action_field": CHANGE_FORM_ACTION_FIELD if on_change_page else "action",
            "action_name": action.__name__,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": submit,
            "plan": plan and schedule_preview(plan),
            "previewed": plan and isinstance(form, ScheduleForm) and form.fingerprint(),
        }
        response = TemplateResponse(request, "admin/core/cohort/action_form.html", context)
        response.render()
        return response


def refuse_out_of_calendar(form: forms.BaseForm, *names: str) -> None:
    """Field errors for dates outside the calendar's years (year 1 would crash the save)."""
    try:
        check_calendar_dates(**{name: form.cleaned_data.get(name) for name in names})
    except ValidationError as error:
        add_service_errors(form, error)


class ProjectReleaseAdminForm(forms.ModelForm[ProjectRelease]):
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
        super().clean()
        cleaned = self.cleaned_data
        cohort, project = cleaned.get("cohort"), cleaned.get("project")
        if cohort and project and project.module.program_id != cohort.program_id:
            self.add_error("project", f"“{project}” is not part of {cohort.program}.")
        refuse_out_of_calendar(self, "opens_at", "first_deadline", "second_deadline")
        return cleaned


class ExtensionAdminForm(forms.ModelForm[Extension]):
    class Meta:
        model = Extension
        fields = ["release", "learner", "first_deadline", "second_deadline", "reason"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
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


class ExtensionInline(
    LabelledRowsMixin, CohortZoneFieldsMixin, admin.TabularInline[Extension, ProjectRelease]
):
    model = Extension
    form = ExtensionAdminForm
    fields = ["learner", "first_deadline", "second_deadline", "reason", "granted_by", "created_at"]
    readonly_fields = ["granted_by", "created_at"]
    autocomplete_fields = ["learner"]
    extra = 0


class ExtensionCount(TypedDict):
    extension_count: int


@admin.register(ProjectRelease)
class ProjectReleaseAdmin(ReleaseDateColumns, CohortZoneAdmin[ProjectRelease]):
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
    # The extension form's release picker searches here too: by project or cohort.
    search_fields = ["project__title", "project__slug", "cohort__name"]
    # As the model's, for the same reason as CohortAdmin's.
    ordering = ["cohort", "opens_at", "project__module__order", "project__order", "pk"]
    autocomplete_fields = ["cohort", "project"]
    fieldsets = [
        (None, {"fields": ["cohort", "project"]}),
        ("Dates", {"fields": ["opens_at", "first_deadline", "second_deadline"]}),
        MULTIPLIERS_FIELDSET,
    ]
    inlines = [ExtensionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProjectRelease]:
        # select_related also serves the autocomplete, which prints "project · cohort".
        releases: QuerySet[ProjectRelease] = super().get_queryset(request)
        return releases.select_related("project", "cohort").annotate(
            extension_count=Count("extensions")
        )

    def cohort_zone(self, request: HttpRequest, object_id: str | None) -> zoneinfo.ZoneInfo | None:
        if object_id is not None:
            release_id = pk_or_none(object_id)
            if release_id is None:
                return None
            releases = ProjectRelease.objects.filter(pk=release_id)
            return zone_of(releases, "cohort__time_zone")
        cohort_id = pk_or_none(request.POST.get("cohort") or request.GET.get("cohort"))
        if cohort_id is None:
            return None
        return zone_of(Cohort.objects.filter(pk=cohort_id), "time_zone")

    def save_model(
        self, request: HttpRequest, obj: ProjectRelease, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            announce_release(obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        saved = formset.save(commit=False)
        new_dates = {
            extension.pk
            for extension, fields in formset.changed_objects
            if EXTENSION_DATES & set(fields)
        }
        for extension in saved:
            granted = extension.pk is None
            if extension.granted_by_id is None:
                extension.granted_by = request.user
            extension.save()
            if granted:
                announce_extension(extension, ExtensionChange.GRANTED)
            elif extension.pk in new_dates:
                announce_extension(extension, ExtensionChange.CHANGED)
        for extension in formset.deleted_objects:
            extension.delete()
            announce_extension(extension, ExtensionChange.WITHDRAWN)
        formset.save_m2m()

    @admin.display(description="extensions", ordering="extension_count")
    def extension_count(self, release: WithAnnotations[ProjectRelease, ExtensionCount]) -> int:
        return release.extension_count


@admin.register(Extension)
class ExtensionAdmin(CohortZoneAdmin[Extension]):
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
    search_fields = [
        "learner__email",
        "learner__display_name",
        "release__project__title",
        "release__cohort__name",
    ]
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
            extension_id = pk_or_none(object_id)
            if extension_id is None:
                return None
            extensions = Extension.objects.filter(pk=extension_id)
            return zone_of(extensions, "release__cohort__time_zone")
        release_id = pk_or_none(request.POST.get("release") or request.GET.get("release"))
        if release_id is None:
            return None
        return zone_of(ProjectRelease.objects.filter(pk=release_id), "cohort__time_zone")

    def save_model(self, request: HttpRequest, obj: Extension, form: Any, change: bool) -> None:
        if obj.granted_by_id is None:
            assert request.user.is_authenticated  # the admin serves signed-in staff only
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)
        # The learner hears of new deadlines (a new reason alone changes none).
        if not change:
            announce_extension(obj, ExtensionChange.GRANTED)
        elif EXTENSION_DATES & set(form.changed_data):
            announce_extension(obj, ExtensionChange.CHANGED)

    def delete_model(self, request: HttpRequest, obj: Extension) -> None:
        super().delete_model(request, obj)
        announce_extension(obj, ExtensionChange.WITHDRAWN)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Extension]) -> None:
        withdrawn = list(queryset.select_related("release__project", "release__cohort"))
        super().delete_queryset(request, queryset)
        for extension in withdrawn:
            announce_extension(extension, ExtensionChange.WITHDRAWN)

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
class MembershipAdmin(admin.ModelAdmin[Membership]):
    """Who holds which role in which cohort."""

    list_display = ["user", "user__email", "cohort", "role", "password_chosen", "created_at"]
    list_filter = ["role", "cohort"]
    list_select_related = ["user", "cohort"]
    search_fields = ["user__email", "user__display_name", "cohort__name"]
    autocomplete_fields = ["user", "cohort"]
    fields = ["user", "cohort", "role"]
    actions = ["resend_invitations"]

    @admin.display(boolean=True, description="password")
    def password_chosen(self, membership: Membership) -> bool:
        """False for someone enrolled by CSV who has not used their invitation yet."""
        return membership.user.has_usable_password()

    @admin.action(description="Send the invitation again to those who have no password yet")
    def resend_invitations(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        assert request.user.is_authenticated  # the admin serves signed-in staff only
        sent, skipped = invitations_resend(
            memberships=queryset.select_related("user", "cohort"), actor=request.user
        )
        message = f"Sent {sent} invitation{'s' if sent != 1 else ''} again."
        if skipped:
            message += f" Skipped {skipped}: a password already chosen, or deactivated."
        self.message_user(request, message, messages.SUCCESS if sent else messages.WARNING)

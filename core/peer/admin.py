"""Admin of peer review: assignments (read-mostly), ratings (read-only), abuse reports."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from core.models import PeerAssignment, ReviewRating, ReviewReport
from core.peer.models import PeerAssignmentQuerySet

REVIEW_PATH = (
    "review__reviewer",
    "review__iteration__attempt__learner",
    "review__iteration__attempt__release__project",
)


class AssignmentStateFilter(admin.SimpleListFilter):
    """Live, expired (not yet noticed), completed or released."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("live", "Live"),
            ("expired", "Expired"),
            ("completed", "Completed"),
            ("released", "Released"),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[PeerAssignment]
    ) -> QuerySet[PeerAssignment]:
        now = timezone.now()
        value = self.value()
        # The admin filters the queryset of PeerAssignment.objects.
        assignments = cast(PeerAssignmentQuerySet, queryset)
        if value == "live":
            return assignments.live(now)
        if value == "expired":
            return assignments.open().filter(expires_at__lte=now)
        if value == "completed":
            return queryset.filter(completed_at__isnull=False)
        if value == "released":
            return queryset.filter(completed_at__isnull=True, released_at__isnull=False)
        return queryset


@admin.register(PeerAssignment)
class PeerAssignmentAdmin(admin.ModelAdmin[PeerAssignment]):
    """Who was given which iteration to peer-review; staff may only hand one back."""

    list_display = ["reviewer", "learner", "project", "assigned_at", "expires_at", "state"]
    list_filter = [AssignmentStateFilter, "project__module"]
    list_select_related = [
        "reviewer",
        "project",
        "iteration__attempt__learner",
        "iteration__attempt__release__project",
    ]
    search_fields = [
        "reviewer__email",
        "reviewer__display_name",
        "iteration__attempt__learner__email",
        "project__title",
    ]
    date_hierarchy = "assigned_at"
    fields = [
        "iteration",
        "project",
        "reviewer",
        ("assigned_at", "expires_at"),
        ("completed_at", "released_at"),
    ]
    readonly_fields = [
        "iteration",
        "project",
        "reviewer",
        "assigned_at",
        "expires_at",
        "completed_at",
        "released_at",
    ]
    actions = ["release_assignments"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # assignments are made by "Get next review", never by hand

    def has_delete_permission(
        self, request: HttpRequest, obj: PeerAssignment | None = None
    ) -> bool:
        return False  # history: release instead

    @admin.display(description="learner", ordering="iteration__attempt__learner__email")
    def learner(self, assignment: PeerAssignment) -> str:
        return assignment.iteration.attempt.learner.name

    @admin.display(description="state")
    def state(self, assignment: PeerAssignment) -> str:
        if assignment.completed_at:
            return "Completed"
        if assignment.released_at:
            return "Released"
        return "Live" if assignment.is_live() else "Expired"

    @admin.action(description="Release the selected assignments (back to the pool)")
    def release_assignments(self, request: HttpRequest, queryset: PeerAssignmentQuerySet) -> None:
        released = queryset.open().update(released_at=timezone.now())
        self.message_user(
            request,
            f"Released {released} assignment{'' if released == 1 else 's'}; "
            "the iterations are offered to other reviewers again.",
            messages.SUCCESS,
        )


class ReadOnlyAdmin(admin.ModelAdmin[ReviewRating]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReviewRating | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReviewRating | None = None) -> bool:
        return False


@admin.register(ReviewRating)
class ReviewRatingAdmin(ReadOnlyAdmin):
    """Learners' helpful / not helpful verdicts on the peer reviews they received."""

    list_display = ["review", "reviewer", "rated_by", "helpful", "created_at"]
    list_filter = ["helpful"]
    list_select_related = ["rated_by", *REVIEW_PATH]
    search_fields = ["review__reviewer__email", "rated_by__email"]
    date_hierarchy = "created_at"

    @admin.display(description="reviewer", ordering="review__reviewer__email")
    def reviewer(self, rating: ReviewRating) -> str:
        return rating.review.reviewer.name


class ReportStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ReviewReport]
    ) -> QuerySet[ReviewReport]:
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(ReviewReport)
class ReviewReportAdmin(admin.ModelAdmin[ReviewReport]):
    """Reports of abusive peer reviews: read the review, write a resolution, resolve."""

    list_display = ["review", "reviewer", "reporter", "short_reason", "created", "resolved"]
    list_filter = [ReportStatusFilter, "created_at"]
    list_select_related = ["reporter", *REVIEW_PATH]
    search_fields = ["review__reviewer__email", "reporter__email", "reason"]
    date_hierarchy = "created_at"
    fields = [
        "review_link",
        "reviewer",
        "review_feedback",
        "reporter",
        "reason",
        "created_at",
        "resolution",
        "resolved_at",
    ]
    readonly_fields = [
        "review_link",
        "reviewer",
        "review_feedback",
        "reporter",
        "reason",
        "created_at",
        "resolved_at",
    ]
    actions = ["mark_resolved"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # learners report from the attempt page

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewReport]:
        return super().get_queryset(request).select_related("reporter", *REVIEW_PATH)

    def save_model(self, request: HttpRequest, obj: ReviewReport, form: Any, change: bool) -> None:
        if obj.resolution.strip() and obj.resolved_at is None:
            obj.resolved_at = timezone.now()  # writing a resolution resolves the report
        super().save_model(request, obj, form, change)

    @admin.display(description="review")
    def review_link(self, report: ReviewReport) -> str:
        url = reverse("attempt_detail", args=[report.review.iteration.attempt_id])
        return format_html('<a href="{}">{}</a>', url, report.review)

    @admin.display(description="reviewer", ordering="review__reviewer__email")
    def reviewer(self, report: ReviewReport) -> str:
        return f"{report.review.reviewer.name} ({report.review.reviewer.email})"

    @admin.display(description="the review's feedback")
    def review_feedback(self, report: ReviewReport) -> str:
        return report.review.feedback or "(no overall feedback)"

    @admin.display(description="reason")
    def short_reason(self, report: ReviewReport) -> str:
        return Truncator(report.reason).words(10)

    @admin.display(description="created", ordering="created_at")
    def created(self, report: ReviewReport) -> Any:
        return report.created_at

    @admin.display(description="resolved", boolean=True, ordering="resolved_at")
    def resolved(self, report: ReviewReport) -> bool:
        return report.resolved_at is not None

    @admin.action(description="Mark the selected reports resolved")
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[ReviewReport]) -> None:
        open_reports = queryset.filter(resolved_at__isnull=True)
        now = timezone.now()
        resolved = open_reports.filter(~Q(resolution="")).update(resolved_at=now)
        resolved += open_reports.filter(resolution="").update(
            resolved_at=now, resolution=f"Marked resolved by {request.user}."
        )
        self.message_user(
            request,
            f"Resolved {resolved} report{'' if resolved == 1 else 's'}.",
            messages.SUCCESS,
        )

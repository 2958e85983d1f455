"""URLs of the ProDev Hub application."""

from __future__ import annotations

from django.urls import path

from core.views import (
    attempts,
    calendar,
    cohorts,
    curriculum,
    health,
    notifications,
    pages,
    previews,
    review,
    settings,
    submissions,
)

urlpatterns = [
    path("", pages.landing, name="landing"),
    path("dashboard/", pages.home, name="home"),
    path("curriculum/", curriculum.curriculum, name="curriculum"),
    path("projects/<slug:slug>/", curriculum.project_detail, name="project_detail"),
    path("settings/", settings.account_settings, name="account_settings"),
    path("settings/calendar/reset/", settings.calendar_reset, name="calendar_reset"),
    path("calendar/<slug:token>.ics", calendar.calendar_feed, name="calendar_feed"),
    path("cohorts/<slug:slug>/schedule/", cohorts.cohort_schedule, name="cohort_schedule"),
    path("preview/markdown/", previews.markdown_preview, name="markdown_preview"),
    path("notifications/", notifications.notifications, name="notifications"),
    path("notifications/bell/", notifications.notifications_bell, name="notifications_bell"),
    path("notifications/<int:pk>/read/", notifications.notification_read, name="notification_read"),
    path(
        "notifications/read-all/",
        notifications.notifications_read_all,
        name="notifications_read_all",
    ),
    path(
        "settings/notifications/",
        notifications.notification_settings,
        name="notification_settings",
    ),
    path("review/", review.review_queue, name="review_queue"),
    path("review/claim-next/", review.review_claim_next, name="review_claim_next"),
    path("review/<int:pk>/", review.review_detail, name="review_detail"),
    path("review/<int:pk>/claim/", review.review_claim, name="review_claim"),
    path("review/<int:pk>/extend/", review.review_extend, name="review_extend"),
    path("review/<int:pk>/release/", review.review_release, name="review_release"),
    path("projects/<slug:slug>/submit/", submissions.project_submit, name="project_submit"),
    path(
        "projects/<slug:slug>/submit/validate/",
        submissions.project_submit_validate,
        name="project_submit_validate",
    ),
    path("attachments/<int:pk>/", submissions.attachment_download, name="attachment_download"),
    path("attempts/<int:pk>/", attempts.attempt_detail, name="attempt_detail"),
    path("attempts/<int:pk>/comments/", attempts.attempt_comments, name="attempt_comments"),
    path("healthz", health.healthz, name="healthz"),
]

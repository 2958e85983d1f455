"""URLs of the ProDev Hub application."""

from __future__ import annotations

from django.urls import path

from core.accounts import views as accounts
from core.checks import views as checks
from core.cohorts import enrolment_views as enrolment
from core.cohorts import views as cohorts
from core.curriculum import views as curriculum
from core.disputes import views as disputes
from core.notifications import views as notifications
from core.peer import views as peer
from core.platform import views as platform
from core.reporting.views import home, progress, staff, staff_reviews
from core.reviews.views import attempts, overrides, review, submissions, whatif

urlpatterns = [
    path("", home.landing, name="landing"),
    path("dashboard/", home.home, name="home"),
    path("curriculum/", curriculum.curriculum, name="curriculum"),
    path("projects/<slug:slug>/", curriculum.project_detail, name="project_detail"),
    path("settings/", accounts.account_settings, name="account_settings"),
    path("settings/calendar/reset/", accounts.calendar_reset, name="calendar_reset"),
    path(
        "invitations/<str:uidb64>/<str:token>/",
        accounts.invitation_accept,
        name="invitation_accept",
    ),
    path("calendar/<slug:token>.ics", cohorts.calendar_feed, name="calendar_feed"),
    path("join/", cohorts.join, name="join"),
    path("join/<str:code>/", cohorts.join_link, name="join_link"),
    path("cohorts/<slug:slug>/schedule/", cohorts.cohort_schedule, name="cohort_schedule"),
    path("cohorts/<slug:slug>/progress/", progress.cohort_progress, name="cohort_progress"),
    path("preview/markdown/", platform.markdown_preview, name="markdown_preview"),
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
    path("review/<int:pk>/draft/", review.review_draft, name="review_draft"),
    path("review/<int:pk>/checks/", review.review_checks, name="review_checks"),
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
    path("attempts/<int:pk>/adjust/", overrides.attempt_adjust, name="attempt_adjust"),
    path("attempts/<int:pk>/what-if/", whatif.attempt_whatif_view, name="attempt_whatif"),
    path("attempts/<int:pk>/dispute/", disputes.dispute_new, name="dispute_new"),
    path("disputes/<int:pk>/", disputes.dispute_detail, name="dispute_detail"),
    path("disputes/<int:pk>/claim/", disputes.dispute_claim_view, name="dispute_claim"),
    path("disputes/<int:pk>/resolve/", disputes.dispute_resolve_view, name="dispute_resolve"),
    path("peer-review/", peer.peer_dashboard, name="peer_dashboard"),
    path("peer-review/next/", peer.peer_get_next, name="peer_next"),
    path("peer-review/<int:pk>/", peer.peer_review, name="peer_review"),
    path("reviews/<int:pk>/rate/", peer.review_rate, name="review_rate"),
    path("reviews/<int:pk>/report/", peer.review_report, name="review_report"),
    path("projects/<slug:slug>/checks/", checks.project_checks, name="project_checks"),
    path("checks/<int:pk>/", checks.check_run, name="check_run"),
    path("staff/checks/", checks.staff_checks, name="staff_checks"),
    path("healthz", platform.healthz, name="healthz"),
    path("staff/sla/", staff_reviews.staff_sla, name="staff_sla"),
    path("staff/reviewers/", staff_reviews.staff_reviewers, name="staff_reviewers"),
    path("staff/cohorts/", staff.staff_cohorts, name="staff_cohorts"),
    path("staff/cohorts/<slug:slug>/", staff.staff_cohort_health, name="staff_cohort_health"),
    path("staff/cohorts/<slug:slug>/enrol/", enrolment.cohort_enrol_upload, name="cohort_enrol"),
    path(
        "staff/cohorts/<slug:slug>/enrol/apply/",
        enrolment.cohort_enrol_apply,
        name="cohort_enrol_apply",
    ),
    path("staff/cohorts/<slug:slug>/export/", staff.staff_export_start, name="staff_export_start"),
    path("staff/exports/<int:pk>/", staff.staff_export_status, name="staff_export_status"),
    path(
        "staff/exports/<int:pk>/download/",
        staff.staff_export_download,
        name="staff_export_download",
    ),
]

"""URLs of the ProDev Hub application."""

from __future__ import annotations

from django.urls import path

from core.views import calendar, cohorts, curriculum, health, pages, settings

urlpatterns = [
    path("", pages.landing, name="landing"),
    path("dashboard/", pages.home, name="home"),
    path("curriculum/", curriculum.curriculum, name="curriculum"),
    path("projects/<slug:slug>/", curriculum.project_detail, name="project_detail"),
    path("settings/", settings.account_settings, name="account_settings"),
    path("settings/calendar/reset/", settings.calendar_reset, name="calendar_reset"),
    path("calendar/<slug:token>.ics", calendar.calendar_feed, name="calendar_feed"),
    path("cohorts/<slug:slug>/schedule/", cohorts.cohort_schedule, name="cohort_schedule"),
    path("healthz", health.healthz, name="healthz"),
]

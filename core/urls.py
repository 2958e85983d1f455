"""URLs of the ProDev Hub application."""

from __future__ import annotations

from django.urls import path

from core.views import health, pages

urlpatterns = [
    path("", pages.landing, name="landing"),
    path("dashboard/", pages.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
]

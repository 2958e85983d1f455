"""The ProDev Hub application."""

from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Registers signal receivers once the models are ready, and lets allauth's rate limits
    through while the cache is down (core.ratelimit.FailOpenCache)."""

    name = "core"
    verbose_name = "ProDev Hub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import receivers  # noqa: F401
        from core.ratelimit import allauth_fails_open

        allauth_fails_open()

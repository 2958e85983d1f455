"""The ProDev Hub application."""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    """Registers signal receivers once the models are ready, and lets allauth's rate limits
    through while the cache is down (core.platform.ratelimit.FailOpenCache)."""

    name = "core"
    verbose_name = "ProDev Hub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.accounts import receivers as _accounts  # noqa: F401
        from core.checks import receivers as _checks  # noqa: F401
        from core.cohorts import receivers as _cohorts  # noqa: F401
        from core.curriculum import receivers as _curriculum  # noqa: F401
        from core.disputes import receivers as _disputes  # noqa: F401
        from core.notifications import receivers as _notifications  # noqa: F401
        from core.platform import receivers as _platform  # noqa: F401
        from core.platform.ratelimit import allauth_fails_open
        from core.reporting import receivers as _reporting  # noqa: F401
        from core.reviews import receivers as _reviews  # noqa: F401

        allauth_fails_open()


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin on our site, whose every page refuses tampered ids
    (core.platform.admin_site). Named in INSTALLED_APPS in place of django.contrib.admin."""

    default = False  # "core" stays CoreConfig
    default_site = "core.platform.admin_site.AdminSite"

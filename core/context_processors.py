"""Values every template may use."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """The site's name and whether it runs in development mode."""
    return {"SITE_NAME": "ProDev Hub", "DEBUG_MODE": settings.DEBUG}

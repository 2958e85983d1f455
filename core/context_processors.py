"""Values every template may use."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from core.models import Membership


def site(request: HttpRequest) -> dict[str, object]:
    """The site's name, development mode, and the user's memberships (one lazy query)."""

    def memberships() -> list[Membership]:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        return list(Membership.objects.filter(user=user).select_related("cohort"))

    return {
        "SITE_NAME": "ProDev Hub",
        "DEBUG_MODE": settings.DEBUG,
        "nav_memberships": SimpleLazyObject(memberships),
    }

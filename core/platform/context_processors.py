"""Values every template may use."""

from __future__ import annotations

import functools
from typing import NamedTuple

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils.functional import SimpleLazyObject

from core.models import Membership


class NavMembership(NamedTuple):
    """What the navbar needs of a membership: its role (core/platform/_nav_items.html)."""

    role: str


@functools.cache
def _roles_sql() -> str:
    """``SELECT role FROM core_membership WHERE user_id = %s``, named from the model."""
    quote = connection.ops.quote_name
    meta = Membership._meta
    role, user = meta.get_field("role").column, meta.get_field("user").column
    assert role is not None and user is not None  # both are columns of the table
    return f"SELECT {quote(role)} FROM {quote(meta.db_table)} WHERE {quote(user)} = %s"


def nav_memberships(user_id: int) -> list[NavMembership]:
    """The user's roles, one entry per role held (one query on the user_id index).

    Every signed-in page pays for this, so it is the cheapest query that answers:
    one column, no join, no ordering, and SQL built once per process (building
    ``Membership.objects.filter(...).values_list(...)`` costs more than running it).
    Not cached: a new membership shows in the nav on the next request.
    """
    with connection.cursor() as cursor:
        cursor.execute(_roles_sql(), [user_id])
        roles = {role for (role,) in cursor.fetchall()}
    return [NavMembership(role) for role in sorted(roles)]


# The stylesheets, scripts and images of templates/base.html, by the name it uses.
LAYOUT_ASSETS = {
    "favicon": "img/favicon.svg",
    "logo": "img/logo.svg",
    "bootstrap_css": "vendor/bootstrap/bootstrap.min.css",
    "bootstrap_icons_css": "vendor/bootstrap-icons/bootstrap-icons.min.css",
    "pygments_css": "css/pygments.css",
    "app_css": "css/app.css",
    "bootstrap_js": "vendor/bootstrap/bootstrap.bundle.min.js",
    "app_js": "js/app.js",
    "markdown_editor_js": "js/markdown-editor.js",
}


@functools.cache
def layout_assets() -> dict[str, str]:
    """The URLs of LAYOUT_ASSETS, looked up in the static files manifest once per process.

    ``{% static %}`` looks each one up again on every page (tens of µs apiece); the
    manifest does not change while the process runs.
    """
    return {name: static(path) for name, path in LAYOUT_ASSETS.items()}


# The pages templates/base.html links to (the navbar, its menus, the footer), by the name
# it uses, and the bell's (core/notifications/_notifications_bell.html).
LAYOUT_URLS = {
    "home": "home",
    "landing": "landing",
    "curriculum": "curriculum",
    "review_queue": "review_queue",
    "peer_dashboard": "peer_dashboard",
    "staff_cohorts": "staff_cohorts",
    "staff_sla": "staff_sla",
    "admin": "admin:index",
    "notifications": "notifications",
    "notifications_bell": "notifications_bell",
    "account_settings": "account_settings",
    "account_email": "account_email",
    "account_change_password": "account_change_password",
    "account_logout": "account_logout",
    "account_login": "account_login",
    "account_signup": "account_signup",
}


def layout_urls() -> dict[str, str]:
    """The URLs of LAYOUT_URLS, reversed once per process (and script prefix).

    ``{% url %}`` reversed each again on every page: the layout's dozen links were a
    twentieth of a cached page's work. They take no arguments, so only the URLconf and
    the prefix the site is served under change them.
    """
    return _layout_urls(get_script_prefix())


@functools.cache
def _layout_urls(prefix: str) -> dict[str, str]:
    return {key: reverse(name) for key, name in LAYOUT_URLS.items()}  # under ``prefix``


@receiver(setting_changed, dispatch_uid="core.platform.context_processors.static_changed")
def _static_changed(*, setting: str, **kwargs: object) -> None:
    if setting in ("STATIC_URL", "STORAGES", "FORCE_SCRIPT_NAME"):
        layout_assets.cache_clear()
    if setting in ("ROOT_URLCONF", "FORCE_SCRIPT_NAME"):
        _layout_urls.cache_clear()


def site(request: HttpRequest) -> dict[str, object]:
    """The site's name, development mode, the user's roles for the nav (one lazy query)
    and the layout's static file URLs and links.

    ``nav_memberships`` holds items with a ``role``; a view that loaded the user's
    Membership rows anyway passes them as ``nav_memberships`` to save the query.
    """

    def memberships() -> list[NavMembership]:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        return nav_memberships(user.pk)

    return {
        "SITE_NAME": "ProDev Hub",
        "DEBUG_MODE": settings.DEBUG,
        "nav_memberships": SimpleLazyObject(memberships),
        "layout_assets": layout_assets(),
        "layout_urls": layout_urls(),
    }

"""Top-level URL configuration."""

from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

# The admin signs in through allauth so allauth's rate limits protect it.
admin.site.login = secure_admin_login(  # type: ignore[method-assign]  # allauth's recipe
    admin.site.login
)
admin.site.site_header = "ProDev Hub administration"
admin.site.site_title = "ProDev Hub admin"

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("core.urls")),
]

if settings.DEBUG_TOOLBAR:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()

handler400 = "core.platform.views.bad_request"
handler403 = "core.platform.views.permission_denied"
handler404 = "core.platform.views.page_not_found"
handler500 = "core.platform.views.server_error"

"""Error pages in the site's layout."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


def _render(request: HttpRequest, template: str, status: int) -> HttpResponse:
    return HttpResponse(render_to_string(template, request=request), status=status)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403: the user may not do this."""
    return _render(request, "403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: nothing here, or nothing this user may see."""
    return _render(request, "404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: rendered without the request context so a broken context cannot loop."""
    return HttpResponse(render_to_string("500.html"), status=500)

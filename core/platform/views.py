"""Pages every domain shares: the health check, error pages and the Markdown preview."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from core.checks.sandbox import sandbox_available
from core.platform.access import AuthedRequest, Request
from core.platform.ratelimit import ratelimit

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row: object = cursor.fetchone()
            return row == (1,)
    except Exception:
        logger.exception("Health check: database unreachable")
        return False


def _cache_ok() -> bool:
    try:
        key = f"healthz:{uuid.uuid4().hex}"
        cache.set(key, "1", timeout=5)
        value: object = cache.get(key)
        ok = value == "1"
        cache.delete(key)
        return ok
    except Exception:
        logger.exception("Health check: cache unreachable")
        return False


@require_safe
@never_cache
def healthz(request: Request) -> JsonResponse:
    """200 when the database and the cache both answer, 503 otherwise.

    It also says whether learner code can run here (``automated_checks``), which does not
    make the web process unhealthy: workers run checks. Staff see the reason.
    """
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable"} | {
        name: "ok" if ok else "unavailable" for name, ok in checks.items()
    }
    sandbox_ok, reason = sandbox_available()
    body["automated_checks"] = "ok" if sandbox_ok else "unavailable"
    if not sandbox_ok and getattr(request.user, "is_staff", False):
        body["automated_checks_detail"] = reason
    return JsonResponse(body, status=200 if healthy else 503)


def _render(request: HttpRequest, template: str, status: int) -> HttpResponse:
    return HttpResponse(render_to_string(template, request=request), status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400: a request we cannot read (a form body that is not UTF-8, a malformed upload…).

    Rendered from nothing of the request: Django's own handler checks the CSRF token,
    which reads the unreadable body again and turned every such 400 into a 500.
    """
    return HttpResponseBadRequest(render_to_string("400.html"))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403: the user may not do this."""
    return _render(request, "403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: nothing here, or nothing this user may see."""
    return _render(request, "404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: rendered without the request context so a broken context cannot loop."""
    return HttpResponse(render_to_string("500.html"), status=500)


@require_POST
@login_required
@ratelimit("markdown_preview")
def markdown_preview(request: AuthedRequest) -> HttpResponse:
    """Render the posted field's Markdown with the same sanitizer the pages use.

    Past the forms' limit (the same setting) only the beginning is rendered, and the
    preview says the form will refuse the text.
    """
    field = request.POST.get("field", "")
    source = request.POST.get(field, "") if field and field != "csrfmiddlewaretoken" else ""
    limit = settings.MARKDOWN_MAX_CHARS
    context = {
        "source": source[:limit],
        "too_long": len(source) > limit,
        "length": len(source),
        "limit": limit,
    }
    return render(request, "core/platform/_markdown_preview.html", context)

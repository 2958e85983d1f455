"""Markdown preview for every Markdown field (notes, feedback, comments)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

# Larger than any Markdown field we accept; the preview refuses anything bigger.
MAX_PREVIEW_CHARS = 50_000


@require_POST
@login_required
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """Render the posted field's Markdown with the same sanitizer the pages use."""
    field = request.POST.get("field", "")
    source = request.POST.get(field, "") if field and field != "csrfmiddlewaretoken" else ""
    return render(
        request,
        "core/_markdown_preview.html",
        {"source": source[:MAX_PREVIEW_CHARS], "too_long": len(source) > MAX_PREVIEW_CHARS},
    )

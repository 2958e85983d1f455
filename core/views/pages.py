"""The landing page for visitors and the signed-in home page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """What ProDev Hub is, for visitors; signed-in users go to their home page."""
    if request.user.is_authenticated:
        return redirect("home")
    return render(request, "core/landing.html")


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in user's starting point."""
    return render(request, "core/home.html")

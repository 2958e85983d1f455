"""The signed-in user's settings: their name and their private calendar link."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.forms import ProfileForm
from core.models import User

logger = logging.getLogger(__name__)

GOOGLE_SUBSCRIBE_URL = "https://calendar.google.com/calendar/render?cid="


def calendar_links(user: User) -> dict[str, str]:
    """The feed's https URL, its webcal:// twin (Apple Calendar) and Google's subscribe link."""
    feed = settings.SITE_URL.rstrip("/") + reverse("calendar_feed", args=[user.calendar_token])
    webcal = urlunsplit(urlsplit(feed)._replace(scheme="webcal"))
    return {
        "calendar_url": feed,
        "webcal_url": webcal,
        "google_calendar_url": GOOGLE_SUBSCRIBE_URL + quote(webcal, safe=""),
    }


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    """Edit the display name; find, copy or reset the private calendar link."""
    user = request.user
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your name was saved.")
        return redirect("account_settings")
    context = {
        "form": form,
        "is_learner": user.memberships.learners().exists(),
        **calendar_links(user),
    }
    return render(request, "core/settings.html", context)


@require_POST
@login_required
def calendar_reset(request: HttpRequest) -> HttpResponse:
    """Give the calendar feed a new secret URL; the old one stops working at once."""
    request.user.reset_calendar_token()
    logger.info("Calendar link reset by user %s", request.user.pk)
    messages.success(
        request,
        "Your calendar link was reset. The old link stopped working: "
        "subscribe again with the new link below.",
    )
    # No #calendar anchor: it would scroll the success message out of sight.
    return redirect("account_settings")

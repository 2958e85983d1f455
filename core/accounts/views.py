"""The signed-in user's settings (their name and private calendar link), and the page where
an invited person chooses their password."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from core.accounts.forms import ProfileForm
from core.accounts.invitations import invitation_accept as invitation_accept_service
from core.accounts.invitations import invited_user
from core.models import User
from core.platform.access import AuthedRequest, Request
from core.platform.ratelimit import ratelimit

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
def account_settings(request: AuthedRequest) -> HttpResponse:
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
    return render(request, "core/accounts/settings.html", context)


@require_POST
@login_required
def calendar_reset(request: AuthedRequest) -> HttpResponse:
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


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@ratelimit("invitations")
def invitation_accept(request: Request, uidb64: str, token: str) -> HttpResponse:
    """An invited person chooses their password, is signed in and lands on their dashboard.

    A bad, expired or used link answers 404 with a page that says so and what to do.
    """
    invited = invited_user(uidb64, token)
    if invited is None:
        response = render(request, "core/accounts/invitation_invalid.html", status=404)
    else:
        form = SetPasswordForm(invited, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            user = invitation_accept_service(user=invited, form=form)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to ProDev Hub, {user.name}: your password is set.")
            return redirect("home")
        context = {"form": form, "invited": invited}
        response = render(request, "core/accounts/invitation_accept.html", context)
    # The URL is a secret: keep it out of search engines (the site's Referrer-Policy,
    # same-origin, already keeps it from other sites).
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response

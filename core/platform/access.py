"""Who may open what, where no object decides it, and the request types views are given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404, HttpRequest
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from core.accounts.models import User


class Request(HttpRequest):
    """Any request here: django-htmx's middleware gives every one ``htmx``."""

    htmx: HtmxDetails


class AuthedRequest(Request):
    """The request of a view behind ``login_required``: its user is signed in, one of ours."""

    user: User


def require_staff(request: AuthedRequest) -> None:
    """Staff pages answer 404 to everyone else, like any page one may not see."""
    if not request.user.is_staff:
        raise Http404("Staff pages are for staff.")

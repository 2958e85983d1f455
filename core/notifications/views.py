"""The bell, the notifications page, mark-read, and per-kind email preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from core.models import Notification, User
from core.notifications.forms import NotificationSettingsForm
from core.platform import paging
from core.platform.access import AuthedRequest, Request

NOTIFICATIONS_PER_PAGE = 20
# The badge shows "99+" beyond this; counting stops there so a huge backlog stays cheap.
BADGE_CAP = 99

KIND_ICONS: dict[str, str] = {
    Notification.Kind.ITERATION_SUBMITTED: "bi-inbox",
    Notification.Kind.CLAIM_TAKEN: "bi-eye",
    Notification.Kind.REVIEW_DONE: "bi-check-circle",
    Notification.Kind.CHANGES_REQUESTED: "bi-arrow-repeat",
    Notification.Kind.NEW_COMMENT: "bi-chat-left-text",
    Notification.Kind.PROJECT_RELEASED: "bi-rocket-takeoff",
    Notification.Kind.DEADLINE_SOON: "bi-alarm",
    Notification.Kind.DISPUTE_OPENED: "bi-flag",
    Notification.Kind.DISPUTE_RESOLVED: "bi-flag-fill",
}


def unread_count(user: User) -> int:
    """Unread notifications of ``user``, counted up to BADGE_CAP + 1 (one query)."""
    # COUNT over a LIMITed subquery, on the partial index notification_unread.
    return Notification.objects.filter(user=user).unread()[: BADGE_CAP + 1].count()


def _bell_context(count: int) -> dict[str, object]:
    return {"bell_unread": count, "bell_capped": count > BADGE_CAP, "badge_cap": BADGE_CAP}


def _bell_html(request: Request, count: int, *, oob: bool = False) -> str:
    context = _bell_context(count) | {"bell_oob": oob}
    return render_to_string("core/notifications/_notifications_bell.html", context, request=request)


def _get_notification_for_user(request: AuthedRequest, pk: int) -> Notification:
    """The signed-in user's notification ``pk``, or 404 (also for anyone else's)."""
    return get_object_or_404(Notification, pk=pk, user=request.user)


def _page_number(request: Request) -> int:
    """The page a form posted from (to go back to it)."""
    return paging.page_number(request.POST.get("page"))


def _list_url(page: int) -> str:
    return reverse("notifications") + (f"?page={page}" if page > 1 else "")


def _decorate(notification: Notification) -> Notification:
    notification.icon = KIND_ICONS.get(notification.kind, "bi-bell")
    return notification


def _list_context(request: AuthedRequest, page_number: int | str | None) -> dict[str, object]:
    paginator = Paginator(
        Notification.objects.filter(user=request.user).order_by("-created_at", "-id"),
        NOTIFICATIONS_PER_PAGE,
    )
    page = paginator.get_page(page_number)
    for notification in page:
        _decorate(notification)
    return {
        "page_obj": page,
        "notifications": page.object_list,
        "unread": unread_count(request.user),
        "badge_cap": BADGE_CAP,
    }


@require_safe
def notifications_bell(request: Request) -> HttpResponse:
    """The navbar bell with its unread badge, polled by HTMX (204 when signed out)."""
    # Not @login_required: a poll from a tab whose session ended must not swap a
    # sign-in page into the navbar; "nothing to show" leaves the bell as it was.
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    return render(
        request,
        "core/notifications/_notifications_bell.html",
        _bell_context(unread_count(request.user)),
    )


@require_safe
@login_required
@vary_on_headers("HX-Request")
def notifications(request: AuthedRequest) -> HttpResponse:
    """The user's notifications, newest first, 20 a page, unread ones highlighted."""
    context = _list_context(request, request.GET.get("page"))
    template = "core/notifications/notifications.html"
    # A history restore (back button after HTMX paging) needs the whole page.
    fragment = request.htmx and not request.htmx.history_restore_request
    return render(request, f"{template}#notification-list" if fragment else template, context)


@require_POST
@login_required
def notification_read(request: AuthedRequest, pk: int) -> HttpResponse:
    """Mark one notification read; with ``open`` go to what it is about."""
    notification = _get_notification_for_user(request, pk)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    if "open" in request.POST:
        target = notification.url
        safe = url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        return redirect(target if target and safe else _list_url(_page_number(request)))
    if not request.htmx:
        return redirect(_list_url(_page_number(request)))
    count = unread_count(request.user)
    context = {
        "notification": _decorate(notification),
        "page_obj": {"number": _page_number(request)},
        "unread": count,
        "badge_cap": BADGE_CAP,
        "summary_oob": True,
    }
    item = render_to_string(
        "core/notifications/notifications.html#notification-item", context, request=request
    )
    summary = render_to_string(
        "core/notifications/notifications.html#unread-summary", context, request=request
    )
    return HttpResponse(item + summary + _bell_html(request, count, oob=True))


@require_POST
@login_required
def notifications_read_all(request: AuthedRequest) -> HttpResponse:
    """Mark every unread notification of the user read."""
    marked = Notification.objects.filter(user=request.user).unread().update(read_at=timezone.now())
    page = _page_number(request)
    if not request.htmx:
        if marked:
            messages.success(request, "All notifications marked as read.")
        return redirect(_list_url(page))
    context = _list_context(request, page)
    html = render_to_string(
        "core/notifications/notifications.html#notification-list", context, request=request
    )
    return HttpResponse(html + _bell_html(request, 0, oob=True))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def notification_settings(request: AuthedRequest) -> HttpResponse:
    """Choose, kind by kind, which notifications also arrive by email."""
    form = NotificationSettingsForm(
        request.POST if request.method == "POST" else None, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your email preferences were saved.")
        return redirect("notification_settings")
    return render(request, "core/notifications/notification_settings.html", {"form": form})

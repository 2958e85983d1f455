"""A cohort's pages: its schedule for mentors, each learner's calendar feed, and joining
it with a code."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from django_htmx.http import HttpResponseClientRedirect

from core.cohorts import ical
from core.cohorts.forms import JoinCodeForm
from core.cohorts.join_codes import (
    JOIN_AFTER_SIGN_IN,
    JoinRefused,
    Refusal,
    join_code_find,
    join_code_redeem,
    join_refusal,
)
from core.models import Cohort, Deadlines, Membership, ProjectRelease, User
from core.platform.access import AuthedRequest, Request
from core.platform.ratelimit import ratelimit


def _get_cohort_for_mentor(request: AuthedRequest, slug: str) -> Cohort:
    """The cohort if the user mentors it or is staff, else 404; with its learner count."""
    cohorts = (
        Cohort.objects.overseen_by(request.user).select_related("program").with_learner_count()
    )
    return get_object_or_404(cohorts, slug=slug)


def _zone_label(cohort: Cohort, now: datetime) -> str:
    """'EAT, UTC+03:00': the zone's abbreviation and offset right now."""
    local = timezone.localtime(now, cohort.tz)
    offset = local.strftime("%z")
    return f"{local.tzname()}, UTC{offset[:3]}:{offset[3:]}"


@require_safe
@login_required
def cohort_schedule(request: AuthedRequest, slug: str) -> HttpResponse:
    """Every release of the cohort in calendar order, with its dates and extensions."""
    cohort = _get_cohort_for_mentor(request, slug)
    releases = (
        cohort.releases.select_related("project__module")
        .annotate(
            extension_count=Count("extensions"),
            extended_learner_count=Count("extensions__learner", distinct=True),
        )
        .order_by("opens_at", "first_deadline", "project__module__order", "project__order")
    )
    context = {
        "cohort": cohort,
        "releases": releases,
        "tz_label": _zone_label(cohort, timezone.now()),
    }
    return render(request, "core/cohorts/cohort_schedule.html", context)


# Subscribers are asked to poll this often; Google Calendar decides for itself.
FEED_REFRESH = timedelta(hours=1)
# Reminder before each deadline, for calendar apps that honour alarms in feeds.
FEED_REMINDER = timedelta(hours=24)
UID_DOMAIN = "prodev-hub"
DATE_FORMAT = "D j M Y, H:i T"


def _get_subscriber(token: str) -> User:
    """The active user whose calendar token this is, or 404."""
    try:
        return User.objects.get(calendar_token=token, is_active=True)
    except User.DoesNotExist:
        raise Http404("No such calendar.") from None


def _percent(multiplier: Decimal) -> str:
    return f"{multiplier * 100:.0f}%"


def _when(value: datetime, cohort: Cohort) -> str:
    return format_date(timezone.localtime(value, cohort.tz), DATE_FORMAT)


def _description(release: ProjectRelease, deadlines: Deadlines, kind: str, url: str) -> str:
    """What the learner needs to know on one event: dates, multipliers, extension, link."""
    cohort, project = release.cohort, release.project
    lines = [f"{project.title} · {project.module.title} · {cohort.name}"]
    if kind == "opens":
        lines.append(f"Opens: {_when(deadlines.opens_at, cohort)}")
    lines += [
        f"First deadline: {_when(deadlines.first_deadline, cohort)}",
        f"Second deadline: {_when(deadlines.second_deadline, cohort)}",
        (
            f"Work submitted before the first deadline counts at "
            f"{_percent(release.first_multiplier)}, before the second deadline at "
            f"{_percent(release.second_multiplier)}, after it at "
            f"{_percent(release.late_multiplier)}."
        ),
    ]
    if deadlines.extension is not None:
        lines.append("You were granted an extension: these are your own deadlines.")
    lines += ["", f"Project: {url}"]
    return "\n".join(lines)


def _events(release: ProjectRelease, site_url: str) -> list[ical.Event]:
    """The opening and both deadlines of one release, with the learner's extension applied."""
    deadlines = release.deadlines
    title = release.project.title
    url = f"{site_url}{release.project.get_absolute_url()}?cohort={release.cohort.slug}"
    uid = f"release-{release.pk}-{{}}@{UID_DOMAIN}"
    category = (release.cohort.name,)
    return [
        ical.Event(
            uid=uid.format("opens"),
            start=deadlines.opens_at,
            summary=f"Opens: {title}",
            description=_description(release, deadlines, "opens", url),
            url=url,
            categories=category,
        ),
        ical.Event(
            uid=uid.format("first"),
            start=deadlines.first_deadline,
            summary=f"First deadline: {title}",
            description=_description(release, deadlines, "first", url),
            url=url,
            categories=category,
            remind_before=FEED_REMINDER,
        ),
        ical.Event(
            uid=uid.format("second"),
            start=deadlines.second_deadline,
            summary=f"Second deadline: {title}",
            description=_description(release, deadlines, "second", url),
            url=url,
            categories=category,
            remind_before=FEED_REMINDER,
        ),
    ]


@require_safe
@never_cache
def calendar_feed(request: Request, token: str) -> HttpResponse:
    """Every release of the cohorts where the token's owner is a learner, as iCalendar."""
    user = _get_subscriber(token)
    releases = (
        ProjectRelease.objects.of_learner(user)
        .select_related("cohort", "project__module")
        .with_deadlines_for(user)
        .order_by("opens_at", "pk")
    )
    site_url = settings.SITE_URL.rstrip("/")
    events = [event for release in releases for event in _events(release, site_url)]
    time_zones = {release.cohort.time_zone for release in releases}
    body = ical.calendar(
        prodid="-//ProDev Hub//Deadlines//EN",
        name="ProDev Hub deadlines",
        description=f"Project deadlines of {user.name} on ProDev Hub.",
        time_zone=time_zones.pop() if len(time_zones) == 1 else "",
        refresh=FEED_REFRESH,
        events=events,
        stamp=timezone.now(),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="prodev-hub-deadlines.ics"'
    # The URL is a secret: keep it out of search engines.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- Join codes ---------------------------------------------------------------------------


def _joined(request: AuthedRequest, membership: Membership) -> HttpResponse:
    """After joining (or finding one is in the cohort already): the cohort's curriculum."""
    url = f"{reverse('curriculum')}?cohort={membership.cohort.slug}"
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_http_methods(["GET", "POST"])
@login_required
@ratelimit("join_codes")
def join(request: AuthedRequest) -> HttpResponse:
    """Join a cohort with a code: the form (also on the home page), and redeeming it."""
    form = JoinCodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            membership = join_code_redeem(code=form.cleaned_data["code"], user=request.user)
        except JoinRefused as refused:
            if refused.refusal.membership is None:
                form.add_error("code", refused.refusal.message)
            else:
                messages.info(request, refused.refusal.message)
                return _joined(request, refused.refusal.membership)
        else:
            messages.success(request, f"Welcome to {membership.cohort}! Here is your curriculum.")
            return _joined(request, membership)
    context = {
        "form": form,
        "contact_email": settings.PROGRAM_CONTACT_EMAIL,
        # The home page's form, under its own heading, keeps its label for screen readers only.
        "label_hidden": bool(request.htmx and request.POST.get("compact")),
    }
    template = "core/cohorts/join.html#join-form" if request.htmx else "core/cohorts/join.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@ratelimit("join_codes", methods=("GET", "POST"))
def join_link(request: Request, code: str) -> HttpResponse:
    """A shared join link: which cohort it joins, and a button to join (POST).

    A visitor is sent to sign in (or sign up) first and comes back here; nothing about
    the code is looked up for them, so the link says nothing to someone without an account.
    """
    if not request.user.is_authenticated:
        messages.info(
            request,
            "Sign in to join your cohort with this link, or sign up first if you are new here.",
        )
        # Signing up loses ?next= on the way through the email confirmation: the first
        # sign-in in this browser without one comes back here (AccountAdapter).
        request.session[JOIN_AFTER_SIGN_IN] = request.path
        return redirect_to_login(request.get_full_path())
    request.session.pop(JOIN_AFTER_SIGN_IN, None)  # back here: nothing left to come back to
    return _join_link(cast(AuthedRequest, request), code)


def _join_link(request: AuthedRequest, code: str) -> HttpResponse:
    if request.method == "POST":
        try:
            membership = join_code_redeem(code=code, user=request.user)
        except JoinRefused as refused:
            if refused.refusal.membership is not None:
                messages.info(request, refused.refusal.message)
                return _joined(request, refused.refusal.membership)
            join_code = refused.join_code
            refusal: Refusal | None = refused.refusal
        else:
            messages.success(request, f"Welcome to {membership.cohort}! Here is your curriculum.")
            return _joined(request, membership)
    else:
        join_code = join_code_find(code)
        refusal = join_refusal(join_code, request.user)
    context = {
        "join_code": join_code,
        "cohort": join_code.cohort if join_code else None,
        "refusal": refusal,
        "code": code,
        "contact_email": settings.PROGRAM_CONTACT_EMAIL,
    }
    status = refusal.status if refusal else 200
    return render(request, "core/cohorts/join_link.html", context, status=status)

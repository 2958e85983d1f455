"""The private iCalendar feed of a learner's deadlines (the token in the URL is the key)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core import ical
from core.models import Cohort, Deadlines, ProjectRelease, User

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
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Every release of the cohorts where the token's owner is a learner, as iCalendar."""
    user = _get_subscriber(token)
    releases = (
        ProjectRelease.objects.filter(
            cohort__memberships__user=user, cohort__memberships__role="learner"
        )
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

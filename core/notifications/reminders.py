"""Deadline reminders: tell learners a day ahead when work is still owed.

``send_deadline_reminders`` is run every few minutes by a scheduler
(``manage.py send_deadline_reminders``). It never repeats itself: each reminder
carries a dedupe key naming the release, the learner, which deadline and its
date, so the same deadline reminds once, and a moved deadline reminds again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date

from core.models import Attempt, Extension, Membership, Notification, ProjectRelease, User
from core.notifications.services import notify

REMINDER_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Reminder:
    """One deadline one learner should hear about."""

    release: ProjectRelease
    learner: User
    which: str  # "first" or "second"
    deadline: datetime
    changes_requested: bool

    @property
    def dedupe_key(self) -> str:
        when = self.deadline.astimezone(UTC).isoformat()
        return f"deadline:{self.release.pk}:{self.learner.pk}:{self.which}:{when}"


def due_reminders(now: datetime | None = None) -> list[Reminder]:
    """Reminders owed at ``now`` and not sent yet, in five queries whatever the numbers.

    A learner is reminded of the next deadline (first, then second; their latest
    extension applies) of each opened release of their cohort when it falls within
    REMINDER_WINDOW and work is still owed: nothing submitted yet, or changes were
    requested. A learner whose iteration waits for review, or who is approved, has
    done their part and hears nothing.
    """
    now = now or timezone.now()
    horizon = now + REMINDER_WINDOW

    def in_window() -> Q:
        first = Q(first_deadline__gt=now, first_deadline__lte=horizon)
        return first | Q(second_deadline__gt=now, second_deadline__lte=horizon)

    # Releases that may be due for someone: the cohort's dates, or an extension's.
    extended_into_window = Extension.objects.filter(in_window(), release=OuterRef("pk"))
    releases = {
        release.pk: release
        for release in ProjectRelease.objects.opened(now)
        .filter(in_window() | Exists(extended_into_window))
        .select_related("project", "cohort")
    }
    if not releases:
        return []
    cohort_ids = {release.cohort_id for release in releases.values()}
    learners_by_cohort: dict[int, list[User]] = {}
    for membership in (
        Membership.objects.learners()
        .filter(cohort_id__in=cohort_ids, user__is_active=True)
        .select_related("user")
    ):
        learners_by_cohort.setdefault(membership.cohort_id, []).append(membership.user)

    latest_extension = Extension.objects.filter(
        release_id__in=releases
    ).latest_by_release_and_learner()
    attempt_status = {
        (release_id, learner_id): status
        for release_id, learner_id, status in Attempt.objects.filter(
            release_id__in=releases
        ).values_list("release_id", "learner_id", "status")
    }

    candidates: list[Reminder] = []
    for release in releases.values():
        for learner in learners_by_cohort.get(release.cohort_id, []):
            status = attempt_status.get((release.pk, learner.pk))
            if status not in (None, Attempt.Status.CHANGES_REQUESTED):
                continue  # waiting for review or approved: nothing owed
            extension = latest_extension.get((release.pk, learner.pk))
            deadlines = release.deadlines_for(extension)
            deadline = deadlines.next_deadline(now)
            if deadline is None or deadline > horizon:
                continue
            which = "first" if deadline == deadlines.first_deadline else "second"
            candidates.append(
                Reminder(
                    release=release,
                    learner=learner,
                    which=which,
                    deadline=deadline,
                    changes_requested=status == Attempt.Status.CHANGES_REQUESTED,
                )
            )
    if not candidates:
        return []
    sent = set(
        Notification.objects.filter(
            dedupe_key__in=[reminder.dedupe_key for reminder in candidates]
        ).values_list("dedupe_key", flat=True)
    )
    return [reminder for reminder in candidates if reminder.dedupe_key not in sent]


def _reminder_text(reminder: Reminder) -> tuple[str, str]:
    release = reminder.release
    due = format_date(timezone.localtime(reminder.deadline, release.cohort.tz), "D j M, H:i T")
    title = f"{release.project.title}: {reminder.which} deadline in less than 24 hours"
    if reminder.changes_requested:
        owed = "Changes were requested on your work: resubmit before then."
    else:
        owed = "You have not submitted it yet."
    after = release.second_multiplier if reminder.which == "first" else release.late_multiplier
    return title, f"Due {due}. {owed} Work handed in later counts {after * 100:.0f}%."


def send_deadline_reminders(now: datetime | None = None) -> int:
    """Send every reminder owed at ``now``; returns how many were sent.

    Safe to run concurrently and repeatedly: the dedupe key makes a second send
    of the same reminder create nothing.
    """
    sent = 0
    for reminder in due_reminders(now):
        title, body = _reminder_text(reminder)
        url = reverse("project_detail", args=[reminder.release.project.slug])
        created = notify(
            users=[reminder.learner],
            kind=Notification.Kind.DEADLINE_SOON,
            title=title,
            body=body,
            url=f"{url}?cohort={reminder.release.cohort.slug}",
            dedupe_key=reminder.dedupe_key,
        )
        sent += len(created)
    return sent

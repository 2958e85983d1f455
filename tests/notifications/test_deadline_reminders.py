"""Deadline reminders: once per learner, deadline and date; only when work is owed."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.models import Cohort, EmailPreference, Notification, ProjectRelease, User
from core.notifications.reminders import due_reminders, send_deadline_reminders
from tests.factories import (
    AttemptFactory,
    ExtensionFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    UserFactory,
)


def before(deadline: datetime, hours: float = 10) -> datetime:
    return deadline - timedelta(hours=hours)


def reminders_of(user: User) -> list[Notification]:
    return list(Notification.objects.filter(user=user, kind="deadline_soon"))


def test_it_reminds_a_learner_a_day_before_the_first_deadline(
    learner: User, mentor: User, reviewer: User, release: ProjectRelease
) -> None:
    assert send_deadline_reminders(now=before(release.first_deadline)) == 1
    (reminder,) = reminders_of(learner)
    assert reminder.title == "Python Generators: first deadline in less than 24 hours"
    assert "You have not submitted it yet." in reminder.body
    assert "EAT" in reminder.body  # the cohort's time zone (Africa/Nairobi)
    assert "Work handed in later counts 65%." in reminder.body
    assert reminder.url == "/projects/python-generators/?cohort=cohort-7"
    first = release.first_deadline.isoformat()
    assert reminder.dedupe_key == f"deadline:{release.pk}:{learner.pk}:first:{first}"
    assert reminders_of(mentor) == reminders_of(reviewer) == []


def test_it_waits_until_the_deadline_is_within_24_hours(
    learner: User, release: ProjectRelease
) -> None:
    assert send_deadline_reminders(now=before(release.first_deadline, hours=25)) == 0
    assert send_deadline_reminders(now=before(release.first_deadline, hours=24)) == 1


def test_it_does_not_remind_after_the_deadline_passed(
    learner: User, release: ProjectRelease
) -> None:
    # Past the first deadline, the second one (a week later) is the next.
    assert send_deadline_reminders(now=release.first_deadline + timedelta(minutes=1)) == 0


def test_it_reminds_of_the_second_deadline(learner: User, release: ProjectRelease) -> None:
    assert send_deadline_reminders(now=before(release.second_deadline)) == 1
    (reminder,) = reminders_of(learner)
    assert reminder.title == "Python Generators: second deadline in less than 24 hours"
    assert ":second:" in reminder.dedupe_key
    assert "Work handed in later counts 50%." in reminder.body


def test_it_never_sends_the_same_reminder_twice(learner: User, release: ProjectRelease) -> None:
    now = before(release.first_deadline)
    assert send_deadline_reminders(now=now) == 1
    assert send_deadline_reminders(now=now + timedelta(minutes=5)) == 0
    assert send_deadline_reminders(now=now + timedelta(hours=9)) == 0
    assert len(reminders_of(learner)) == 1


def test_it_reminds_again_when_the_deadline_moves(learner: User, release: ProjectRelease) -> None:
    now = before(release.first_deadline)
    assert send_deadline_reminders(now=now) == 1
    release.first_deadline += timedelta(hours=2)
    release.save()
    assert send_deadline_reminders(now=now) == 1
    assert len(reminders_of(learner)) == 2


def test_it_skips_a_learner_whose_work_waits_for_review(
    learner: User, release: ProjectRelease
) -> None:
    IterationFactory(attempt=AttemptFactory(learner=learner, release=release, status="waiting"))
    assert send_deadline_reminders(now=before(release.first_deadline)) == 0
    assert send_deadline_reminders(now=before(release.second_deadline)) == 0


def test_it_skips_an_approved_learner(learner: User, release: ProjectRelease) -> None:
    AttemptFactory(learner=learner, release=release, status="approved")
    assert send_deadline_reminders(now=before(release.second_deadline)) == 0


def test_it_reminds_a_learner_asked_for_changes(learner: User, release: ProjectRelease) -> None:
    AttemptFactory(learner=learner, release=release, status="changes_requested")
    assert send_deadline_reminders(now=before(release.first_deadline)) == 1
    (reminder,) = reminders_of(learner)
    assert "Changes were requested on your work: resubmit before then." in reminder.body


def test_it_follows_the_learners_extension(learner: User, release: ProjectRelease) -> None:
    extension = ExtensionFactory(release=release, learner=learner)  # three days later
    assert send_deadline_reminders(now=before(release.first_deadline)) == 0
    assert send_deadline_reminders(now=before(extension.first_deadline)) == 1
    (reminder,) = reminders_of(learner)
    assert reminder.dedupe_key.endswith(extension.first_deadline.isoformat())


def test_it_uses_the_latest_extension(learner: User, release: ProjectRelease) -> None:
    ExtensionFactory(release=release, learner=learner)
    latest = ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=release.first_deadline + timedelta(days=1),
        created_at=timezone.now() + timedelta(seconds=1),
    )
    assert send_deadline_reminders(now=before(latest.first_deadline)) == 1


def test_it_reminds_an_extended_learner_after_the_cohort_deadlines_passed(
    learner: User, cohort: Cohort
) -> None:
    now = timezone.now()
    past = ProjectReleaseFactory(
        cohort=cohort,
        opens_at=now - timedelta(days=30),
        first_deadline=now - timedelta(days=20),
        second_deadline=now - timedelta(days=10),
    )
    ExtensionFactory(
        release=past,
        learner=learner,
        first_deadline=now - timedelta(days=1),
        second_deadline=now + timedelta(hours=5),
    )
    other = UserFactory()
    MembershipFactory(user=other, cohort=cohort)
    assert send_deadline_reminders(now=now) == 1
    (reminder,) = reminders_of(learner)
    assert f"deadline:{past.pk}:{learner.pk}:second:" in reminder.dedupe_key
    assert reminders_of(other) == []


def test_it_waits_for_the_release_to_open(learner: User, cohort: Cohort) -> None:
    now = timezone.now()
    ProjectReleaseFactory(
        cohort=cohort,
        opens_at=now + timedelta(hours=2),
        first_deadline=now + timedelta(hours=20),
    )
    assert send_deadline_reminders(now=now) == 0
    assert send_deadline_reminders(now=now + timedelta(hours=3)) == 1


def test_it_skips_inactive_learners_and_other_cohorts(
    learner: User, release: ProjectRelease
) -> None:
    learner.is_active = False
    learner.save()
    MembershipFactory(user=UserFactory(), role="learner")  # another cohort, nothing due
    assert send_deadline_reminders(now=before(release.first_deadline)) == 0


def test_it_emails_the_reminder(
    learner: User,
    release: ProjectRelease,
    mailoutbox,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        send_deadline_reminders(now=before(release.first_deadline))
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [learner.email]
    assert "first deadline in less than 24 hours" in mailoutbox[0].subject


def test_it_respects_a_learner_who_turned_the_email_off(
    learner: User,
    release: ProjectRelease,
    mailoutbox,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    EmailPreference.objects.create(user=learner, kind="deadline_soon", enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_deadline_reminders(now=before(release.first_deadline)) == 1
    assert mailoutbox == []


def _grow(cohort: Cohort, release: ProjectRelease, size: int) -> None:
    """``size`` learners in each state, a second due release, and extensions."""
    other_release = ProjectReleaseFactory(
        cohort=cohort, project=ProjectFactory(), first_deadline=release.first_deadline
    )
    for _ in range(size):
        for status in (None, "waiting", "changes_requested", "approved"):
            learner = UserFactory()
            MembershipFactory(user=learner, cohort=cohort)
            if status:
                AttemptFactory(learner=learner, release=release, status=status)
        extended = UserFactory()
        MembershipFactory(user=extended, cohort=cohort)
        ExtensionFactory(release=other_release, learner=extended)


@pytest.mark.parametrize("size", [1, 10])
def test_it_selects_reminders_with_a_constant_number_of_queries(
    cohort: Cohort,
    release: ProjectRelease,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _grow(cohort, release, size)
    now = before(release.first_deadline)
    # the due releases (+ project, cohort), their cohorts' learners (+ user), the
    # extensions on them, the attempts on them, the reminders already sent
    with django_assert_num_queries(5):
        due = due_reminders(now)
    # Per size, on release: the learner with nothing, the one asked for changes and the
    # one extended elsewhere; on the other release: everyone but the extended learner.
    assert len(due) == 3 * size + 4 * size
    send_deadline_reminders(now=now)
    with django_assert_num_queries(5):
        assert due_reminders(now) == []


def test_the_command_says_how_many_it_sent(learner: User, release: ProjectRelease) -> None:
    ProjectRelease.objects.filter(pk=release.pk).update(
        first_deadline=timezone.now() + timedelta(hours=3)
    )
    out = StringIO()
    call_command("send_deadline_reminders", stdout=out)
    assert out.getvalue().strip() == "Sent 1 deadline reminder."
    out = StringIO()
    call_command("send_deadline_reminders", stdout=out)
    assert out.getvalue().strip() == "Sent 0 deadline reminders."

"""Email is a background task, enqueued only when the transaction commits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from allauth.account.adapter import get_adapter
from django.core import mail
from django.db import transaction
from django.tasks import default_task_backend
from django.test import RequestFactory, override_settings

from core.models import Notification, User
from core.notifications.services import notify

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


class Rollback(Exception):
    pass


@pytest.fixture
def queued() -> Iterator[list[object]]:
    """The tasks enqueued during the test (a backend that only records them)."""
    with override_settings(TASKS=DUMMY_TASKS):
        yield default_task_backend.results


def send_reset_email(user: User) -> None:
    request = RequestFactory().get("/")
    get_adapter(request).send_mail(
        "account/email/password_reset_key",
        user.email,
        {"user": user, "password_reset_url": "https://prodev.example/reset/x/", "request": request},
    )


def test_it_sends_account_email_after_commit(
    learner: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        send_reset_email(learner)
        assert mail.outbox == []  # nothing leaves before the commit
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [learner.email]
    assert mail.outbox[0].subject.startswith("[ProDev Hub]")
    assert "https://prodev.example/reset/x/" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_it_enqueues_the_email_task_on_commit(learner: User, queued: list[object]) -> None:
    with transaction.atomic():
        send_reset_email(learner)
        assert queued == []
    assert len(queued) == 1
    assert queued[0].task.name == "send_email"  # type: ignore[attr-defined]
    assert queued[0].kwargs["to"] == [learner.email]  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_it_enqueues_nothing_when_the_transaction_rolls_back(
    learner: User, queued: list[object]
) -> None:
    with pytest.raises(Rollback), transaction.atomic():
        send_reset_email(learner)
        raise Rollback
    assert queued == []
    assert mail.outbox == []


def test_a_name_with_a_line_break_cannot_break_the_subject(
    learner: User, mentor: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    # A name saved before names were checked (or any field a title quotes) must
    # not turn into a header of its own, nor make every email with it fail.
    User.objects.filter(pk=mentor.pk).update(display_name="Mia\r\nBcc: all@example.com\t ")
    mentor.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            users=[learner],
            kind=Notification.Kind.NEW_COMMENT,
            title=f"{mentor.name} commented on Python\u2028Generators\x0b",
            url="/dashboard/",
        )
    [message] = mail.outbox
    assert message.subject == (
        "[ProDev Hub] Mia Bcc: all@example.com commented on Python Generators"
    )
    assert message.message()["Bcc"] is None

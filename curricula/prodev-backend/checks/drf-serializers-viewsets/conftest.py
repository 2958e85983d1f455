"""Fixtures shared by the Tracker API checks: Django settings for the learner's app.

The checks configure Django themselves (the learner's config/settings.py is not read):
the ``tracker`` app on SQLite in memory, its URLs at the root (``tracker/urls.py``
routes ``api/``), DRF's defaults. Migrations are skipped: tables are made from the
models as they are.

What the checks expect of the models, from the task briefs: ``Board(name, archived)``;
``Ticket(board, title, priority, status, reporter, created_at, closed_at)`` with
``related_name="tickets"`` on board, status "open" by default and "closed" once closed;
``Comment(ticket, author, body, created_at)`` with ``related_name="comments"`` on ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django
import pytest
from django.conf import settings

APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "tracker"]
LOAD_ERRORS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    settings.configure(
        SECRET_KEY="checks-only",
        INSTALLED_APPS=APPS,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        MIGRATION_MODULES={app.rsplit(".", 1)[-1]: None for app in APPS},
        ROOT_URLCONF="tracker.urls",
        MIDDLEWARE=[],
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        REST_FRAMEWORK={"TEST_REQUEST_DEFAULT_FORMAT": "json"},
    )
    try:
        django.setup()
    except Exception as error:  # the learner's app does not load: every check says why
        LOAD_ERRORS.append(f"{type(error).__name__}: {error}")


@pytest.fixture(scope="session", autouse=True)
def tracker_loads() -> None:
    if LOAD_ERRORS:
        pytest.fail(f"Django could not load the tracker app: {LOAD_ERRORS[0]}", pytrace=False)


@pytest.fixture
def user(db: None) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        username="ada", email="ada@example.com", password="s3cret-pass"
    )


@pytest.fixture
def other_user(db: None) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="sam", email="sam@example.com")


@pytest.fixture
def api(user: Any) -> Any:
    """DRF's APIClient, signed in as ada@example.com."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def board(db: None) -> Any:
    from tracker.models import Board

    return Board.objects.create(name="Website")


@pytest.fixture
def make_ticket(user: Any) -> Callable[..., Any]:
    """``make_ticket(board, title, ...)``: a ticket reported by ada, ``age`` old."""
    from django.utils import timezone
    from tracker.models import Ticket

    def make(board: Any, title: str = "Login button does nothing", **fields: Any) -> Any:
        age: timedelta = fields.pop("age", timedelta(0))
        fields = {"priority": "high", "reporter": user, **fields}
        ticket = Ticket.objects.create(board=board, title=title, **fields)
        Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - age)
        ticket.refresh_from_db()
        return ticket

    return make


@pytest.fixture
def make_comments(user: Any) -> Callable[[Any, int], None]:
    from tracker.models import Comment

    def make(ticket: Any, count: int) -> None:
        for number in range(count):
            Comment.objects.create(ticket=ticket, author=user, body=f"Comment {number}")

    return make

"""Who the multi-user scenarios of ``make bench`` are, and their sessions.

Users are signed in the way a test signs them in, without a password:
``django.test.Client.force_login`` runs ``django.contrib.auth.login`` (so the
``user_logged_in`` receivers start the session's clocks and audit the sign-in) and
saves the session through ``SESSION_ENGINE``, the production store
(core/platform/sessions.py: the database, copied into Redis). gunicorn, started
with the same ``SECRET_KEY`` and database, accepts the cookie as its own.

Both bench/run.py and bench/writer.py call these after ``django.setup()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.models import User


@dataclass
class Crowd:
    """The learners and mentors of one cohort that the benchmark signs in as."""

    learners: list[User]
    mentors: list[User]


def cohort_crowd(cohort_slug: str, learners: int, pinned: Iterable[str] = ()) -> Crowd:
    """``learners`` learners of the cohort (the ``pinned`` emails first, then by id) and
    every mentor of it: the same people on every run."""
    from core.models import Membership, User

    members = User.objects.filter(memberships__cohort__slug=cohort_slug, is_active=True).distinct()
    pinned = list(pinned)
    chosen = list(
        members.filter(memberships__role=Membership.Role.LEARNER, email__in=pinned).order_by("pk")
    )
    chosen += (
        members.filter(memberships__role=Membership.Role.LEARNER)
        .exclude(email__in=pinned)
        .order_by("pk")[: max(0, learners - len(chosen))]
    )
    mentors = list(members.filter(memberships__role=Membership.Role.MENTOR).order_by("pk"))
    return Crowd(chosen[:learners], mentors)


def session_cookie(user: User) -> str:
    """A new signed-in session for ``user`` in the production store; its Cookie header."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def end_sessions(cookies: Iterable[str]) -> int:
    """Delete the sessions these Cookie headers carry (their cached copies expire within
    ``SESSION_CACHE_SECONDS``, under a key prefix no later run uses); how many."""
    from django.contrib.sessions.models import Session

    keys = [cookie.partition("=")[2] for cookie in cookies]
    deleted, _ = Session.objects.filter(session_key__in=keys).delete()
    return deleted


def rotation(paths: Sequence[str], cookies: Sequence[str]) -> list[tuple[str, str]]:
    """One (path, cookie) line per user: user i asks for path i mod len(paths), so every
    user appears once a cycle and every path is spread over the users."""
    if not paths or not cookies:
        return []
    return [(paths[i % len(paths)], cookie) for i, cookie in enumerate(cookies)]


def write_rotation(file: Path, lines: Sequence[tuple[str, str]]) -> Path:
    """The file the load generators read: ``path<TAB>cookie`` per line."""
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("".join(f"{path}\t{cookie}\n" for path, cookie in lines))
    return file

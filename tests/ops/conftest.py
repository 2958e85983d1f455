"""Real PostgreSQL databases for the operations tests, outside pytest-django's test database.

Every database made here is named ``prodev_ops_<purpose>_<pid>`` (so two runs on one
server cannot collide) and dropped when its test ends. Migrating takes seconds, so
the demo program is migrated and seeded once per session into a template that each
test clones with ``CREATE DATABASE … TEMPLATE``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.support import manage

# Set in CI: a missing service fails the run instead of skipping the test.
REQUIRED = bool(os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER_TESTS"))


def needs_postgres(*, required: bool = False) -> None:
    """Skip unless the suite runs on PostgreSQL; fail instead when ``required``."""
    if connection.vendor != "postgresql":
        message = "needs PostgreSQL: set DATABASE_URL=postgres://…"
        if required:
            pytest.fail(message)
        pytest.skip(message)


def database_url(name: str) -> str:
    """DATABASE_URL for database ``name`` on the server (and as the user) the suite uses."""
    entry = settings.DATABASES["default"]
    credentials = quote(entry["USER"] or "", safe="")
    if entry.get("PASSWORD"):
        credentials += ":" + quote(entry["PASSWORD"], safe="")
    at = f"{credentials}@" if credentials else ""
    return f"postgres://{at}{entry['HOST']}:{entry['PORT'] or 5432}/{name}"


def connect(name: str) -> Any:
    """A psycopg2 connection to database ``name`` (not Django's: tests here own no test DB)."""
    import psycopg2

    entry = settings.DATABASES["default"]
    return psycopg2.connect(
        dbname=name,
        user=entry["USER"] or None,
        password=entry.get("PASSWORD") or None,
        host=entry["HOST"],
        port=entry["PORT"] or 5432,
    )


def server_major_version() -> int:
    admin_connection = connect("postgres")
    try:
        return admin_connection.server_version // 10000
    finally:
        admin_connection.close()


def admin(statement: str) -> None:
    """Run one statement on the server's ``postgres`` database, outside any transaction."""
    admin_connection = connect("postgres")
    admin_connection.autocommit = True
    try:
        with admin_connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        admin_connection.close()


def drop_database(name: str) -> None:
    # WITH (FORCE) ends connections a crashed server or thread left behind.
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name: str, template: str = "template0") -> str:
    drop_database(name)
    admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def ops_database_name(purpose: str) -> str:
    return f"prodev_ops_{purpose}_{os.getpid()}"


@pytest.fixture(scope="session")
def seeded_template() -> Iterator[str]:
    """A database migrated and loaded with the demo program, to clone (never to use)."""
    needs_postgres()
    name = create_database(ops_database_name("seed"))
    try:
        # DEBUG on and the local-memory cache: seeding is set-up, not the system under test.
        env = {"DATABASE_URL": database_url(name), "REDIS_URL": ""}
        # System checks are other tests' business; a broken admin must not hide this drill.
        for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
            result = manage(*command, "--skip-checks", env=env)
            assert result.returncode == 0, result.stdout + result.stderr
        yield name
    finally:
        drop_database(name)


@pytest.fixture
def clone_seeded(seeded_template: str) -> Iterator[Callable[[str], str]]:
    """``clone_seeded(purpose)`` makes a fresh copy of the seeded database; all dropped after."""
    made: list[str] = []

    def clone(purpose: str) -> str:
        made.append(create_database(ops_database_name(purpose), template=seeded_template))
        return made[-1]

    yield clone
    for name in made:
        drop_database(name)


@pytest.fixture
def empty_database() -> Iterator[Callable[[str], str]]:
    """``empty_database(purpose)`` makes a new, empty database; all dropped after."""
    needs_postgres()
    made: list[str] = []

    def make(purpose: str) -> str:
        made.append(create_database(ops_database_name(purpose)))
        return made[-1]

    yield make
    for name in made:
        drop_database(name)

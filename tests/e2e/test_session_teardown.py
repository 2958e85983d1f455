"""A session that runs a journey, then database tests, drops its test database at the end.

From the first journey on, Playwright's event loop runs in the test thread, and Django's
connections are kept per asyncio context: the tests after a journey use a connection of
their own, which the browser fixture must close (conftest.py). Left open, PostgreSQL
refuses to drop the test database ("is being accessed by other users"): a warning at the
end of the run, and a database left behind. This runs such a session in a fresh pytest,
against a test database of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.conftest import REQUIRED, database_url, drop_database, needs_postgres
from tests.support import ROOT

pytestmark = pytest.mark.e2e

STAFF_REVIEWERS = "tests/reporting/test_staff_reviewers.py"
# A database test pytest-django runs before the journeys: the session's first connection.
BEFORE = f"{STAFF_REVIEWERS}::test_it_refuses_post"
JOURNEY = (
    "tests/e2e/test_account_journey.py"
    "::test_a_wrong_password_is_refused_and_the_visitor_stays_signed_out"
)
# One that asks for its database by name (getfixturevalue): pytest-django counts it with
# the tests that use none, so it runs after the journeys, on the second connection.
AFTER = f"{STAFF_REVIEWERS}::test_it_is_404_for_everyone_but_staff[outsider_client]"


def test_a_session_with_a_journey_drops_its_test_database() -> None:
    needs_postgres(required=REQUIRED)
    if not Path(os.environ.get("CHROMIUM", "/usr/bin/chromium")).exists():
        pytest.skip("needs Chromium (set CHROMIUM to its path)")
    name = f"prodev_teardown_{os.getpid()}"
    env = os.environ | {"DATABASE_URL": database_url(name), "REDIS_URL": ""}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", JOURNEY]
    try:
        result = subprocess.run(
            [*command, BEFORE, AFTER],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        drop_database(f"test_{name}")  # if the session could not, so nothing is left behind
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = [line.split(" ")[0] for line in output.splitlines() if " PASSED" in line]
    assert passed == [BEFORE, JOURNEY, AFTER], output  # the order that left a connection open
    assert "Error when trying to teardown test databases" not in output, output

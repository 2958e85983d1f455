"""Every document the browser journeys saw is valid HTML, by the Nu Html Checker.

The journeys record what they see (pages_seen.py): the server's HTML for each page
they navigate to, and the DOM each time they check a page with axe, htmx swaps
included. This test runs after them (conftest.py orders it last) and checks it
all in one run of vnu.jar, so the list of pages is always the journeys' own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.pages_seen import SEEN
from tests.html_validity import report, require_vnu, validate

pytestmark = pytest.mark.e2e


def test_every_page_the_journeys_visited_is_valid_html(tmp_path: Path) -> None:
    if SEEN.browsers == 0:
        pytest.skip("no browser journey ran in this session: run it with tests/e2e")
    command = require_vnu()
    assert SEEN.documents, "the journeys opened browsers but no page was recorded"

    problems = validate(SEEN.documents, tmp_path, command)

    if problems:
        pytest.fail(report(problems, tmp_path), pytrace=False)

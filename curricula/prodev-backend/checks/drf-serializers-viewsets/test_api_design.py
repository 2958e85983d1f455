"""Task 0: API.md documents every endpoint of the Tracker API before any code is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# Path parameters may be written {id}, {pk}, {board_pk}, <id> or :id.
PARAMETER = r"(?:\{\w+\}|<[\w:]+>|:\w+)"
ENDPOINTS = [
    ("GET", "/api/boards/"),
    ("POST", f"/api/boards/{PARAMETER}/tickets/"),
    ("PATCH", f"/api/tickets/{PARAMETER}/"),
    ("POST", f"/api/tickets/{PARAMETER}/close/"),
    ("DELETE", f"/api/comments/{PARAMETER}/"),
]


@pytest.fixture
def api_md() -> str:
    found = sorted(Path.cwd().rglob("API.md"))
    if not found:
        pytest.fail("There is no API.md in the repository.", pytrace=False)
    return found[0].read_text(encoding="utf-8")


def test_api_md_exists(api_md: str) -> None:
    """API.md is in the repository, and not empty"""
    assert api_md.strip()


def test_every_endpoint_is_listed(api_md: str) -> None:
    """The five endpoints of the brief are listed with their method"""
    missing = [
        f"{method} {path}"
        for method, path in ENDPOINTS
        if not re.search(rf"\b{method}\b[\s|`]*{path}", api_md)
    ]
    assert not missing, f"not found: {missing}"


def test_the_error_statuses_are_named(api_md: str) -> None:
    """The errors are documented: 400, 404 and 409 all appear"""
    assert all(re.search(rf"\b{status}\b", api_md) for status in ("400", "404", "409"))


def test_there_are_example_requests_and_responses(api_md: str) -> None:
    """At least three fenced examples (one per resource)"""
    assert api_md.count("```") // 2 >= 3


def test_closing_with_post_is_explained(api_md: str) -> None:
    """A paragraph explains why closing is a POST to an action rather than a PATCH"""
    text = re.sub(r"```.*?```", "", api_md, flags=re.DOTALL)  # examples are not prose
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if not p.lstrip().startswith("|")]
    assert any("PATCH" in p and "clos" in p.lower() for p in paragraphs)

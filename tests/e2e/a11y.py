"""Accessibility checks with axe-core, run inside the page under test."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Response

BLOCKING_IMPACTS = frozenset({"serious", "critical"})

_axe = Axe()


def check_a11y(page: Page) -> None:
    """Fail if axe-core finds any serious or critical violation on the current page."""
    results = _axe.run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    if not blocking:
        return
    lines = [f"axe found {len(blocking)} serious/critical violation(s) on {page.url}:"]
    for violation in blocking:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.extend(f"    at {node['target']}" for node in violation["nodes"])
    pytest.fail("\n".join(lines), pytrace=False)


def visit(page: Page, path: str) -> Response:
    """Open ``path``, check it answered below 400 and passes axe."""
    response = page.goto(path)
    assert response is not None, f"no response for {path}"
    assert response.status < 400, f"{path} answered {response.status}"
    check_a11y(page)
    return response

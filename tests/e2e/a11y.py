"""Accessibility checks with axe-core, run inside the page under test."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Response

from tests.e2e import pages_seen

BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# Below Bootstrap's "sm" breakpoint the page is on a phone: it must reflow to the width
# (WCAG 1.4.10) rather than scroll sideways; wide content scrolls inside its own box.
PHONE_WIDTH = 576
# The elements that reach past the viewport's right edge, innermost first (at most 5).
_PAST_THE_RIGHT_EDGE = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const past = [...document.body.querySelectorAll("*")].filter((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1;
  });
  const innermost = past.filter(
    (element) => !past.some((other) => other !== element && element.contains(other))
  );
  return innermost.slice(0, 5).map((element) => {
    const id = element.id ? "#" + element.id : "";
    const classes = [...element.classList].map((name) => "." + name).join("");
    const right = Math.round(element.getBoundingClientRect().right);
    return `${element.tagName.toLowerCase()}${id}${classes} (right edge at ${right} px)`;
  });
}"""

_axe = Axe()


def check_a11y(page: Page) -> None:
    """Fail if axe-core finds any serious or critical violation on the current page, or,
    on a phone-sized viewport, if the page scrolls sideways.

    The page's DOM is also kept for the HTML validity check at the end of the run."""
    results = _axe.run(page)
    pages_seen.add_dom(page)
    check_reflow(page)
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


def check_reflow(page: Page) -> None:
    """On a phone-sized viewport, fail if the page is wider than the screen."""
    size = page.viewport_size
    if size is None or size["width"] >= PHONE_WIDTH:
        return
    past: list[str] = page.evaluate(_PAST_THE_RIGHT_EDGE)
    if past:
        lines = [f"{page.url} scrolls sideways at {size['width']} px; past the right edge:"]
        lines.extend(f"- {where}" for where in past)
        pytest.fail("\n".join(lines), pytrace=False)

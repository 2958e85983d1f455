"""Real Chromium through Playwright, against pytest-django's live server.

Every page a journey visits must load without console errors (our strict CSP
reports violations there) and pass axe-core with no serious or critical
violations; every document the journeys see is kept (pages_seen.py) and must be
valid HTML (test_html_validity.py, which runs after the journeys).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    ViewportSize,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer

from tests.e2e import pages_seen

# Playwright's sync API runs an event loop in this thread; Django refuses ORM
# calls from a thread with a running loop unless told the code is not async.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# A journey marked so runs twice, at a desktop's width and a phone's (issue #15's "at 1280
# and 390 px"): ``@AT_BOTH_WIDTHS`` above the test; ``open_page`` opens every browser at
# the ``viewport`` fixture's size.
AT_BOTH_WIDTHS = pytest.mark.parametrize(
    "viewport", [VIEWPORT, PHONE], ids=["1280px", "390px"], indirect=True
)
# tests/e2e/test_html_validity.py: checks what every journey saw, so it runs last.
HTML_VALIDITY_TEST = "test_every_page_the_journeys_visited_is_valid_html"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the HTML validity test after every journey of the session."""
    last = [item for item in items if item.name == HTML_VALIDITY_TEST]
    if last:
        items[:] = [item for item in items if item.name != HTML_VALIDITY_TEST] + last


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run."""
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        message = f"Chromium not found at {executable!r}; set CHROMIUM to its path."
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER_TESTS"):
            pytest.fail(f"Browser tests are required here. {message}")
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            close_connections_of_the_event_loop()


def close_connections_of_the_event_loop() -> None:
    """Close the database connections this thread opened while Playwright's loop ran.

    From the first journey to the end of the session Playwright's event loop runs in
    this thread, and asgiref keeps Django's connections per asyncio context while a loop
    runs: every test after the first journey talks to the database through a second
    connection, apart from the one the session began with. Non-transactional tests never
    close theirs, and once the loop stops it is out of reach: pytest-django then cannot
    drop the test database ("is being accessed by other users"). Closed here, while the
    loop still runs, it is the one ``connections`` names.
    """
    connections.close_all()


def _watch(page: Page, who: str, errors: list[str]) -> None:
    """Record the page's console and page errors in ``errors``.

    One console error is expected rather than a fault: Chromium logs "Failed to
    load resource" for a page that itself answers 4xx/5xx, and a journey that
    opens such a page on purpose (an outsider gets 404) asserts the status
    itself. A failing sub-resource (script, stylesheet, image) still fails.
    """
    error_documents: set[str] = set()
    label = f" ({who})" if who else ""

    def on_response(response: Response) -> None:
        if (
            response.status >= 400
            and response.request.is_navigation_request()
            and response.frame == page.main_frame
        ):
            error_documents.add(response.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if (
            message.text.startswith("Failed to load resource")
            and message.location.get("url") in error_documents
        ):
            return
        errors.append(f"console error at {page.url}{label}: {message.text}")

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"page error at {page.url}{label}: {error}"))


@pytest.fixture
def viewport(request: pytest.FixtureRequest) -> ViewportSize:
    """The size of every browser the test opens: VIEWPORT unless parametrized
    (``AT_BOTH_WIDTHS``, or ``parametrize("viewport", [...], indirect=True)``)."""
    size: ViewportSize = getattr(request, "param", VIEWPORT)
    return size


@pytest.fixture
def open_page(
    browser: Browser,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    viewport: ViewportSize,
) -> Iterator[Callable[[str], Page]]:
    """Open a browser context per person (``open_page("Sam")``); any console or page
    error in any of them fails the test. Every document each one sees is kept for
    the HTML validity check."""
    contexts: list[tuple[BrowserContext, Path, str]] = []
    errors: list[str] = []

    def open_one(who: str = "") -> Page:
        har = tmp_path / f"browser-{len(contexts)}.har"
        context = browser.new_context(
            viewport=viewport,
            base_url=live_server.url,
            # No transitions: axe must never measure a button's colours halfway
            # between two states (a just-clicked button once failed contrast so).
            reduced_motion="reduce",
            **pages_seen.har_options(har),
        )
        label = f"{who or 'main person'} in {request.node.name}"
        contexts.append((context, har, label))
        page = context.new_page()
        _watch(page, who, errors)
        pages_seen.watch(page, label)
        return page

    yield open_one
    for context, har, label in contexts:
        context.close()  # writes the HAR
        pages_seen.add_navigations(har, label)
    if errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def page(open_page: Callable[[str], Page]) -> Page:
    """A fresh browser context for the test's main person."""
    return open_page("")

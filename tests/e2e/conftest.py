"""Real Chromium through Playwright, against pytest-django's live server.

Every page a journey visits must load without console errors (our strict CSP
reports violations there) and pass axe-core with no serious or critical
violations.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer

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
VIEWPORT = {"width": 1280, "height": 900}


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
        yield browser
        browser.close()


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
def open_page(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[str], Page]]:
    """Open a browser context per person (``open_page("Sam")``); any console or page
    error in any of them fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_one(who: str = "") -> Page:
        context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        _watch(page, who, errors)
        return page

    yield open_one
    for context in contexts:
        context.close()
    if errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def page(open_page: Callable[[str], Page]) -> Page:
    """A fresh browser context for the test's main person."""
    return open_page("")

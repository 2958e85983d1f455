"""Every HTML document the browser journeys see, kept for the Nu Html Checker.

test_html_validity.py validates them all in one run at the end of the session. The
list comes from the journeys themselves, so it never drifts from what they visit:

- what the server sent: the body of every main-frame navigation (GET or POST,
  redirects left out, error pages kept), read from the browser context's HAR
  recording, which holds every body even when a journey clicks on before it
  could have been read;
- what the person was looking at: the page's DOM each time a journey checks a
  page with axe (``arrive_at``, ``visit``, ``check_a11y``), which includes the
  states htmx swapped in (a new comment, a filtered matrix, a rating).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page

from tests.html_validity import Document

# Static files are not documents; leaving them out keeps the HAR small.
NOT_STATIC = re.compile(r"^(?!.*/static/)")
REDIRECT = range(300, 400)


@dataclass
class PagesSeen:
    """What the journeys of this session saw, and how many browsers they opened."""

    documents: list[Document] = field(default_factory=list)
    browsers: int = 0
    labels: dict[Page, str] = field(default_factory=dict)


SEEN = PagesSeen()


def har_options(path: Path) -> dict[str, Any]:
    """``new_context`` options that record the context's documents into ``path``."""
    return {
        "record_har_path": str(path),
        "record_har_content": "embed",
        "record_har_url_filter": NOT_STATIC,
    }


def _where(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def watch(page: Page, label: str) -> None:
    """Count a new browser and remember whose it is (``label``) for its DOM snapshots."""
    SEEN.browsers += 1
    SEEN.labels[page] = label


def add_dom(page: Page) -> None:
    """Keep the page's current DOM, as the person sees it after scripts and swaps."""
    label = SEEN.labels.get(page, "a page")
    SEEN.documents.append(Document(f"DOM of {_where(page.url)}, {label}", page.content()))


def add_navigations(har: Path, label: str) -> None:
    """Keep the body of every main-frame document in a closed context's HAR file."""
    SEEN.labels = {page: name for page, name in SEEN.labels.items() if not page.is_closed()}
    for entry in json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]:
        request, response = entry["request"], entry["response"]
        headers = {header["name"].lower(): header["value"] for header in request["headers"]}
        content = response["content"]
        if (
            headers.get("sec-fetch-dest") != "document"  # a main-frame navigation
            or response["status"] in REDIRECT
            or not content.get("mimeType", "").startswith("text/html")
            or not content.get("text")
        ):
            continue
        text = content["text"]
        html = base64.b64decode(text).decode() if content.get("encoding") == "base64" else text
        where = f"{request['method']} {_where(request['url'])} → {response['status']}"
        SEEN.documents.append(Document(f"{where}, {label}", html))

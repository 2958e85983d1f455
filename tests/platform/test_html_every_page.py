"""Every page the fixed cast sees is valid HTML, by the Nu Html Checker.

The pages are test_headers_every_page.py's list (each page type, as the person who
uses it), so a page added there is validated here too; the browser journeys'
pages are validated by tests/e2e/test_html_validity.py. All pages go through one
run of vnu.jar (starting Java is the slow part).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.html_validity import Document, report, require_vnu, validate
from tests.platform.test_headers_every_page import (  # noqa: F401 (objects: a fixture)
    PAGES,
    Objects,
    objects,
)

# Django's own admin templates, not ours: its hidden "initial" inputs carry the
# field's aria-describedby, which the checker rightly refuses.
NOT_OURS = ("/admin/",)


def test_every_page_the_cast_sees_is_valid_html(
    objects: Objects,  # noqa: F811 (the fixture imported above, used by name)
    tmp_path: Path,
) -> None:
    command = require_vnu()
    documents: list[Document] = []
    for name, user, path, status in PAGES:
        url = path(objects)
        if url.startswith(NOT_OURS):
            continue
        client = Client()
        if objects.users[user] is not None:
            client.force_login(objects.users[user])
        response = client.get(url)
        assert response.status_code == status, url
        if response["Content-Type"].startswith("text/html"):
            documents.append(Document(f"{name}: GET {url} as {user}", response.content.decode()))
    assert len(documents) > 20, "the page list shrank: is test_headers_every_page.py intact?"

    problems = validate(documents, tmp_path, command)

    if problems:
        pytest.fail(report(problems, tmp_path), pytrace=False)

"""Error pages answer with their own status, whatever was wrong with the request."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import User
from tests.conftest import client_for

LATIN_1_FORM = "application/x-www-form-urlencoded; charset=latin-1"


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("anonymous", "/accounts/login/"),
        ("anonymous", "/accounts/signup/"),
        ("learner", "/settings/"),
        ("learner", "/notifications/read-all/"),
    ],
)
def test_a_form_posted_in_another_charset_is_a_bad_request(
    learner: User, who: str, url: str
) -> None:
    # Django refuses a form body that is not UTF-8 while checking its CSRF token
    # (BadRequest); its 400 handler then checked the token again, read the body again
    # and turned the 400 into a 500.
    client = client_for(learner) if who == "learner" else Client()
    client.handler.enforce_csrf_checks = True
    client.raise_request_exception = False
    client.get("/settings/" if who == "learner" else "/accounts/login/")  # a CSRF cookie
    token = client.cookies["csrftoken"].value
    body = f"csrfmiddlewaretoken={token}&login=a%E9%40example.com&display_name=Zo%EB"
    response = client.post(url, body, content_type=LATIN_1_FORM)
    assert response.status_code == 400
    page = response.content.decode()
    assert "We couldn't read that request" in page
    assert "<form" not in page


def test_the_400_page_needs_nothing_from_the_request(rf) -> None:  # type: ignore[no-untyped-def]
    from core.platform.views import bad_request

    request = rf.post("/accounts/login/", "a=%E9", content_type=LATIN_1_FORM)
    response = bad_request(request, exception=ValueError("unreadable"))
    assert response.status_code == 400

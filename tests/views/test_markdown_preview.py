"""The Markdown preview renders with the pages' sanitizer."""

from __future__ import annotations

from django.test import Client

URL = "/preview/markdown/"


def test_it_renders_the_named_field(learner_client: Client) -> None:
    response = learner_client.post(URL, {"field": "notes", "notes": "**bold** <script>x</script>"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<strong>bold</strong>" in body
    assert "<script>" not in body


def test_it_says_when_there_is_nothing_to_preview(learner_client: Client) -> None:
    response = learner_client.post(URL, {"field": "notes", "notes": "   "})
    assert "Nothing to preview yet" in response.content.decode()


def test_it_ignores_the_csrf_token_as_a_field(learner_client: Client) -> None:
    response = learner_client.post(URL, {"field": "csrfmiddlewaretoken"})
    assert "Nothing to preview yet" in response.content.decode()


def test_it_refuses_get(learner_client: Client) -> None:
    assert learner_client.get(URL).status_code == 405


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.post(URL, {"field": "notes", "notes": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")

"""The Markdown preview renders with the pages' sanitizer."""

from __future__ import annotations

from django.test import Client
from pytest_django.fixtures import Settings

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


def test_it_says_the_forms_limit_past_it_and_renders_only_the_beginning(
    learner_client: Client, settings: Settings
) -> None:
    limit = settings.MARKDOWN_MAX_CHARS
    response = learner_client.post(URL, {"field": "notes", "notes": "a" * limit + "**b**"})
    body = response.content.decode()
    assert f"This text is {limit + 5:,} characters long, over the limit of {limit:,}" in body
    assert f"<p>{'a' * limit}</p>" in body
    assert "<strong>" not in body  # past the limit: not rendered


def test_it_uses_the_same_limit_as_the_forms(learner_client: Client, settings: Settings) -> None:
    settings.MARKDOWN_MAX_CHARS = 10
    response = learner_client.post(URL, {"field": "notes", "notes": "**ten!!**"})
    assert "over the limit" not in response.content.decode()
    response = learner_client.post(URL, {"field": "notes", "notes": "**eleven!!**"})
    assert "This text is 12 characters long, over the limit of 10" in response.content.decode()

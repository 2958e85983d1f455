"""The landing page, the home page and the error pages."""

from __future__ import annotations

from django.test import Client

from core.models import User


def test_it_shows_visitors_the_landing_page(client: Client, db: None) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Learn backend engineering" in body
    assert 'href="/accounts/signup/"' in body


def test_it_sends_signed_in_users_home(learner_client: Client) -> None:
    response = learner_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_it_greets_the_user_on_the_home_page(learner_client: Client, learner: User) -> None:
    response = learner_client.get("/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Welcome, {learner.display_name}" in body
    assert "Sign out" in body
    assert 'href="/admin/"' not in body


def test_it_shows_staff_the_admin_link(staff_client: Client) -> None:
    assert 'href="/admin/"' in staff_client.get("/dashboard/").content.decode()


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/dashboard/"


def test_it_refuses_post_on_pages(learner_client: Client) -> None:
    assert learner_client.post("/dashboard/").status_code == 405
    assert learner_client.post("/").status_code == 405


def test_it_signs_out_by_post_only(learner_client: Client) -> None:
    page = learner_client.get("/accounts/logout/")
    assert page.status_code == 200  # a confirmation page, not a sign-out
    assert learner_client.get("/dashboard/").status_code == 200
    learner_client.post("/accounts/logout/")
    assert learner_client.get("/dashboard/").status_code == 302


def test_it_renders_404_in_the_layout(learner_client: Client) -> None:
    response = learner_client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "We couldn&#x27;t find that page" in body or "We couldn't find that page" in body
    assert 'id="main"' in body


def test_it_renders_500_without_a_request_context(rf) -> None:  # type: ignore[no-untyped-def]
    from core.platform.views import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_it_has_a_skip_link_and_landmarks(client: Client, db: None) -> None:
    body = client.get("/accounts/login/").content.decode()
    assert 'href="#main"' in body
    for landmark in ("<header", "<main", "<footer", "<nav"):
        assert landmark in body


def test_it_configures_htmx_for_a_strict_csp(client: Client, db: None) -> None:
    body = client.get("/").content.decode()
    assert '"allowEval": false' in body
    assert '"includeIndicatorStyles": false' in body
    assert "hx-on" not in body
    assert 'hx-headers=\'{"X-CSRFToken": "' in body

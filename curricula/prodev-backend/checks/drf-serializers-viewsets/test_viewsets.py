"""Task 3: ModelViewSets for boards, tickets and comments on a DefaultRouter under /api/."""

from __future__ import annotations

from typing import Any


def test_the_api_root_lists_the_three_resources(api: Any) -> None:
    """GET /api/ lists boards, tickets and comments"""
    response = api.get("/api/")
    assert response.status_code == 200
    assert {"boards", "tickets", "comments"} <= set(response.json())


def test_a_new_ticket_is_reported_by_the_user(api: Any, board: Any, other_user: Any) -> None:
    """POST /api/tickets/ answers 201; the reporter is the user, whatever the body says"""
    body = {
        "board": board.pk,
        "title": "Login button does nothing",
        "priority": "high",
        "reporter": other_user.pk,
    }
    response = api.post("/api/tickets/", body, format="json")
    assert response.status_code == 201, response.content[:500]
    assert response.json()["reporter"] == "ada@example.com"
    assert response.json()["status"] == "open"


def test_a_ticket_can_be_changed_and_deleted(api: Any, board: Any, make_ticket: Any) -> None:
    """PATCH /api/tickets/{id}/ answers 200, DELETE answers 204"""
    ticket = make_ticket(board)
    changed = api.patch(f"/api/tickets/{ticket.pk}/", {"priority": "low"}, format="json")
    assert changed.status_code == 200 and changed.json()["priority"] == "low"
    assert api.delete(f"/api/tickets/{ticket.pk}/").status_code == 204


def test_a_new_comment_is_written_by_the_user(api: Any, board: Any, make_ticket: Any) -> None:
    """POST /api/comments/ answers 201, with the user as its author"""
    from tracker.models import Comment

    ticket = make_ticket(board)
    response = api.post("/api/comments/", {"ticket": ticket.pk, "body": "Same here"}, format="json")
    assert response.status_code == 201, response.content[:500]
    assert Comment.objects.get().author.email == "ada@example.com"


def test_the_router_names_the_urls() -> None:
    """The router's URL names work: board-list, ticket-detail, comment-list"""
    from django.urls import reverse

    assert reverse("board-list") == "/api/boards/"
    assert reverse("ticket-detail", args=[41]) == "/api/tickets/41/"
    assert reverse("comment-list") == "/api/comments/"

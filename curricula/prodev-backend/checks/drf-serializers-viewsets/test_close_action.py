"""Task 4: POST /api/tickets/{id}/close/ closes a ticket, once."""

from __future__ import annotations

from typing import Any


def close(api: Any, ticket: Any) -> Any:
    return api.post(f"/api/tickets/{ticket.pk}/close/")


def test_closing_sets_the_status_and_closed_at(api: Any, board: Any, make_ticket: Any) -> None:
    """Closing answers 200 and sets status "closed" and closed_at"""
    ticket = make_ticket(board)
    assert close(api, ticket).status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.closed_at is not None


def test_it_returns_the_closed_ticket(api: Any, board: Any, make_ticket: Any) -> None:
    """The response is the ticket, now closed"""
    ticket = make_ticket(board)
    data = close(api, ticket).json()
    assert data["id"] == ticket.pk and data["status"] == "closed"


def test_closing_twice_answers_409(api: Any, board: Any, make_ticket: Any) -> None:
    """Closing a closed ticket answers 409 Conflict with a message"""
    ticket = make_ticket(board)
    close(api, ticket)
    again = close(api, ticket)
    assert again.status_code == 409
    assert again.json().get("detail")


def test_close_only_accepts_post(api: Any, board: Any, make_ticket: Any) -> None:
    """GET on the close action answers 405"""
    ticket = make_ticket(board)
    assert api.get(f"/api/tickets/{ticket.pk}/close/").status_code == 405


def test_an_unknown_ticket_answers_404(api: Any, db: None) -> None:
    """Closing a ticket that does not exist answers 404"""
    assert api.post("/api/tickets/999999/close/").status_code == 404

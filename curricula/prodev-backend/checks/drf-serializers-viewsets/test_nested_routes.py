"""Task 5: /api/boards/{board_pk}/tickets/ lists and creates the tickets of one board."""

from __future__ import annotations

from typing import Any


def url(board_pk: int) -> str:
    return f"/api/boards/{board_pk}/tickets/"


def results(response: Any) -> list[Any]:
    data = response.json()
    return data["results"] if isinstance(data, dict) else data


def test_it_lists_only_the_boards_tickets(api: Any, board: Any, make_ticket: Any) -> None:
    """GET lists the tickets of that board only"""
    from tracker.models import Board

    mine = make_ticket(board)
    make_ticket(Board.objects.create(name="Mobile app"), "Another board's ticket")
    response = api.get(url(board.pk))
    assert response.status_code == 200
    assert [t["id"] for t in results(response)] == [mine.pk]


def test_the_board_comes_from_the_url(api: Any, board: Any) -> None:
    """POST creates the ticket on the URL's board, even if the body names another"""
    from tracker.models import Board

    other = Board.objects.create(name="Mobile app")
    body = {"title": "Crash on start", "priority": "high", "board": other.pk}
    response = api.post(url(board.pk), body, format="json")
    assert response.status_code == 201, response.content[:500]
    assert response.json()["board"] == board.pk


def test_no_board_needed_in_the_body(api: Any, board: Any) -> None:
    """POST works without a board in the body"""
    response = api.post(
        url(board.pk), {"title": "Crash on start", "priority": "low"}, format="json"
    )
    assert response.status_code == 201, response.content[:500]


def test_an_unknown_board_answers_404(api: Any, db: None) -> None:
    """A board that does not exist answers 404, for GET and for POST"""
    assert api.get(url(999999)).status_code == 404
    body = {"title": "Crash on start", "priority": "high"}
    assert api.post(url(999999), body, format="json").status_code == 404


def test_the_route_is_named_board_tickets() -> None:
    """The route is named board-tickets"""
    from django.urls import reverse

    assert reverse("board-tickets", kwargs={"board_pk": 3}) == "/api/boards/3/tickets/"

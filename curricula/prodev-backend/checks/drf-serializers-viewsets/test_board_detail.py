"""Task 2: the board detail shows its five most recent open tickets and their comment counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


def detail(api: Any, board: Any) -> Any:
    response = api.get(f"/api/boards/{board.pk}/")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def test_the_detail_lists_the_open_tickets(api: Any, board: Any, make_ticket: Any) -> None:
    """GET /api/boards/{id}/ has open_tickets with id, title and comment_count"""
    ticket = make_ticket(board)
    data = detail(api, board)
    assert data["id"] == board.pk and data["name"] == "Website"
    assert [t["id"] for t in data["open_tickets"]] == [ticket.pk]
    assert {"id", "title", "comment_count"} <= set(data["open_tickets"][0])


def test_comment_counts_are_right(
    api: Any, board: Any, make_ticket: Any, make_comments: Any
) -> None:
    """Each ticket's comment_count counts its comments"""
    quiet, busy = make_ticket(board, "Quiet ticket"), make_ticket(board, "Busy ticket")
    make_comments(busy, 3)
    counts = {t["id"]: t["comment_count"] for t in detail(api, board)["open_tickets"]}
    assert counts == {quiet.pk: 0, busy.pk: 3}


def test_only_the_five_most_recent_open_tickets(api: Any, board: Any, make_ticket: Any) -> None:
    """At most five tickets, the most recent first"""
    tickets = [make_ticket(board, f"Ticket {n}", age=timedelta(hours=n)) for n in range(7)]
    shown = [t["id"] for t in detail(api, board)["open_tickets"]]
    assert shown == [t.pk for t in tickets[:5]]


def test_closed_tickets_are_left_out(api: Any, board: Any, make_ticket: Any) -> None:
    """Closed tickets are not among the open ones"""
    make_ticket(board, "Already fixed", status="closed")
    still_open = make_ticket(board, "Still broken")
    assert [t["id"] for t in detail(api, board)["open_tickets"]] == [still_open.pk]


def test_the_queries_do_not_grow_with_the_tickets(
    api: Any, board: Any, make_ticket: Any, make_comments: Any
) -> None:
    """The detail runs as many queries for 5 tickets as for 1"""
    make_comments(make_ticket(board, "First ticket"), 2)
    with CaptureQueriesContext(connection) as one:
        detail(api, board)
    for number in range(4):
        make_comments(make_ticket(board, f"Ticket {number}"), 2)
    with CaptureQueriesContext(connection) as five:
        detail(api, board)
    assert len(five) == len(one), [q["sql"] for q in five.captured_queries]

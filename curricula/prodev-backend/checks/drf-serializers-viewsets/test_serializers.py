"""Task 1: the Board, Ticket and Comment models, and a validating TicketSerializer."""

from __future__ import annotations

from typing import Any

FIELDS = {"id", "board", "title", "priority", "status", "reporter", "created_at"}


def serializer(**kwargs: Any) -> Any:
    from tracker.serializers import TicketSerializer

    return TicketSerializer(**kwargs)


def test_the_three_models_exist() -> None:
    """tracker.models defines Board, Ticket and Comment"""
    from tracker import models

    assert all(hasattr(models, name) for name in ("Board", "Ticket", "Comment"))


def test_the_serializer_has_the_fields_of_the_brief() -> None:
    """TicketSerializer has exactly id, board, title, priority, status, reporter, created_at"""
    assert set(serializer().fields) == FIELDS


def test_reporter_status_and_created_at_are_read_only() -> None:
    """reporter, status and created_at are read-only"""
    fields = serializer().fields
    assert all(fields[name].read_only for name in ("reporter", "status", "created_at"))
    assert not any(fields[name].read_only for name in ("board", "title", "priority"))


def test_the_reporter_is_shown_by_email(board: Any, make_ticket: Any) -> None:
    """A ticket's reporter is shown as their email"""
    assert serializer(instance=make_ticket(board)).data["reporter"] == "ada@example.com"


def test_a_short_title_is_refused(board: Any) -> None:
    """A title shorter than 5 characters (once stripped) is refused"""
    checked = serializer(data={"board": board.pk, "title": "  Bug   ", "priority": "high"})
    assert not checked.is_valid()
    assert "title" in checked.errors


def test_the_title_is_stripped(board: Any) -> None:
    """Whitespace around the title is removed"""
    data = {"board": board.pk, "title": "  Login button does nothing ", "priority": "high"}
    checked = serializer(data=data)
    assert checked.is_valid(), checked.errors
    assert checked.validated_data["title"] == "Login button does nothing"


def test_no_new_ticket_on_an_archived_board(board: Any) -> None:
    """A new ticket on an archived board is refused"""
    board.archived = True
    board.save()
    checked = serializer(data={"board": board.pk, "title": "Login button", "priority": "high"})
    assert not checked.is_valid()

"""The Tracker API's ViewSets."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tracker.models import Board, Comment, Ticket
from tracker.serializers import (
    BoardDetailSerializer,
    BoardSerializer,
    CommentSerializer,
    TicketSerializer,
)

OPEN_TICKETS_SHOWN = 5


class BoardViewSet(viewsets.ModelViewSet):
    queryset = Board.objects.all()

    def get_queryset(self) -> QuerySet[Board]:
        boards = super().get_queryset()
        if self.action != "retrieve":
            return boards
        recent_open = (
            Ticket.objects.filter(status=Ticket.Status.OPEN)
            .annotate(comment_count=Count("comments"))
            .order_by("-created_at", "-id")
        )
        return boards.prefetch_related(
            Prefetch("tickets", queryset=recent_open[:OPEN_TICKETS_SHOWN], to_attr="open_tickets")
        )

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return BoardDetailSerializer if self.action == "retrieve" else BoardSerializer


class TicketViewSet(viewsets.ModelViewSet):
    serializer_class = TicketSerializer

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # /api/boards/{board_pk}/tickets/: an unknown board is a 404 for every method.
        self.board = (
            get_object_or_404(Board, pk=kwargs["board_pk"]) if "board_pk" in kwargs else None
        )

    def get_queryset(self) -> QuerySet[Ticket]:
        tickets = Ticket.objects.select_related("reporter")
        return tickets.filter(board=self.board) if self.board else tickets

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.Serializer:
        if getattr(self, "board", None) is not None and "data" in kwargs:
            data = kwargs["data"].copy()
            data["board"] = self.board.pk  # the URL's board, whatever the body says
            kwargs["data"] = data
        return super().get_serializer(*args, **kwargs)

    def perform_create(self, serializer: serializers.Serializer) -> None:
        serializer.save(reporter=self.request.user)

    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        ticket = self.get_object()
        if ticket.status == Ticket.Status.CLOSED:
            return Response(
                {"detail": "Ticket is already closed."}, status=status.HTTP_409_CONFLICT
            )
        ticket.close(by=request.user)
        return Response(self.get_serializer(ticket).data)


class CommentViewSet(viewsets.ModelViewSet):
    queryset = Comment.objects.select_related("author")
    serializer_class = CommentSerializer

    def perform_create(self, serializer: serializers.Serializer) -> None:
        serializer.save(author=self.request.user)

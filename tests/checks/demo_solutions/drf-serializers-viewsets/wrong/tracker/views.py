"""The Tracker API's ViewSets.

Typical mistakes: closing twice answers 400 instead of 409, and the nested route takes
the board from the body (an unknown board in the URL lists nothing instead of a 404).
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
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


class BoardViewSet(viewsets.ModelViewSet):
    queryset = Board.objects.all()

    def get_queryset(self) -> QuerySet[Board]:
        recent_open = Ticket.objects.filter(status=Ticket.Status.OPEN).order_by("-created_at")
        return (
            super()
            .get_queryset()
            .prefetch_related(Prefetch("tickets", queryset=recent_open[:5], to_attr="open_tickets"))
        )

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return BoardDetailSerializer if self.action == "retrieve" else BoardSerializer


class TicketViewSet(viewsets.ModelViewSet):
    serializer_class = TicketSerializer

    def get_queryset(self) -> QuerySet[Ticket]:
        tickets = Ticket.objects.select_related("reporter")
        if "board_pk" in self.kwargs:
            return tickets.filter(board_id=self.kwargs["board_pk"])
        return tickets

    def perform_create(self, serializer: serializers.Serializer) -> None:
        serializer.save(reporter=self.request.user)

    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        ticket = self.get_object()
        if ticket.status == Ticket.Status.CLOSED:
            return Response(
                {"detail": "Ticket is already closed."}, status=status.HTTP_400_BAD_REQUEST
            )
        ticket.close(by=request.user)
        return Response(self.get_serializer(ticket).data)


class CommentViewSet(viewsets.ModelViewSet):
    queryset = Comment.objects.select_related("author")
    serializer_class = CommentSerializer

    def perform_create(self, serializer: serializers.Serializer) -> None:
        serializer.save(author=self.request.user)

"""The Tracker API under /api/."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from tracker.views import BoardViewSet, CommentViewSet, TicketViewSet

router = DefaultRouter()
router.register("boards", BoardViewSet, basename="board")
router.register("tickets", TicketViewSet, basename="ticket")
router.register("comments", CommentViewSet, basename="comment")

board_tickets = TicketViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    path("api/", include(router.urls)),
    path("api/boards/<int:board_pk>/tickets/", board_tickets, name="board-tickets"),
]

"""JSON in and out of the Tracker API.

Typical mistakes: status is left writable, archived boards still take tickets, and
each ticket's comment count is its own query.
"""

from __future__ import annotations

from rest_framework import serializers
from tracker.models import Board, Comment, Ticket

MIN_TITLE = 5


class TicketSerializer(serializers.ModelSerializer):
    reporter = serializers.ReadOnlyField(source="reporter.email")

    class Meta:
        model = Ticket
        fields = ["id", "board", "title", "priority", "status", "reporter", "created_at"]
        read_only_fields = ["created_at"]

    def validate_title(self, value: str) -> str:
        if len(value.strip()) < MIN_TITLE:
            raise serializers.ValidationError(f"Title must be at least {MIN_TITLE} characters.")
        return value.strip()


class OpenTicketSerializer(serializers.ModelSerializer):
    comment_count = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = ["id", "title", "priority", "comment_count"]

    def get_comment_count(self, ticket: Ticket) -> int:
        return ticket.comments.count()


class BoardSerializer(serializers.ModelSerializer):
    class Meta:
        model = Board
        fields = ["id", "name", "archived"]


class BoardDetailSerializer(BoardSerializer):
    open_tickets = OpenTicketSerializer(many=True, read_only=True)

    class Meta(BoardSerializer.Meta):
        fields = [*BoardSerializer.Meta.fields, "open_tickets"]


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.ReadOnlyField(source="author.email")

    class Meta:
        model = Comment
        fields = ["id", "ticket", "author", "body", "created_at"]
        read_only_fields = ["created_at"]

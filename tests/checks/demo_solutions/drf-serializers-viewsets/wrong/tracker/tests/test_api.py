"""The Tracker API's tests.

Typical mistake: only the happy paths, and no query count: closing twice is never tried.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APITestCase
from tracker.models import Board, Ticket


class TrackerAPITests(APITestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.user = get_user_model().objects.create_user(username="ada", email="ada@example.com")
        cls.board = Board.objects.create(name="Website")
        cls.ticket = Ticket.objects.create(
            board=cls.board, title="Login button does nothing", priority="high", reporter=cls.user
        )

    def setUp(self) -> None:
        self.client.force_authenticate(self.user)

    def test_list_boards(self) -> None:
        self.assertEqual(self.client.get(reverse("board-list")).status_code, 200)

    def test_open_a_ticket(self) -> None:
        body = {"board": self.board.pk, "title": "Crash on start", "priority": "low"}
        self.assertEqual(self.client.post(reverse("ticket-list"), body).status_code, 201)

    def test_close_a_ticket(self) -> None:
        url = reverse("ticket-close", args=[self.ticket.pk])
        self.assertEqual(self.client.post(url).status_code, 200)

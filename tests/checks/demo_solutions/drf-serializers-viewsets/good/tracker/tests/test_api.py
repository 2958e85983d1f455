"""The Tracker API, used the way a client uses it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APITestCase

from tracker.models import Board, Comment, Ticket


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

    def test_board_detail_shows_open_tickets(self) -> None:
        data = self.client.get(reverse("board-detail", args=[self.board.pk])).json()
        self.assertEqual([t["id"] for t in data["open_tickets"]], [self.ticket.pk])

    def test_unknown_board_is_404(self) -> None:
        self.assertEqual(self.client.get(reverse("board-detail", args=[9999])).status_code, 404)

    def test_open_a_ticket(self) -> None:
        body = {"board": self.board.pk, "title": "Crash on start", "priority": "low"}
        response = self.client.post(reverse("ticket-list"), body, format="json")
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["reporter"], "ada@example.com")

    def test_a_short_title_is_400(self) -> None:
        body = {"board": self.board.pk, "title": "Bug", "priority": "low"}
        self.assertEqual(self.client.post(reverse("ticket-list"), body).status_code, 400)

    def test_patch_a_ticket(self) -> None:
        url = reverse("ticket-detail", args=[self.ticket.pk])
        self.assertEqual(self.client.patch(url, {"priority": "low"}).status_code, 200)

    def test_close_twice_conflicts(self) -> None:
        url = reverse("ticket-close", args=[self.ticket.pk])
        self.assertEqual(self.client.post(url).status_code, 200)
        self.assertEqual(self.client.post(url).status_code, 409)

    def test_comment_and_delete_it(self) -> None:
        body = {"ticket": self.ticket.pk, "body": "Same here"}
        created = self.client.post(reverse("comment-list"), body, format="json")
        self.assertEqual(created.status_code, 201)
        url = reverse("comment-detail", args=[created.json()["id"]])
        self.assertEqual(self.client.delete(url).status_code, 204)
        self.assertFalse(Comment.objects.exists())

    def test_board_tickets_unknown_board_is_404(self) -> None:
        url = reverse("board-tickets", kwargs={"board_pk": 9999})
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_ticket_list_queries_do_not_grow(self) -> None:
        for number in range(3):
            Ticket.objects.create(
                board=self.board, title=f"Ticket {number}", priority="low", reporter=self.user
            )
        with self.assertNumQueries(1):
            self.client.get(reverse("ticket-list"))
        for number in range(27):
            Ticket.objects.create(
                board=self.board, title=f"More {number}", priority="low", reporter=self.user
            )
        with self.assertNumQueries(1):
            self.client.get(reverse("ticket-list"))

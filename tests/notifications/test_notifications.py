"""The navbar bell, /notifications/, mark read and mark all read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Notification, User
from tests.factories import NotificationFactory, UserFactory

BELL = "/notifications/bell/"
PAGE = "/notifications/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def make(user: User, count: int, **fields: object) -> list[Notification]:
    """``count`` notifications for ``user``, one minute apart, the last one newest."""
    now = timezone.now()
    return Notification.objects.bulk_create(
        Notification(
            user=user,
            kind=fields.get("kind", "review_done"),
            title=f"Notification {i}",
            url="/dashboard/",
            created_at=now - timedelta(minutes=count - i),
            read_at=fields.get("read_at"),
        )
        for i in range(count)
    )


# The bell


def test_it_renders_the_bell_in_the_navbar_without_a_query(
    learner_client: Client, learner: User
) -> None:
    make(learner, 2)
    with CaptureQueriesContext(connection) as queries:
        body = learner_client.get("/curriculum/").content.decode()
    assert 'href="/notifications/"' in body
    assert 'hx-get="/notifications/bell/"' in body
    assert 'hx-trigger="load, every 30s"' in body
    assert 'hx-swap="outerHTML"' in body
    # The count arrives through HTMX; the page itself never counts notifications.
    assert not [q for q in queries.captured_queries if "core_notification" in q["sql"]]
    assert "notifications-badge" not in body


def test_it_shows_no_bell_to_anonymous_visitors(client: Client, db: None) -> None:
    body = client.get("/").content.decode()
    assert "notifications-bell" not in body
    assert "/notifications/" not in body


def test_it_counts_unread_notifications(
    learner_client: Client, learner: User, outsider: User
) -> None:
    make(learner, 3)
    make(learner, 2, read_at=timezone.now())
    make(outsider, 4)
    response = learner_client.get(BELL)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<a id="notifications-bell"')
    assert "<html" not in body
    assert (
        '<span class="badge rounded-pill notifications-badge" aria-hidden="true">3</span>' in body
    )
    assert '<span class="visually-hidden">3 unread notifications</span>' in body
    assert "bi-bell-fill" in body
    # The swapped-in bell keeps polling but must not reload itself at once.
    assert 'hx-trigger="every 30s"' in body
    assert "load" not in body


def test_it_says_one_unread_notification(learner_client: Client, learner: User) -> None:
    make(learner, 1)
    body = learner_client.get(BELL).content.decode()
    assert '<span class="visually-hidden">1 unread notification</span>' in body


def test_it_shows_no_badge_at_zero(learner_client: Client, learner: User) -> None:
    make(learner, 2, read_at=timezone.now())
    body = learner_client.get(BELL).content.decode()
    assert "notifications-badge" not in body
    assert "unread notification" not in body
    assert 'href="/notifications/"' in body


def test_it_caps_the_badge_at_99(learner_client: Client, learner: User) -> None:
    make(learner, 150)
    body = learner_client.get(BELL).content.decode()
    assert 'aria-hidden="true">99+</span>' in body
    assert "More than 99 unread notifications" in body


@pytest.mark.parametrize("size", [1, 10])
def test_it_counts_with_one_query(
    learner_client: Client,
    learner: User,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    make(learner, 3 * size)
    # user, then the one COUNT of unread notifications (the session comes from the cache)
    with django_assert_num_queries(2) as queries:
        learner_client.get(BELL)
    sql = queries.captured_queries[-1]["sql"]
    assert "COUNT(" in sql.upper()
    assert '"read_at" IS NULL' in sql


def test_it_answers_anonymous_polls_with_no_content(client: Client, db: None) -> None:
    response = client.get(BELL, **HTMX)
    assert response.status_code == 204
    assert response.content == b""


def test_it_serves_the_bell_only_by_get(learner_client: Client) -> None:
    assert learner_client.post(BELL).status_code == 405


# The page


def test_it_lists_the_users_notifications_newest_first(
    learner_client: Client, learner: User, outsider: User
) -> None:
    old = NotificationFactory(
        user=learner,
        title="Older one",
        created_at=timezone.now() - timedelta(hours=3),
        read_at=timezone.now(),
    )
    new = NotificationFactory(
        user=learner,
        kind="changes_requested",
        title="Changes requested on Python Generators",
        body="Task 1 fails on empty input.",
        url="/attempts/1/",
    )
    NotificationFactory(user=outsider, title="Charlie's secret")
    response = learner_client.get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Changes requested on Python Generators") < body.index("Older one")
    assert "Charlie's secret" not in body
    assert "Task 1 fails on empty input." in body
    assert "3\xa0hours ago" in body
    assert "bi-arrow-repeat" in body  # the kind's icon
    assert f'id="notification-{new.pk}" class="notification notification-unread"' in body
    assert f'id="notification-{old.pk}" class="notification"' in body
    # Unread: the title is a button that marks it read and opens it; read: a plain link.
    assert f'action="/notifications/{new.pk}/read/"' in body
    assert 'name="open" value="1"' in body
    assert f'<a class="notification-title" href="{old.url}">Older one</a>' in body
    assert "<strong>1</strong> unread" in body
    assert 'action="/notifications/read-all/"' in body
    assert "style=" not in body
    assert "hx-on" not in body


def test_it_paginates_by_20(learner_client: Client, learner: User) -> None:
    make(learner, 25)
    first = learner_client.get(PAGE).content.decode()
    assert first.count('class="notification notification-unread"') == 20
    assert "Notification 24" in first and "Notification 5<" in first
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    second = learner_client.get(PAGE + "?page=2").content.decode()
    assert second.count('class="notification notification-unread"') == 5
    assert "Notification 4<" in second and "Notification 5<" not in second
    assert 'name="page" value="2"' in second
    # A page number out of range shows the last page rather than an error.
    assert learner_client.get(PAGE + "?page=99").status_code == 200


def test_it_says_when_there_is_nothing(learner_client: Client) -> None:
    body = learner_client.get(PAGE).content.decode()
    assert "You're all caught up" in body
    assert "Mark all read" not in body


def test_it_says_all_caught_up_when_everything_is_read(
    learner_client: Client, learner: User
) -> None:
    make(learner, 2, read_at=timezone.now())
    body = learner_client.get(PAGE).content.decode()
    assert "You're all caught up" in body
    assert "Mark all read" not in body


def test_it_serves_only_the_list_to_htmx(learner_client: Client, learner: User) -> None:
    make(learner, 25)
    response = learner_client.get(PAGE + "?page=2", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="notification-list">')
    assert "<html" not in body
    assert "Page 2 of 2" in body
    assert "HX-Request" in response["Vary"]


def test_it_serves_the_whole_page_to_a_history_restore(
    learner_client: Client, learner: User
) -> None:
    make(learner, 1)
    headers = HTMX | {"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}
    assert "<html" in learner_client.get(PAGE, **headers).content.decode()


@pytest.mark.parametrize("size", [1, 10])
def test_it_lists_with_a_constant_number_of_queries(
    learner_client: Client,
    learner: User,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    make(learner, 2 * size)
    make(learner, 1 * size, read_at=timezone.now())
    # user, the paginator's count, the page of notifications, the unread count, the
    # user's roles (navbar); the session comes from the cache
    with django_assert_num_queries(5):
        response = learner_client.get(PAGE)
    assert response.content.decode().count('<li id="notification-') == min(3 * size, 20)


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/notifications/"


def test_it_serves_the_page_only_by_get(learner_client: Client) -> None:
    assert learner_client.post(PAGE).status_code == 405


# Mark read


def test_it_marks_one_read_and_goes_back(learner_client: Client, learner: User) -> None:
    notification, other = make(learner, 2)
    response = learner_client.post(f"/notifications/{notification.pk}/read/")
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    notification.refresh_from_db()
    other.refresh_from_db()
    assert notification.read_at is not None
    assert other.read_at is None


def test_it_goes_back_to_the_same_page(learner_client: Client, learner: User) -> None:
    (notification,) = make(learner, 1)
    response = learner_client.post(f"/notifications/{notification.pk}/read/", {"page": "2"})
    assert response["Location"] == "/notifications/?page=2"


def test_it_keeps_the_first_read_time(learner_client: Client, learner: User) -> None:
    read_at = timezone.now() - timedelta(days=1)
    (notification,) = make(learner, 1, read_at=read_at)
    learner_client.post(f"/notifications/{notification.pk}/read/")
    notification.refresh_from_db()
    assert notification.read_at == read_at


def test_it_marks_read_and_opens_the_target(learner_client: Client, learner: User) -> None:
    notification = NotificationFactory(user=learner, url="/attempts/7/#comment-3")
    response = learner_client.post(f"/notifications/{notification.pk}/read/", {"open": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/attempts/7/#comment-3"
    notification.refresh_from_db()
    assert notification.is_read


def test_it_never_opens_an_outside_url(learner_client: Client, learner: User) -> None:
    notification = NotificationFactory(user=learner, url="https://evil.example/phish")
    response = learner_client.post(f"/notifications/{notification.pk}/read/", {"open": "1"})
    assert response["Location"] == "/notifications/"


def test_it_swaps_the_item_and_the_bell_for_htmx(learner_client: Client, learner: User) -> None:
    notification, _, _ = make(learner, 3)
    response = learner_client.post(f"/notifications/{notification.pk}/read/", {"page": "1"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith(
        f'<li id="notification-{notification.pk}" class="notification">'
    )
    assert "Mark read" not in body  # the item is now read
    # Out of band: the unread summary and the bell, both with the new count.
    assert '<div id="unread-summary" class="notifications-summary" hx-swap-oob="true">' in body
    assert "<strong>2</strong> unread" in body
    assert 'id="notifications-bell"' in body
    assert 'hx-swap-oob="true">' in body.split('id="notifications-bell"')[1]
    assert '<span class="visually-hidden">2 unread notifications</span>' in body


def test_it_refuses_to_mark_someone_elses(learner_client: Client, outsider: User) -> None:
    (notification,) = make(outsider, 1)
    response = learner_client.post(f"/notifications/{notification.pk}/read/")
    assert response.status_code == 404
    response = learner_client.post(f"/notifications/{notification.pk}/read/", {"open": "1"})
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_it_answers_404_for_a_missing_notification(learner_client: Client) -> None:
    assert learner_client.post("/notifications/999999/read/").status_code == 404


def test_it_marks_read_only_by_post(learner_client: Client, learner: User) -> None:
    (notification,) = make(learner, 1)
    assert learner_client.get(f"/notifications/{notification.pk}/read/").status_code == 405
    assert learner_client.get("/notifications/read-all/").status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


def test_it_sends_anonymous_markers_to_sign_in(client: Client, learner: User) -> None:
    (notification,) = make(learner, 1)
    for url in (f"/notifications/{notification.pk}/read/", "/notifications/read-all/"):
        response = client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    notification.refresh_from_db()
    assert notification.read_at is None


def test_it_needs_a_csrf_token(learner: User) -> None:
    (notification,) = make(learner, 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    assert client.post(f"/notifications/{notification.pk}/read/").status_code == 403
    assert client.post("/notifications/read-all/").status_code == 403


# Mark all read


def test_it_marks_all_read(learner_client: Client, learner: User, outsider: User) -> None:
    make(learner, 3)
    (theirs,) = make(outsider, 1)
    response = learner_client.post("/notifications/read-all/", follow=True)
    assert response.redirect_chain == [("/notifications/", 302)]
    assert not Notification.objects.filter(user=learner).unread().exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    body = response.content.decode()
    assert "All notifications marked as read." in body
    assert "You're all caught up" in body


def test_it_marks_all_read_for_htmx(learner_client: Client, learner: User) -> None:
    make(learner, 25)
    response = learner_client.post("/notifications/read-all/", {"page": "2"}, **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="notification-list">')
    assert "<html" not in body
    assert "Page 2 of 2" in body
    assert "notification-unread" not in body
    assert "You're all caught up" in body
    bell = body.split('id="notifications-bell"')[1]
    assert 'hx-swap-oob="true"' in bell
    assert "notifications-badge" not in bell
    assert not Notification.objects.filter(user=learner).unread().exists()


def test_the_bell_counts_for_each_user_alone(learner: User) -> None:
    other = UserFactory()
    make(other, 5)
    client = Client()
    client.force_login(learner)
    assert "notifications-badge" not in client.get(BELL).content.decode()


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's planner")
def test_the_count_reads_the_partial_unread_index(learner: User) -> None:
    from core.notifications.views import BADGE_CAP

    make(learner, 50)
    make(learner, 500, read_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_notification")
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned
    unread = Notification.objects.filter(user=learner).unread()[: BADGE_CAP + 1]
    assert "notification_unread" in unread.values("pk").explain()

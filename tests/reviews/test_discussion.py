"""The discussion thread on the attempt page: posting, polling, who may do either."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from core.models import Attempt, Cohort, Comment, Notification, ProjectRelease, User
from core.reviews import signals
from core.reviews.services import comment_post
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    CommentFactory,
    IterationFactory,
    MembershipFactory,
    ReviewFactory,
    UserFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def attempt(learner: User, release: ProjectRelease) -> Attempt:
    attempt = AttemptFactory(learner=learner, release=release)
    IterationFactory(attempt=attempt, number=1)
    return attempt


@pytest.fixture
def reviewed(attempt: Attempt, mentor: User) -> Attempt:
    """The mentor reviewed the attempt's iteration, so the mentor is in the thread."""
    ReviewFactory(iteration=attempt.iterations.get(), reviewer=mentor)
    return attempt


def _url(attempt: Attempt) -> str:
    return f"/attempts/{attempt.pk}/comments/"


def _new_comment_for(user: User) -> list[Notification]:
    return list(Notification.objects.filter(user=user, kind=Notification.Kind.NEW_COMMENT))


# The page


def test_the_page_shows_the_thread_oldest_first(
    learner_client: Client, attempt: Attempt, learner: User, mentor: User
) -> None:
    first = CommentFactory(attempt=attempt, author=learner, body="Is task 2 **required**?")
    last = CommentFactory(attempt=attempt, author=mentor, body="No, it is advanced.")
    body = learner_client.get(f"/attempts/{attempt.pk}/").content.decode()
    assert body.index(f'id="comment-{first.pk}"') < body.index(f'id="comment-{last.pk}"')
    assert "Is task 2 <strong>required</strong>?" in body
    assert (
        '<strong class="comment-author">Alice Learner <span class="fw-normal">(you)</span>' in body
    )
    assert '<span class="comment-role">Learner</span>' in body
    assert '<span class="comment-role">Mentor</span>' in body
    assert "2 messages" in body


def test_the_page_polls_for_new_comments_after_the_last_one(
    learner_client: Client, attempt: Attempt, learner: User
) -> None:
    comment = CommentFactory(attempt=attempt, author=learner)
    body = learner_client.get(f"/attempts/{attempt.pk}/").content.decode()
    assert f'hx-get="{_url(attempt)}?after={comment.pk}"' in body
    assert 'hx-trigger="every 5s" hx-target="#comment-list" hx-swap="beforeend"' in body
    assert f'<input type="hidden" id="comment-after" name="after" value="{comment.pk}">' in body
    assert f'method="post" action="{_url(attempt)}" hx-post="{_url(attempt)}"' in body


def test_the_page_has_an_empty_state_and_a_markdown_editor(
    learner_client: Client, attempt: Attempt
) -> None:
    body = learner_client.get(f"/attempts/{attempt.pk}/").content.decode()
    assert "No messages yet. Ask your mentor a question about this project." in body
    assert f'hx-get="{_url(attempt)}?after=0"' in body
    assert "data-md-editor" in body
    assert 'name="body"' in body
    assert 'maxlength="20000"' in body  # settings.MARKDOWN_MAX_CHARS


def test_comments_are_sanitized(learner_client: Client, attempt: Attempt, mentor: User) -> None:
    CommentFactory(attempt=attempt, author=mentor, body="<script>alert(1)</script> hi")
    body = learner_client.get(f"/attempts/{attempt.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in body


# Posting


def test_a_post_without_htmx_redirects_to_the_new_comment(
    learner_client: Client,
    reviewed: Attempt,
    mentor: User,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = learner_client.post(_url(reviewed), {"body": "  Why did task 1 fail?  "})
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/attempts/{reviewed.pk}/#comment-{comment.pk}"
    assert comment.body == "Why did task 1 fail?"
    # The other side hears of it.
    (note,) = _new_comment_for(mentor)
    assert note.title == "Alice Learner commented on Python Generators"
    assert note.url == f"/attempts/{reviewed.pk}/#comment-{comment.pk}"
    assert _new_comment_for(reviewed.learner) == []


def test_a_mentor_reply_notifies_the_learner(
    mentor_client: Client,
    reviewed: Attempt,
    learner: User,
    mentor: User,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        mentor_client.post(_url(reviewed), {"body": "Read the checker output."}, **HTMX)
    assert len(_new_comment_for(learner)) == 1
    assert _new_comment_for(mentor) == []


def test_a_question_before_any_review_reaches_the_cohorts_mentors(
    learner_client: Client,
    attempt: Attempt,
    mentor: User,
    reviewer: User,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        learner_client.post(_url(attempt), {"body": "Where do I start?"})
    assert len(_new_comment_for(mentor)) == 1
    assert _new_comment_for(reviewer) == []


def test_a_claim_holder_hears_of_the_learners_comment(
    learner_client: Client,
    attempt: Attempt,
    staff: User,
    mentor: User,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    attempt.iterations.get().claims.create(
        reviewer=staff, expires_at=timezone.now() + timedelta(minutes=20)
    )
    with django_capture_on_commit_callbacks(execute=True):
        learner_client.post(_url(attempt), {"body": "Take your time."})
    assert len(_new_comment_for(staff)) == 1
    assert _new_comment_for(mentor) == []  # someone already reviews it


def test_an_htmx_post_returns_the_new_comment_and_resets_the_form(
    learner_client: Client, attempt: Attempt, mentor: User
) -> None:
    seen = CommentFactory(attempt=attempt, author=mentor, body="Seen already")
    response = learner_client.post(
        _url(attempt), {"body": "Thanks, on it", "after": str(seen.pk)}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    comment = Comment.objects.latest("pk")
    assert "<html" not in body
    assert f'id="comment-{comment.pk}"' in body
    assert "comment-arrived" in body
    assert "Seen already" not in body
    # The poller moves on past the new comment, and the form comes back empty.
    assert f'hx-get="{_url(attempt)}?after={comment.pk}"' in body
    assert body.count('hx-swap-oob="true"') == 2
    assert re.search(r'<textarea name="body"[^>]*>\s*</textarea>', body)


def test_an_htmx_post_brings_the_comments_posted_meanwhile(
    learner_client: Client, attempt: Attempt, mentor: User
) -> None:
    seen = CommentFactory(attempt=attempt, author=mentor, body="Seen already")
    meanwhile = CommentFactory(attempt=attempt, author=mentor, body="Posted meanwhile")
    body = learner_client.post(
        _url(attempt), {"body": "Mine", "after": str(seen.pk)}, **HTMX
    ).content.decode()
    assert body.index(f'id="comment-{meanwhile.pk}"') < body.index("Mine")
    assert "Seen already" not in body


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("   ", "Write a message first."),
        ("x" * 20_001, "Ensure this value has at most 20000 characters (it has 20001)."),
    ],
)
def test_an_invalid_htmx_post_shows_the_form_with_its_error(
    learner_client: Client, attempt: Attempt, text: str, error: str
) -> None:
    response = learner_client.post(_url(attempt), {"body": text, "after": "0"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#comment-form"
    assert response["HX-Reswap"] == "outerHTML"
    body = response.content.decode()
    assert body.lstrip().startswith('<form id="comment-form"')
    assert error in body
    assert not Comment.objects.exists()


def test_an_invalid_post_without_htmx_shows_the_page_with_the_error(
    learner_client: Client, attempt: Attempt
) -> None:
    response = learner_client.post(_url(attempt), {"body": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Write a message first." in body
    assert "<html" in body
    assert not Comment.objects.exists()


@pytest.mark.parametrize("who", ["mentor", "staff"])
def test_mentors_of_the_cohort_and_staff_may_post(
    who: str, attempt: Attempt, mentor: User, staff: User
) -> None:
    client = client_for({"mentor": mentor, "staff": staff}[who])
    assert client.post(_url(attempt), {"body": "Hello"}).status_code == 302
    assert Comment.objects.get().author == {"mentor": mentor, "staff": staff}[who]


def test_a_peer_who_reviewed_it_may_not_post(reviewer: User, attempt: Attempt) -> None:
    # Issue #5: peers see only their assigned iteration, not the attempt page or its thread.
    ReviewFactory(iteration=attempt.iterations.get(), reviewer=reviewer, kind="peer")
    assert client_for(reviewer).post(_url(attempt), {"body": "Nice"}).status_code == 404


def _stranger(who: str, cohort: Cohort, reviewer: User, outsider: User) -> User:
    if who == "other_learner":
        user = UserFactory()
        MembershipFactory(user=user, cohort=cohort, role="learner")
        return user
    if who == "other_mentor":
        user = UserFactory()
        MembershipFactory(user=user, cohort=CohortFactory(), role="mentor")
        return user
    return {"reviewer": reviewer, "outsider": outsider}[who]


STRANGERS = ["other_learner", "other_mentor", "reviewer", "outsider"]


@pytest.mark.parametrize("who", STRANGERS)
def test_strangers_cannot_post(
    who: str, attempt: Attempt, cohort: Cohort, reviewer: User, outsider: User
) -> None:
    client = client_for(_stranger(who, cohort, reviewer, outsider))
    assert client.post(_url(attempt), {"body": "Hi"}).status_code == 404
    assert client.post(_url(attempt), {"body": "Hi"}, **HTMX).status_code == 404
    assert not Comment.objects.exists()


@pytest.mark.parametrize("who", STRANGERS)
def test_strangers_cannot_poll(
    who: str, attempt: Attempt, learner: User, cohort: Cohort, reviewer: User, outsider: User
) -> None:
    CommentFactory(attempt=attempt, author=learner, body="Private")
    client = client_for(_stranger(who, cohort, reviewer, outsider))
    response = client.get(f"{_url(attempt)}?after=0", **HTMX)
    assert response.status_code == 404
    assert "Private" not in response.content.decode()


def test_anonymous_users_are_sent_to_login(client: Client, attempt: Attempt) -> None:
    for response in (client.get(_url(attempt), **HTMX), client.post(_url(attempt), {"body": "x"})):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert not Comment.objects.exists()


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_refused(learner_client: Client, attempt: Attempt, method: str) -> None:
    assert getattr(learner_client, method)(_url(attempt)).status_code == 405


# Polling


def test_the_poll_answers_204_when_nothing_is_new(
    learner_client: Client, attempt: Attempt, learner: User
) -> None:
    comment = CommentFactory(attempt=attempt, author=learner)
    response = learner_client.get(f"{_url(attempt)}?after={comment.pk}", **HTMX)
    assert response.status_code == 204
    assert response.content == b""
    assert "HX-Request" in response["Vary"]


def test_the_poll_returns_what_is_newer_than_after(
    learner_client: Client, attempt: Attempt, learner: User, mentor: User
) -> None:
    old = CommentFactory(attempt=attempt, author=learner, body="Old question")
    new = CommentFactory(attempt=attempt, author=mentor, body="A **fresh** answer")
    response = learner_client.get(f"{_url(attempt)}?after={old.pk}", **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert "A <strong>fresh</strong> answer" in body
    assert "Old question" not in body
    assert '<span class="comment-role">Mentor</span>' in body
    # The poller is swapped out of band with the new `after`.
    assert (
        f'<div id="comment-poller" hx-get="{_url(attempt)}?after={new.pk}" hx-trigger="every 5s"'
    ) in body
    assert 'hx-swap-oob="true"' in body
    assert 'id="comment-form"' not in body


def test_the_poll_ignores_other_attempts_comments(
    learner_client: Client, attempt: Attempt, learner: User, release: ProjectRelease
) -> None:
    CommentFactory(attempt=AttemptFactory(release=release), author=learner, body="Elsewhere")
    assert learner_client.get(f"{_url(attempt)}?after=0", **HTMX).status_code == 204


def test_a_bad_after_counts_from_the_start(
    learner_client: Client, attempt: Attempt, learner: User
) -> None:
    CommentFactory(attempt=attempt, author=learner, body="First")
    response = learner_client.get(f"{_url(attempt)}?after=nope", **HTMX)
    assert "First" in response.content.decode()


def test_the_poll_without_htmx_goes_to_the_page(learner_client: Client, attempt: Attempt) -> None:
    response = learner_client.get(_url(attempt))
    assert response.status_code == 302
    assert response["Location"] == f"/attempts/{attempt.pk}/#discussion"


@pytest.mark.parametrize("size", [1, 10])
def test_the_poll_takes_a_fixed_number_of_queries(
    size: int,
    learner_client: Client,
    attempt: Attempt,
    learner: User,
    mentor: User,
    django_assert_num_queries: Callable,
) -> None:
    seen = CommentFactory(attempt=attempt, author=learner)
    url = f"{_url(attempt)}?after={seen.pk}"
    # (The session comes from the cache.) 1. user  2. attempt (who may see it)
    # 3. comments after `after`
    with django_assert_num_queries(3):
        assert learner_client.get(url, **HTMX).status_code == 204
    for number in range(size):
        CommentFactory(attempt=attempt, author=mentor if number % 2 else learner)
    with django_assert_num_queries(3):
        response = learner_client.get(url, **HTMX)
    assert response.content.decode().count('<li class="comment') == size


# The service


def test_comment_post_announces_the_comment_on_commit(
    attempt: Attempt, learner: User, django_capture_on_commit_callbacks: Callable
) -> None:
    heard: list[Comment] = []

    def listener(sender: type, comment: Comment, **kwargs: object) -> None:
        heard.append(comment)

    signals.comment_posted.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            comment = comment_post(attempt=attempt, author=learner, body="Hello")
        assert heard == []
        for callback in callbacks:
            callback()
    finally:
        signals.comment_posted.disconnect(listener)
    assert heard == [comment]


@pytest.mark.parametrize("body", ["", "  \n ", "x" * 20_001])
def test_comment_post_refuses_empty_or_huge_bodies(
    attempt: Attempt, learner: User, body: str
) -> None:
    with pytest.raises(ValidationError):
        comment_post(attempt=attempt, author=learner, body=body)
    assert not Comment.objects.exists()

"""A mentor's review in progress is kept on the server as they type, and outlives a claim."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from core.models import Cohort, Iteration, Project, Review, ReviewClaim, Task, User
from core.reviews.services import claim_take
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def tasks(project: Project) -> list[Task]:
    return list(project.tasks.order_by("number"))


def typed(project: Project, feedback: str = "Half way through: rows stream well.") -> dict:
    """What the form's autosave posts: every field as it stands, no action button."""
    first, second, _ = tasks(project)
    return {
        "feedback": feedback,
        f"task_{first.pk}_passed": "pass",
        f"task_{first.pk}_comment": "Streams without loading the table.",
        f"task_{second.pk}_passed": "fail",
        "decision": "changes_requested",
    }


def autosave(client: Client, iteration: Iteration, data: dict) -> str:
    response = client.post(f"/review/{iteration.pk}/draft/", data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def page(client: Client, iteration: Iteration) -> str:
    response = client.get(f"/review/{iteration.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def second_mentor(cohort: Cohort) -> User:
    user = UserFactory(email="noor@example.com", display_name="Noor Mentor")
    MembershipFactory(user=user, cohort=cohort, role="mentor")
    return user


def test_typing_saves_verdicts_feedback_and_decision_as_a_draft(
    waiting: Iteration, mentor: User, mentor_client: Client, project: Project
) -> None:
    claim_take(iteration=waiting, reviewer=mentor)
    body = autosave(mentor_client, waiting, typed(project))

    assert "Draft saved at" in body
    review = Review.objects.get(iteration=waiting, reviewer=mentor)
    assert review.is_draft
    assert review.feedback == "Half way through: rows stream well."
    assert review.decision == "changes_requested"
    first, second, _ = tasks(project)
    verdicts = {verdict.task_id: verdict for verdict in review.verdicts.all()}
    assert verdicts[first.pk].passed is True
    assert verdicts[first.pk].comment == "Streams without loading the table."
    assert verdicts[second.pk].passed is False
    # Nothing was decided: the iteration still waits, and the learner sees no review.
    waiting.refresh_from_db()
    assert waiting.status == Iteration.Status.WAITING


def test_the_review_page_saves_as_you_type_only_while_you_hold_it(
    waiting: Iteration, mentor: User, mentor_client: Client
) -> None:
    assert 'hx-post="/review/' not in page(mentor_client, waiting)  # not claimed: read-only
    claim_take(iteration=waiting, reviewer=mentor)
    body = page(mentor_client, waiting)
    assert f'hx-post="/review/{waiting.pk}/draft/"' in body
    assert 'id="review-draft-status"' in body
    assert "Changes save as a draft as you type." in body


def test_a_draft_outlives_an_expired_claim_and_comes_back_when_claimed_again(
    waiting: Iteration, mentor: User, mentor_client: Client, project: Project
) -> None:
    claim_take(iteration=waiting, reviewer=mentor)
    autosave(mentor_client, waiting, typed(project))
    later = timezone.now() + timedelta(minutes=settings.CLAIM_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        body = autosave(mentor_client, waiting, typed(project, feedback="Typed after it ran out."))
        assert "Not saved: you no longer hold this review." in body
        body = page(mentor_client, waiting)
        assert "Your draft is kept: claim it again to go on with it." in body

        response = mentor_client.post(f"/review/{waiting.pk}/claim/")
        assert response.status_code == 302
        body = page(mentor_client, waiting)
    assert "Half way through: rows stream well." in body  # the draft, in the form again
    assert "Typed after it ran out." not in body
    assert "Your draft is kept; changes save as you type." in body
    review = Review.objects.get(iteration=waiting, reviewer=mentor)
    assert review.feedback == "Half way through: rows stream well."


def test_while_another_mentor_holds_it_the_author_sees_their_draft_read_only(
    waiting: Iteration,
    mentor: User,
    mentor_client: Client,
    second_mentor: User,
    project: Project,
) -> None:
    claim_take(iteration=waiting, reviewer=mentor)
    autosave(mentor_client, waiting, typed(project))
    mentor_client.post(f"/review/{waiting.pk}/release/")
    claim_take(iteration=waiting, reviewer=second_mentor)

    body = page(mentor_client, waiting)
    assert "Being reviewed by Noor Mentor" in body
    assert "Your draft is kept, read-only until you hold the review again." in body
    assert "Half way through: rows stream well." in body
    assert 'name="feedback"' in body and "disabled" in body
    assert 'hx-post="/review/' not in body
    # Their autosave is refused, and the draft is not touched.
    body = autosave(mentor_client, waiting, typed(project, feedback="Overwritten?"))
    assert "Not saved" in body
    assert Review.objects.get(reviewer=mentor).feedback == "Half way through: rows stream well."
    # The other mentor starts from an empty form of their own.
    other = page(client_for(second_mentor), waiting)
    assert "Half way through: rows stream well." not in other


def test_a_late_keystroke_after_submitting_changes_nothing(
    waiting: Iteration, mentor: User, mentor_client: Client, project: Project
) -> None:
    claim_take(iteration=waiting, reviewer=mentor)
    data = typed(project)
    for task in tasks(project):
        data[f"task_{task.pk}_passed"] = "pass"
    response = mentor_client.post(f"/review/{waiting.pk}/", {**data, "action": "submit"})
    assert response.status_code == 302

    body = autosave(mentor_client, waiting, typed(project, feedback="A late keystroke"))
    assert "Not saved" in body
    review = Review.objects.get(reviewer=mentor)
    assert not review.is_draft and review.feedback == "Half way through: rows stream well."


def test_too_long_text_is_not_saved_and_says_so(
    waiting: Iteration, mentor: User, mentor_client: Client, project: Project
) -> None:
    claim_take(iteration=waiting, reviewer=mentor)
    body = autosave(mentor_client, waiting, typed(project, feedback="x" * 30_000))
    assert "Not saved: some answers are too long" in body
    assert not Review.objects.filter(reviewer=mentor).exists()


def test_only_mentors_who_may_review_it_can_save_a_draft(
    waiting: Iteration,
    learner_client: Client,
    outsider_client: Client,
    project: Project,
) -> None:
    for client in (learner_client, outsider_client):
        response = client.post(f"/review/{waiting.pk}/draft/", typed(project))
        assert response.status_code == 404
    assert not Review.objects.exists()
    assert not ReviewClaim.objects.exists()

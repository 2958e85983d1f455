"""A decided review to dispute: mia failed task 1 of alice's first iteration (score 50%).
Noor is the cohort's other mentor, the one a dispute of mia's verdict goes to."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.models import Cohort, Iteration, Review, User, Verdict
from core.reviews.services import VerdictInput, claim_take, review_save
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def second_mentor(cohort: Cohort) -> User:
    user = UserFactory(email="noor@example.com", display_name="Noor Mentor")
    MembershipFactory(user=user, cohort=cohort, role="mentor")
    return user


def decide(iteration: Iteration, mentor: User, failed: tuple[int, ...] = (1, 2)) -> Review:
    """``mentor`` claims and submits a review of ``iteration`` failing tasks ``failed``."""
    claim_take(iteration=iteration, reviewer=mentor)
    tasks = iteration.attempt.release.project.tasks.all()
    review, _ = review_save(
        iteration=iteration,
        reviewer=mentor,
        verdicts={
            task.pk: VerdictInput(
                task.number not in failed,
                "Batches are not yielded lazily." if task.number in failed else "",
            )
            for task in tasks
        },
        feedback="Close: batching needs another look.",
        decision="changes_requested",
        submit=True,
    )
    return review


@pytest.fixture
def decided(
    waiting: Iteration, mentor: User, django_capture_on_commit_callbacks: Capture
) -> Review:
    """Mia's review: task 0 passes, task 1 (mandatory) and task 2 (advanced) fail: 50%."""
    with django_capture_on_commit_callbacks(execute=True):
        return decide(waiting, mentor)


@pytest.fixture
def failed_verdict(decided: Review) -> Verdict:
    return decided.verdicts.get(task__number=1)

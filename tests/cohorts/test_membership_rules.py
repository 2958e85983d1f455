"""Which cohorts a person mentors, oversees and learns in: one selector each, and the
querysets that grant access through them agree with it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from core.cohorts.models import learning_cohort_ids, mentored_cohort_ids
from core.models import Attempt, CheckRun, Cohort, Iteration, ProjectRelease, User
from tests.factories import (
    AttemptFactory,
    CheckRunFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectReleaseFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(db: None) -> Cohort:
    """Another cohort, with its own release, learner and submitted work."""
    cohort = CohortFactory(name="Cohort 8", slug="cohort-8")
    release = ProjectReleaseFactory(cohort=cohort)
    attempt = AttemptFactory(release=release)
    MembershipFactory(user=attempt.learner, cohort=cohort, role="learner")
    IterationFactory(attempt=attempt)
    return cohort


@pytest.fixture
def cast(
    learner: User, mentor: User, reviewer: User, staff: User, outsider: User, elsewhere: Cohort
) -> dict[str, User]:
    mentor_elsewhere = MembershipFactory(cohort=elsewhere, role="mentor").user
    return {
        "learner": learner,
        "mentor": mentor,
        "reviewer": reviewer,
        "staff": staff,
        "outsider": outsider,
        "mentor_elsewhere": mentor_elsewhere,
    }


def test_who_mentors_and_who_learns_where(cohort: Cohort, elsewhere: Cohort, cast: dict) -> None:
    mentored = {name: set(Cohort.objects.mentored_by(user)) for name, user in cast.items()}
    assert mentored == {
        "learner": set(),
        "mentor": {cohort},
        "reviewer": set(),
        "staff": set(),  # staff see every cohort, but mentor none by being staff
        "outsider": set(),
        "mentor_elsewhere": {elsewhere},
    }
    overseen = {name: set(Cohort.objects.overseen_by(user)) for name, user in cast.items()}
    assert overseen == {**mentored, "staff": {cohort, elsewhere}}
    learning = {
        name: set(Cohort.objects.filter(pk__in=learning_cohort_ids(user)))
        for name, user in cast.items()
    }
    assert learning == {name: ({cohort} if name == "learner" else set()) for name in cast}
    assert not Cohort.objects.overseen_by(AnonymousUser()).exists()


def test_a_learners_releases_are_their_cohorts(
    release: ProjectRelease, elsewhere: Cohort, cast: dict
) -> None:
    assert list(ProjectRelease.objects.of_learner(cast["learner"])) == [release]
    assert not ProjectRelease.objects.of_learner(cast["mentor"]).exists()


@pytest.mark.parametrize("name", ["learner", "mentor", "reviewer", "outsider", "mentor_elsewhere"])
def test_what_a_mentor_sees_follows_the_cohorts_they_mentor(
    name: str, waiting: Iteration, elsewhere: Cohort, cast: dict
) -> None:
    """Attempts, check runs and the review queue open to a non-staff user: their own
    work, and all of the cohorts ``mentored_cohort_ids`` names."""
    user = cast[name]
    mentored = set(mentored_cohort_ids(user).values_list("cohort_id", flat=True))
    for iteration in Iteration.objects.all():
        CheckRunFactory(iteration=iteration)

    for attempt in Attempt.objects.select_related("release"):
        expected = attempt.learner_id == user.pk or attempt.release.cohort_id in mentored
        assert Attempt.objects.visible_to(user).filter(pk=attempt.pk).exists() == expected
    for run in CheckRun.objects.select_related("release"):
        expected = run.learner_id == user.pk or run.release.cohort_id in mentored
        assert CheckRun.objects.visible_to(user).filter(pk=run.pk).exists() == expected
    reviewable = set(Iteration.objects.reviewable_by(user))
    assert reviewable == {
        iteration
        for iteration in Iteration.objects.select_related("attempt")
        if iteration.cohort_id in mentored and iteration.attempt.learner_id != user.pk
    }

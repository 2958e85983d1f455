"""The fixed cast every test can use (see STYLE.md).

One cohort with one released project (opened two days ago). In it: learner
(alice), mentor (mia) and reviewer (rex). Staff (sam) runs everything; the
outsider (charlie) belongs to nothing. ``waiting`` is alice's first submission.
"""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.models import Cohort, Iteration, Project, ProjectRelease, User
from core.reviews.services import iteration_submit
from tests.factories import (
    PASSWORD,
    CohortFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    StaffFactory,
    TaskFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Each test starts with an empty cache (rate limits, cached fragments)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def cohort(db: None) -> Cohort:
    return CohortFactory(name="Cohort 7", slug="cohort-7", time_zone="Africa/Nairobi")


@pytest.fixture
def project(db: None) -> Project:
    project = ProjectFactory(title="Python Generators", slug="python-generators")
    TaskFactory(project=project, number=0, title="Stream rows", kind="mandatory")
    TaskFactory(project=project, number=1, title="Batch rows", kind="mandatory")
    TaskFactory(project=project, number=2, title="Lazy pagination", kind="advanced")
    return project


@pytest.fixture
def release(cohort: Cohort, project: Project) -> ProjectRelease:
    return ProjectReleaseFactory(cohort=cohort, project=project)


@pytest.fixture
def learner(cohort: Cohort, release: ProjectRelease) -> User:
    user = UserFactory(email="alice@example.com", display_name="Alice Learner")
    MembershipFactory(user=user, cohort=cohort, role="learner")
    return user


@pytest.fixture
def mentor(cohort: Cohort, release: ProjectRelease) -> User:
    user = UserFactory(email="mia@example.com", display_name="Mia Mentor")
    MembershipFactory(user=user, cohort=cohort, role="mentor")
    return user


@pytest.fixture
def reviewer(cohort: Cohort, release: ProjectRelease) -> User:
    user = UserFactory(email="rex@example.com", display_name="Rex Reviewer")
    MembershipFactory(user=user, cohort=cohort, role="reviewer")
    return user


@pytest.fixture
def waiting(
    learner: User, release: ProjectRelease, django_capture_on_commit_callbacks: Capture
) -> Iteration:
    """Alice's first iteration, submitted through the service (so its signals fire)."""
    with django_capture_on_commit_callbacks(execute=True):
        iteration, _ = iteration_submit(
            learner=learner, release=release, repo_url="https://github.com/alice/generators"
        )
    return iteration


@pytest.fixture
def staff(db: None) -> User:
    return StaffFactory(email="sam@example.com", display_name="Sam Staff")


@pytest.fixture
def outsider(db: None) -> User:
    return UserFactory(email="charlie@example.com", display_name="Charlie Outsider")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def learner_client(learner: User) -> Client:
    return client_for(learner)


@pytest.fixture
def mentor_client(mentor: User) -> Client:
    return client_for(mentor)


@pytest.fixture
def reviewer_client(reviewer: User) -> Client:
    return client_for(reviewer)


@pytest.fixture
def staff_client(staff: User) -> Client:
    return client_for(staff)


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    return client_for(outsider)

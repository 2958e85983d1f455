"""The fixed cast every test can use (see STYLE.md).

learner (alice), mentor (mia), reviewer (rex), staff (sam) and an outsider
(charlie) who belongs to nothing.
"""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import User
from tests.factories import PASSWORD, StaffFactory, UserFactory


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Each test starts with an empty cache (rate limits, cached fragments)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def learner(db: None) -> User:
    return UserFactory(email="alice@example.com", display_name="Alice Learner")


@pytest.fixture
def mentor(db: None) -> User:
    return UserFactory(email="mia@example.com", display_name="Mia Mentor")


@pytest.fixture
def reviewer(db: None) -> User:
    return UserFactory(email="rex@example.com", display_name="Rex Reviewer")


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
def staff_client(staff: User) -> Client:
    return client_for(staff)


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    return client_for(outsider)

"""/healthz tells a load balancer whether this process can serve."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def test_it_answers_200_when_database_and_cache_answer(db: None, client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_cache_is_unreachable(db: None, client: Client) -> None:
    # Django swaps the cache handlers when CACHES changes (django.test.signals).
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "cache": "unavailable"}


@pytest.mark.django_db
def test_it_refuses_post(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


def test_it_costs_one_query(db: None, client: Client, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(1):
        client.get("/healthz")

"""/healthz tells a load balancer whether this process can serve."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client, override_settings
from pytest_django.fixtures import Settings

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
    body = response.json()
    assert body | {"automated_checks": "-"} == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "automated_checks": "-",
    }
    assert body["automated_checks"] in ("ok", "unavailable")
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_cache_is_unreachable(db: None, client: Client) -> None:
    # Django swaps the cache handlers when CACHES changes (django.test.signals).
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["cache"]) == ("unavailable", "ok", "unavailable")


@pytest.mark.django_db
def test_it_refuses_post(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


def test_it_costs_one_query(db: None, client: Client, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"  # the one query is the database's check


def test_it_says_when_learner_code_cannot_run_here_and_only_staff_see_why(
    client: Client, staff_client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.CHECKS_RUNTIME_DIR = tmp_path / "no-runtime"  # never built: checks cannot run
    response = client.get("/healthz")
    assert response.status_code == 200  # the web process serves; workers run checks
    assert response.json()["automated_checks"] == "unavailable"
    assert "automated_checks_detail" not in response.json()
    detail = staff_client.get("/healthz").json()["automated_checks_detail"]
    assert "runtime" in detail

"""Indexes: the mentor queue and the cohort matrix never scan the big tables whole.

On a moderately large data set (``seed_demo --scale large`` at a fifth: 20,000
iterations with reviews and verdicts, tables ANALYZEd), each page is requested
once and every SQL query it sends that touches the big tables is EXPLAINed as
sent: the real querysets of the real views, not copies of them.

PostgreSQL only: SQLite's planner says nothing about production.
"""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.demo.large import ANALYZED, BENCH_COHORT_SLUG
from core.models import Attempt, Iteration, ProjectRelease, User
from tests.conftest import client_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's planner"),
]


def plans(client: Client, url: str, table: str) -> list[tuple[str, str]]:
    """(query, plan) for every query the page sends that reads ``table`` (cache emptied first,
    so every query of the page runs)."""
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    found = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if f'"{table}"' not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN " + sql)
            found.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
    return found


def assert_no_seq_scan(found: list[tuple[str, str]], table: str, hint: str = "") -> None:
    assert found, f"no query read {table}"
    for sql, plan in found:
        assert f"Seq Scan on {table}" not in plan, f"{hint}\n\n{sql}\n\n{plan}"


def vacuum_tables_left_bloated() -> None:
    """Rewrite the tables the data set fills (VACUUM FULL) from a connection of its own:
    VACUUM cannot run inside the test's transaction, which has not touched them yet.

    Earlier tests roll their rows back, and an aborted insert leaves its heap pages and
    index entries behind until a VACUUM: after the 300 × 60 matrix test, core_attempt and
    its indexes have twice the pages of the same rows seeded fresh, and the planner rightly
    prices a sequential scan below the index on them. A plain VACUUM empties the heap but
    keeps the indexes' size; VACUUM FULL rewrites both, so the plans below are those of
    the data set alone, whatever ran before.
    """
    tables = [model._meta.db_table for model in ANALYZED]
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with own.cursor() as cursor:
            cursor.execute("SET lock_timeout = '30s'")  # a leaked transaction fails, not hangs
            cursor.execute("VACUUM FULL " + ", ".join(tables))
    finally:
        own.close()


def test_the_queue_and_the_matrix_use_indexes() -> None:
    vacuum_tables_left_bloated()
    call_command(
        "seed_demo",
        "--scale",
        "large",
        "--size-factor",
        "0.2",
        "--allow-demo-passwords",
        stdout=io.StringIO(),
    )  # ANALYZEs the tables it fills
    iterations = Iteration.objects.filter(attempt__release__cohort__program__slug="prodev-bench")
    assert iterations.count() == 20_000
    mentor_user = User.objects.get(email="mentor@example.com")
    mentor = client_for(mentor_user)

    # The mentor's queue: waiting iterations of their cohorts, oldest first.
    assert Iteration.objects.reviewable_by(mentor_user).waiting().exists()
    assert_no_seq_scan(plans(mentor, reverse("review_queue"), "core_iteration"), "core_iteration")
    # The same queue narrowed to one cohort, as the filter form sends it.
    narrowed = f"{reverse('review_queue')}?cohort={BENCH_COHORT_SLUG}"
    assert_no_seq_scan(plans(mentor, narrowed, "core_iteration"), "core_iteration")
    # Nor every attempt of the mentor's cohorts: each iteration carries its cohort, and
    # the queue reads its cohorts' waiting work from one index (iteration_waiting_cohort).
    hint = "Filter the queue by the iteration's own cohort_id, not the attempt's release's."
    assert_no_seq_scan(plans(mentor, reverse("review_queue"), "core_attempt"), "core_attempt", hint)

    # The cohort matrix: every attempt of the cohort's opened releases.
    matrix = reverse("cohort_progress", args=[BENCH_COHORT_SLUG])
    opened = ProjectRelease.objects.filter(
        cohort__slug=BENCH_COHORT_SLUG, opens_at__lte=timezone.now()
    )
    assert Attempt.objects.filter(release__in=opened).count() > 1_000
    hint = (
        "Filter the matrix's attempts (and extensions) by the ids of the opened releases it"
        " has already loaded (release_id__in=[…]): joined to the release's cohort instead,"
        " PostgreSQL hash-joins a sequential scan of every attempt."
    )
    assert_no_seq_scan(plans(mentor, matrix, "core_attempt"), "core_attempt", hint)

"""``seed_demo --scale large``: the benchmark data set, shrunk with a size factor.

At factor 0.002 it is 20 learners and 200 iterations, but the same code path as
the full 5,000 learners and 100,000 iterations (which PostgreSQL loads in a few
minutes; ``make bench`` runs it).
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max
from django.utils import timezone

from core.demo.large import BENCH_COHORT_SLUG, PROGRAM_SLUG
from core.models import (
    Attempt,
    Cohort,
    Iteration,
    Membership,
    Project,
    ProjectRelease,
    Review,
    Task,
    Verdict,
)
from core.reviews.scoring import attempt_receipts, best_receipt
from tests.factories import AttemptFactory

pytestmark = pytest.mark.django_db

FACTOR = "0.002"


def seed() -> str:
    out = io.StringIO()
    call_command(
        "seed_demo",
        "--scale",
        "large",
        "--size-factor",
        FACTOR,
        "--allow-demo-passwords",
        stdout=out,
    )
    return out.getvalue()


def bench_attempts() -> object:
    return Attempt.objects.filter(release__cohort__program__slug=PROGRAM_SLUG)


def test_it_creates_the_benchmark_data_set() -> None:
    output = seed()
    assert "Timing: curriculum" in output
    assert "Benchmark data ready in" in output
    projects = Project.objects.filter(module__program__slug=PROGRAM_SLUG)
    assert projects.count() == 60
    assert projects.values("module").distinct().count() == 10
    per_project = (
        Task.objects.filter(project__in=projects).values("project").annotate(n=Count("id"))
    )
    assert all(row["n"] >= 3 for row in per_project)
    cohorts = Cohort.objects.filter(program__slug=PROGRAM_SLUG)
    assert cohorts.count() == 10
    learners = Membership.objects.filter(cohort__in=cohorts, role="learner")
    assert learners.count() == 20
    # The bench cohort: every project released and opened, the demo learner and mentor in it.
    bench = Cohort.objects.get(slug=BENCH_COHORT_SLUG)
    opened = ProjectRelease.objects.filter(cohort=bench, opens_at__lte=timezone.now())
    assert opened.count() == 60
    roles = dict(bench.memberships.values_list("user__email", "role"))
    assert roles["learner@example.com"] == "learner"
    assert roles["mentor@example.com"] == "mentor"
    # Other cohorts are earlier in their calendars.
    others = ProjectRelease.objects.filter(cohort__in=cohorts.exclude(pk=bench.pk))
    assert others.filter(opens_at__lte=timezone.now()).count() < 9 * 60

    # Exactly the iterations asked for, with reviews and scores.
    iterations = Iteration.objects.filter(attempt__in=bench_attempts())
    assert iterations.count() == 200
    # Each carries its attempt's cohort, as Iteration.save() would have set it.
    assert not iterations.exclude(cohort_id=F("attempt__release__cohort_id")).exists()
    # A reviewed iteration has one decided mentor review with a verdict for every task;
    # a waiting one has none.
    reviews = Review.objects.filter(iteration__in=iterations)
    assert reviews.filter(submitted_at=None).count() == 0
    assert reviews.count() == iterations.filter(status="reviewed").count()
    assert not iterations.filter(status="waiting", reviews__isnull=False).exists()
    for review in reviews.select_related("iteration__attempt__release__project"):
        tasks = review.iteration.attempt.release.project.tasks.count()
        assert Verdict.objects.filter(review=review).count() == tasks
        assert review.submitted_at > review.iteration.submitted_at
        assert review.decision in {"approved", "changes_requested"}
    assert reviews.filter(decision="changes_requested").exists()
    # Each stored score is what the scoring service computes from scratch.
    scored = 0
    for attempt in bench_attempts().select_related("release__project"):
        best = best_receipt(attempt_receipts(attempt))
        assert attempt.score == (best.score if best else None)
        assert attempt.scored_iteration_id == (best.iteration.pk if best else None)
        scored += best is not None
        last = attempt.iterations.order_by("-number").first()
        if last.status == "waiting":
            assert attempt.status == "waiting"
        else:
            assert attempt.status == last.reviews.get().decision
    assert scored > 0
    numbers = bench_attempts().annotate(top=Max("iterations__number"), n=Count("iterations"))
    assert all(attempt.top == attempt.n for attempt in numbers)  # 1, 2, … with no gaps
    assert all(i.submitted_at <= timezone.now() for i in iterations)

    # Rows made later get fresh ids (the bulk load chose its own).
    top = Attempt.objects.aggregate(top=Max("pk"))["top"]
    assert AttemptFactory(release=opened.first()).pk > top


def test_it_refuses_to_run_twice() -> None:
    seed()
    counts = (Iteration.objects.count(), Attempt.objects.count(), Membership.objects.count())
    output = seed()
    assert "Benchmark data already present (200 iterations); nothing to do." in output
    assert (Iteration.objects.count(), Attempt.objects.count(), Membership.objects.count()) == (
        counts
    )

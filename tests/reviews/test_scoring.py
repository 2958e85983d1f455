"""The score formula: (M + M × A) × lateness multiplier, with extensions and moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.models import Attempt, ProjectRelease, Task
from core.reviews.scoring import attempt_receipts, attempt_recompute_score
from tests.factories import (
    AttemptFactory,
    ExtensionFactory,
    IterationFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    TaskFactory,
    VerdictFactory,
)

OPENS = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
FIRST = OPENS + timedelta(days=5)
SECOND = OPENS + timedelta(days=12)

# Mandatory tasks 0, 1 (10 points each) and 2 (20 points): 40 points.
# Advanced tasks 3 and 4 (10 points each): 20 points.
POINTS = {
    0: ("mandatory", 10),
    1: ("mandatory", 10),
    2: ("mandatory", 20),
    3: ("advanced", 10),
    4: ("advanced", 10),
}
ALL = {0, 1, 2, 3, 4}
MANDATORY = {0, 1, 2}


@dataclass
class Case:
    passed: set[int]
    submitted: datetime
    expected: str
    extension: tuple[datetime, datetime] | None = None
    release: dict[str, object] = field(default_factory=dict)


CASES = {
    "everything passed, on time": Case(ALL, FIRST - timedelta(hours=1), "200.00"),
    "all mandatory, no advanced": Case(MANDATORY, OPENS + timedelta(days=1), "100.00"),
    "one mandatory failed": Case({1, 2}, OPENS + timedelta(days=1), "75.00"),
    "some mandatory, half advanced": Case({1, 2, 3}, OPENS + timedelta(days=1), "112.50"),
    "advanced only counts for nothing": Case({3, 4}, OPENS + timedelta(days=1), "0.00"),
    "nothing passed": Case(set(), OPENS + timedelta(days=1), "0.00"),
    "exactly at the first deadline": Case(MANDATORY, FIRST, "100.00"),
    "between the deadlines": Case(MANDATORY, FIRST + timedelta(minutes=1), "65.00"),
    "everything, between the deadlines": Case(ALL, FIRST + timedelta(days=1), "130.00"),
    "after the second deadline": Case(MANDATORY, SECOND + timedelta(minutes=1), "50.00"),
    "partial work, late": Case({1, 2, 3}, SECOND + timedelta(days=2), "56.25"),
    "extension makes it on time": Case(
        MANDATORY,
        FIRST + timedelta(days=1),
        "100.00",
        extension=(FIRST + timedelta(days=3), SECOND + timedelta(days=3)),
    ),
    "extension, between the extended deadlines": Case(
        MANDATORY,
        FIRST + timedelta(days=4),
        "65.00",
        extension=(FIRST + timedelta(days=3), SECOND + timedelta(days=3)),
    ),
    "custom multipliers on the release": Case(
        MANDATORY,
        FIRST + timedelta(days=1),
        "80.00",
        release={"second_multiplier": Decimal("0.80")},
    ),
    "a quarter of the mandatory points": Case({0}, OPENS, "25.00"),
}


def make_release(**overrides: object) -> ProjectRelease:
    project = ProjectFactory()
    for number, (kind, points) in POINTS.items():
        TaskFactory(project=project, number=number, kind=kind, points=points)
    values = {"opens_at": OPENS, "first_deadline": FIRST, "second_deadline": SECOND}
    return ProjectReleaseFactory(project=project, **(values | overrides))


def review(attempt: Attempt, *, passed: set[int], submitted: datetime, number: int = 1) -> None:
    iteration = IterationFactory(attempt=attempt, number=number, submitted_at=submitted)
    mentor_review = ReviewFactory(iteration=iteration, submitted_at=submitted + timedelta(hours=2))
    for task in Task.objects.filter(project=attempt.release.project):
        VerdictFactory(review=mentor_review, task=task, passed=task.number in passed)


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_it_scores_by_the_formula(case: Case) -> None:
    release = make_release(**case.release)
    attempt = AttemptFactory(release=release)
    if case.extension:
        ExtensionFactory(
            release=release,
            learner=attempt.learner,
            first_deadline=case.extension[0],
            second_deadline=case.extension[1],
        )
    review(attempt, passed=case.passed, submitted=case.submitted)
    assert attempt_recompute_score(attempt=attempt) == Decimal(case.expected)
    attempt.refresh_from_db()
    assert attempt.score == Decimal(case.expected)


@pytest.mark.django_db
def test_it_recomputes_when_a_deadline_moves_after_the_review(
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    release = make_release()
    attempt = AttemptFactory(release=release)
    review(attempt, passed=MANDATORY, submitted=FIRST + timedelta(days=1))
    attempt_recompute_score(attempt=attempt)
    assert attempt.score == Decimal("65.00")

    with django_capture_on_commit_callbacks(execute=True):
        release.first_deadline = FIRST + timedelta(days=2)
        release.save()
    attempt.refresh_from_db()
    assert attempt.score == Decimal("100.00")


@pytest.mark.django_db
def test_it_recomputes_when_an_extension_is_granted(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    release = make_release()
    attempt = AttemptFactory(release=release)
    review(attempt, passed=MANDATORY, submitted=SECOND + timedelta(hours=1))
    attempt_recompute_score(attempt=attempt)
    assert attempt.score == Decimal("50.00")

    with django_capture_on_commit_callbacks(execute=True):
        extension = ExtensionFactory(
            release=release,
            learner=attempt.learner,
            first_deadline=SECOND + timedelta(days=1),
            second_deadline=SECOND + timedelta(days=2),
        )
    attempt.refresh_from_db()
    assert attempt.score == Decimal("100.00")

    # Withdrawn, the cohort's deadlines apply again.
    with django_capture_on_commit_callbacks(execute=True):
        extension.delete()
    attempt.refresh_from_db()
    assert attempt.score == Decimal("50.00")


@pytest.mark.django_db
def test_a_late_resubmission_never_lowers_the_score() -> None:
    release = make_release()
    attempt = AttemptFactory(release=release)
    review(attempt, passed={1, 2}, submitted=OPENS + timedelta(days=1), number=1)  # 75
    review(attempt, passed=MANDATORY, submitted=SECOND + timedelta(days=1), number=2)  # 50
    assert attempt_recompute_score(attempt=attempt) == Decimal("75.00")
    assert attempt.scored_iteration.number == 1


@pytest.mark.django_db
def test_the_receipt_shows_every_input() -> None:
    release = make_release()
    attempt = AttemptFactory(release=release)
    review(attempt, passed={1, 2, 3}, submitted=FIRST + timedelta(hours=3))
    [receipt] = attempt_receipts(attempt)
    assert [line.passed for line in receipt.lines] == [False, True, True, True, False]
    assert (receipt.mandatory_passed, receipt.mandatory_total) == (30, 40)
    assert (receipt.advanced_passed, receipt.advanced_total) == (10, 20)
    assert receipt.m == Decimal("0.75")
    assert receipt.a == Decimal("0.5")
    assert receipt.base == Decimal("112.50")
    assert receipt.deadline_met == "second"
    assert receipt.deadline == SECOND
    assert receipt.multiplier == Decimal("0.65")
    assert receipt.score == Decimal("73.13")

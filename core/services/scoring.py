"""Scores: one function computes them, from verdicts, deadlines and multipliers.

Score = (M + M × A) × lateness multiplier, where M is the share of mandatory
points passed and A the share of advanced points passed (A counts only on top
of mandatory work, so 200% at most). The multiplier is the release's for the
deadline the scored iteration met, with the learner's latest extension applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from core.models import (
    Attempt,
    Extension,
    Iteration,
    ProjectRelease,
    Review,
    Task,
    Verdict,
)
from core.services.majority import peer_outcome

HUNDRED = Decimal("100")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class TaskLine:
    """One task on the receipt."""

    task: Task
    passed: bool
    comment: str

    @property
    def points_earned(self) -> int:
        return self.task.points if self.passed else 0


@dataclass(frozen=True)
class Receipt:
    """How a score was made: every input, so a learner can check the number."""

    iteration: Iteration
    reviews: list[Review]  # the mentor review, or the peer reviews whose majority counted
    lines: list[TaskLine]
    mandatory_passed: int
    mandatory_total: int
    advanced_passed: int
    advanced_total: int
    deadline_met: str  # "first", "second" or "late"
    deadline: datetime | None  # the deadline met (None when late)
    multiplier: Decimal
    extension: Extension | None

    @property
    def by_peers(self) -> bool:
        return self.reviews[0].kind == Review.Kind.PEER

    @property
    def decided_by(self) -> str:
        """Whose verdicts counted, in words for the receipt."""
        if self.by_peers:
            return f"the majority of {len(self.reviews)} peer reviews"
        return f"mentor {self.reviews[0].reviewer.name}"

    @property
    def m(self) -> Decimal:
        return _share(self.mandatory_passed, self.mandatory_total)

    @property
    def a(self) -> Decimal:
        return _share(self.advanced_passed, self.advanced_total)

    @property
    def base(self) -> Decimal:
        """M + M × A as a percentage, before lateness."""
        return ((self.m + self.m * self.a) * HUNDRED).quantize(CENT, ROUND_HALF_UP)

    @property
    def score(self) -> Decimal:
        return (self.base * self.multiplier).quantize(CENT, ROUND_HALF_UP)

    @property
    def deadline_label(self) -> str:
        return {
            "first": "before the first deadline",
            "second": "after the first deadline, before the second",
            "late": "after the second deadline",
        }[self.deadline_met]


def _share(passed: int, total: int) -> Decimal:
    return Decimal(passed) / Decimal(total) if total else Decimal(0)


def lateness(
    release: ProjectRelease, extension: Extension | None, submitted_at: datetime
) -> tuple[str, datetime | None, Decimal]:
    """Which deadline ``submitted_at`` met, and its multiplier."""
    deadlines = release.deadlines_for(extension)
    if submitted_at <= deadlines.first_deadline:
        return "first", deadlines.first_deadline, release.first_multiplier
    if submitted_at <= deadlines.second_deadline:
        return "second", deadlines.second_deadline, release.second_multiplier
    return "late", None, release.late_multiplier


def build_receipt(
    *,
    iteration: Iteration,
    reviews: list[Review],
    verdicts: Iterable[Verdict | MajorityVerdict],
    tasks: list[Task],
    release: ProjectRelease,
    extension: Extension | None,
) -> Receipt:
    """The receipt for one decided review of one iteration (no queries)."""
    by_task = {verdict.task_id: verdict for verdict in verdicts}
    lines = []
    for task in tasks:
        verdict = by_task.get(task.pk)
        lines.append(
            TaskLine(
                task=task,
                passed=bool(verdict and verdict.passed),
                comment=verdict.comment if verdict else "",
            )
        )
    mandatory = [line for line in lines if not line.task.is_advanced]
    advanced = [line for line in lines if line.task.is_advanced]
    met, deadline, multiplier = lateness(release, extension, iteration.submitted_at)
    return Receipt(
        iteration=iteration,
        reviews=reviews,
        lines=lines,
        mandatory_passed=sum(line.points_earned for line in mandatory),
        mandatory_total=sum(line.task.points for line in mandatory),
        advanced_passed=sum(line.points_earned for line in advanced),
        advanced_total=sum(line.task.points for line in advanced),
        deadline_met=met,
        deadline=deadline,
        multiplier=multiplier,
        extension=extension,
    )


def latest_extension(release: ProjectRelease, learner_id: int) -> Extension | None:
    return (
        Extension.objects.filter(release=release, learner_id=learner_id)
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class MajorityVerdict:
    """A task verdict decided by the peers' majority."""

    task_id: int
    passed: bool
    comment: str = ""


def attempt_receipts(attempt: Attempt, loaded: Iterable[Review] | None = None) -> list[Receipt]:
    """A receipt for every decided iteration, newest iteration first.

    An iteration's verdicts come from its latest submitted mentor review (a
    mentor always overrides peers), else from the majority of its N peer
    reviews when the project does not require a mentor and the peers agree.
    ``loaded``: the attempt's reviews with their iteration and verdicts, when the
    caller has them already (drafts among them are left out here).
    """
    release = attempt.release
    project = release.project
    tasks = list(project.tasks.order_by("number"))
    extension = latest_extension(release, attempt.learner_id)
    if loaded is None:
        reviews: Iterable[Review] = (
            Review.objects.filter(iteration__attempt=attempt)
            .exclude(submitted_at=None)
            .select_related("iteration", "reviewer")
            .prefetch_related("verdicts")
            .order_by("iteration__number", "submitted_at", "id")
        )
    else:
        reviews = sorted(
            (review for review in loaded if review.submitted_at is not None),
            key=lambda review: (review.iteration.number, review.submitted_at, review.pk),
        )
    mentor: dict[int, Review] = {}
    peers: dict[int, list[Review]] = {}
    iterations: dict[int, Iteration] = {}
    for review in reviews:
        iterations[review.iteration_id] = review.iteration
        if review.kind == Review.Kind.MENTOR:
            mentor[review.iteration_id] = review  # later reviews of an iteration win
        else:
            peers.setdefault(review.iteration_id, []).append(review)
    receipts = []
    for iteration_id, iteration in iterations.items():
        common = {
            "iteration": iteration,
            "tasks": tasks,
            "release": release,
            "extension": extension,
        }
        if iteration_id in mentor:
            review = mentor[iteration_id]
            receipts.append(
                build_receipt(reviews=[review], verdicts=review.verdicts.all(), **common)
            )
            continue
        if project.mentor_review_required:
            continue
        outcome = peer_outcome(
            peers.get(iteration_id, []), [t.pk for t in tasks], project.peer_reviews_required
        )
        if outcome.complete and not outcome.tie:
            majority = [
                MajorityVerdict(task_id, passed) for task_id, passed in outcome.verdicts.items()
            ]
            receipts.append(build_receipt(reviews=outcome.reviews, verdicts=majority, **common))
    return sorted(receipts, key=lambda receipt: receipt.iteration.number, reverse=True)


def best_receipt(receipts: list[Receipt]) -> Receipt | None:
    """The receipt that earns the attempt's score: the highest (latest on a tie).

    A later, late resubmission therefore never lowers a score already earned.
    """
    best = None
    for receipt in receipts:  # newest first, so ">" keeps the latest on a tie
        if best is None or receipt.score > best.score:
            best = receipt
    return best


@transaction.atomic
def attempt_recompute_score(*, attempt: Attempt) -> Decimal | None:
    """Recompute and store ``attempt.score`` from scratch, holding the attempt's row lock."""
    locked = (
        Attempt.objects.select_for_update().select_related("release__project").get(pk=attempt.pk)
    )
    best = best_receipt(attempt_receipts(locked))
    score = best.score if best else None
    scored = best.iteration if best else None
    Attempt.objects.filter(pk=locked.pk).update(score=score, scored_iteration=scored)
    attempt.score, attempt.scored_iteration = score, scored
    return score


def release_recompute_scores(*, release: ProjectRelease, learner_id: int | None = None) -> int:
    """Recompute the scores of a release's attempts (one learner's, if given)."""
    attempts = Attempt.objects.filter(release=release).exclude(score=None)
    if learner_id is not None:
        attempts = attempts.filter(learner_id=learner_id)
    count = 0
    for attempt in attempts:
        attempt_recompute_score(attempt=attempt)
        count += 1
    return count

"""Peer majority: what an iteration's submitted peer reviews say together."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from core.models import Review


@dataclass(frozen=True)
class PeerOutcome:
    """What an iteration's submitted peer reviews say together."""

    reviews: list[Review]
    verdicts: dict[int, bool]  # task id -> majority passed (tied tasks left out)
    tied_tasks: list[int]
    decision: str | None  # None on a tie
    required: int

    @property
    def complete(self) -> bool:
        return len(self.reviews) >= self.required

    @property
    def tie(self) -> bool:
        return bool(self.tied_tasks) or self.decision is None


def peer_outcome(reviews: Iterable[Review], task_ids: Iterable[int], required: int) -> PeerOutcome:
    """The per-task majority of submitted peer reviews (verdicts prefetched; no queries)."""
    reviews = [r for r in reviews if r.kind == Review.Kind.PEER and r.submitted_at is not None]
    verdicts: dict[int, bool] = {}
    tied: list[int] = []
    for task_id in task_ids:
        votes = Counter(
            verdict.passed
            for review in reviews
            for verdict in review.verdicts.all()
            if verdict.task_id == task_id
        )
        if votes[True] > votes[False]:
            verdicts[task_id] = True
        elif votes[False] > votes[True]:
            verdicts[task_id] = False
        else:
            tied.append(task_id)
    decisions = Counter(review.decision for review in reviews)
    approved, changes = (
        decisions[Review.Decision.APPROVED],
        decisions[Review.Decision.CHANGES_REQUESTED],
    )
    decision = (
        Review.Decision.APPROVED
        if approved > changes
        else Review.Decision.CHANGES_REQUESTED
        if changes > approved
        else None
    )
    return PeerOutcome(reviews, verdicts, tied, decision, required)

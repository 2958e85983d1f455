"""Scores: one function computes them, from verdicts, deadlines and multipliers.

Score = (M + M × A) × lateness multiplier, where M is the share of mandatory
points passed and A the share of advanced points passed (A counts only on top
of mandatory work, so 200% at most). The multiplier is the release's for the
deadline the scored iteration met, with the learner's latest extension applied.

A task graded by checks passes exactly when its checks pass: its verdict is the latest
finished run of the iteration's checks, whoever reviewed (``checks_line``). A re-run
may raise such a verdict but never lowers what a mentor approved; the receipt says so.

Staff overrides (``ScoreOverride``) stand until staff clear them: a task verdict set by
staff replaces that task's line on every receipt of the attempt (``with_staff_verdicts``),
and a final score set by staff replaces the computed one (``final_score``), whatever
reviews come later. The receipt keeps what the reviews said beside the override.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.db import transaction

from core.checks.models import CheckRun, CheckTaskResult
from core.models import (
    Attempt,
    Extension,
    Iteration,
    ProjectRelease,
    Review,
    ScoreOverride,
    Task,
    Verdict,
)
from core.peer.majority import peer_outcome

HUNDRED = Decimal("100")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class TaskLine:
    """One task on the receipt."""

    task: Task
    passed: bool
    comment: str
    by_checks: bool = False  # the verdict is the checks' (else a person's, or the peers')
    note: str = ""  # why the verdict is not what the latest checks say, when it is not
    staff: ScoreOverride | None = None  # staff set this verdict (``passed`` is theirs)
    reviewed_passed: bool | None = None  # what the reviews said, when staff set the verdict

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
    def by_checks(self) -> bool:
        """Decided by the checks alone (a project graded by checks)."""
        return self.reviews[0].kind == Review.Kind.CHECKS

    @property
    def decided_by(self) -> str:
        """Whose verdicts counted, in words for the receipt."""
        if self.by_peers:
            return f"the majority of {len(self.reviews)} peer reviews"
        if self.reviews[0].kind == Review.Kind.CHECKS:
            return "the automated checks"
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


def checks_line(
    task: Task, verdict: Verdict | MajorityVerdict | None, checked: bool | None, approved: bool
) -> TaskLine:
    """The line of a task graded by checks: the latest finished checks (``checked``; None
    when none finished) decide, except that they never lower a mentor's ``approved``
    verdict, which was given with the checks of its day (``verdict``)."""
    recorded = bool(verdict and verdict.passed)
    comment = verdict.comment if verdict else ""
    if checked is None:
        return TaskLine(task=task, passed=recorded, comment=comment, by_checks=True)
    if approved and recorded and not checked:
        note = "A later run of the checks failed this task; the mentor's approval stands."
        return TaskLine(task=task, passed=True, comment=comment, by_checks=True, note=note)
    return TaskLine(task=task, passed=checked, comment=comment, by_checks=True)


def build_receipt(
    *,
    iteration: Iteration,
    reviews: list[Review],
    verdicts: Iterable[Verdict | MajorityVerdict],
    tasks: list[Task],
    release: ProjectRelease,
    extension: Extension | None,
    checks: dict[int, bool] | None = None,
) -> Receipt:
    """The receipt for one decided review of one iteration (no queries).

    ``checks``: task id → whether the iteration's latest finished checks pass it.
    """
    by_task = {verdict.task_id: verdict for verdict in verdicts}
    approved = reviews[0].kind == Review.Kind.MENTOR and (
        reviews[0].decision == Review.Decision.APPROVED
    )
    lines = []
    for task in tasks:
        verdict = by_task.get(task.pk)
        if task.graded_by_checks:
            lines.append(checks_line(task, verdict, (checks or {}).get(task.pk), approved))
            continue
        recorded = verdict if isinstance(verdict, Verdict) else None
        lines.append(
            TaskLine(
                task=task,
                passed=bool(verdict and verdict.passed),
                comment=verdict.comment if verdict else "",
                by_checks=bool(recorded and recorded.source == Verdict.Source.CHECKS),
                note=(
                    f"The mentor overrode the checks: {recorded.override_reason}"
                    if recorded and recorded.override_reason
                    else ""
                ),
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


@dataclass(frozen=True)
class MajorityVerdict:
    """A task verdict decided by the peers' majority."""

    task_id: int
    passed: bool
    comment: str = ""


def attempt_receipts(
    attempt: Attempt,
    loaded: Iterable[Review] | None = None,
    standing: StandingOverrides | None = None,
) -> list[Receipt]:
    """A receipt for every decided iteration, newest iteration first.

    An iteration's verdicts come from its latest submitted mentor review (a
    mentor always overrides peers), else from the majority of its N peer
    reviews when the project does not require a mentor and the peers agree.
    ``loaded``: the attempt's reviews with their iteration and verdicts, when the
    caller has them already (drafts among them are left out here). Staff's standing
    verdict overrides are applied (``standing``, loaded here when not given).
    """
    release = attempt.release
    project = release.project
    tasks = list(project.tasks.order_by("number"))
    extension = Extension.objects.latest_for(attempt.learner_id, release)
    checks = iterations_checked(attempt) if any(t.graded_by_checks for t in tasks) else {}
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
        # The checks' decision of a project graded by checks alone counts as a mentor's.
        if review.kind in (Review.Kind.MENTOR, Review.Kind.CHECKS):
            mentor[review.iteration_id] = review  # later reviews of an iteration win
        else:
            peers.setdefault(review.iteration_id, []).append(review)
    receipts = []
    for iteration_id, iteration in iterations.items():
        receipt_of = partial(
            build_receipt,
            iteration=iteration,
            tasks=tasks,
            release=release,
            extension=extension,
            checks=checks.get(iteration_id),
        )
        if iteration_id in mentor:
            review = mentor[iteration_id]
            receipts.append(receipt_of(reviews=[review], verdicts=review.verdicts.all()))
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
            receipts.append(receipt_of(reviews=outcome.reviews, verdicts=majority))
    if standing is None:
        standing = standing_overrides(attempt)
    receipts = [with_staff_verdicts(receipt, standing.verdicts) for receipt in receipts]
    return sorted(receipts, key=lambda receipt: receipt.iteration.number, reverse=True)


def iterations_checked(attempt: Attempt) -> dict[int, dict[int, bool]]:
    """For each iteration of the attempt, what its latest finished checks say of each task
    (task id → passed). Runs that could not check (errored) say nothing. One query."""
    rows = (
        CheckTaskResult.objects.filter(
            run__iteration__attempt=attempt,
            run__status__in=[CheckRun.Status.PASSED, CheckRun.Status.FAILED],
        )
        .order_by("run__iteration_id", "-run__requested_at", "-run_id")
        .values_list("run__iteration_id", "run_id", "task_id", "outcome")
    )
    latest_run: dict[int, int] = {}
    checked: dict[int, dict[int, bool]] = {}
    for iteration_id, run_id, task_id, outcome in rows:
        if latest_run.setdefault(iteration_id, run_id) != run_id:
            continue  # an older run of this iteration
        checked.setdefault(iteration_id, {})[task_id] = outcome == CheckTaskResult.Outcome.PASSED
    return checked


def best_receipt(receipts: list[Receipt]) -> Receipt | None:
    """The receipt that earns the attempt's score: the highest (latest on a tie).

    A later, late resubmission therefore never lowers a score already earned.
    """
    best = None
    for receipt in receipts:  # newest first, so ">" keeps the latest on a tie
        if best is None or receipt.score > best.score:
            best = receipt
    return best


def whatif_receipt(
    *,
    tasks: list[Task],
    passing: Collection[int],
    submitted_at: datetime,
    release: ProjectRelease,
    extension: Extension | None,
) -> Receipt:
    """What-if: the receipt an iteration submitted at ``submitted_at`` would get from a
    mentor who passed exactly the tasks whose ids are in ``passing`` (SPEC §4a).

    ``build_receipt`` itself, on rows that are never saved, so the answer is the one a
    real review would give; pure: no queries, nothing written. Tasks graded by checks
    pass as picked (no checks have run on an iteration that does not exist).
    """
    mandatory_passed = all(task.pk in passing for task in tasks if not task.is_advanced)
    review = Review(
        kind=Review.Kind.MENTOR,
        decision=(
            Review.Decision.APPROVED if mandatory_passed else Review.Decision.CHANGES_REQUESTED
        ),
    )
    verdicts = [Verdict(task_id=task.pk, passed=task.pk in passing) for task in tasks]
    return build_receipt(
        iteration=Iteration(submitted_at=submitted_at),
        reviews=[review],
        verdicts=verdicts,
        tasks=tasks,
        release=release,
        extension=extension,
    )


def score_after(current: Decimal | None, receipt: Receipt) -> Decimal:
    """The attempt's score once ``receipt``'s iteration is decided: the best one stands
    (``best_receipt``), so a lower score never replaces ``current``."""
    return receipt.score if current is None else max(current, receipt.score)


@transaction.atomic
def attempt_recompute_score(*, attempt: Attempt) -> Decimal | None:
    """Recompute and store ``attempt.score`` from scratch, holding the attempt's row lock."""
    locked = (
        # Only the attempt's row (of self): locking the project it joins would queue every
        # score of the project behind one another.
        Attempt.objects.select_for_update(of=("self",))
        .select_related("release__project")
        .get(pk=attempt.pk)
    )
    standing = standing_overrides(locked)
    best = best_receipt(attempt_receipts(locked, standing=standing))
    score = final_score(best, standing)
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


# --- Staff overrides --------------------------------------------------------------------------


@dataclass(frozen=True)
class StandingOverrides:
    """An attempt's overrides in force: task id → staff's verdict, and staff's final score."""

    verdicts: dict[int, ScoreOverride] = field(default_factory=dict)
    score: ScoreOverride | None = None


def standing_overrides(attempt: Attempt) -> StandingOverrides:
    """The attempt's standing overrides, with who set them (one query)."""
    verdicts: dict[int, ScoreOverride] = {}
    score = None
    for override in (
        ScoreOverride.objects.standing().filter(attempt=attempt).select_related("created_by")
    ):
        if override.kind == ScoreOverride.Kind.SCORE:
            score = override
        elif override.task_id is not None:
            verdicts[override.task_id] = override
    return StandingOverrides(verdicts=verdicts, score=score)


def with_staff_verdicts(receipt: Receipt, verdicts: dict[int, ScoreOverride]) -> Receipt:
    """``receipt`` with staff's verdicts in place of the reviews' (no queries)."""
    if not verdicts:
        return receipt
    lines = []
    for line in receipt.lines:
        override = verdicts.get(line.task.pk)
        if override is None or override.passed is None:
            lines.append(line)
            continue
        lines.append(
            replace(line, passed=override.passed, staff=override, reviewed_passed=line.passed)
        )
    mandatory = [line for line in lines if not line.task.is_advanced]
    advanced = [line for line in lines if line.task.is_advanced]
    return replace(
        receipt,
        lines=lines,
        mandatory_passed=sum(line.points_earned for line in mandatory),
        advanced_passed=sum(line.points_earned for line in advanced),
    )


def final_score(best: Receipt | None, standing: StandingOverrides) -> Decimal | None:
    """The attempt's score: staff's when they set one, else the best receipt's."""
    if standing.score is not None and standing.score.score is not None:
        return standing.score.score
    return best.score if best else None

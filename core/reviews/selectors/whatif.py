"""Reads of what-if (SPEC §4a): the receipt an iteration would get and the attempt's score
after it, and the form as the attempt page first shows it. Nothing is written, ever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from core.models import Attempt, Extension, ScoreOverride, Task
from core.reviews.forms import WHATIF_DATE_FORMAT
from core.reviews.scoring import (
    Receipt,
    score_after,
    standing_overrides,
    whatif_receipt,
    with_staff_verdicts,
)
from core.reviews.selectors.attempts import ReceiptView


@dataclass(frozen=True)
class WhatIf:
    """The answer: the receipt the iteration would get, and the attempt's score after it."""

    view: ReceiptView  # the receipt, with the learner's deadlines for the template
    current: Decimal | None  # the attempt's score today (None: not scored yet)
    after: Decimal  # its score once that iteration is decided
    pinned: ScoreOverride | None = None  # staff's final score, which outranks any review

    @property
    def raises(self) -> bool:
        return self.current is None or self.after > self.current


@dataclass(frozen=True)
class WhatIfTask:
    """A task as the what-if form lists it, ticked or not."""

    task: Task
    ticked: bool


@dataclass(frozen=True)
class WhatIfPanel:
    """The what-if form and, once asked, its answer (or why it cannot answer)."""

    tasks: list[WhatIfTask]
    at: str  # the date field's value, in the cohort's time zone
    result: WhatIf | None = None
    errors: tuple[str, ...] = ()
    shows_current: bool = True  # False while the learner's grade is held


def attempt_whatif(
    *, attempt: Attempt, tasks: list[Task], passing: set[int], at: datetime
) -> WhatIf:
    """What the attempt would score if an iteration submitted ``at`` passed exactly the
    tasks in ``passing`` (two queries: the learner's extension, staff's standing
    adjustments, which apply to it as to a real review; nothing written)."""
    release = attempt.release
    extension = Extension.objects.latest_for(attempt.learner_id, release)
    standing = standing_overrides(attempt)
    receipt = with_staff_verdicts(
        whatif_receipt(
            tasks=tasks, passing=passing, submitted_at=at, release=release, extension=extension
        ),
        standing.verdicts,
    )
    view = ReceiptView(
        receipt=receipt,
        deadlines=release.deadlines_for(extension),
        original=release.deadlines_for(None),
        is_best=False,
    )
    if standing.score is not None and standing.score.score is not None:
        after = standing.score.score
    else:
        after = score_after(attempt.score, receipt)
    return WhatIf(view=view, current=attempt.score, after=after, pinned=standing.score)


def _now_in(attempt: Attempt) -> str:
    return timezone.localtime(timezone.now(), attempt.release.cohort.tz).strftime(
        WHATIF_DATE_FORMAT
    )


def whatif_panel(*, attempt: Attempt, receipts: list[Receipt]) -> WhatIfPanel:
    """The form as the attempt page first shows it: the tasks the latest decided iteration
    passed are ticked (none when ``receipts`` is empty), the date is now.

    The receipts carry the project's tasks; only without any is there a query for them.
    """
    latest = max(receipts, key=lambda receipt: receipt.iteration.number, default=None)
    if latest is None:
        tasks = [
            WhatIfTask(task, False) for task in attempt.release.project.tasks.order_by("number")
        ]
    else:
        tasks = [WhatIfTask(line.task, line.passed) for line in latest.lines]
    return WhatIfPanel(tasks=tasks, at=_now_in(attempt))

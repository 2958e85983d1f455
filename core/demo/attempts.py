"""Demo work for the demo cohort: attempts in every state of the review loop.

``seed_attempts`` gives the demo learner (learner@example.com) one attempt of each
kind a learner meets: approved with a score receipt, changes requested with a
discussion, waiting for review, and late; the classmates fill the mentor's queue
(waiting work of different ages, a resubmission, one iteration claimed by the demo
mentor right now) and the cohort's scores. A few notifications make the bell real.

Rows are written directly with timestamps in the past (the services stamp
``timezone.now()``), then every score is recomputed by the one scoring service,
so each stored score equals a from-scratch recompute. Signals are not sent: a
demo must not email anyone.

On projects with checks (core/demo/checks.py) each iteration also gets the run its
submission queued, with the results its plan scripts (core/demo/check_runs.py): a
project graded by checks alone is decided by them (no mentor involved), and a
mentor's verdicts record what the checks said beside them.

Idempotent per person: someone who already has an attempt in the cohort gets
nothing new, so running the seed again (even weeks later, when other projects
are current) changes nothing. Claims expire; an expired demo claim is left to
expire like any other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils.text import slugify

from core.checks.selectors import graded_by_checks_only
from core.demo.check_runs import (
    ALL_PASS,
    DECORATORS_EXIT_STACK_LEAKS,
    DECORATORS_FIRST_TRY,
    GENERATORS_NO_ADVANCED,
    GENERATORS_STATS_KEEP_VALUES,
    NOT_FETCHED,
    QUEUED,
    RunScript,
    checks_said,
    decide_by_checks,
    override_reason,
    record_run,
)
from core.models import (
    Attempt,
    CheckRun,
    CheckSuite,
    Cohort,
    Comment,
    Iteration,
    Membership,
    Notification,
    ProjectRelease,
    Review,
    ReviewClaim,
    Task,
    User,
    Verdict,
)
from core.reviews.scoring import attempt_recompute_score

LEARNER = "learner@example.com"
MENTOR = "mentor@example.com"

Decision = Review.Decision
TaskPicker = Callable[[list[Task]], list[Task]]

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Demo notifications newer than this are unread, as if nobody had looked yet.
UNREAD_FOR = timedelta(days=3)


# --- Which tasks fail --------------------------------------------------------------------


def _mandatory(tasks: list[Task]) -> list[Task]:
    return [task for task in tasks if not task.is_advanced]


def _advanced(tasks: list[Task]) -> list[Task]:
    return [task for task in tasks if task.is_advanced]


def nothing(tasks: list[Task]) -> list[Task]:
    return []


def last_advanced(tasks: list[Task]) -> list[Task]:
    """The hardest task: the one that sets a 150% apart from a 200%."""
    return _advanced(tasks)[-1:]


def all_advanced(tasks: list[Task]) -> list[Task]:
    return _advanced(tasks)


def mandatory_at(*positions: int) -> TaskPicker:
    """The mandatory tasks at these positions (0 is the first), plus every advanced one."""

    def pick(tasks: list[Task]) -> list[Task]:
        mandatory = _mandatory(tasks)
        return [mandatory[p] for p in positions if p < len(mandatory)] + _advanced(tasks)

    return pick


def one_of_each(tasks: list[Task]) -> list[Task]:
    """The last mandatory task and the last advanced one."""
    return _mandatory(tasks)[-1:] + _advanced(tasks)[-1:]


# --- What was said -----------------------------------------------------------------------

PASS_COMMENTS = [
    "Works with the sample data and with the edge cases I tried.",
    "",
    "Clean and readable; the docstring says exactly what it returns.",
    "",
    "Good tests: they would catch the obvious regression.",
]
# For failed tasks the learner claimed done: mandatory ones in turn, then advanced ones.
FAIL_COMMENTS = [
    "The happy path works, but an empty result raises instead of returning an empty "
    "list. Handle that case in `{file}` and add a test for it.",
    "Close. The tests in `{file}` only cover the happy path: add one for invalid input "
    "and one for the boundary values, then fix what they find.",
    "This works for the example in the brief but not for the other inputs the task "
    "lists; read the requirements again and cover each one.",
]
ADVANCED_FAIL_COMMENT = (
    "A good attempt, but it slows down badly on the larger sample data. Measure it, "
    "find the hot spot, and try again in your next iteration."
)
NOT_CLAIMED_COMMENT = "Not attempted yet. It is optional, and it is where the extra points are."
# A mentor's verdict that differs from the checks' carries a reason; the scripted ones
# (core/demo/check_runs.py OVERRIDES) say what the mentor saw.
OVERRIDE_REASON = "I ran it by hand: it behaves differently from what the checks saw."
MISSING_COMMENT = "`{file}` is not in `{directory}`, so I could not check this one."

FEEDBACK_APPROVED = (
    "Solid work. Your commits tell the story of the project, and the code reads well.\n\n"
    "One thing to carry into the next project: name things after what they mean "
    "(`active_users`, not `data2`)."
)
FEEDBACK_PERFECT = "Everything passes, advanced tasks included. Excellent work!"
FEEDBACK_CHANGES = (
    "Good start: the structure is right and the simple cases work.\n\n"
    "**What to fix first**\n\n"
    "1. The empty case (see my comment on the task): nothing found is not an error.\n"
    "2. Test the edges, not only the happy path: invalid input and boundary values.\n\n"
    "The advanced tasks are optional, but they are where the extra points are."
)
FEEDBACK_LATE = (
    "Everything mandatory passes. This came in after the second deadline, so the score "
    "is halved; plan the next project so that you submit before the first one."
)

NOTES_FIRST = (
    "All mandatory tasks are done{advanced}.\n\n"
    "Run `make test` to see them pass; the README says how to load the sample data."
)
NOTES_AGAIN = (
    "Fixed what failed in iteration {previous}:\n\n"
    "- the empty case returns an empty list, with a test\n"
    "- tests for invalid input and boundary values\n\n"
    "Thanks for the quick review!"
)


# --- Plans -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A mentor's decision on one iteration: which tasks fail, what they wrote, when."""

    decision: str
    failing: TaskPicker
    feedback: str
    after: timedelta = timedelta(hours=22)  # from submission to decision


APPROVED = Outcome(Decision.APPROVED, last_advanced, FEEDBACK_APPROVED)
PERFECT = Outcome(Decision.APPROVED, nothing, FEEDBACK_PERFECT)
NO_ADVANCED = Outcome(Decision.APPROVED, all_advanced, FEEDBACK_APPROVED)
PARTIAL = Outcome(Decision.APPROVED, one_of_each, FEEDBACK_APPROVED)
LATE = Outcome(Decision.APPROVED, all_advanced, FEEDBACK_LATE, after=20 * HOUR)
CHANGES = Outcome(Decision.CHANGES_REQUESTED, mandatory_at(1, 2, 3), FEEDBACK_CHANGES)


@dataclass(frozen=True)
class When:
    """A moment relative to now or to the release's deadlines, always in the past."""

    anchor: str  # "ago", "before_first", "after_first" or "after_second"
    offset: timedelta


def ago(offset: timedelta) -> When:
    return When("ago", offset)


def before_first(offset: timedelta) -> When:
    return When("before_first", offset)


def after_first(offset: timedelta) -> When:
    return When("after_first", offset)


def after_second(offset: timedelta) -> When:
    return When("after_second", offset)


@dataclass(frozen=True)
class Submission:
    """One iteration; ``outcome`` None means it still waits for a review. ``checks``: what
    its checks found, on a project with checks (None: no run recorded)."""

    when: When
    outcome: Outcome | None = None
    checks: RunScript | None = None


@dataclass(frozen=True)
class Message:
    """A comment in the attempt's thread, ``ago`` before now."""

    author: str  # email
    ago: timedelta
    body: str


@dataclass(frozen=True)
class Plan:
    """One demo attempt: whose, on which release of the calendar, and what happened."""

    email: str
    # "past:0" (the oldest closed release), "past:-1", "between:-1" (open, past its
    # first deadline), "racing:0" (open, first deadline ahead), "racing:-1" (newest).
    release: str
    submissions: tuple[Submission, ...]
    claimed: bool = False  # the demo mentor holds a live claim on the last iteration
    thread: tuple[Message, ...] = ()


DISCUSSION = (
    Message(
        LEARNER,
        2 * DAY - 3 * HOUR,
        "Thanks for the review! For the empty case: should it return an empty list, "
        "or an error the client can show?",
    ),
    Message(
        MENTOR,
        2 * DAY - 5 * HOUR,
        "An empty list: nothing found is not an error. Keep errors for bad input, "
        "like a negative page size or an unknown id.",
    ),
    Message(LEARNER, DAY + 6 * HOUR, "Makes sense. Fixing it now, with a test for both."),
)

PLANS = [
    # The demo learner: approved (an advanced task passed), approved on a second try,
    # late, changes requested with a discussion, and waiting since yesterday. On the
    # first three projects, which have checks: decided by the checks (an advanced task
    # failing), failed then passed (the mentor overriding the checks once), and a
    # repository the checks could not fetch.
    Plan(
        LEARNER,
        "past:0",
        (Submission(before_first(2 * DAY), APPROVED, checks=GENERATORS_STATS_KEEP_VALUES),),
    ),
    Plan(
        LEARNER,
        "past:1",
        (
            Submission(before_first(3 * DAY), CHANGES, checks=DECORATORS_FIRST_TRY),
            Submission(after_first(DAY + 5 * HOUR), PERFECT, checks=ALL_PASS),
        ),
    ),
    Plan(LEARNER, "past:-1", (Submission(after_second(DAY), LATE, checks=NOT_FETCHED),)),
    Plan(LEARNER, "racing:0", (Submission(ago(3 * DAY), CHANGES),), thread=DISCUSSION),
    Plan(LEARNER, "racing:-1", (Submission(ago(DAY + 2 * HOUR)),)),
    # Classmates: the mentor's queue (one iteration claimed, one a resubmission)...
    Plan("ada@example.com", "racing:0", (Submission(ago(3 * DAY + 2 * HOUR)),)),
    Plan("barbara@example.com", "between:-1", (Submission(ago(2 * DAY)),), claimed=True),
    Plan("alan@example.com", "racing:-1", (Submission(ago(2 * DAY - 3 * HOUR)),)),
    Plan(
        "linus@example.com",
        "racing:0",
        (
            Submission(ago(6 * DAY), replace(CHANGES, after=DAY)),
            Submission(ago(20 * HOUR)),
        ),
    ),
    Plan("grace@example.com", "between:-1", (Submission(ago(5 * HOUR)),)),
    # ...and their scores, from 50% to 200% (the first project's decided by its checks,
    # one of which timed out)...
    Plan(
        "guido@example.com",
        "past:0",
        (Submission(before_first(4 * DAY), PERFECT, checks=ALL_PASS),),
    ),
    Plan(
        "alan@example.com",
        "past:0",
        (Submission(before_first(DAY), NO_ADVANCED, checks=GENERATORS_NO_ADVANCED),),
    ),
    Plan(
        "margaret@example.com",
        "past:1",
        (Submission(after_first(2 * DAY), APPROVED, checks=DECORATORS_EXIT_STACK_LEAKS),),
    ),
    Plan("ada@example.com", "past:2", (Submission(before_first(DAY), PARTIAL),)),
    Plan("dennis@example.com", "between:-1", (Submission(before_first(20 * HOUR), APPROVED),)),
    # ...and a late submission to the project graded by checks, its checks still queued.
    Plan("dennis@example.com", "past:0", (Submission(ago(25 * MINUTE), checks=QUEUED),)),
]


@dataclass(frozen=True)
class Calendar:
    """The cohort's opened releases as they stand at ``now``, and times relative to them."""

    now: datetime
    releases: dict[str, list[ProjectRelease]]  # "past", "between", "racing"; oldest first

    @classmethod
    def of(cls, cohort: Cohort, now: datetime) -> Calendar:
        opened = cohort.releases.opened(now).select_related("project").order_by("opens_at", "pk")
        releases: dict[str, list[ProjectRelease]] = {"past": [], "between": [], "racing": []}
        for release in opened:
            if release.second_deadline <= now:
                releases["past"].append(release)
            elif release.first_deadline <= now:
                releases["between"].append(release)
            else:
                releases["racing"].append(release)
        return cls(now=now, releases=releases)

    def release(self, name: str) -> ProjectRelease | None:
        """``"racing:-1"`` and friends; None when the calendar has no such release."""
        group, _, index = name.partition(":")
        candidates = self.releases[group]
        position = int(index)
        return candidates[position] if -len(candidates) <= position < len(candidates) else None

    def at(self, when: When, release: ProjectRelease) -> datetime:
        """The moment ``when`` means for ``release``: after it opened, before now."""
        opened, now = release.opens_at + HOUR, self.now
        if when.anchor == "ago":
            return max(now - when.offset, opened)
        if when.anchor == "after_second":  # late: after the second deadline, before now
            late = release.second_deadline + when.offset
            return (
                late
                if late < now
                else release.second_deadline + (now - release.second_deadline) / 2
            )
        if when.anchor == "before_first":
            at = release.first_deadline - when.offset
        else:
            at = min(release.first_deadline + when.offset, release.second_deadline)
        return max(min(at, now - 2 * DAY), opened)


# --- Writing -----------------------------------------------------------------------------


def seed_attempts(cohort: Cohort, now: datetime) -> int:
    """Create the demo attempts of ``cohort`` that are missing; returns how many were made."""
    members = cohort.memberships.select_related("user")
    learners = {m.user.email: m.user for m in members if m.role == Membership.Role.LEARNER}
    mentor = next((m.user for m in members if m.user.email == MENTOR), None)
    if mentor is None:
        return 0
    # Per person: anyone with an attempt in the cohort is left alone.
    already = set(
        Attempt.objects.filter(release__cohort=cohort).values_list("learner__email", flat=True)
    )
    calendar = Calendar.of(cohort, now)
    writer = _Writer(calendar=calendar, mentor=mentor)
    taken: set[tuple[str, int]] = set()  # a short calendar maps two plans to one release
    for plan in PLANS:
        release = calendar.release(plan.release)
        if release is None or plan.email in already or plan.email not in learners:
            continue
        if (plan.email, release.pk) not in taken:
            taken.add((plan.email, release.pk))
            writer.attempt(plan, learners[plan.email], release)
    if LEARNER in learners and LEARNER not in already:
        writer.learner_notifications(learners[LEARNER])
    return len(writer.made)


@dataclass
class _Writer:
    """Writes planned attempts with their iterations, reviews, claims, comments and news."""

    calendar: Calendar
    mentor: User
    made: list[Attempt] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        return self.calendar.now

    def attempt(self, plan: Plan, learner: User, release: ProjectRelease) -> Attempt:
        tasks = list(release.project.tasks.order_by("number"))
        times = [self.calendar.at(submission.when, release) for submission in plan.submissions]
        attempt = Attempt.objects.create(learner=learner, release=release, created_at=times[0])
        has_checks = CheckSuite.objects.filter(task__project=release.project).exists()
        by_checks = graded_by_checks_only(release.project)
        decided_by_checks = False
        for number, (submission, at) in enumerate(
            zip(plan.submissions, times, strict=True), start=1
        ):
            script = submission.checks if has_checks else None
            iteration = self._iteration(
                attempt, number, at, submission, tasks, checking=by_checks and script is not None
            )
            said: dict[int, bool] = {}
            decided_by_checks = False
            if script is not None:
                run, results = record_run(
                    learner=learner,
                    release=release,
                    script=script,
                    requested_at=at,
                    repo_url=iteration.repo_url,
                    commit_sha=iteration.commit_sha,
                    iteration=iteration,
                )
                said = checks_said(results)
                if by_checks and run.status != CheckRun.Status.QUEUED:
                    if not run.error:
                        decide_by_checks(iteration, run, results)
                        decided_by_checks = True
                        continue
                    # Checks that could not run hand the iteration to the mentors.
                    iteration.status = (
                        Iteration.Status.WAITING
                        if submission.outcome is None
                        else Iteration.Status.REVIEWED
                    )
                    iteration.save(update_fields=["status"])
            if submission.outcome is not None:
                self._review(iteration, at, submission.outcome, tasks, checks=said)
        if not decided_by_checks:  # their decision set the attempt's status itself
            last = plan.submissions[-1].outcome
            attempt.status = (
                Attempt.Status.WAITING
                if last is None
                else Attempt.Status.APPROVED
                if last.decision == Decision.APPROVED
                else Attempt.Status.CHANGES_REQUESTED
            )
            attempt.save(update_fields=["status", "updated_at"])
        attempt_recompute_score(attempt=attempt)
        if plan.claimed:
            self._claim_with_draft(iteration, tasks)
        elif iteration.status == Iteration.Status.WAITING:
            self._tell_mentor_about(iteration, learner)
        for message in plan.thread:
            author = learner if message.author == learner.email else self.mentor
            at = self.now - message.ago
            comment = Comment.objects.create(
                attempt=attempt, author=author, body=message.body, created_at=at
            )
            if author == learner:
                self._notify(
                    self.mentor,
                    Notification.Kind.NEW_COMMENT,
                    f"{learner.name} commented on {release.project.title}",
                    body=message.body[:300],
                    url=f"{attempt.get_absolute_url()}#comment-{comment.pk}",
                    at=at,
                )
        self.made.append(attempt)
        return attempt

    def _iteration(
        self,
        attempt: Attempt,
        number: int,
        at: datetime,
        submission: Submission,
        tasks: list[Task],
        *,
        checking: bool = False,
    ) -> Iteration:
        learner = attempt.learner
        repo = next((task.repo for task in tasks if task.repo), attempt.release.project.slug)
        advanced = _advanced(tasks)
        # A first try claims the mandatory tasks and one advanced; a resubmission, everything.
        claimed = tasks if number > 1 else _mandatory(tasks) + advanced[:1]
        extra = f", and I tried task {advanced[0].number} ({advanced[0].title})" if advanced else ""
        notes = (
            NOTES_AGAIN.format(previous=number - 1)
            if number > 1
            else NOTES_FIRST.format(advanced=extra)
        )
        iteration = Iteration.objects.create(
            attempt=attempt,
            number=number,
            repo_url=f"https://github.com/{slugify(learner.name)}/{repo}",
            commit_sha=_fake_sha(learner.email, attempt.release.project.slug, number),
            notes=notes,
            submitted_at=at,
            # Graded by checks alone: being checked until the checks decide.
            status=(
                Iteration.Status.CHECKING
                if checking
                else Iteration.Status.WAITING
                if submission.outcome is None
                else Iteration.Status.REVIEWED
            ),
        )
        iteration.tasks_claimed.set(claimed)
        return iteration

    def _review(
        self,
        iteration: Iteration,
        submitted: datetime,
        outcome: Outcome,
        tasks: list[Task],
        *,
        checks: dict[int, bool],
    ) -> Review:
        """The mentor's review; ``checks``: what the checks said per task id, if they ran."""
        decided = min(submitted + outcome.after, self.now - HOUR)
        review = Review.objects.create(
            iteration=iteration,
            reviewer=self.mentor,
            kind=Review.Kind.MENTOR,
            decision=outcome.decision,
            feedback=outcome.feedback,
            created_at=decided - HOUR,
            submitted_at=decided,
        )
        failing = {task.pk for task in outcome.failing(tasks)}
        claimed = {task.pk for task in iteration.tasks_claimed.all()}
        verdicts, failed = [], 0
        project = iteration.attempt.release.project.slug
        for index, task in enumerate(tasks):
            passed = task.pk not in failing
            if passed:
                comment = PASS_COMMENTS[index % len(PASS_COMMENTS)]
            else:
                comment = _fail_comment(task, claimed=task.pk in claimed, nth=failed)
                failed += not task.is_advanced
            said = checks.get(task.pk)
            overridden = task.prefilled_by_checks and said is not None and said != passed
            verdicts.append(
                Verdict(
                    review=review,
                    task=task,
                    passed=passed,
                    comment=comment,
                    checks_passed=said,
                    override_reason=(override_reason(project, task) or OVERRIDE_REASON)
                    if overridden
                    else "",
                )
            )
        Verdict.objects.bulk_create(verdicts)
        return review

    def _claim_with_draft(self, iteration: Iteration, tasks: list[Task]) -> None:
        """The demo mentor is reviewing this right now: a live claim and a draft begun."""
        claimed_at = self.now - timedelta(minutes=10)
        ReviewClaim.objects.create(
            iteration=iteration,
            reviewer=self.mentor,
            claimed_at=claimed_at,
            expires_at=claimed_at + timedelta(minutes=settings.CLAIM_MINUTES),
        )
        draft = Review.objects.create(
            iteration=iteration,
            reviewer=self.mentor,
            kind=Review.Kind.MENTOR,
            created_at=claimed_at + timedelta(minutes=6),
        )
        # Two tasks passed and one failed so far; the rest still to do.
        begun = [(True, PASS_COMMENTS[0]), (True, ""), (False, FAIL_COMMENTS[0])]
        Verdict.objects.bulk_create(
            Verdict(
                review=draft,
                task=task,
                passed=passed,
                comment=comment.format(file=_first_file(task)),
            )
            for task, (passed, comment) in zip(tasks, begun, strict=False)
        )

    def _tell_mentor_about(self, iteration: Iteration, learner: User) -> None:
        project = iteration.attempt.release.project
        self._notify(
            self.mentor,
            Notification.Kind.ITERATION_SUBMITTED,
            f"{learner.name} submitted {project.title} (iteration {iteration.number})",
            url=reverse("review_detail", args=[iteration.pk]),
            at=iteration.submitted_at,
        )

    def _notify(
        self, user: User, kind: str, title: str, *, url: str, at: datetime, body: str = ""
    ) -> None:
        """A notification as the receivers would have made it; older news is read."""
        Notification.objects.create(
            user=user,
            kind=kind,
            title=title,
            body=body,
            url=url,
            created_at=at,
            read_at=at + 2 * HOUR if at < self.now - UNREAD_FOR else None,
        )

    def learner_notifications(self, learner: User) -> None:
        """What the bell told the demo learner about their attempts (the recent ones unread)."""
        rows = []
        for attempt in self.made:
            if attempt.learner_id != learner.pk:
                continue
            project = attempt.release.project.title
            url = attempt.get_absolute_url()
            reviews = Review.objects.filter(iteration__attempt=attempt).order_by("submitted_at")
            for review in reviews:
                if review.decision == Decision.APPROVED:
                    kind, body = (
                        Notification.Kind.REVIEW_DONE,
                        f"Your score is now {attempt.score}%.",
                    )
                    title = f"{project} was approved"
                else:
                    kind, title = (
                        Notification.Kind.CHANGES_REQUESTED,
                        f"Changes requested on {project}",
                    )
                    body = ""
                # The only draft (PLANS' claimed attempt) is not the demo learner's.
                assert review.submitted_at is not None
                rows.append((kind, title, body, url, review.submitted_at))
            for comment in attempt.comments.exclude(author=learner).order_by("created_at"):
                rows.append(
                    (
                        Notification.Kind.NEW_COMMENT,
                        f"{comment.author.name} commented on {project}",
                        comment.body[:300],
                        f"{url}#comment-{comment.pk}",
                        comment.created_at,
                    )
                )
        for kind, title, body, url, at in sorted(rows, key=lambda row: row[-1]):
            self._notify(learner, kind, title, body=body, url=url, at=at)


def _first_file(task: Task) -> str:
    return task.files[0] if task.files else "your solution"


def _fail_comment(task: Task, *, claimed: bool, nth: int) -> str:
    """What the mentor wrote on a failed task (``nth``: failed mandatory tasks before it)."""
    file = _first_file(task)
    if not claimed:
        if task.is_advanced:
            return NOT_CLAIMED_COMMENT
        return MISSING_COMMENT.format(file=file, directory=task.directory or "the repository")
    if task.is_advanced:
        return ADVANCED_FAIL_COMMENT
    return FAIL_COMMENTS[nth % len(FAIL_COMMENTS)].format(file=file)


def _fake_sha(*parts: object) -> str:
    """A stable, realistic-looking commit SHA."""
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()

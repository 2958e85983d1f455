"""Demo peer review for the demo cohort: a review policy per module and reviews in every state.

``seed_peer_reviews`` runs after ``seed_attempts``. It gives one project of each
module two peer reviews per iteration (N=2), one review owed by each learner
(M=1) and peers that decide (no mentor review unless escalated or tied). On the
stage project (a current release the demo learner has not submitted yet) it then
writes:

- the demo learner's attempt, decided by the majority of two peer reviews, whose
  grade is held until they give the one review they owe ("Get next review" offers
  them the oldest classmate iteration waiting on that project);
- a classmate's iteration with one of its two peer reviews in and a live
  assignment for the demo reviewer;
- one whose two peer reviews disagree ("Peers tied" in the mentor queue);
- one past its peer SLA with no peer review ("Escalated" in the mentor queue);
- one past its mentor SLA as well (on the staff SLA board);

plus, on an earlier peer-reviewed project, a peer review next to the mentor's
decision (a mentor override, and the demo reviewer's agreement rate), a
helpful rating, a report for staff, and the escalation notices
``manage.py escalate_reviews`` would have sent.

Rows are written directly with timestamps in the past and scores recomputed by
the scoring service, like core/demo/attempts.py; nothing is emailed. It runs
once per cohort: with any peer assignment in the cohort it only re-applies the
policies (which do not change), so running the seed again changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.text import slugify

from core.models import (
    Attempt,
    Cohort,
    Iteration,
    Membership,
    Notification,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    ReviewRating,
    ReviewReport,
    Task,
    User,
    Verdict,
)
from core.reviews.escalation import mentor_notices, peer_notices
from core.reviews.scoring import attempt_recompute_score
from core.reviews.services import review_due_times

LEARNER = "learner@example.com"
REVIEWER = "reviewer@example.com"

# One project per module, by slug (the first three modules' are past or current in a
# freshly seeded cohort 7).
PEER_PROJECTS = (
    "python-testing",
    "django-auth-admin",
    "drf-auth-permissions",
    "graphql-mutations-auth",
    "docker-containerize-django",
    "github-actions-ci",
    "database-schema-design",
    "python-async-basics",
    "django-redis-caching",
)
PEER_POLICY = {"peer_reviews_required": 2, "peer_reviews_owed": 1, "mentor_review_required": False}
# Where the peer reviews of the demo happen: a current release the demo learner has
# not submitted (core/demo/attempts.py), which a classmate passed before.
STAGE = "drf-auth-permissions"
# The override and agreement example: a past peer-reviewed project a classmate passed.
OVERRIDE = "python-testing"
# Classmates for each state on the stage project (anyone who has an attempt there is skipped).
HALF_DONE = "alan@example.com"
TIED = "linus@example.com"
ESCALATED = "margaret@example.com"
BREACHED = "guido@example.com"
# The stage must have been open this long for the oldest waiting iteration to fit in.
STAGE_OPEN_FOR = timedelta(days=4)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

FEEDBACK_THOROUGH = (
    "Nice work: the permission classes read well and each one has a test.\n\n"
    "The throttling task is close; it counts requests per view instead of per user. "
    "Look at `get_cache_key` in the DRF docs."
)
FEEDBACK_SHORT = "Works for me. The README could say how to get a token."
FEEDBACK_TERSE = "This doesn't work. Read the docs."
FAIL_COMMENT = "Anonymous requests get a 500 instead of a 401: check the authentication class."
REPORT_REASON = (
    "The review says my work 'doesn't work' and to 'read the docs', without saying which "
    "task fails or why. I could not learn anything from it."
)
NOTES = "All mandatory tasks are done, and I tried the first advanced one.\n\nRun `make test`."


def _lease() -> timedelta:
    return timedelta(hours=settings.PEER_ASSIGNMENT_HOURS)


def _set_policies() -> None:
    """N=2, M=1, peers decide: on one project of each module (a rerun changes nothing)."""
    stale = Project.objects.filter(slug__in=PEER_PROJECTS).exclude(**PEER_POLICY)
    stale.update(**PEER_POLICY)


def seed_peer_reviews(cohort: Cohort, now: datetime) -> int:
    """Set the peer review policies and write the demo peer reviews; returns assignments made."""
    _set_policies()
    if PeerAssignment.objects.filter(iteration__attempt__release__cohort=cohort).exists():
        return 0  # already seeded
    members = {
        m.user.email: m
        for m in cohort.memberships.select_related("user").filter(
            role__in=[Membership.Role.LEARNER, Membership.Role.REVIEWER]
        )
    }
    stage = cohort.releases.select_related("project").filter(project__slug=STAGE).first()
    if LEARNER not in members or REVIEWER not in members or stage is None:
        return 0
    if not (stage.opens_at <= now - STAGE_OPEN_FOR and now < stage.second_deadline):
        return 0  # the stage is not current (an old database): leave it alone
    if not Attempt.objects.filter(learner=members[LEARNER].user, release__cohort=cohort).exists():
        return 0  # runs after the demo attempts, which it builds on
    on_stage = set(Attempt.objects.filter(release=stage).values_list("learner__email", flat=True))
    passed = [
        members[email].user
        for email in Attempt.objects.filter(release=stage, status=Attempt.Status.APPROVED)
        .order_by("created_at")
        .values_list("learner__email", flat=True)
        if email in members and email != LEARNER
    ]
    if LEARNER in on_stage or not passed:
        return 0
    writer = _Writer(now=now, release=stage, reviewer=members[REVIEWER].user, peer=passed[0])
    writer.stage(
        members[LEARNER].user, {e: m.user for e, m in members.items() if e not in on_stage}
    )
    writer.override(cohort)
    writer.notices()
    return writer.assignments


@dataclass
class _Writer:
    now: datetime
    release: ProjectRelease
    reviewer: User  # the demo reviewer
    peer: User  # a classmate who passed the stage project
    assignments: int = 0
    made: set[int] = field(default_factory=set)  # iteration ids

    @property
    def tasks(self) -> list[Task]:
        return list(self.release.project.tasks.order_by("number"))

    def _at(self, ago: timedelta, release: ProjectRelease | None = None) -> datetime:
        """``ago`` before now, but after the release opened."""
        opened = (release or self.release).opens_at + HOUR
        return max(self.now - ago, opened)

    def stage(self, learner: User, free: dict[str, User]) -> None:
        """The demo learner's peer-decided attempt, and classmates' work in every state."""
        tasks = self.tasks
        advanced = [task for task in tasks if task.is_advanced][-1:]
        # The demo learner: two peers agree (the last advanced task fails), so they decide.
        submitted = self._at(max(self.now - self.release.first_deadline, timedelta(0)) + 3 * DAY)
        mine = self._iteration(learner, submitted, Iteration.Status.REVIEWED)
        helpful = self._review(
            mine, self.reviewer, submitted + 9 * HOUR, fail=advanced, feedback=FEEDBACK_THOROUGH
        )
        decided = submitted + 20 * HOUR
        self._review(mine, self.peer, decided, fail=advanced, feedback=FEEDBACK_SHORT)
        self._decide(mine, Attempt.Status.APPROVED)
        project = self.release.project
        Notification.objects.create(
            user=learner,
            kind=Notification.Kind.REVIEW_DONE,
            title=f"{project.title} was approved by your peers",
            body=f"Give the peer review you owe on {project.title} to see your score.",
            url=mine.attempt.get_absolute_url(),
            created_at=decided,
        )
        ReviewRating.objects.create(
            review=helpful, rated_by=learner, helpful=True, created_at=submitted + DAY
        )

        if HALF_DONE in free:  # one of two in; the demo reviewer holds the second
            half = self._iteration(free[HALF_DONE], self._at(20 * HOUR), Iteration.Status.WAITING)
            self._review(half, self.peer, half.submitted_at + 6 * HOUR, fail=[], confidence=3)
            assigned = self.now - 90 * timedelta(minutes=1)
            PeerAssignment.objects.create(
                iteration=half,
                project=self.release.project,
                reviewer=self.reviewer,
                assigned_at=assigned,
                expires_at=assigned + _lease(),
            )
            self.assignments += 1
        if TIED in free:  # the peers disagree: a mentor decides
            tied = self._iteration(free[TIED], self._at(30 * HOUR), Iteration.Status.WAITING)
            self._review(tied, self.reviewer, tied.submitted_at + 8 * HOUR, fail=[])
            terse = self._review(
                tied,
                self.peer,
                tied.submitted_at + 14 * HOUR,
                fail=tasks[1:2],
                decision=Review.Decision.CHANGES_REQUESTED,
                feedback=FEEDBACK_TERSE,
                confidence=5,
            )
            Iteration.objects.filter(pk=tied.pk).update(peer_tie=True)
            ReviewReport.objects.create(
                review=terse,
                reporter=free[TIED],
                reason=REPORT_REASON,
                created_at=tied.submitted_at + 17 * HOUR,
            )
        if ESCALATED in free:  # past the peer SLA with no peer review
            self._iteration(free[ESCALATED], self._at(60 * HOUR), Iteration.Status.WAITING)
        if BREACHED in free:  # past the mentor SLA too
            self._iteration(free[BREACHED], self._at(80 * HOUR), Iteration.Status.WAITING)

    def override(self, cohort: Cohort) -> None:
        """A peer review beside a mentor's decision on a past project: the mentor's counts."""
        decided = (
            Iteration.objects.filter(
                attempt__release__cohort=cohort,
                attempt__release__project__slug=OVERRIDE,
                status=Iteration.Status.REVIEWED,
                reviews__kind=Review.Kind.MENTOR,
            )
            .exclude(attempt__learner=self.reviewer)
            .select_related("attempt__release__project")
            .order_by("submitted_at")
            .first()
        )
        if decided is None:
            return
        mentor_review = decided.reviews.filter(kind=Review.Kind.MENTOR).first()
        if mentor_review is None or mentor_review.submitted_at is None:
            return
        tasks = list(decided.attempt.release.project.tasks.order_by("number"))
        advanced = [task for task in tasks if task.is_advanced][-1:]
        # The mentor also failed the last mandatory task: the peer missed it (6 of 7 agree).
        at = decided.submitted_at + (mentor_review.submitted_at - decided.submitted_at) / 2
        self._review(decided, self.reviewer, at, fail=advanced, feedback=FEEDBACK_SHORT)

    def notices(self) -> None:
        """The escalation notices ``escalate_reviews`` would have sent (never emailed)."""
        for notice in [*peer_notices(self.now), *mentor_notices(self.now)]:
            if notice.iteration_id not in self.made:
                continue
            Notification.objects.get_or_create(
                dedupe_key=notice.key,
                defaults={
                    "user": notice.user,
                    "kind": Notification.Kind.ITERATION_SUBMITTED,
                    "title": notice.title,
                    "body": notice.body,
                    "url": notice.url,
                    "created_at": notice.due_at,
                },
            )

    # --- Rows ----------------------------------------------------------------------------

    def _iteration(self, learner: User, at: datetime, status: str) -> Iteration:
        project = self.release.project
        attempt = Attempt.objects.create(learner=learner, release=self.release, created_at=at)
        tasks = self.tasks
        iteration = Iteration.objects.create(
            attempt=attempt,
            number=1,
            repo_url=f"https://github.com/{slugify(learner.name)}/{tasks[0].repo or project.slug}",
            commit_sha=_fake_sha(learner.email, project.slug),
            notes=NOTES,
            submitted_at=at,
            status=status,
            **review_due_times(project, at),
        )
        advanced = [task for task in tasks if task.is_advanced]
        iteration.tasks_claimed.set([t for t in tasks if not t.is_advanced] + advanced[:1])
        self.made.add(iteration.pk)
        return iteration

    def _review(
        self,
        iteration: Iteration,
        reviewer: User,
        at: datetime,
        *,
        fail: list[Task],
        decision: str = Review.Decision.APPROVED,
        feedback: str = FEEDBACK_SHORT,
        confidence: int = 4,
    ) -> Review:
        """A submitted peer review and the completed assignment it came from."""
        assigned = at - 2 * HOUR
        PeerAssignment.objects.create(
            iteration=iteration,
            project=iteration.attempt.release.project,
            reviewer=reviewer,
            assigned_at=assigned,
            expires_at=assigned + _lease(),
            completed_at=at,
        )
        self.assignments += 1
        review = Review.objects.create(
            iteration=iteration,
            reviewer=reviewer,
            kind=Review.Kind.PEER,
            decision=decision,
            feedback=feedback,
            confidence=confidence,
            created_at=at - HOUR,
            submitted_at=at,
        )
        failing = {task.pk for task in fail}
        Verdict.objects.bulk_create(
            Verdict(
                review=review,
                task=task,
                passed=task.pk not in failing,
                comment=FAIL_COMMENT if task.pk in failing and not task.is_advanced else "",
            )
            for task in iteration.attempt.release.project.tasks.order_by("number")
        )
        return review

    def _decide(self, iteration: Iteration, status: str) -> None:
        attempt = iteration.attempt
        attempt.status = status
        attempt.save(update_fields=["status", "updated_at"])
        attempt_recompute_score(attempt=attempt)


def _fake_sha(*parts: object) -> str:
    """A stable, realistic-looking commit SHA."""
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()

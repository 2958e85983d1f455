"""Fifty people at once lose no work: submit → claim → review → comment under load.

40 learners and 10 mentors, each a thread with its own test client (its own
session and database connection), go through the real views at the same time.
Learners hand in an iteration, ask a question in the attempt's discussion, wait for
the review and resubmit when changes are requested, for at most ROUNDS iterations.
Every fifth learner is impatient: double-clicks the first submit and resubmits without
waiting, so mentors lose claims mid-review to superseding iterations as they do in
production. Mentors claim the oldest free iteration, open it, submit a review and
comment, until the queue is empty.

Afterwards the database must agree exactly with what the users were told:
every accepted submission is one iteration, numbered without gaps; every accepted
review and comment exists once; every score equals a from-scratch recompute; every
claim row is consistent; and no request answered 500. PostgreSQL only.
"""

from __future__ import annotations

import random
import re
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.signals import got_request_exception
from django.db import connection
from django.http import HttpResponse
from django.test import Client

from core.models import Attempt, Comment, Iteration, ProjectRelease, Review, ReviewClaim, User
from core.reviews.scoring import attempt_receipts, best_receipt
from tests.factories import (
    CohortFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]

LEARNERS = 40
MENTORS = 10
ROUNDS = 3  # iterations a learner hands in at most
IMPATIENT_EVERY = 5  # learner 0, 5, 10, … resubmits without waiting for the review
CHANGES_REQUESTED_SHARE = 0.6  # of mentor decisions, so most learners resubmit
POLL_SECONDS = 0.2  # a patient learner checks for the review's decision this often
QUEUE_POLL_SECONDS = 0.5  # a mentor facing an empty queue tries again after this
# A safety stop, far above what the users need on an idle machine: reaching it
# means a deadlock or a livelock, and fails the test.
TIME_BUDGET_SECONDS = 150
RATE_LIMIT_FOR_LOAD = 10_000

_TOKEN_INPUT = re.compile(r'<input[^>]*name="submit_token"[^>]*>')
_VALUE = re.compile(r'value="([^"]+)"')
_ATTEMPT_URL = re.compile(r"^/attempts/(\d+)/")
_REVIEW_URL = re.compile(r"^/review/(\d+)/$")
_ATTEMPT_LINK = re.compile(r'href="/attempts/(\d+)/"')


@dataclass
class Outcome:
    """What the simulated users were told, gathered from every thread under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    accepted_tokens: set[str] = field(default_factory=set)
    double_submits: list[tuple[str, str]] = field(default_factory=list)
    reviews: set[tuple[int, int]] = field(default_factory=set)  # (mentor id, iteration id)
    refused_reviews: set[int] = field(default_factory=set)  # iteration ids
    comments: list[str] = field(default_factory=list)
    learners_finished: int = 0

    def record(self, action: str, response: HttpResponse, expected: set[int]) -> None:
        with self.lock:
            self.statuses[(action, response.status_code)] += 1
            if response.status_code not in expected:
                body = response.content[:300].decode(errors="replace")
                self.failures.append(f"{action}: {response.status_code} {body!r}")

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)


@pytest.fixture
def release(settings: Any) -> ProjectRelease:
    """A released project with two mandatory tasks and one advanced, opened two days ago."""
    if hasattr(settings, "RATE_LIMITS"):
        # Mentors poll claim-next faster than people do; rate limits are not under test here.
        settings.RATE_LIMITS = {
            key: _raised(value) for key, value in dict(settings.RATE_LIMITS).items()
        }
    cohort = CohortFactory(slug="load-cohort", time_zone="Africa/Nairobi")
    project = ProjectFactory(slug="load-project", title="Load project")
    TaskFactory(project=project, number=0, kind="mandatory")
    TaskFactory(project=project, number=1, kind="mandatory")
    TaskFactory(project=project, number=2, kind="advanced")
    return ProjectReleaseFactory(cohort=cohort, project=project)


def _raised(value: object) -> object:
    """A rate limit ("5/m", 5 or (5, 60)) raised to RATE_LIMIT_FOR_LOAD per period."""
    if isinstance(value, int):
        return RATE_LIMIT_FOR_LOAD
    if isinstance(value, str):
        return re.sub(r"^\d+", str(RATE_LIMIT_FOR_LOAD), value)
    if isinstance(value, tuple | list) and value and isinstance(value[0], int):
        return type(value)([RATE_LIMIT_FOR_LOAD, *value[1:]])
    return value


def people(release: ProjectRelease, role: str, count: int) -> list[tuple[User, Client]]:
    """``count`` members of the release's cohort, each signed in on their own client."""
    cast = []
    for _ in range(count):
        user = UserFactory()
        MembershipFactory(user=user, cohort=release.cohort, role=role)
        # A 500 must come back as a response to count, not as an exception in the thread.
        client = Client(raise_request_exception=False)
        client.force_login(user)
        cast.append((user, client))
    return cast


@pytest.fixture
def server_errors() -> Iterator[list[str]]:
    """Tracebacks of every exception a view raised during the test, from any thread."""
    errors: list[str] = []

    def collect(sender: object, request: object = None, **kwargs: object) -> None:
        errors.append(f"{getattr(request, 'path', '?')}:\n{traceback.format_exc()}")

    got_request_exception.connect(collect, weak=False)
    yield errors
    got_request_exception.disconnect(collect)


def run_users(workers: list[Callable[[], None]], outcome: Outcome) -> None:
    """Start every user at once; each closes its own database connection when done."""
    barrier = threading.Barrier(len(workers))

    def run(work: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=30)
            work()
        except Exception:
            outcome.fail(traceback.format_exc())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,), daemon=True) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIME_BUDGET_SECONDS + 15)
    stuck = [thread for thread in threads if thread.is_alive()]
    assert not stuck, f"{len(stuck)} simulated users never finished"


def learner_journey(
    index: int,
    client: Client,
    release: ProjectRelease,
    task_ids: list[int],
    deadline: float,
    outcome: Outcome,
) -> None:
    """Submit, ask a question, wait for the review; resubmit if changes are asked.

    Impatient learners double-click their first submit and resubmit without waiting.
    """
    rng = random.Random(index)
    impatient = index % IMPATIENT_EVERY == 0
    url = f"/projects/{release.project.slug}/submit/"
    for round_number in range(1, ROUNDS + 1):
        page = client.get(url)
        outcome.record("submit page", page, {200})
        field = _TOKEN_INPUT.search(page.content.decode())
        if field is None or (token := _VALUE.search(field.group(0))) is None:
            outcome.fail(f"learner {index}: no submit_token on the submit page")
            return
        data = {
            "repo_url": f"https://github.com/learner{index}/prodev-backend-python",
            "commit_sha": f"{rng.getrandbits(160):040x}",
            "tasks": rng.sample(task_ids, rng.randint(1, len(task_ids))),
            "notes": f"Round {round_number} from learner {index}.",
            "submit_token": token.group(1),
        }
        response = client.post(url, data)
        outcome.record("submit", response, {302})
        attempt = _ATTEMPT_URL.match(response.get("Location", ""))
        if attempt is None:
            return
        with outcome.lock:
            outcome.accepted_tokens.add(data["submit_token"])
        if round_number == 1 and impatient:
            again = client.post(url, data)
            outcome.record("submit again", again, {302})
            with outcome.lock:
                outcome.double_submits.append((response["Location"], again.get("Location", "")))
        if round_number == 1:
            post_comment(client, int(attempt.group(1)), f"learner {index}: a question", outcome)
        if impatient:
            time.sleep(rng.uniform(0, 0.5))
            continue
        # The learner waits for the email that says the review is done (not a page view).
        status = wait_for_decision(data["submit_token"], deadline)
        if status != Attempt.Status.CHANGES_REQUESTED:
            return


def wait_for_decision(token: str, deadline: float) -> str | None:
    """The attempt's status once the iteration with ``token`` is no longer waiting."""
    while time.monotonic() < deadline:
        row = (
            Iteration.objects.filter(submit_token=token)
            .values_list("status", "attempt__status")
            .first()
        )
        if row is not None and row[0] != Iteration.Status.WAITING:
            return row[1]
        time.sleep(POLL_SECONDS)
    return None


def mentor_journey(
    index: int,
    mentor: User,
    client: Client,
    task_ids: list[int],
    learners_done: threading.Event,
    deadline: float,
    outcome: Outcome,
) -> None:
    """Claim the oldest free iteration, open it, review it, comment; until the queue is empty."""
    rng = random.Random(1000 + index)
    while time.monotonic() < deadline:
        finished = learners_done.is_set()
        claimed = client.post("/review/claim-next/")
        outcome.record("claim next", claimed, {302})
        review = _REVIEW_URL.match(claimed.get("Location", ""))
        if review is None:  # nothing free to claim right now
            if finished:
                return
            time.sleep(QUEUE_POLL_SECONDS)
            continue
        iteration_id = int(review.group(1))
        page = client.get(f"/review/{iteration_id}/")
        outcome.record("review page", page, {200})
        attempt = _ATTEMPT_LINK.search(page.content.decode())
        data = {
            "feedback": f"Review by mentor {index}.",
            "decision": (
                "changes_requested" if rng.random() < CHANGES_REQUESTED_SHARE else "approved"
            ),
            "action": "submit",
        }
        for task_id in task_ids:
            data[f"task_{task_id}_passed"] = rng.choice(["pass", "fail"])
            data[f"task_{task_id}_comment"] = "Checked."
        response = client.post(f"/review/{iteration_id}/", data)
        # 302: submitted. 200: the form again, refused (the learner resubmitted meanwhile).
        outcome.record("review", response, {200, 302})
        with outcome.lock:
            if response.status_code == 302:
                outcome.reviews.add((mentor.pk, iteration_id))
            elif response.status_code == 200:
                outcome.refused_reviews.add(iteration_id)
        if attempt is not None:
            post_comment(
                client, int(attempt.group(1)), f"mentor {index} on {iteration_id}", outcome
            )


def post_comment(client: Client, attempt_id: int, text: str, outcome: Outcome) -> None:
    body = f"{text}: {threading.get_ident()}-{time.monotonic_ns()}"
    response = client.post(f"/attempts/{attempt_id}/comments/", {"body": body})
    outcome.record("comment", response, {302})
    if response.status_code == 302:
        with outcome.lock:
            outcome.comments.append(body)


def test_fifty_concurrent_users_lose_nothing(
    release: ProjectRelease, server_errors: list[str]
) -> None:
    task_ids = list(release.project.tasks.order_by("number").values_list("pk", flat=True))
    learners = people(release, "learner", LEARNERS)
    mentors = people(release, "mentor", MENTORS)
    outcome = Outcome()
    learners_done = threading.Event()
    deadline = time.monotonic() + TIME_BUDGET_SECONDS

    def learner_work(index: int, client: Client) -> Callable[[], None]:
        def work() -> None:
            try:
                learner_journey(index, client, release, task_ids, deadline, outcome)
            finally:
                with outcome.lock:
                    outcome.learners_finished += 1
                    if outcome.learners_finished == LEARNERS:
                        learners_done.set()

        return work

    workers = [learner_work(i, client) for i, (_, client) in enumerate(learners)]
    workers += [
        lambda i=i, m=mentor, c=client: mentor_journey(
            i, m, c, task_ids, learners_done, deadline, outcome
        )
        for i, (mentor, client) in enumerate(mentors)
    ]
    started = time.monotonic()
    run_users(workers, outcome)
    elapsed = time.monotonic() - started

    # No 500s, no exceptions, every answer the one a user expects.
    assert not server_errors, "\n\n".join(server_errors[:3])
    assert not outcome.failures, "\n\n".join(outcome.failures[:5])
    assert all(status < 500 for _, status in outcome.statuses), outcome.statuses
    assert elapsed < TIME_BUDGET_SECONDS, f"the users ran out of time: {outcome.statuses}"
    assert outcome.learners_finished == LEARNERS, outcome.statuses

    assert_iterations(release, outcome)
    assert_reviews(release, outcome)
    assert_comments(release, outcome)
    assert_scores_and_statuses(release)
    assert_claims(release)
    # The load must have exercised the review loop, not just the submit page.
    assert len(outcome.reviews) >= MENTORS, outcome.statuses


def assert_iterations(release: ProjectRelease, outcome: Outcome) -> None:
    """Every accepted submission is exactly one iteration; numbers run 1..n per attempt."""
    iterations = list(Iteration.objects.filter(attempt__release=release))
    tokens = [str(iteration.submit_token) for iteration in iterations]
    assert len(tokens) == len(set(tokens)) == len(outcome.accepted_tokens)
    assert set(tokens) == outcome.accepted_tokens
    assert all(first == again for first, again in outcome.double_submits), outcome.double_submits
    assert Attempt.objects.filter(release=release).count() == LEARNERS
    numbers: dict[int, list[int]] = {}
    for iteration in iterations:
        numbers.setdefault(iteration.attempt_id, []).append(iteration.number)
    for attempt_id, found in numbers.items():
        assert sorted(found) == list(range(1, len(found) + 1)), (attempt_id, sorted(found))
        assert len(found) <= ROUNDS, (attempt_id, sorted(found))
    for iteration in iterations:
        # Only the newest iteration of an attempt may still wait; older ones never do.
        if iteration.number < max(numbers[iteration.attempt_id]):
            assert iteration.status != Iteration.Status.WAITING, iteration


def assert_reviews(release: ProjectRelease, outcome: Outcome) -> None:
    """One submitted review per accepted review; each decided the iteration it reviewed."""
    reviews = list(Review.objects.filter(iteration__attempt__release=release))
    pairs = [(review.reviewer_id, review.iteration_id) for review in reviews]
    assert len(pairs) == len(set(pairs)), "two reviews by one reviewer of one iteration"
    assert all(review.submitted_at is not None for review in reviews), (
        "a refused review left a draft"
    )
    assert set(pairs) == outcome.reviews
    reviewed = Counter(review.iteration_id for review in reviews)
    for iteration in Iteration.objects.filter(attempt__release=release):
        if iteration.status == Iteration.Status.REVIEWED:
            assert reviewed[iteration.pk] == 1, (iteration.pk, reviewed[iteration.pk])
    # A mentor loses a review only to a resubmission, never to another mentor or a glitch.
    refused = Iteration.objects.filter(pk__in=outcome.refused_reviews)
    assert all(iteration.status == Iteration.Status.SUPERSEDED for iteration in refused)
    for review in reviews:
        assert review.iteration.status == Iteration.Status.REVIEWED, (
            f"iteration {review.iteration_id} has a submitted review but is "
            f"{review.iteration.status}"
        )


def assert_comments(release: ProjectRelease, outcome: Outcome) -> None:
    bodies = list(Comment.objects.filter(attempt__release=release).values_list("body", flat=True))
    assert len(bodies) == len(outcome.comments)
    assert sorted(bodies) == sorted(outcome.comments)


def assert_scores_and_statuses(release: ProjectRelease) -> None:
    """The stored score is what a from-scratch recompute gives; the status follows the latest."""
    for attempt in Attempt.objects.filter(release=release).select_related("release__project"):
        best = best_receipt(attempt_receipts(attempt))
        expected: Decimal | None = best.score if best else None
        assert attempt.score == expected, (attempt.pk, attempt.score, expected)
        assert attempt.scored_iteration_id == (best.iteration.pk if best else None), attempt.pk
        latest = attempt.iterations.order_by("-number").first()
        assert latest is not None
        if latest.status == Iteration.Status.WAITING:
            assert attempt.status == Attempt.Status.WAITING, attempt.pk
        else:
            decision = latest.reviews.get().decision
            assert attempt.status == decision, (attempt.pk, attempt.status, decision)


def assert_claims(release: ProjectRelease) -> None:
    """At most one open claim per iteration, only on waiting ones; released after claimed."""
    claims = list(ReviewClaim.objects.filter(iteration__attempt__release=release))
    open_claims = Counter(claim.iteration_id for claim in claims if claim.released_at is None)
    assert all(count == 1 for count in open_claims.values()), open_claims
    for claim in claims:
        if claim.released_at is None:
            assert claim.iteration.status == Iteration.Status.WAITING, claim.pk
        else:
            assert claim.released_at >= claim.claimed_at, claim.pk
    for review in Review.objects.filter(iteration__attempt__release=release):
        assert any(
            claim.iteration_id == review.iteration_id
            and claim.reviewer_id == review.reviewer_id
            and claim.released_at == review.submitted_at
            for claim in claims
        ), f"review {review.pk} was submitted without its claim being closed with it"

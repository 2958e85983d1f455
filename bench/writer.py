"""The mixed scenario's writer: real writes at a set rate while the readers load the site.

Started by bench/run.py with the benchmark's environment (the same database, Redis
and ``CACHE_KEY_PREFIX`` as gunicorn), it prints ``READY`` once Django is set up,
waits for a line on stdin, then for ``--seconds`` starts ``--rate`` writes a second
through the application's own services, in turn:

- **claim**: a mentor of the cohort claims the oldest free iteration (``claim_next``);
- **submit**: a learner of the crowd hands in an iteration on a current project
  (``iteration_submit``);
- **comment**: a mentor or the learner comments on an attempt (``comment_post``);
- **extension**: staff grant a learner a day more on a current project, as the admin
  does (``Extension.full_clean()`` and ``save()``, whose receivers recompute and bump);
- **review**: a mentor reviews what they claimed and decides (``review_save``;
  when no claim is ready, one is taken for it first, counted apart).

Each write, with its reads, runs in a thread of its own started on schedule, so slow
pages do not slow the writes down.

Each service commits before it returns (its ``on_commit`` callbacks, the cache
version bumps among them, have run by then). For a sample of writes (``--sample``)
the writer reads, over HTTP as the person concerned, the page that must show the
write twice: just before it (so the page is cached as it was, and the marker is shown
to be new: a page that already showed it makes the check *inconclusive*) and just
after it. A **stale read** is a page read after the commit that does not show it:

| write | page read | must show |
| --- | --- | --- |
| submit | the learner's /dashboard/ | the attempt, "Waiting for review" |
| claim | the mentor's /review/ | the iteration's row as the mentor's ("Yours") |
| review | the learner's /dashboard/ | the feedback, under "Latest feedback" |
| comment | the learner's /attempts/<id>/ | the comment |
| extension | the learner's /projects/<slug>/ | the extension's reason |

Every marker is unique to its write: a token it wrote, or the row of the iteration it
claimed, marked as the mentor's (inconclusive when that row was not on the queue's first
page before the claim).

``--break-invalidation`` turns the cache version bumps off in this process, so the
writes leave cached pages as they were: the checks must then report stale reads (a
check of the checks). Notification emails go to Django's in-memory outbox (nothing
is sent). It ends by
printing one ``BENCH_JSON {...}`` line: writes per kind, their latency, errors,
reads checked, inconclusive and stale.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import re
import secrets
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# A claim is reviewed four writes later, once its own check is done.
KINDS = ("claim", "submit", "comment", "extension", "review")
PINNED = ("learner@example.com",)
SAMPLES_KEPT = 5
MAX_IN_FLIGHT = 8  # writes (with their reads) under way at once


class Skip(Exception):
    """Nothing to write of this kind just now (no free iteration to claim, say)."""


@dataclass
class Check:
    """What the page must show once the write has committed (and, when ``context`` is
    given, what the page read before it must show for the check to prove anything)."""

    pattern: re.Pattern[str]
    what: str
    context: re.Pattern[str] | None = None
    then: Callable[[], None] | None = None  # once the check is done


@dataclass
class Plan:
    """A write about to be made: whose page shows it, and the write itself."""

    user: Any
    path: str
    write: Callable[[], Check]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


class Writer:
    """Chooses each write (on the schedule's thread, in order) and makes it (in a plan's
    ``write``, on a thread of its own); signs in whoever must read a write back."""

    def __init__(self, port: int, cohort_slug: str, learners: int, seed: int) -> None:
        from bench.people import cohort_crowd
        from core.models import Cohort, User

        self.port = port
        self.rng = random.Random(seed)
        self.cohort = Cohort.objects.get(slug=cohort_slug)
        crowd = cohort_crowd(cohort_slug, learners, PINNED)
        if not crowd.learners or not crowd.mentors:
            raise SystemExit(f"{cohort_slug} needs learners and mentors")
        learner_order = list(crowd.learners)
        self.rng.shuffle(learner_order)
        self.learners = itertools.cycle(learner_order)
        self.mentors = itertools.cycle(crowd.mentors)
        self.staff = User.objects.filter(is_staff=True, is_active=True).order_by("pk").first()
        self.claims: deque[Any] = deque()
        self.extra_claims = 0  # claims taken for a review when none was waiting
        self.attempts: deque[int] = deque(maxlen=20)
        self.cookies: dict[int, str] = {}

    # --- the writes ---------------------------------------------------------------

    def token(self, kind: str) -> str:
        return f"bench{kind}{secrets.token_hex(6)}"

    def current_releases(self) -> list[Any]:
        from django.utils import timezone

        from core.checks.selectors import has_checks

        releases = self.cohort.releases.current(timezone.now()).select_related("project")
        # A project with checks would run learner code in a sandbox on submission.
        found = [release for release in releases if not has_checks(release.project)]
        if not found:
            raise Skip("no current project without checks")
        return found

    def submit(self) -> Plan:
        from django.urls import reverse

        from core.models import Attempt
        from core.reviews.services import iteration_submit

        releases = self.current_releases()
        for _ in range(50):
            learner, release = next(self.learners), self.rng.choice(releases)
            status = (
                Attempt.objects.filter(learner=learner, release=release)
                .values_list("status", flat=True)
                .first()
            )
            if status != Attempt.Status.WAITING:  # the dashboard then shows a change
                break
        else:
            raise Skip("every learner tried is already waiting")

        def write() -> Check:
            token = self.token("submit")
            iteration, _ = iteration_submit(
                learner=learner,
                release=release,
                repo_url=f"https://github.com/{token}/{release.project.slug}",
                commit_sha=secrets.token_hex(20),
                notes=token,
                tasks_claimed=release.project.tasks.all(),
            )
            self.attempts.append(iteration.attempt_id)
            link = re.escape(f'href="{reverse("attempt_detail", args=[iteration.attempt_id])}">')
            waiting = r'\s*<span class="state-pill attempt-state-waiting"'
            return Check(re.compile(link + waiting), "the attempt waiting for review")

        return Plan(learner, reverse("home"), write)

    def claim(self) -> Plan:
        from django.conf import settings
        from django.urls import reverse
        from django.utils import timezone

        from core.models import Iteration, ReviewClaim
        from core.reviews.services import ClaimLimitReached, claim_next

        for _ in range(10):
            mentor = next(self.mentors)
            held = ReviewClaim.objects.filter(reviewer=mentor).live(timezone.now()).count()
            if held < settings.MAX_CLAIMS:
                break
        else:
            raise Skip("every mentor holds all the claims allowed")

        def write() -> Check:
            queue = Iteration.objects.reviewable_by(mentor).filter(cohort=self.cohort)
            try:
                claim = claim_next(reviewer=mentor, queue=queue)
            except ClaimLimitReached as error:
                raise Skip(str(error)) from None
            if claim is None:
                raise Skip("nothing to claim")
            row = f'data-queue-row data-iteration="{claim.iteration_id}"'
            return Check(
                re.compile(r'class="queue-row queue-row-mine"\s+' + re.escape(row)),
                "the iteration as the mentor's",
                context=re.compile(re.escape(row)),  # on the first page before
                # Reviewed once its check is done, never before.
                then=lambda: self.claims.append(claim),
            )

        return Plan(mentor, reverse("review_queue"), write)

    def claim_now(self) -> Any:
        """A claim of the mentors' for a review to decide, taken now (counted apart)."""
        from core.models import Iteration
        from core.reviews.services import ClaimLimitReached, claim_next

        for _ in range(10):
            mentor = next(self.mentors)
            queue = Iteration.objects.reviewable_by(mentor).filter(cohort=self.cohort)
            try:
                claim = claim_next(reviewer=mentor, queue=queue)
            except ClaimLimitReached:
                continue
            if claim is not None:
                self.extra_claims += 1
                return claim
        raise Skip("nothing to claim for a review")

    def review(self) -> Plan:
        from django.urls import reverse

        from core.models import Iteration, Review
        from core.reviews.services import VerdictInput, review_save

        # None ready (its claim's check still under way, or skipped): claim another now.
        claim = self.claims.popleft() if self.claims else self.claim_now()
        iteration = Iteration.objects.select_related(
            "attempt__learner", "attempt__release__project"
        ).get(pk=claim.iteration_id)

        def write() -> Check:
            tasks = list(iteration.attempt.release.project.tasks.all())
            passed = {task.pk: self.rng.random() < 0.8 for task in tasks}
            approved = all(passed.values())
            token = self.token("review")
            review_save(
                iteration=iteration,
                reviewer=claim.reviewer,
                verdicts={pk: VerdictInput(passed=value) for pk, value in passed.items()},
                feedback=f"{token}: reviewed under load by the benchmark's writer.",
                decision=(
                    Review.Decision.APPROVED if approved else Review.Decision.CHANGES_REQUESTED
                ),
                submit=True,
            )
            self.attempts.append(iteration.attempt_id)
            return Check(re.compile(re.escape(token)), "the feedback")

        return Plan(iteration.attempt.learner, reverse("home"), write)

    def comment(self) -> Plan:
        from django.urls import reverse

        from core.models import Attempt
        from core.reviews.services import comment_post

        if self.attempts:
            attempt = Attempt.objects.select_related("learner").get(pk=self.attempts[-1])
        else:
            attempt = Attempt.objects.filter(release__cohort=self.cohort).select_related("learner")[
                self.rng.randrange(100)
            ]
        author = attempt.learner if self.rng.random() < 0.5 else next(self.mentors)

        def write() -> Check:
            token = self.token("comment")
            comment_post(attempt=attempt, author=author, body=f"{token} (a comment under load)")
            return Check(re.compile(re.escape(token)), "the comment")

        return Plan(attempt.learner, reverse("attempt_detail", args=[attempt.pk]), write)

    def extension(self) -> Plan:
        from django.db import transaction
        from django.urls import reverse

        from core.models import Extension

        learner, release = next(self.learners), self.rng.choice(self.current_releases())

        def write() -> Check:
            latest = Extension.objects.latest_for(learner, release)
            dates = latest or release
            token = self.token("extension")
            extension = Extension(
                release=release,
                learner=learner,
                first_deadline=dates.first_deadline + timedelta(days=1),
                second_deadline=dates.second_deadline + timedelta(days=1),
                reason=f"{token}: a day more, granted under load.",
                granted_by=self.staff,
            )
            extension.full_clean()
            with transaction.atomic():
                extension.save()
            return Check(re.compile(re.escape(token)), "the extension")

        return Plan(learner, reverse("project_detail", args=[release.project.slug]), write)

    # --- the reads after them -------------------------------------------------------

    def cookie(self, user: Any) -> str:
        from bench.people import session_cookie

        if user.pk not in self.cookies:
            self.cookies[user.pk] = session_cookie(user)
        return self.cookies[user.pk]

    def read(self, plan: Plan) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"X-Forwarded-Proto": "https", "Cookie": self.cookie(plan.user)}
        try:
            connection.request("GET", plan.path, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()


@dataclass
class Tally:
    """What the writes and their checks came to (shared by the writing threads)."""

    done: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    latency: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    checked: int = 0
    inconclusive: int = 0
    check_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def write_and_check(writer: Writer, kind: str, plan: Plan, checking: bool, tally: Tally) -> None:
    """Read the page (when checking), write, read it again; tally what happened."""
    try:
        # Read first: the page is then cached as it was, and the read after the write
        # shows whether the write invalidated it (and that the marker is new).
        before = writer.read(plan) if checking else None
        began = time.perf_counter()
        check = plan.write()
        took = (time.perf_counter() - began) * 1000
        after = writer.read(plan) if checking else None
    except Skip as why:
        with tally.lock:
            tally.skipped[kind] += 1
        print(f"skipped {kind}: {why}", file=sys.stderr, flush=True)
        return
    except OSError as error:
        with tally.lock:
            tally.check_errors += 1
        print(f"a read around {kind} failed: {error!r}", file=sys.stderr, flush=True)
        return
    except Exception as error:  # counted and reported: the run goes on
        with tally.lock:
            tally.errors.append(f"{kind}: {error!r}"[:300])
        traceback.print_exc(file=sys.stderr)
        return
    finally:
        from django.db import connection

        connection.close()  # this thread's; the pool's threads are reused
    with tally.lock:
        tally.done[kind] += 1
        tally.latency[kind].append(took)
        if before is not None and after is not None:
            tally.checked += 1
            if before[0] != 200 or after[0] != 200:
                tally.check_errors += 1
                print(f"{kind} on {plan.path}: HTTP {before[0]}, {after[0]}", file=sys.stderr)
            elif check.pattern.search(before[1]) or (
                check.context is not None and not check.context.search(before[1])
            ):
                tally.inconclusive += 1  # the page before proves nothing either way
            elif not check.pattern.search(after[1]):
                tally.stale.append(f"{kind}: {plan.path} as {plan.user.email} lacked {check.what}")
                print(f"STALE {tally.stale[-1]}", file=sys.stderr, flush=True)
    if check.then is not None:
        check.then()


def run(writer: Writer, seconds: float, rate: float, sample: float) -> dict[str, Any]:
    """Write at ``rate`` for ``seconds``; read a ``sample`` of the writes back.

    Each write and its reads run in a thread of their own, started on schedule, so a
    slow page does not slow the writes down (a write is chosen on the schedule's
    thread, which keeps the choices in order).
    """
    from django.core import mail

    tally = Tally()
    started_writes = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
        for tick in itertools.count():
            due = started + tick / rate
            if due >= started + seconds:
                break
            time.sleep(max(0.0, due - time.perf_counter()))
            mail.outbox = []  # notifications go to the in-memory outbox: keep it small
            kind = KINDS[tick % len(KINDS)]
            checking = writer.rng.random() < sample
            try:
                plan = getattr(writer, kind)()
            except Skip as why:
                with tally.lock:
                    tally.skipped[kind] += 1
                print(f"skipped {kind}: {why}", file=sys.stderr, flush=True)
                continue
            except Exception as error:  # counted and reported: the run goes on
                with tally.lock:
                    tally.errors.append(f"{kind}: {error!r}"[:300])
                traceback.print_exc(file=sys.stderr)
                continue
            pool.submit(write_and_check, writer, kind, plan, checking, tally)
            started_writes += 1
    elapsed = time.perf_counter() - started
    return {
        "seconds": round(elapsed, 1),  # the last writes and reads may end after the schedule
        "writes": sum(tally.done.values()),
        "rate": round(started_writes / seconds, 2),  # writes started a second
        "by_kind": dict(tally.done),
        "skipped": dict(tally.skipped),
        "extra_claims": writer.extra_claims,
        "p50_ms": {k: round(percentile(v, 0.5), 1) for k, v in tally.latency.items() if v},
        "p95_ms": {k: round(percentile(v, 0.95), 1) for k, v in tally.latency.items() if v},
        "errors": len(tally.errors),
        "error_samples": tally.errors[:SAMPLES_KEPT],
        "checked": tally.checked,
        "inconclusive": tally.inconclusive,
        "check_errors": tally.check_errors,
        "stale": len(tally.stale),
        "stale_samples": tally.stale[:SAMPLES_KEPT],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="writes per second")
    parser.add_argument("--sample", type=float, default=1.0, help="share of writes read back")
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--cohort", default="bench-cohort-1")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--break-invalidation",
        action="store_true",
        help="bump no cache version (the stale-read checks must then catch the writes)",
    )
    args = parser.parse_args()
    if args.rate <= 0:
        parser.error("--rate must be positive")

    import django

    django.setup()
    from django.test.utils import override_settings

    # Notifications are real (rows, receivers); their emails stay in memory.
    override_settings(
        MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    ).enable()
    if args.break_invalidation:
        from core.platform import cache

        cache.bump_version = lambda name: None  # bump_cohorts and friends call it by name
    writer = Writer(args.port, args.cohort, args.learners, args.seed)
    print("READY", flush=True)
    sys.stdin.readline()  # bench/run.py says go once the readers are running
    result = run(writer, args.seconds, args.rate, args.sample)
    from bench.people import end_sessions

    end_sessions(writer.cookies.values())  # the sessions it read back with
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

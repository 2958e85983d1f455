"""Versioned cache keys: what the dashboards cache, when it is invalidated, and cache outages.

Run it against Redis too:
``REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/pytest tests/platform/test_cache.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, make_dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.models import Cohort, Iteration, Project, ProjectRelease, Task, User
from core.platform import cache as versioned
from core.platform.timefmt import time_left
from core.reviews.services import (
    VerdictInput,
    claim_release,
    claim_take,
    iteration_submit,
    review_save,
)
from core.templatetags.prodev import datetime_attr
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    ExtensionFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    UserFactory,
)
from tests.platform.test_healthz import UNREACHABLE_REDIS

MATRIX = "/cohorts/cohort-7/progress/"
HOME = "/dashboard/"
QUEUE = "/review/"
QUEUE_COUNT = '<strong class="queue-count">{}</strong> waiting'
WAITING_0 = re.compile(r"<dt>Waiting for review</dt>\s*<dd>0</dd>")
WAITING_1 = re.compile(r"<dt>Waiting for review</dt>\s*<dd>1</dd>")


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    """A cache outage in one test must not make the next one skip the cache."""
    versioned.reset_backoff()
    yield
    versioned.reset_backoff()


# --- The helpers -------------------------------------------------------------------------


def test_a_version_is_created_on_first_read_and_stays_until_bumped(db: None) -> None:
    first = versioned.cache_version("cohort:1")
    assert isinstance(first, int)
    assert versioned.cache_version("cohort:1") == first
    versioned.bump_version("cohort:1")
    assert versioned.cache_version("cohort:1") == first + 1
    assert versioned.cache_version("cohort:2") != first + 1


def test_a_version_another_request_created_first_is_the_one_read(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.set("ver:cohort:5", 41, timeout=None)  # created by a request that got there first
    # This request looked before it was created: it finds no version and tries to add one.
    monkeypatch.setattr(cache, "get_many", lambda keys: {})
    assert versioned.cache_versions(["cohort:5", "cohort:6"]) == {
        "cohort:5": 41,
        "cohort:6": cache.get("ver:cohort:6"),
    }
    assert cache.get("ver:cohort:5") == 41


def test_a_lost_version_restarts_above_every_earlier_one(db: None) -> None:
    versioned.bump_version("cohort:9")  # no version yet: starts fresh
    first = versioned.cache_version("cohort:9")
    cache.delete("ver:cohort:9")  # evicted
    assert versioned.cache_version("cohort:9") > first


def test_bump_on_commit_bumps_each_version_once_after_the_commit(
    db: None, django_capture_on_commit_callbacks: Capture
) -> None:
    names = ["cohort:1", "cohort:2", "cohort:3", "schedule:3", "learner:5", "project:7"]
    before = versioned.cache_versions(names)
    assert before is not None
    with django_capture_on_commit_callbacks(execute=True):
        versioned.bump_on_commit(
            cohorts=[1, 2, 1, None], schedules=lambda: [3, 1], learners=[5], projects=[7]
        )
        assert versioned.cache_versions(names) == before  # not before the commit
    after = versioned.cache_versions([*names, "schedule:1"])
    assert after is not None
    # A schedule's bump is its cohort's too (cohort 1: once, however often it is named).
    assert {name: after[name] for name in names} == {
        name: version + 1 for name, version in before.items()
    }


def test_a_cached_fragment_is_built_again_only_once_it_is_no_longer_right(db: None) -> None:
    now = timezone.now()
    built: list[datetime] = []

    def build() -> tuple[str, datetime]:
        built.append(now)
        return f"built {len(built)}", now + timedelta(seconds=30)

    assert versioned.cached_fragment("test:value", now, build) == "built 1"
    assert versioned.cached_fragment("test:value", now, build) == "built 1"
    # A minute on it has passed its own "until" (whatever the cache's expiry) and is built
    # again; a key None (the cache down) is built every time.
    assert versioned.cached_fragment("test:value", now + timedelta(minutes=1), build) == "built 2"
    assert versioned.cached_fragment(None, now, build) == "built 3"
    assert len(built) == 3


def test_versioned_keys_name_their_parts() -> None:
    assert versioned.versioned_key("matrix", 7, 42) == "dash1:matrix:7:42"


def test_a_long_key_becomes_a_digest_of_all_its_parts() -> None:
    many = [f"{cohort}.{1795970778814091 + cohort}" for cohort in range(20)]
    key = versioned.versioned_key("learner", 3886, *many)
    assert key.startswith("dash1:learner:sha256:") and len(key) <= 250
    assert versioned.versioned_key("learner", 3886, *many) == key
    changed = [*many[:-1], "19.1"]  # one cohort's version moved
    assert versioned.versioned_key("learner", 3886, *changed) != key


def test_a_shape_changes_with_the_fields_and_their_types() -> None:
    def facts(*fields: tuple[str, str]) -> type:
        """A cached dataclass named Facts, its fields as ``from __future__`` writes them."""
        return make_dataclass("Facts", fields, frozen=True)

    shape = versioned.shape_of(facts(("count", "int"), ("modules", "list[str]")))
    assert re.fullmatch(r"[0-9a-f]{8}", shape)
    assert versioned.shape_of(facts(("count", "int"), ("modules", "list[str]"))) == shape
    assert versioned.shape_of(facts(("total", "int"), ("modules", "list[str]"))) != shape
    assert versioned.shape_of(facts(("count", "int"), ("modules", "list[Module]"))) != shape
    assert versioned.shape_of(facts(("count", "int"))) != shape
    # A type alias is told apart by what it holds.
    assert versioned.shape_of(tuple[int, str]) != versioned.shape_of(tuple[int, str, int | None])


def test_safe_get_and_set(db: None) -> None:
    versioned.safe_set("dash1:test", {"a": 1})
    assert versioned.safe_get("dash1:test") == {"a": 1}
    assert versioned.safe_get("dash1:missing") is None


def test_a_cache_outage_reads_as_empty_and_is_logged(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(CACHES=UNREACHABLE_REDIS), caplog.at_level(logging.WARNING):
        assert versioned.cache_versions(["cohort:1"]) is None
        versioned.reset_backoff()
        assert versioned.safe_get("dash1:x") is None
        versioned.reset_backoff()
        versioned.safe_set("dash1:x", 1)
        versioned.bump_version("cohort:1")
    messages = [record.getMessage() for record in caplog.records]
    assert "Cache unavailable (read versions); computing without it" in messages
    assert "Cache unavailable (get); computing without it" in messages
    assert "Cache unavailable (set); computing without it" in messages
    assert "Cache unavailable; could not bump cohort:1" in messages
    assert all(record.levelno == logging.WARNING for record in caplog.records)


def test_after_an_outage_the_process_stops_asking_for_a_while(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(CACHES=UNREACHABLE_REDIS), caplog.at_level(logging.WARNING):
        assert versioned.safe_get("dash1:x") is None
        assert versioned.safe_get("dash1:y") is None  # skipped: no second timeout
    assert len(caplog.records) == 1


# --- Pages degrade to computing when the cache is down -----------------------------------


def test_every_dashboard_page_works_without_the_cache(
    learner: User,
    mentor: User,
    staff: User,
    release: ProjectRelease,
    caplog: pytest.LogCaptureFixture,
) -> None:
    AttemptFactory(learner=learner, release=release, status="approved", score=Decimal(90))
    clients = {user: client_for(user) for user in (learner, mentor, staff)}
    with override_settings(CACHES=UNREACHABLE_REDIS), caplog.at_level(logging.WARNING):
        for user, client in clients.items():
            response = client.get(HOME)
            assert response.status_code == 200, user
            versioned.reset_backoff()  # so each page meets the outage itself
        learner_body = clients[learner].get(HOME).content.decode()
        versioned.reset_backoff()
        matrix = clients[mentor].get(MATRIX)
    assert "90%" in learner_body
    assert matrix.status_code == 200
    assert '<td class="pm-ap">' in matrix.content.decode()
    assert any("Cache unavailable" in record.getMessage() for record in caplog.records)


# --- What the cache saves, and that a write shows on the next request --------------------


def decide(iteration: Iteration, mentor: User, project: Project) -> None:
    """The mentor claims and approves: mandatory tasks pass, the advanced one fails (100%)."""
    claim_take(iteration=iteration, reviewer=mentor)
    verdicts = {
        task.pk: VerdictInput(passed=not task.is_advanced)
        for task in Task.objects.filter(project=project)
    }
    review_save(
        iteration=iteration,
        reviewer=mentor,
        verdicts=verdicts,
        feedback="Well done.",
        decision="approved",
        submit=True,
    )


def test_a_review_decision_shows_on_the_next_request_everywhere(
    learner: User,
    mentor: User,
    project: Project,
    waiting: Iteration,
    django_capture_on_commit_callbacks: Capture,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    learner_client, mentor_client = client_for(learner), client_for(mentor)
    # Warm every cache: the learner's home, the matrix, the mentor's home.
    assert "Waiting for review" in learner_client.get(HOME).content.decode()
    assert '<td class="pm-wa">' in mentor_client.get(MATRIX).content.decode()
    assert WAITING_1.search(mentor_client.get(HOME).content.decode())
    with django_assert_max_num_queries(4):  # served from the cache
        mentor_client.get(MATRIX)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decide(waiting, mentor, project)
    # Until the transaction commits, readers see the committed (old) state: still cached.
    assert '<td class="pm-wa">' in mentor_client.get(MATRIX).content.decode()
    for callback in callbacks:
        callback()  # the commit

    body = learner_client.get(HOME).content.decode()
    assert "Approved" in body
    assert '<p class="dash-score mb-1" title' in body and ">100%</p>" in body
    assert "Well done." in body  # the latest feedback
    matrix = mentor_client.get(MATRIX).content.decode()
    assert f'<td class="pm-ap"><a href="/attempts/{waiting.attempt_id}/">100<' in matrix
    assert '<td class="matrix-total">100%</td>' in matrix
    home = mentor_client.get(HOME).content.decode()
    assert WAITING_0.search(home)
    assert 'Your reviews in the last 7 days: <strong class="dash-stat-inline">1</strong>' in home


def test_a_submission_enters_the_mentors_queue_on_the_next_request(
    learner: User,
    mentor: User,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    client = client_for(mentor)
    assert WAITING_0.search(client.get(HOME).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        iteration_submit(learner=learner, release=release, repo_url="https://github.com/a/b")
    assert WAITING_1.search(client.get(HOME).content.decode())


def test_the_review_queue_shows_claims_submissions_and_decisions_on_the_next_request(
    learner: User,
    mentor: User,
    cohort: Cohort,
    project: Project,
    release: ProjectRelease,
    waiting: Iteration,
    django_capture_on_commit_callbacks: Capture,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    client = client_for(mentor)
    assert QUEUE_COUNT.format(1) in client.get(QUEUE).content.decode()
    with django_assert_max_num_queries(4):  # the filter and the table come from the cache
        assert QUEUE_COUNT.format(1) in client.get(QUEUE).content.decode()
    other = UserFactory(display_name="Sam Other")
    MembershipFactory(user=other, cohort=cohort, role="mentor")
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_take(iteration=waiting, reviewer=other)
    assert "being reviewed by Sam Other" in client.get(QUEUE).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        claim_release(iteration=waiting, reviewer=other)
    body = client.get(QUEUE, headers={"HX-Request": "true"}).content.decode()
    assert "Sam Other" not in body and claim.pk
    assert '<span class="queue-free">Free</span>' in body
    classmate = UserFactory(display_name="Bo Classmate")
    MembershipFactory(user=classmate, cohort=cohort)
    with django_capture_on_commit_callbacks(execute=True):
        iteration_submit(learner=classmate, release=release, repo_url="https://github.com/b/c")
    assert QUEUE_COUNT.format(2) in client.get(QUEUE).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        decide(waiting, mentor, project)
    body = client.get(QUEUE).content.decode()
    assert QUEUE_COUNT.format(1) in body
    assert "Bo Classmate" in body and learner.name not in body


def test_the_cached_queue_gives_each_browser_its_own_csrf_token(
    mentor: User, waiting: Iteration
) -> None:
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(mentor)
    second.force_login(mentor)
    claim_form = re.compile(
        rf'action="/review/{waiting.pk}/claim/".*?name="csrfmiddlewaretoken" value="([^"]+)"',
        re.DOTALL,
    )
    tokens = []
    for browser in (first, second):
        body = browser.get(QUEUE).content.decode()
        assert "<csrf-token>" not in body
        tokens.append(claim_form.search(body).group(1))
    # The second page came from the cache, yet its forms post with the second browser's token.
    response = second.post(f"/review/{waiting.pk}/claim/", {"csrfmiddlewaretoken": tokens[1]})
    assert response.status_code == 302
    assert waiting.claims.get().reviewer == mentor


def test_the_queue_table_is_rendered_at_most_a_minute_ago(
    mentor: User, waiting: Iteration, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(mentor)
    start = waiting.submitted_at
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert ">2\xa0hours</time>" in client.get(QUEUE).content.decode()
    with time_machine.travel(start + timedelta(hours=2, seconds=50), tick=False):
        assert ">2\xa0hours</time>" in client.get(QUEUE).content.decode()
    with time_machine.travel(start + timedelta(hours=2, minutes=2), tick=False):
        assert ">2\xa0hours, 2\xa0minutes</time>" in client.get(QUEUE).content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            claim_take(iteration=waiting, reviewer=mentor)
        assert "Yours · 30 min left" in client.get(QUEUE).content.decode()
    # The claim runs out without any write: a table rendered just before shows it free
    # from that moment, not a minute later.
    claim = waiting.claims.get()
    with time_machine.travel(claim.expires_at - timedelta(seconds=30), tick=False):
        assert "Yours · 0 min left" in client.get(QUEUE).content.decode()
    with time_machine.travel(claim.expires_at + timedelta(seconds=1), tick=False):
        assert '<span class="queue-free">Free</span>' in client.get(QUEUE).content.decode()


def test_a_new_learner_shows_in_the_matrix_on_the_next_request(
    mentor: User,
    cohort: Cohort,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    client = client_for(mentor)
    assert "This cohort has no learners yet." in client.get(MATRIX).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        MembershipFactory(user=UserFactory(display_name="Newton New"), cohort=cohort)
    assert "Newton New" in client.get(MATRIX).content.decode()


def test_an_extension_shows_on_the_learners_home_on_the_next_request(
    learner: User, release: ProjectRelease, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(learner)
    assert "Extended for you" not in client.get(HOME).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        extension = ExtensionFactory(release=release, learner=learner)
    body = client.get(HOME).content.decode()
    assert "Extended for you" in body
    assert f'datetime="{datetime_attr(extension.first_deadline)}"' in body


def test_a_schedule_change_shows_on_the_next_request(
    mentor: User,
    cohort: Cohort,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    client = client_for(mentor)
    MembershipFactory(cohort=cohort)
    assert "Python Generators" in client.get(MATRIX).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        release.shift(days=5)  # not opened yet any more
        release.save()
        ProjectReleaseFactory(cohort=cohort, project=ProjectFactory(title="Fresh Release"))
    body = client.get(MATRIX).content.decode()
    assert "Python Generators" not in body
    assert "Fresh Release" in body


def test_a_renamed_project_shows_on_the_next_request(
    mentor: User, cohort: Cohort, project: Project, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(mentor)
    MembershipFactory(cohort=cohort)
    client.get(MATRIX)
    with django_capture_on_commit_callbacks(execute=True):
        project.title = "Generators, Revisited"
        project.save()
    assert "Generators, Revisited" in client.get(MATRIX).content.decode()


def test_a_new_display_name_shows_on_the_next_request_but_a_sign_in_bumps_nothing(
    mentor: User,
    cohort: Cohort,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    client = client_for(mentor)
    learner = UserFactory(display_name="Old Name")
    MembershipFactory(user=learner, cohort=cohort)
    client.get(MATRIX)
    before = versioned.cache_version(versioned.version_name("cohort", cohort.pk))
    with django_capture_on_commit_callbacks(execute=True):
        learner.save(update_fields=["last_login"])
    assert versioned.cache_version(versioned.version_name("cohort", cohort.pk)) == before
    with django_capture_on_commit_callbacks(execute=True):
        learner.display_name = "New Name"
        learner.save()
    assert "New Name" in client.get(MATRIX).content.decode()


def test_a_deadline_passing_refreshes_the_cached_matrix_without_any_write(
    mentor: User, cohort: Cohort, release: ProjectRelease
) -> None:
    client = client_for(mentor)
    MembershipFactory(user=UserFactory(display_name="Slow Sam"), cohort=cohort)
    assert '<td class="pm-od">' not in client.get(MATRIX).content.decode()
    assert "Nobody is behind schedule" in client.get(HOME).content.decode()
    with time_machine.travel(release.first_deadline + timedelta(minutes=1)):
        assert '<td class="pm-od">' in client.get(MATRIX).content.decode()
        assert "Behind schedule: nothing handed in for Python Generators" in (
            client.get(HOME).content.decode()
        )


def test_a_table_rendered_from_older_data_never_passes_for_newer(
    mentor: User,
    learner: User,
    cohort: Cohort,
    release: ProjectRelease,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.reporting.views import progress

    real = progress.matrix_table

    def slow(*args: Any, **kwargs: Any) -> object:
        table = real(*args, **kwargs)  # a slow request reads the matrix …
        AttemptFactory(learner=learner, release=release, status="approved", score=Decimal(90))
        versioned.bump_version(f"cohort:{cohort.pk}")  # … a review is decided and committed …
        return table  # … and the slow request caches its (old) table.

    client = client_for(mentor)
    monkeypatch.setattr(progress, "matrix_table", slow)
    assert '<td class="pm-ap">' not in client.get(MATRIX).content.decode()
    monkeypatch.setattr(progress, "matrix_table", real)
    assert '<td class="pm-ap">' in client.get(MATRIX).content.decode()


def test_the_cache_holds_between_writes(
    learner: User, release: ProjectRelease, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = client_for(learner)
    client.get(HOME)
    # Written behind the signals' back (no commit callbacks run here): the cache still
    # answers, which shows the page reads it, and why every write path must bump.
    AttemptFactory(learner=learner, release=release, status="approved", score=Decimal(77))
    # User and memberships (the session comes from the cache too): the learner's section
    # comes from the cache.
    with django_assert_num_queries(2):
        body = client.get(HOME).content.decode()
    assert "77%" not in body
    versioned.bump_version(f"learner:{learner.pk}")  # what the attempt's receiver bumps
    assert "77%" in client.get(HOME).content.decode()


# --- Rendered fragments: the home page's sections and the project brief -----------------


def test_the_home_page_is_rendered_at_most_a_minute_ago(
    learner: User, release: ProjectRelease
) -> None:
    start = timezone.now()
    release.first_deadline = start + timedelta(hours=3, seconds=10)
    release.save()
    client = client_for(learner)
    with time_machine.travel(start, tick=False):
        assert "3 hours left" in client.get(HOME).content.decode()
    # 50 seconds on, a new rendering would say "2 hours 59 minutes": the section is
    # served as rendered (the browser ticks its countdowns) …
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        assert time_left(release.first_deadline) == "2 hours 59 minutes left"
        assert "3 hours left" in client.get(HOME).content.decode()
    # … and once the minute is over it is rendered again.
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        assert "2 hours 58 minutes left" in client.get(HOME).content.decode()


BRIEF = "/projects/python-generators/"


def test_an_edited_brief_shows_on_the_project_page_on_the_next_request(
    learner: User, project: Project, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(learner)
    assert "Stream rows" in client.get(BRIEF).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        task = project.tasks.get(number=0)
        task.title = "Stream every row"
        task.save()
    assert "Stream every row" in client.get(BRIEF).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        project.resources.create(
            order=9,
            title="The itertools docs",
            url="https://docs.python.org/3/library/itertools.html",
        )
    assert "The itertools docs" in client.get(BRIEF).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        project.tasks.get(number=2).delete()
    assert "Lazy pagination" not in client.get(BRIEF).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        project.description = "Generators **everywhere**."
        project.save()
    assert "Generators <strong>everywhere</strong>." in client.get(BRIEF).content.decode()


def test_the_project_brief_is_rendered_once_per_version(learner: User, project: Project) -> None:
    client = client_for(learner)
    client.get(BRIEF)
    # Written behind the signals' back: the brief still comes from the cache …
    Task.objects.filter(project=project, number=0).update(title="Changed quietly")
    assert "Changed quietly" not in client.get(BRIEF).content.decode()
    # … until the project's version moves.
    versioned.bump_version(f"project:{project.pk}")
    assert "Changed quietly" in client.get(BRIEF).content.decode()


@dataclass(frozen=True)
class NextSuiteCounts:
    """A project's check counts as a next release might shape them: one more field."""

    suites: int
    cases: int
    hidden: int
    skipped: int = 0


def test_a_deploy_that_reshapes_the_brief_never_reads_the_old_one(
    learner: User, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The brief's cached value holds a pickled SuiteCounts: a release that changes that
    dataclass (and no template) misses instead of unpickling the old shape."""
    from core.curriculum import views

    client = client_for(learner)
    client.get(BRIEF)
    Task.objects.filter(project=project, number=0).update(title="Changed quietly")
    monkeypatch.setattr(views, "SuiteCounts", NextSuiteCounts)
    assert "Changed quietly" in client.get(BRIEF).content.decode()


def test_the_mentor_home_counts_the_queue_as_the_queue_page_does(
    mentor: User,
    learner: User,
    project: Project,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    project.peer_reviews_required = 2
    project.mentor_review_required = False
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        iteration, _ = iteration_submit(
            learner=learner, release=release, repo_url="https://github.com/alice/generators"
        )
    assert iteration.peer_due_at is not None
    client = client_for(mentor)
    # With its peers, the work is not in the mentor's queue: neither page counts it …
    assert WAITING_0.search(client.get(HOME).content.decode())
    assert QUEUE_COUNT.format(0) in client.get(QUEUE).content.decode()
    # … past its peer SLA it escalates into the queue, and both count it without any write.
    with time_machine.travel(iteration.peer_due_at + timedelta(minutes=1)):
        assert WAITING_1.search(client.get(HOME).content.decode())
        assert QUEUE_COUNT.format(1) in client.get(QUEUE).content.decode()


def test_a_peer_review_given_shows_on_the_reviewers_home_on_the_next_request(
    learner: User,
    cohort: Cohort,
    project: Project,
    release: ProjectRelease,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    from core.peer.services import peer_review_save
    from tests.peer.test_peer_review import assign, classmate, peer_policy, submit

    peer_policy(project, required=1, owed=1)
    AttemptFactory(learner=learner, release=release)  # alice owes one review of this project
    client = client_for(learner)
    owed = re.compile(r'id="peer-owed-heading"[^<]*</h3>\s*<p class="dash-score mb-1">(\d+)</p>')
    assert owed.search(client.get(HOME).content.decode()).group(1) == "1"
    iteration = submit(classmate(cohort, release, "Bo Classmate", passed=False), release)
    assign(iteration, learner)
    with django_capture_on_commit_callbacks(execute=True):
        peer_review_save(
            iteration=iteration,
            reviewer=learner,
            verdicts={task.pk: VerdictInput(passed=True) for task in project.tasks.all()},
            feedback="Clear and tested.",
            decision="approved",
            confidence=4,
            submit=True,
        )
    assert owed.search(client.get(HOME).content.decode()).group(1) == "0"

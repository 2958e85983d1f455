"""A learner's cached pages follow what they show: their own work and their cohort's
schedule, not every write in the cohort (issue #13).

Alice (A) and Bob (B) learn in one cohort. Each page's cached fragments are watched
through the cache itself: ``_reads`` says which fragments a request looked up and
whether each was there (a hit) or had to be rendered again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.models import Cohort, Iteration, Project, ProjectRelease, User
from core.platform import cache as versioned
from core.templatetags.prodev import datetime_attr
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory

HOME = "/dashboard/"
DATES = "/projects/python-generators/"
QUEUE = "/review/"
MATRIX = "/cohorts/cohort-7/progress/"
LEARNER_PAGES = {HOME: "home-learner", DATES: "project-dates"}


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    """A fragment is kept a minute at most: the clock stands still, so only writes count."""
    with time_machine.travel(timezone.now(), tick=False):
        yield


@pytest.fixture
def bob(cohort: Cohort) -> User:
    user = UserFactory(email="bob@example.com", display_name="Bob Learner")
    MembershipFactory(user=user, cohort=cohort, role="learner")
    return user


def _reads(client: Client, url: str) -> dict[str, bool]:
    """The rendered fragments the request looked up, by name (``home-learner``,
    ``project-dates`` …): True where the cache held it."""
    reads: dict[str, bool] = {}
    lookup = versioned.safe_get
    digest = versioned.templates_digest()

    def spy(key: str) -> object:
        found = lookup(key)
        part = key.split(":")
        if len(part) > 1 and part[1].startswith("html-"):  # not a session's or version's
            reads[part[1].removeprefix("html-").removesuffix(f"-{digest}")] = found is not None
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(versioned, "safe_get", spy)
        assert client.get(url).status_code == 200
    return reads


def _hits(client: Client) -> dict[str, bool]:
    """Whether the learner's dashboard section and dates card each came from the cache."""
    return {name: _reads(client, url)[name] for url, name in LEARNER_PAGES.items()}


ALL_HITS = {"home-learner": True, "project-dates": True}
ALL_MISSES = {"home-learner": False, "project-dates": False}


def _warm(*clients: Client) -> None:
    for client in clients:
        assert _hits(client) == ALL_MISSES  # rendered and stored …
        assert _hits(client) == ALL_HITS  # … then read from the cache


def _review(mentor_client: Client, iteration: Iteration, project: Project) -> None:
    """The mentor approves the iteration they hold: the advanced task fails (100%)."""
    data = {"action": "submit", "feedback": "Tidy generators.", "decision": "approved"}
    for task in project.tasks.all():
        data[f"task_{task.pk}_passed"] = "fail" if task.is_advanced else "pass"
    assert mentor_client.post(f"/review/{iteration.pk}/", data).status_code == 302


def test_a_claim_on_alice_s_work_leaves_the_learners_pages_cached(
    waiting: Iteration,
    mentor_client: Client,
    learner: User,
    bob: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    alice_client, bob_client = client_for(learner), client_for(bob)
    _warm(alice_client, bob_client)
    with django_capture_on_commit_callbacks(execute=True):
        assert mentor_client.post(f"/review/{waiting.pk}/claim/").status_code == 302
    assert _hits(bob_client) == ALL_HITS
    # Alice's pages show nothing of a claim (her work still waits for its review).
    assert _hits(alice_client) == ALL_HITS
    assert "Waiting for review" in alice_client.get(HOME).content.decode()


def test_a_review_of_alice_s_work_refreshes_her_pages_only(
    waiting: Iteration,
    project: Project,
    mentor_client: Client,
    learner: User,
    bob: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    alice_client, bob_client = client_for(learner), client_for(bob)
    with django_capture_on_commit_callbacks(execute=True):
        mentor_client.post(f"/review/{waiting.pk}/claim/")
    _warm(alice_client, bob_client)
    with django_capture_on_commit_callbacks(execute=True):
        _review(mentor_client, waiting, project)
    assert _hits(bob_client) == ALL_HITS
    assert _reads(alice_client, HOME)["home-learner"] is False
    body = alice_client.get(HOME).content.decode()
    assert "Tidy generators." in body
    assert "Mia Mentor · iteration 1" in body
    assert '<span class="dash-attempt-score">100%</span>' in body


def test_a_comment_on_alice_s_work_leaves_the_learners_pages_cached(
    waiting: Iteration,
    mentor_client: Client,
    learner: User,
    bob: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    alice_client, bob_client = client_for(learner), client_for(bob)
    _warm(alice_client, bob_client)
    url = f"/attempts/{waiting.attempt_id}/comments/"
    with django_capture_on_commit_callbacks(execute=True):
        assert mentor_client.post(url, {"body": "Which task is hardest?"}).status_code == 302
    assert _hits(bob_client) == ALL_HITS
    # The thread lives on the attempt page; Alice's dashboard and dates show none of it.
    assert _hits(alice_client) == ALL_HITS
    assert (
        "Which task is hardest?"
        in alice_client.get(f"/attempts/{waiting.attempt_id}/").content.decode()
    )


def test_a_deadline_moved_refreshes_every_learner_s_pages(
    release: ProjectRelease,
    learner: User,
    bob: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    alice_client, bob_client = client_for(learner), client_for(bob)
    _warm(alice_client, bob_client)
    with django_capture_on_commit_callbacks(execute=True):
        release.first_deadline += timedelta(days=1)
        release.save()
    moved = f'<time datetime="{datetime_attr(release.first_deadline)}">'
    for client in (alice_client, bob_client):
        assert _hits(client) == ALL_MISSES
        assert moved in client.get(HOME).content.decode()
        assert moved in client.get(DATES).content.decode()


def test_the_mentor_s_queue_and_the_matrix_follow_a_claim_and_a_review(
    waiting: Iteration,
    project: Project,
    mentor_client: Client,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    claim_form = f'action="/review/{waiting.pk}/claim/"'
    assert claim_form in mentor_client.get(QUEUE).content.decode()
    assert '<td class="pm-ap">' not in mentor_client.get(MATRIX).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        mentor_client.post(f"/review/{waiting.pk}/claim/")
    assert claim_form not in mentor_client.get(QUEUE).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        _review(mentor_client, waiting, project)
    assert '<strong class="queue-count">0</strong> waiting' in (
        mentor_client.get(QUEUE).content.decode()
    )
    assert '<td class="pm-ap">' in mentor_client.get(MATRIX).content.decode()


def test_a_mentor_s_new_name_shows_in_the_learner_s_feedback(
    waiting: Iteration,
    project: Project,
    mentor: User,
    mentor_client: Client,
    learner: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        mentor_client.post(f"/review/{waiting.pk}/claim/")
        _review(mentor_client, waiting, project)
    alice_client = client_for(learner)
    assert "Mia Mentor · iteration 1" in alice_client.get(HOME).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        mentor.display_name = "Mia Mentor-Okafor"
        mentor.save()
    assert "Mia Mentor-Okafor · iteration 1" in alice_client.get(HOME).content.decode()


def test_a_module_s_new_title_shows_on_the_learner_s_pages(
    project: Project, learner: User, django_capture_on_commit_callbacks: Capture
) -> None:
    alice_client = client_for(learner)
    _warm(alice_client)
    module = project.module
    with django_capture_on_commit_callbacks(execute=True):
        module.title = "Python, Revisited"
        module.save()
    assert "Python, Revisited" in alice_client.get(HOME).content.decode()

"""The mentor's review queue: waiting work of their cohorts, oldest first, filterable."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core.models import Cohort, Iteration, Project, ProjectRelease, ReviewClaim, User
from core.platform import cache as versioned
from core.reviews.selectors.review import QUEUE_PAGE_SIZE
from core.reviews.services import claim_take
from tests.checks.support import recorded_run
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)

URL = "/review/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def submit(
    release: ProjectRelease,
    *,
    learner: User | None = None,
    hours_ago: float = 1,
    number: int = 1,
    name: str | None = None,
) -> Iteration:
    """A waiting iteration of a (new) learner in the release's cohort, submitted hours ago."""
    if learner is None:
        learner = UserFactory(display_name=name or "")
        MembershipFactory(user=learner, cohort=release.cohort, role="learner")
    attempt = AttemptFactory(learner=learner, release=release)
    return IterationFactory(
        attempt=attempt, number=number, submitted_at=timezone.now() - timedelta(hours=hours_ago)
    )


def test_it_lists_waiting_iterations_oldest_first(
    mentor_client: Client, release: ProjectRelease
) -> None:
    submit(release, name="Newest Nadia", hours_ago=1)
    submit(release, name="Oldest Omar", hours_ago=51)
    submit(release, name="Middle Mei", hours_ago=5)
    response = mentor_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    positions = [body.index(name) for name in ("Oldest Omar", "Middle Mei", "Newest Nadia")]
    assert positions == sorted(positions)
    assert "Python Generators" in body
    assert "Cohort 7" in body
    assert "2\xa0days, 3\xa0hours" in body  # Omar's waiting time
    assert '<strong class="queue-count">3</strong> waiting' in body
    assert "Keyboard: <kbd>j</kbd>/<kbd>k</kbd> move" in body
    assert "js/queue.js" in body
    assert 'hx-trigger="every 30s"' in body


def test_it_leaves_out_work_that_is_not_waiting(
    mentor_client: Client, release: ProjectRelease
) -> None:
    reviewed = submit(release, name="Reviewed Rita")
    reviewed.status = Iteration.Status.REVIEWED
    reviewed.save()
    submit(release, name="Waiting Will")
    body = mentor_client.get(URL).content.decode()
    assert "Waiting Will" in body
    assert "Reviewed Rita" not in body


def test_it_marks_resubmissions(mentor_client: Client, release: ProjectRelease) -> None:
    submit(release, name="Second Sami", number=2)
    body = mentor_client.get(URL).content.decode()
    assert "#2" in body
    assert "resubmission" in body


def test_it_shows_a_claim_button_on_free_work(
    mentor_client: Client, release: ProjectRelease
) -> None:
    iteration = submit(release)
    body = mentor_client.get(URL).content.decode()
    assert f'action="/review/{iteration.pk}/claim/"' in body
    assert "data-queue-claim" in body


def test_it_shows_an_empty_state(mentor_client: Client, release: ProjectRelease) -> None:
    body = mentor_client.get(URL).content.decode()
    assert "Nothing waiting — nice work" in body
    assert '<strong class="queue-count">0</strong> waiting' in body


def test_it_filters_by_cohort_and_project(
    mentor: User, cohort: Cohort, release: ProjectRelease
) -> None:
    other_cohort = CohortFactory(name="Cohort 8", slug="cohort-8")
    MembershipFactory(user=mentor, cohort=other_cohort, role="mentor")
    other_project = ProjectFactory(title="Async Tasks", slug="async-tasks")
    submit(release, name="Generators In Seven")
    submit(ProjectReleaseFactory(cohort=cohort, project=other_project), name="Async In Seven")
    submit(
        ProjectReleaseFactory(cohort=other_cohort, project=release.project),
        name="Generators In Eight",
    )
    client = client_for(mentor)

    body = client.get(URL, {"cohort": "cohort-8"}).content.decode()
    assert "Generators In Eight" in body
    assert "In Seven" not in body

    body = client.get(URL, {"cohort": "cohort-7", "project": "async-tasks"}).content.decode()
    assert "Async In Seven" in body
    assert "Generators In" not in body
    assert '<option value="async-tasks" selected>Async Tasks</option>' in body
    assert "(filtered)" in body

    body = client.get(URL, {"project": "python-generators"}).content.decode()
    assert "Generators In Seven" in body
    assert "Generators In Eight" in body
    assert "Async In Seven" not in body
    # Two cohorts: each row names its own.
    assert body.count('<td data-label="Cohort">Cohort 8</td>') == 1
    assert body.count(f'<td data-label="Cohort">{cohort.name}</td>') == 1


def test_it_offers_only_the_mentors_cohorts_and_their_projects(
    mentor_client: Client, release: ProjectRelease
) -> None:
    ProjectReleaseFactory(
        cohort=CohortFactory(name="Cohort 9", slug="cohort-9"),
        project=ProjectFactory(title="Hidden Project", slug="hidden-project"),
    )
    body = mentor_client.get(URL).content.decode()
    assert '<option value="cohort-7">Cohort 7</option>' in body
    assert "Cohort 9" not in body
    assert "Hidden Project" not in body


def test_the_filters_escape_what_staff_typed_and_keep_the_choice(
    mentor_client: Client, cohort: Cohort
) -> None:
    cohort.name = 'Cohort <7> "A&B"'
    cohort.save(update_fields=["name"])
    ProjectReleaseFactory(
        cohort=cohort, project=ProjectFactory(title="<b>Bold</b> & 'quoted'", slug="bold")
    )
    body = mentor_client.get(URL, {"project": "bold"}).content.decode()
    assert '<option value="cohort-7">Cohort &lt;7&gt; &quot;A&amp;B&quot;</option>' in body
    assert (
        '<option value="bold" selected>&lt;b&gt;Bold&lt;/b&gt; &amp; &#x27;quoted&#x27;</option>'
        in body
    )
    assert "<b>Bold" not in body


def test_a_project_joins_the_filter_when_its_release_opens(
    mentor_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    opens_at = timezone.now() + timedelta(seconds=20)  # sooner than any cache entry ends
    ProjectReleaseFactory(
        cohort=cohort,
        project=ProjectFactory(title="Caching Later", slug="caching-later"),
        opens_at=opens_at,
        first_deadline=opens_at + timedelta(days=7),
        second_deadline=opens_at + timedelta(days=14),
    )
    assert "Caching Later" not in mentor_client.get(URL).content.decode()
    # No write when a release opens: the cached project list ends at that moment.
    with time_machine.travel(opens_at + timedelta(seconds=1)):
        body = mentor_client.get(URL).content.decode()
    assert '<option value="caching-later">Caching Later</option>' in body


def test_work_joins_the_table_when_it_escalates_from_its_peers(
    mentor_client: Client, release: ProjectRelease
) -> None:
    Project.objects.filter(pk=release.project_id).update(mentor_review_required=False)
    due = timezone.now() + timedelta(seconds=20)  # sooner than any cache entry ends
    Iteration.objects.filter(pk=submit(release).pk).update(peer_due_at=due)
    assert (
        '<strong class="queue-count">0</strong> waiting' in mentor_client.get(URL).content.decode()
    )
    # No write when work escalates: the cached table ends at that moment.
    with time_machine.travel(due + timedelta(seconds=1)):
        body = mentor_client.get(URL).content.decode()
    assert '<strong class="queue-count">1</strong> waiting' in body


def test_work_follows_its_release_to_another_cohort(
    mentor_client: Client,
    release: ProjectRelease,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    iteration = submit(release, name="Moved Learner")
    assert iteration.cohort_id == release.cohort_id  # copied from the attempt on save
    assert "Moved Learner" in mentor_client.get(URL).content.decode()
    elsewhere = CohortFactory(name="Cohort 8", slug="cohort-8")
    other_mentor = UserFactory()
    MembershipFactory(user=other_mentor, cohort=elsewhere, role="mentor")
    release.cohort = elsewhere  # corrected in the admin
    with django_capture_on_commit_callbacks(execute=True):
        release.save()
    iteration.refresh_from_db()
    assert iteration.cohort_id == elsewhere.pk
    assert "Moved Learner" not in mentor_client.get(URL).content.decode()
    assert "Moved Learner" in client_for(other_mentor).get(URL).content.decode()


def test_it_ignores_filters_for_other_cohorts(
    mentor_client: Client, release: ProjectRelease
) -> None:
    CohortFactory(name="Cohort 9", slug="cohort-9")
    submit(release, name="Still Shown")
    response = mentor_client.get(URL, {"cohort": "cohort-9"})
    assert response.status_code == 200
    assert "Still Shown" in response.content.decode()


def test_it_paginates_and_keeps_the_filters_in_the_links(
    mentor_client: Client, release: ProjectRelease
) -> None:
    for index in range(QUEUE_PAGE_SIZE + 2):
        submit(release, name=f"Learner {index:02d}", hours_ago=100 - index)
    params = {"cohort": "cohort-7", "project": "python-generators"}
    first = mentor_client.get(URL, params)
    body = first.content.decode()
    assert len(first.context["page_obj"].object_list) == QUEUE_PAGE_SIZE
    assert "Learner 00" in body
    assert "Learner 26" not in body
    assert 'href="?cohort=cohort-7&amp;project=python-generators&amp;page=2"' in body
    assert 'hx-get="?cohort=cohort-7&amp;project=python-generators&amp;page=2"' in body
    assert 'hx-push-url="true"' in body

    second = mentor_client.get(URL, {**params, "page": 2}).content.decode()
    assert "Learner 26" in second
    assert "Learner 00" not in second
    # Claim forms on page 2 carry the filters and the page back to the queue.
    assert '<input type="hidden" name="page" value="2">' in second
    assert '<input type="hidden" name="cohort" value="cohort-7">' in second


@pytest.mark.parametrize("asked", ["-1", "0", "x"])
def test_a_page_number_out_of_reason_shows_the_first_page_and_is_cached_as_it(
    mentor_client: Client, release: ProjectRelease, asked: str
) -> None:
    """The table is cached by the page it shows: a page asked as "-1" must not store the
    last page where the first is looked up."""
    for index in range(QUEUE_PAGE_SIZE + 2):
        submit(release, name=f"Learner {index:02d}", hours_ago=100 - index)
    odd = mentor_client.get(URL, {"page": asked}).content.decode()
    assert "Learner 00" in odd and "Learner 26" not in odd
    first = mentor_client.get(URL).content.decode()
    assert "Learner 00" in first and "Learner 26" not in first


def test_pages_past_the_last_show_it_and_are_not_stored_apart(
    mentor_client: Client, release: ProjectRelease, monkeypatch: pytest.MonkeyPatch
) -> None:
    """?page=3, 4, 5 … past the last page all show the last one: storing each under its
    own number would let anyone fill the cache with copies of one table."""
    for index in range(QUEUE_PAGE_SIZE + 2):
        submit(release, name=f"Learner {index:02d}", hours_ago=100 - index)
    stored: list[str] = []
    store = versioned.safe_set

    def spy(key: str, value: object, timeout: int | None = None) -> None:
        if ":html-queue-" in key:
            stored.append(key)
        store(key, value, timeout)

    monkeypatch.setattr(versioned, "safe_set", spy)
    for asked in ("3", "4", "99"):
        past = mentor_client.get(URL, {"page": asked}).content.decode()
        assert "Learner 26" in past and "Learner 00" not in past  # the last page
    assert stored == []
    assert "Learner 26" in mentor_client.get(URL, {"page": "2"}).content.decode()
    assert len(stored) == 1  # the last page, asked by its own number, is kept


def test_the_filter_form_updates_the_table_through_htmx(
    mentor_client: Client, release: ProjectRelease
) -> None:
    body = mentor_client.get(URL).content.decode()
    assert 'id="queue-filters"' in body
    assert 'hx-get="/review/" hx-target="#queue-table"' in body
    assert 'hx-trigger="change"' in body
    assert 'hx-include="#queue-filters"' in body  # the 30-second refresh keeps the filters


def test_htmx_requests_get_only_the_table(mentor_client: Client, release: ProjectRelease) -> None:
    submit(release, name="Fragment Fatima")
    response = mentor_client.get(URL, {"cohort": "cohort-7"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="queue-table"')
    assert "Fragment Fatima" in body
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_gets_the_whole_page(
    mentor_client: Client, release: ProjectRelease
) -> None:
    response = mentor_client.get(URL, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in response.content.decode()


def test_staff_see_every_cohort(staff_client: Client, release: ProjectRelease) -> None:
    other = ProjectReleaseFactory(cohort=CohortFactory(name="Cohort 9", slug="cohort-9"))
    submit(release, name="Seven Sue")
    submit(other, name="Nine Nia")
    body = staff_client.get(URL).content.decode()
    assert "Seven Sue" in body
    assert "Nine Nia" in body


def test_it_never_lists_the_mentors_own_work(
    mentor: User, mentor_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    other_cohort = CohortFactory(name="Cohort 8", slug="cohort-8")
    MembershipFactory(user=mentor, cohort=other_cohort, role="learner")
    mentor.display_name = "Mia Herself"
    mentor.save()
    submit(ProjectReleaseFactory(cohort=cohort, project=ProjectFactory()), learner=mentor)
    assert "Mia Herself</td>" not in mentor_client.get(URL).content.decode()


def test_it_hides_other_cohorts_from_mentors(
    mentor_client: Client, release: ProjectRelease
) -> None:
    submit(ProjectReleaseFactory(cohort=CohortFactory(slug="cohort-9")), name="Elsewhere Eli")
    assert "Elsewhere Eli" not in mentor_client.get(URL).content.decode()


@pytest.mark.parametrize("who", ["learner", "reviewer", "outsider"])
def test_it_answers_404_to_everyone_but_mentors_and_staff(
    request: pytest.FixtureRequest, who: str, db: None
) -> None:
    client: Client = request.getfixturevalue(f"{who}_client")
    assert client.get(URL).status_code == 404


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


def test_it_refuses_post(mentor_client: Client) -> None:
    assert mentor_client.post(URL).status_code == 405


@pytest.mark.parametrize("size", [1, 10])
def test_it_uses_a_constant_number_of_queries(
    mentor: User,
    mentor_client: Client,
    cohort: Cohort,
    release: ProjectRelease,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    other_mentor = UserFactory(display_name="Sam Other")
    MembershipFactory(user=other_mentor, cohort=cohort, role="mentor")
    expires_at = timezone.now() + timedelta(minutes=20)
    for index in range(size):
        project: Project = ProjectFactory()
        submit(ProjectReleaseFactory(cohort=cohort, project=project), hours_ago=index + 1)
        taken = submit(release, hours_ago=index + 1.5)
        ReviewClaim.objects.create(iteration=taken, reviewer=other_mentor, expires_at=expires_at)
    claim_take(iteration=submit(release), reviewer=mentor)
    # (The session comes from the cache.) 1. user  2. the mentor's cohorts  3. their
    # releases (the project filter)  4. count, oldest wait (also the paginator's count)
    # and when peer work escalates next  5. the page of iterations with learner, project
    # and cohort  6. the page's checks (none here)  7. the live claims on the page, with
    # reviewers, and the mentor's own  8. the open disputes the mentor may decide
    # (+ learner, project, task, routed to, claimed by)  9. the user's roles (nav)
    with django_assert_num_queries(9):
        body = mentor_client.get(URL).content.decode()
    assert f'<strong class="queue-count">{2 * size + 1}</strong> waiting' in body
    assert body.count("being reviewed by Sam Other") == size
    # Warm: the project filter and the table come from the cache; 1-2, 8 and 9 remain.
    with django_assert_num_queries(4):
        again = mentor_client.get(URL).content.decode()
    assert again.count("being reviewed by Sam Other") == size


def test_mentors_and_staff_find_the_queue_in_the_nav(
    mentor_client: Client, staff_client: Client, learner_client: Client
) -> None:
    link = 'href="/review/"'
    assert link in mentor_client.get("/curriculum/").content.decode()
    assert link in staff_client.get("/curriculum/").content.decode()
    assert link not in learner_client.get("/curriculum/").content.decode()
    assert 'aria-current="page"><i class="bi bi-inboxes"' in mentor_client.get(URL).content.decode()


@pytest.mark.parametrize("size", [1, 10])
def test_it_uses_a_constant_number_of_queries_with_checks(
    mentor: User,
    mentor_client: Client,
    cohort: Cohort,
    release: ProjectRelease,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    other_mentor = UserFactory(display_name="Sam Other")
    MembershipFactory(user=other_mentor, cohort=cohort, role="mentor")
    expires_at = timezone.now() + timedelta(minutes=20)
    for index in range(size):
        elsewhere = ProjectReleaseFactory(cohort=cohort, project=ProjectFactory())
        tasks = [TaskFactory(project=elsewhere.project, number=n) for n in range(2)]
        checked = submit(elsewhere, hours_ago=index + 1)
        # An older run that failed everything, then the newest: 5 of 6 cases pass.
        recorded_run(checked, tasks, failing=3, minutes_ago=30)
        recorded_run(checked, tasks, failing=1)
        taken = submit(release, hours_ago=index + 1.5)
        ReviewClaim.objects.create(iteration=taken, reviewer=other_mentor, expires_at=expires_at)
        recorded_run(taken, [], status="running")
    mine = submit(release)
    recorded_run(mine, [], status="queued")
    claim_take(iteration=mine, reviewer=mentor)
    # As without checks: every row's newest run, summed up, is query 6.
    with django_assert_num_queries(9):
        body = mentor_client.get(URL).content.decode()
    assert f'<strong class="queue-count">{2 * size + 1}</strong> waiting' in body
    assert body.count("5/6 checks pass") == size
    assert body.count("checks running") == size + 1
    assert "0/6 checks pass" not in body and "3/6 checks pass" not in body
    with django_assert_num_queries(4):
        again = mentor_client.get(URL).content.decode()
    assert again.count("5/6 checks pass") == size

"""Staff review SLA board: escalations and breaches, who holds them, turnaround percentiles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.models import (
    Cohort,
    Iteration,
    PeerAssignment,
    Project,
    ProjectRelease,
    Review,
    ReviewClaim,
    User,
)
from core.reviews.services import review_due_times
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    UserFactory,
)

URL = "/staff/sla/"


@pytest.fixture
def peer_release(cohort: Cohort) -> ProjectRelease:
    """A project of cohort 7 with two peer reviews per iteration (peer SLA 48 h, mentor 72 h)."""
    project = ProjectFactory(
        title="Async Pipelines",
        slug="async-pipelines",
        peer_reviews_required=2,
        peer_reviews_owed=1,
        mentor_review_required=False,
    )
    return ProjectReleaseFactory(cohort=cohort, project=project)


def waiting(
    release: ProjectRelease, *, hours_ago: float, learner: User | None = None, name: str = ""
) -> Iteration:
    """An iteration submitted ``hours_ago``, with the due times its project's policy gives."""
    if learner is None:
        learner = UserFactory(**({"display_name": name} if name else {}))
        MembershipFactory(user=learner, cohort=release.cohort, role="learner")
    submitted = timezone.now() - timedelta(hours=hours_ago)
    return IterationFactory(
        attempt=AttemptFactory(learner=learner, release=release),
        number=1,
        submitted_at=submitted,
        **review_due_times(release.project, submitted),
    )


def peer_review(iteration: Iteration, *, hours_after: float = 1) -> Review:
    return ReviewFactory(
        iteration=iteration,
        kind="peer",
        confidence=4,
        submitted_at=iteration.submitted_at + timedelta(hours=hours_after),
    )


def test_it_sends_anonymous_users_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "who", ["learner_client", "mentor_client", "reviewer_client", "outsider_client"]
)
def test_it_is_404_for_everyone_but_staff(
    who: str, request: pytest.FixtureRequest, db: None
) -> None:
    assert request.getfixturevalue(who).get(URL).status_code == 404


def test_it_refuses_post(staff_client: Client) -> None:
    assert staff_client.post(URL).status_code == 405


def test_it_lists_escalations_and_breaches_oldest_first(
    staff_client: Client, release: ProjectRelease, peer_release: ProjectRelease
) -> None:
    breached = waiting(release, hours_ago=80, name="Bea Breached")  # mentor-only, past 72 h
    escalated = waiting(peer_release, hours_ago=50, name="Eli Escalated")  # 0 of 2, past 48 h
    peer_review(escalated)
    # Not on the board: within its SLAs; peers all in (a tie waits for a mentor, not late);
    # decided; and past its peer SLA on a mentor-only project (no peer SLA at all).
    waiting(peer_release, hours_ago=47, name="Fay Fresh")
    tied = waiting(peer_release, hours_ago=60, name="Tia Tied")
    peer_review(tied), peer_review(tied)
    Iteration.objects.filter(pk=tied.pk).update(peer_tie=True)
    decided = waiting(peer_release, hours_ago=100, name="Dan Decided")
    Iteration.objects.filter(pk=decided.pk).update(status="reviewed")
    waiting(release, hours_ago=60, name="Mo Mentor-only")

    response = staff_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    rows = list(response.context["page_obj"])
    assert rows == [breached, escalated]
    assert "Bea Breached" in body and "Eli Escalated" in body
    assert "Fay Fresh" not in body and "Tia Tied" not in body
    assert "Dan Decided" not in body and "Mo Mentor-only" not in body
    assert body.count("</i> Mentor SLA breached</span>") == 1  # the rows' badges
    assert body.count("</i> Escalated to mentors</span>") == 1
    assert "1 of 2" in body  # peer reviews in
    assert '<span class="health-stat-value" id="sla-escalated">1</span>' in body
    assert '<span class="health-stat-value" id="sla-breached">1</span>' in body
    # How long past due: 80 h - 72 h, and 50 h - 48 h.
    assert '<span class="fw-semibold">8 h</span>' in body
    assert '<span class="fw-semibold">2 h</span>' in body
    assert "<script>" not in body and "style=" not in body  # strict CSP


def test_an_iteration_past_both_slas_counts_as_breached(
    staff_client: Client, peer_release: ProjectRelease
) -> None:
    waiting(peer_release, hours_ago=73, name="Old Olly")
    response = staff_client.get(URL)
    assert response.context["total_breached"] == 1
    assert response.context["total_escalated"] == 0
    [row] = response.context["page_obj"]
    assert row.sla_state == "breached"
    assert row.past_due == "1 h"


def test_it_shows_who_holds_each_iteration(
    staff_client: Client, peer_release: ProjectRelease, mentor: User, reviewer: User
) -> None:
    held = waiting(peer_release, hours_ago=75, name="Hal Held")
    now = timezone.now()
    ReviewClaim.objects.create(
        iteration=held, reviewer=mentor, expires_at=now + timedelta(minutes=12, seconds=30)
    )
    PeerAssignment.objects.create(
        iteration=held,
        project=peer_release.project,
        reviewer=reviewer,
        expires_at=now + timedelta(hours=5, minutes=1),
    )
    # An expired assignment and a completed one hold nothing.
    for expires_at, completed_at in ((now - timedelta(minutes=1), None), (now, now)):
        PeerAssignment.objects.create(
            iteration=held,
            project=peer_release.project,
            reviewer=UserFactory(display_name="Gone Peer"),
            expires_at=expires_at,
            completed_at=completed_at,
        )
    waiting(peer_release, hours_ago=49, name="Nina Nobody")
    body = staff_client.get(URL).content.decode()
    assert 'Mentor Mia Mentor <span class="text-body-secondary">· 12 min left</span>' in body
    assert 'Peer Rex Reviewer <span class="text-body-secondary">· 5\xa0hours left</span>' in body
    assert "Gone Peer" not in body
    assert '<span class="text-body-secondary small">Nobody</span>' in body


def test_it_filters_by_cohort_and_project_and_counts_each_group(
    staff_client: Client, release: ProjectRelease, peer_release: ProjectRelease
) -> None:
    other_cohort = CohortFactory(name="Cohort 8", slug="cohort-8")
    other = ProjectReleaseFactory(cohort=other_cohort, project=peer_release.project)
    waiting(release, hours_ago=80, name="Bea Seven")
    waiting(peer_release, hours_ago=50, name="Eli Seven")
    waiting(other, hours_ago=50, name="Eve Eight")
    waiting(other, hours_ago=90, name="Ben Eight")

    groups = staff_client.get(URL).context["groups"]
    assert [(g["cohort"], g["project"], g["escalated"], g["breached"]) for g in groups] == [
        ("Cohort 7", "Async Pipelines", 1, 0),
        ("Cohort 7", "Python Generators", 0, 1),
        ("Cohort 8", "Async Pipelines", 1, 1),
    ]
    response = staff_client.get(URL, {"cohort": "cohort-8"})
    body = response.content.decode()
    assert "Eve Eight" in body and "Ben Eight" in body
    assert "Seven" not in body
    assert "(filtered" in body
    response = staff_client.get(URL, {"cohort": "cohort-7", "project": "async-pipelines"})
    assert [row.attempt.learner.name for row in response.context["page_obj"]] == ["Eli Seven"]
    # An unknown slug is ignored rather than an error page.
    assert staff_client.get(URL, {"cohort": "nope"}).status_code == 200


def test_htmx_gets_only_the_board(staff_client: Client, peer_release: ProjectRelease) -> None:
    waiting(peer_release, hours_ago=50, name="Eli Escalated")
    response = staff_client.get(URL, {"project": "async-pipelines"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="sla-board"')
    assert "Eli Escalated" in body
    assert "<html" not in body and 'id="sla-filters"' not in body
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_it_says_so_when_nothing_is_late(
    staff_client: Client, peer_release: ProjectRelease
) -> None:
    waiting(peer_release, hours_ago=1)
    body = staff_client.get(URL).content.decode()
    assert "Nothing past its SLA" in body
    assert "No reviews" in body  # no turnaround yet


def reviewed(release: ProjectRelease, *, kind: str, took_hours: float, days_ago: float) -> Review:
    """A review submitted ``days_ago``, ``took_hours`` after its iteration."""
    decided = timezone.now() - timedelta(days=days_ago)
    iteration = IterationFactory(
        attempt__release=release,
        number=1,
        status="reviewed",
        submitted_at=decided - timedelta(hours=took_hours),
    )
    return ReviewFactory(iteration=iteration, kind=kind, submitted_at=decided)


def test_it_computes_turnaround_percentiles_per_kind_and_window(
    staff_client: Client, release: ProjectRelease, peer_release: ProjectRelease
) -> None:
    for hours in (1, 2, 3, 10):
        reviewed(release, kind="mentor", took_hours=hours, days_ago=1)
    reviewed(release, kind="mentor", took_hours=30, days_ago=20)  # 30 days only
    reviewed(release, kind="mentor", took_hours=99, days_ago=40)  # neither window
    reviewed(peer_release, kind="peer", took_hours=5, days_ago=3)
    draft = reviewed(peer_release, kind="peer", took_hours=50, days_ago=2)
    Review.objects.filter(pk=draft.pk).update(submitted_at=None, decision="")

    [mentor, peer] = staff_client.get(URL).context["turnaround"]
    week, month = mentor.cells
    # p50 of 1, 2, 3, 10 h = 2.5 h; p90 = 3 h + 0.7 × 7 h = 7.9 h (as percentile_cont).
    assert (week.count, week.p50_label, week.p90_label) == (4, "2 h 30 min", "7 h 54 min")
    # With the 30-hour one: p50 = 3 h; p90 = 10 h + 0.6 × 20 h = 22 h.
    assert (month.count, month.p50_label, month.p90_label) == (5, "3 h", "22 h")
    assert [(cell.count, cell.p50_label) for cell in peer.cells] == [(1, "5 h"), (1, "5 h")]


def test_turnaround_follows_the_filters(
    staff_client: Client, release: ProjectRelease, peer_release: ProjectRelease
) -> None:
    reviewed(release, kind="mentor", took_hours=2, days_ago=1)
    reviewed(peer_release, kind="mentor", took_hours=6, days_ago=1)
    response = staff_client.get(URL, {"project": "async-pipelines"})
    [mentor, _] = response.context["turnaround"]
    assert (mentor.cells[0].count, mentor.cells[0].p50_label) == (1, "6 h")


def test_staff_find_the_board_in_the_nav(staff_client: Client, learner_client: Client) -> None:
    assert 'href="/staff/sla/"' in staff_client.get("/curriculum/").content.decode()
    assert 'href="/staff/sla/"' not in learner_client.get("/curriculum/").content.decode()


def _data(release: ProjectRelease, peer_release: ProjectRelease, mentor: User, n: int) -> None:
    now = timezone.now()
    for index in range(n):
        project: Project = ProjectFactory(peer_reviews_required=2)
        other = ProjectReleaseFactory(cohort=CohortFactory(), project=project)
        held = waiting(peer_release, hours_ago=50 + index)
        ReviewClaim.objects.create(
            iteration=held, reviewer=mentor, expires_at=now + timedelta(minutes=10)
        )
        peer = UserFactory()
        PeerAssignment.objects.create(
            iteration=held,
            project=peer_release.project,
            reviewer=peer,
            expires_at=now + timedelta(hours=3),
        )
        peer_review(held)
        waiting(release, hours_ago=80 + index)
        waiting(other, hours_ago=75)
        reviewed(release, kind="mentor", took_hours=index + 1, days_ago=2)
        reviewed(peer_release, kind="peer", took_hours=index + 1, days_ago=10)


@pytest.mark.parametrize("size", [1, 10])
def test_its_query_count_does_not_grow_with_the_data(
    size: int,
    staff_client: Client,
    release: ProjectRelease,
    peer_release: ProjectRelease,
    mentor: User,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _data(release, peer_release, mentor, size)
    # (The session comes from the cache.) 1 user, 2 cohorts and 3 projects (filters),
    # 4 counts per cohort and project, 5 paginator count, 6 the page of iterations with
    # learner, project and cohort, 7 their live claims with reviewers, 8 their live peer
    # assignments with reviewers, 9 turnaround (one query for both windows), 10 open
    # disputes: how many and the oldest. (The nav asks for no memberships of staff.)
    with django_assert_num_queries(10):
        response = staff_client.get(URL)
    assert response.status_code == 200
    assert len(response.context["page_obj"]) == 3 * size

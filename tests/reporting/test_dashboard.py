"""The signed-in home page, /dashboard/: a section per role the user holds.

Learners: projects open now with countdowns, scores (overall and per module), a
score chart, latest feedback, peer reviews owed and the workload radar. Mentors:
queue, learners at risk and their own review statistics, per cohort. Reviewers
keep a card per cohort; staff see every cohort.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from core.models import Cohort, Module, ProjectRelease, User
from core.reporting.dashboards import AT_RISK_LISTED
from core.templatetags.prodev import datetime_attr
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    ExtensionFactory,
    IterationFactory,
    MembershipFactory,
    ModuleFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    ReviewFactory,
    UserFactory,
)

URL = "/dashboard/"


def release_in(
    cohort: Cohort,
    title: str,
    *,
    module: Module | None = None,
    weight: int = 1,
    opened_days_ago: float = 2,
    first_in_days: float = 3,
    second_in_days: float | None = None,
) -> ProjectRelease:
    """A release of a new project in ``cohort``, dated relative to now."""
    now = timezone.now()
    project = ProjectFactory(title=title, weight=weight, **({"module": module} if module else {}))
    first = now + timedelta(days=first_in_days)
    second = now + timedelta(
        days=second_in_days if second_in_days is not None else first_in_days + 7
    )
    return ProjectReleaseFactory(
        cohort=cohort,
        project=project,
        opens_at=now - timedelta(days=opened_days_ago),
        first_deadline=first,
        second_deadline=second,
    )


def scored(
    learner: User,
    release: ProjectRelease,
    score: str | None,
    *,
    status: str = "approved",
    reviewed_at: datetime | None = None,
    reviewer: User | None = None,
    feedback: str = "Good work.",
) -> None:
    """An attempt with one iteration and (when scored) the submitted review behind its score."""
    attempt = AttemptFactory(
        learner=learner,
        release=release,
        status=status,
        score=Decimal(score) if score is not None else None,
    )
    iteration = IterationFactory(attempt=attempt, number=1)
    if score is not None:
        ReviewFactory(
            iteration=iteration,
            reviewer=reviewer or UserFactory(),
            decision="approved" if status == "approved" else "changes_requested",
            submitted_at=reviewed_at or timezone.now(),
            feedback=feedback,
        )
        attempt.scored_iteration = iteration
        attempt.save(update_fields=["scored_iteration"])


# --- Learners: projects open now -------------------------------------------------------


def test_it_shows_learners_their_open_projects(
    learner_client: Client, release: ProjectRelease
) -> None:
    response = learner_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Your learning" in body
    assert "Cohort 7" in body
    assert "ProDev Backend Engineering" in body
    assert "role-badge-learner" in body
    assert 'href="/projects/python-generators/?cohort=cohort-7"' in body
    assert 'href="/curriculum/?cohort=cohort-7"' in body
    assert "First deadline" in body
    assert "data-countdown" in body
    assert f'datetime="{datetime_attr(release.first_deadline)}"' in body
    assert "Not started" in body
    assert "/cohorts/cohort-7/schedule/" not in body
    assert "/cohorts/cohort-7/progress/" not in body
    assert "Mentoring" not in body
    assert "You are not in a cohort yet" not in body


def test_it_links_an_open_project_to_the_learners_attempt(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    attempt = AttemptFactory(learner=learner, release=release, status="changes_requested")
    attempt.score = Decimal("42.50")
    attempt.save()
    body = learner_client.get(URL).content.decode()
    assert f'href="/attempts/{attempt.pk}/"' in body
    assert "Changes requested" in body
    assert "42.5%" in body


def test_it_applies_the_learners_extension(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    extension = ExtensionFactory(release=release, learner=learner)
    body = learner_client.get(URL).content.decode()
    assert f'datetime="{datetime_attr(extension.first_deadline)}"' in body
    assert f'datetime="{datetime_attr(release.first_deadline)}"' not in body
    assert "Extended for you" in body


def test_it_keeps_a_project_open_while_an_extension_runs(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    now = timezone.now()
    release.opens_at = now - timedelta(days=20)
    release.first_deadline = now - timedelta(days=10)
    release.second_deadline = now - timedelta(days=1)
    release.save()
    ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=now + timedelta(days=1),
        second_deadline=now + timedelta(days=2),
    )
    body = learner_client.get(URL).content.decode()
    assert body.count('class="open-project"') == 1
    assert "Python Generators" in body
    assert "Extended for you" in body


def test_it_leaves_out_projects_not_open_now(
    learner_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    now = timezone.now()
    ProjectReleaseFactory(
        cohort=cohort, project=ProjectFactory(title="Not Yet"), opens_at=now + timedelta(days=3)
    )
    ProjectReleaseFactory(
        cohort=cohort, project=ProjectFactory(title="Long Gone"), opens_at=now - timedelta(days=60)
    )
    body = learner_client.get(URL).content.decode()
    assert body.count('class="open-project"') == 1
    assert "Python Generators" in body
    assert "Long Gone" not in body.split("Overall score")[0]
    # Not open yet, but due within two weeks: on the radar, marked as opening later.
    assert "Not Yet" in body
    assert "Opens " in body


def test_it_tells_learners_when_nothing_is_open(
    learner_client: Client, release: ProjectRelease
) -> None:
    release.opens_at = timezone.now() + timedelta(days=20)
    release.first_deadline = release.opens_at + timedelta(days=5)
    release.second_deadline = release.first_deadline + timedelta(days=5)
    release.save()
    body = learner_client.get(URL).content.decode()
    assert "No project is open right now." in body
    assert "Python Generators" not in body


# --- Learners: scores, progress, chart, feedback, peer reviews ---------------------------


def test_it_computes_the_overall_score_from_weighted_module_scores(
    learner_client: Client, learner: User, cohort: Cohort, release: ProjectRelease
) -> None:
    basics, web = ModuleFactory(title="Basics"), ModuleFactory(title="Web")
    light = release_in(cohort, "Light", module=basics, weight=1, opened_days_ago=9)
    heavy = release_in(cohort, "Heavy", module=basics, weight=3, opened_days_ago=9)
    api = release_in(cohort, "API", module=web, weight=2, opened_days_ago=9)
    missed = release_in(
        cohort, "Missed", module=web, weight=2, opened_days_ago=20, first_in_days=-9,
        second_in_days=-2,
    )  # fmt: skip
    waiting = release_in(cohort, "Waiting", module=web, weight=5, opened_days_ago=20,
                         first_in_days=-9, second_in_days=-2)  # fmt: skip
    scored(learner, light, "100.00")
    scored(learner, heavy, "50.00", status="changes_requested")
    scored(learner, api, "80.00")
    scored(learner, waiting, None, status="waiting")  # handed in, not reviewed: not counted
    assert missed  # past its second deadline with nothing handed in: counts 0

    body = learner_client.get(URL).content.decode()
    # Basics: (100×1 + 50×3) / 4 = 62.5; Web: (80×2 + 0×2) / 4 = 40; overall (62.5 + 40) / 2.
    assert '<p class="dash-score mb-1"' in body
    assert re.search(r'class="dash-score[^>]*>51\.3%<', body)
    assert "62.5%" in body
    assert "40%" in body
    assert "4 projects count so far." in body
    assert "How it's computed" in body
    # Done means a score of at least PASSING_SCORE (50): Light and Heavy in Basics, API in Web.
    assert "2 of 2 done" in body
    assert "1 of 3 done" in body
    assert body.count("<progress ") == 3  # Basics, Web, and the fixture project's module


def test_it_draws_the_score_chart_with_a_text_fallback(
    learner_client: Client, learner: User, cohort: Cohort, release: ProjectRelease
) -> None:
    earlier = release_in(cohort, "Earlier Project", opened_days_ago=9)
    scored(learner, earlier, "120.00", reviewed_at=timezone.now() - timedelta(days=5))
    scored(learner, release, "75.50", reviewed_at=timezone.now() - timedelta(days=1))
    body = learner_client.get(URL).content.decode()
    assert '<svg class="score-chart"' in body
    assert 'role="img"' in body
    assert (
        'aria-label="Score per project over time: 2 projects scored, from 75.5% to 120%; '
        'latest Python Generators 75.5%."' in body
    )
    assert body.count('<circle class="chart-point"') == 2
    assert "<title>Earlier Project: 120%, reviewed" in body
    assert "<caption>Score per project, by review date</caption>" in body
    assert '<th scope="row">Earlier Project</th><td>120%</td>' in body
    assert "style=" not in body


def test_the_chart_escapes_project_titles(
    learner_client: Client, learner: User, cohort: Cohort
) -> None:
    hostile = release_in(cohort, "<script>x</script> & 'Co'", opened_days_ago=9)
    scored(learner, hostile, "80.00", reviewed_at=timezone.now() - timedelta(days=2))
    body = learner_client.get(URL).content.decode()
    escaped = "&lt;script&gt;x&lt;/script&gt; &amp; &#x27;Co&#x27;"
    assert f"<title>{escaped}: 80%, reviewed" in body
    assert f'<th scope="row">{escaped}</th><td>80%</td>' in body
    assert "<script>x" not in body


def test_it_explains_the_empty_chart(learner_client: Client) -> None:
    body = learner_client.get(URL).content.decode()
    assert "score-chart" not in body
    assert "No scored project yet." in body


def test_feedback_is_quoted_as_escaped_plain_text_cut_to_180_characters(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    long = "Check `a < b & c` first.\n\n<script>alert(1)</script>\n\n" + "word " * 100
    scored(learner, release, "90.00", feedback=long)
    body = learner_client.get(URL).content.decode()
    excerpt = re.search(r'<p class="small mb-0 dash-feedback-text">([^<]*)</p>', body)
    assert excerpt is not None
    text = html.unescape(excerpt.group(1))
    assert text.startswith("Check a < b & c first. word word")
    assert "alert" not in text
    assert len(text) == 180 and text.endswith("…")


def test_it_shows_the_latest_three_decisions_as_feedback(
    learner_client: Client, learner: User, cohort: Cohort, release: ProjectRelease
) -> None:
    now = timezone.now()
    mentor = UserFactory(display_name="Mia Mentor")
    attempts = []
    for days, title in ((4, "Oldest"), (3, "Third"), (2, "Second"), (1, "Latest")):
        other = release_in(cohort, title, opened_days_ago=9)
        scored(
            learner, other, "90.00", reviewer=mentor,
            reviewed_at=now - timedelta(days=days), feedback=f"**{title}** feedback",
        )  # fmt: skip
        attempts.append(other.attempts.get())
    draft_iteration = IterationFactory(attempt=AttemptFactory(learner=learner, release=release))
    ReviewFactory(iteration=draft_iteration, submitted_at=None, decision="", feedback="Draft!")
    body = learner_client.get(URL).content.decode()
    feedback = body.split('id="feedback-heading"')[1]
    assert feedback.count('class="dash-feedback-item"') == 3
    assert "Latest feedback" in feedback
    order = [feedback.index(f">{title}</a>") for title in ("Latest", "Second", "Third")]
    assert order == sorted(order)
    assert ">Oldest</a>" not in feedback
    assert "Draft!" not in feedback
    assert f'href="/attempts/{attempts[-1].pk}/"' in feedback
    assert "Mia Mentor" in feedback
    assert "<strong>" not in feedback  # Markdown shown as plain text
    assert "Latest feedback" in feedback


def test_the_curriculum_marks_projects_done_at_the_passing_score(
    learner_client: Client, learner: User, cohort: Cohort, release: ProjectRelease
) -> None:
    below = release_in(cohort, "Below The Bar", module=release.project.module, opened_days_ago=9)
    AttemptFactory(learner=learner, release=release, status="approved", score=Decimal(50))
    AttemptFactory(learner=learner, release=below, status="approved", score=Decimal("49.99"))
    body = learner_client.get("/curriculum/").content.decode()
    assert "1 of 2 projects done" in body
    assert body.count("state-done") == 1


def test_it_shows_peer_reviews_owed(learner_client: Client) -> None:
    body = learner_client.get(URL).content.decode()
    assert "Peer reviews owed" in body
    assert "Nothing owed." in body


# --- Learners: the workload radar --------------------------------------------------------

# Monday 3 March 2025, 09:00 UTC (12:00 in Nairobi).
RADAR_NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def dated_release(cohort: Cohort, title: str, first: datetime, opens: datetime) -> ProjectRelease:
    return ProjectReleaseFactory(
        cohort=cohort,
        project=ProjectFactory(title=title),
        opens_at=opens,
        first_deadline=first,
        second_deadline=first + timedelta(days=7),
    )


@pytest.fixture
def radar_cohort(db: None) -> tuple[User, Cohort]:
    """A learner with deadlines around RADAR_NOW: A–B clash, C–E clash (E by extension)."""
    cohort = CohortFactory(name="Radar Cohort", slug="radar", time_zone="Africa/Nairobi")
    learner = UserFactory(display_name="Rita Radar")
    MembershipFactory(user=learner, cohort=cohort, role="learner")
    opened = RADAR_NOW - timedelta(days=3)
    dated_release(cohort, "Alpha", datetime(2025, 3, 5, 20, 59, tzinfo=UTC), opened)
    dated_release(cohort, "Bravo", datetime(2025, 3, 7, 9, 0, tzinfo=UTC), opened)  # +36 h 1 min
    dated_release(cohort, "Charlie", datetime(2025, 3, 12, 20, 59, tzinfo=UTC), opened)
    echo = dated_release(cohort, "Echo", datetime(2025, 3, 25, 20, 59, tzinfo=UTC), opened)
    ExtensionFactory(
        release=echo,
        learner=learner,
        first_deadline=datetime(2025, 3, 13, 20, 59, tzinfo=UTC),  # 24 h after Charlie
        second_deadline=datetime(2025, 3, 20, 20, 59, tzinfo=UTC),
        created_at=RADAR_NOW - timedelta(days=1),
    )
    delta = dated_release(cohort, "Delta", datetime(2025, 3, 6, 12, 0, tzinfo=UTC), opened)
    AttemptFactory(learner=learner, release=delta, status="approved", score=Decimal(100))
    # The radar ends with the 14th day (Sun 16 March, Nairobi): Foxtrot is beyond it.
    dated_release(cohort, "Foxtrot", datetime(2025, 3, 16, 21, 0, tzinfo=UTC), opened)
    # Opens on Friday, due the Monday after: on the radar, without a link yet.
    dated_release(
        cohort, "Golf", datetime(2025, 3, 10, 6, 0, tzinfo=UTC), RADAR_NOW + timedelta(days=4)
    )
    return learner, cohort


def test_the_radar_lists_the_next_fourteen_days_and_explains_clashes(
    radar_cohort: tuple[User, Cohort],
) -> None:
    learner, _ = radar_cohort
    with time_machine.travel(RADAR_NOW, tick=False):
        body = client_for(learner).get(URL).content.decode()
    radar = body.split('id="radar-heading"')[1].split("</section>")[0]
    titles = re.findall(r'class="fw-semibold"[^>]*>([A-Z][a-z]+)<', radar)
    assert titles == ["Alpha", "Bravo", "Golf", "Charlie", "Echo"]
    assert "Delta" not in radar  # approved: no workload left
    assert "Foxtrot" not in radar  # beyond the 14th day
    assert "2 clashes:" in radar
    assert radar.count('class="radar-entry radar-entry-clash"') == 4
    assert radar.count('class="radar-entry"') == 1  # Golf
    assert "Clash: Within 48 hours of Bravo (Fri 7 Mar, 12:00)" in radar
    assert "Clash: Within 48 hours of Alpha (Wed 5 Mar, 23:59)" in radar
    assert "Clash: Within 48 hours of Echo (Thu 13 Mar, 23:59)" in radar
    assert "Clash: Within 48 hours of Charlie (Wed 12 Mar, 23:59)" in radar
    assert "Wed 5 Mar, 23:59 EAT" in radar
    assert "Extended for you" in radar  # Echo's extension moved it onto the radar
    assert "Opens Fri 7 Mar" in radar
    assert 'href="/projects/' in radar and "Golf</a>" not in radar
    # The day strip: 14 days from today, clash days marked.
    assert radar.count('class="radar-day') == 14
    assert "Monday 3 March (today): no deadline" in radar
    assert "Wednesday 5 March: 1 deadline, clash" in radar
    assert "Sunday 16 March: no deadline" in radar
    assert "Monday 10 March: 1 deadline<" in radar


def test_the_radar_has_no_clash_for_deadlines_two_days_apart(
    radar_cohort: tuple[User, Cohort],
) -> None:
    learner, _ = radar_cohort
    # A day later Alpha's first deadline has passed: it races its second (12 Mar), which
    # now clashes with Charlie (same evening) and Echo; Bravo stands alone.
    with time_machine.travel(datetime(2025, 3, 6, 9, 0, tzinfo=UTC), tick=False):
        body = client_for(learner).get(URL).content.decode()
    radar = body.split('id="radar-heading"')[1].split("</section>")[0]
    assert re.search(r"Alpha</a>\s*<span [^>]*>· second deadline", radar)
    assert (
        "Clash: Within 48 hours of Charlie (Wed 12 Mar, 23:59) and Echo (Thu 13 Mar, 23:59)"
        in radar
    )
    assert "Within 48 hours of Bravo" not in radar


def test_the_radar_leaves_out_work_handed_in(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    AttemptFactory(learner=learner, release=release)  # waiting for review
    body = learner_client.get(URL).content.decode()
    assert "No deadline in the next 14 days for work you still have to hand in." in body
    assert "radar-clash-summary" not in body
    assert "radar-entry" not in body


# --- Mentors -----------------------------------------------------------------------------


def learner_in(cohort: Cohort, name: str) -> User:
    user = UserFactory(display_name=name)
    MembershipFactory(user=user, cohort=cohort, role="learner")
    return user


def test_it_shows_mentors_their_queue_and_links(
    mentor_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    now = timezone.now()
    for hours in (26, 3):
        attempt = AttemptFactory(learner=learner_in(cohort, f"L{hours}"), release=release)
        IterationFactory(attempt=attempt, number=1, submitted_at=now - timedelta(hours=hours))
    body = mentor_client.get(URL).content.decode()
    assert "Mentoring" in body
    assert "role-badge-mentor" in body
    assert re.search(r"<dt>Waiting for review</dt>\s*<dd>2</dd>", body)
    assert re.search(r"<dt>Oldest wait</dt>\s*<dd><time [^>]*>1 d 2 h</time></dd>", body)
    assert 'href="/review/?cohort=cohort-7"' in body
    assert 'href="/cohorts/cohort-7/progress/"' in body
    assert 'href="/cohorts/cohort-7/schedule/"' in body
    assert "data-countdown" not in body  # the countdown is the learner's race
    assert "Your learning" not in body


def test_it_lists_learners_at_risk_with_their_reasons(
    mentor_client: Client, cohort: Cohort, release: ProjectRelease
) -> None:
    old = release_in(
        cohort, "Old Project", opened_days_ago=20, first_in_days=-10, second_in_days=-3
    )
    behind = learner_in(cohort, "Bo Behind")
    low = learner_in(cohort, "Lou Low")
    fine = learner_in(cohort, "Fay Fine")
    AttemptFactory(learner=low, release=old, status="changes_requested", score=Decimal("40"))
    AttemptFactory(learner=fine, release=old, status="approved", score=Decimal("90"))
    extended = learner_in(cohort, "Ed Extended")
    ExtensionFactory(
        release=old,
        learner=extended,
        first_deadline=timezone.now() + timedelta(days=2),
        second_deadline=timezone.now() + timedelta(days=5),
    )
    assert behind
    body = mentor_client.get(URL).content.decode()
    at_risk = body.split('id="at-risk-')[1]
    assert re.search(r"<dt>At risk</dt>\s*<dd>2</dd>", body)
    assert at_risk.index("Bo Behind") < at_risk.index("Lou Low")  # two reasons come first
    assert "Behind schedule: nothing handed in for Old Project, past its first deadline" in at_risk
    assert "Overall score 0% is below 60%" in at_risk  # missed its second deadline: counts 0
    assert "Overall score 40% is below 60%" in at_risk
    assert "Fay Fine" not in at_risk
    assert "Ed Extended" not in at_risk  # the extension moved the deadline


def test_the_at_risk_threshold_is_a_setting(
    mentor_client: Client, cohort: Cohort, release: ProjectRelease, settings
) -> None:  # type: ignore[no-untyped-def]
    old = release_in(cohort, "Old Project", opened_days_ago=20, first_in_days=-10)
    AttemptFactory(
        learner=learner_in(cohort, "Lou Low"), release=old, status="approved", score=Decimal(55)
    )
    settings.AT_RISK_SCORE = 50
    body = mentor_client.get(URL).content.decode()
    assert "Nobody is behind schedule or below 50% overall." in body


def test_it_shows_the_mentors_reviews_and_median_turnaround(
    mentor_client: Client, mentor: User, cohort: Cohort, release: ProjectRelease
) -> None:
    now = timezone.now()
    # Turnarounds 2 h, 9 h 30 min and 4 h 15 min this week; 1 h eight days ago (left out).
    for hours_waited, reviewed_ago in ((2, 1), (9.5, 30), (4.25, 60), (1, 24 * 8)):
        reviewed_at = now - timedelta(hours=reviewed_ago)
        attempt = AttemptFactory(learner=learner_in(cohort, "L"), release=release)
        iteration = IterationFactory(
            attempt=attempt, number=1, submitted_at=reviewed_at - timedelta(hours=hours_waited)
        )
        ReviewFactory(iteration=iteration, reviewer=mentor, submitted_at=reviewed_at)
    body = mentor_client.get(URL).content.decode()
    assert re.search(
        r'Your reviews in the last 7 days: <strong class="dash-stat-inline">3</strong>\s*'
        r'· median turnaround <strong class="dash-stat-inline">4 h 15 min</strong>',
        body,
    )


def test_the_median_turnaround_of_an_even_count_is_the_mean_of_the_middle_two(
    mentor: User, cohort: Cohort, release: ProjectRelease
) -> None:
    from core.reporting.dashboards import review_stats

    now = timezone.now()
    for hours_waited in (1, 3, 6, 20):
        attempt = AttemptFactory(learner=learner_in(cohort, "L"), release=release)
        iteration = IterationFactory(
            attempt=attempt, number=1, submitted_at=now - timedelta(hours=hours_waited + 1)
        )
        ReviewFactory(iteration=iteration, reviewer=mentor, submitted_at=now - timedelta(hours=1))
    peer_iteration = IterationFactory(
        attempt=AttemptFactory(learner=learner_in(cohort, "P"), release=release), number=1
    )
    ReviewFactory(iteration=peer_iteration, reviewer=mentor, kind="peer")  # not a mentor review
    stats = review_stats(mentor, now)
    assert stats.count == 4
    assert stats.median_turnaround == timedelta(hours=4, minutes=30)
    assert stats.median_label == "4 h 30 min"


def test_a_mentor_without_reviews_sees_dashes(mentor_client: Client) -> None:
    body = mentor_client.get(URL).content.decode()
    assert re.search(r'median turnaround <strong class="dash-stat-inline">–</strong>', body)
    assert "Nobody is behind schedule or below 60% overall." in body


def test_a_learner_who_mentors_elsewhere_sees_both_sections(
    learner: User, release: ProjectRelease
) -> None:
    other = CohortFactory(name="Cohort 8", slug="cohort-8")
    MembershipFactory(user=learner, cohort=other, role="mentor")
    body = client_for(learner).get(URL).content.decode()
    assert "Your learning" in body
    assert "Mentoring" in body
    assert 'href="/cohorts/cohort-8/progress/"' in body
    assert 'href="/review/?cohort=cohort-8"' in body
    assert 'href="/cohorts/cohort-7/progress/"' not in body
    assert "data-countdown" in body


# --- Reviewers, staff, nobody ------------------------------------------------------------


def test_it_shows_reviewers_their_cohort_and_the_curriculum(
    reviewer_client: Client, release: ProjectRelease
) -> None:
    body = reviewer_client.get(URL).content.decode()
    assert "role-badge-reviewer" in body
    assert "Cohort 7" in body
    assert "Python Generators" in body
    assert 'href="/curriculum/?cohort=cohort-7"' in body
    assert "/cohorts/cohort-7/schedule/" not in body
    assert "/cohorts/cohort-7/progress/" not in body
    assert "soon" not in body.lower()


def test_it_shows_staff_the_admin_and_every_cohort(staff_client: Client, cohort: Cohort) -> None:
    CohortFactory(name="Cohort 8", slug="cohort-8")
    body = staff_client.get(URL).content.decode()
    assert 'href="/admin/"' in body
    for slug in ("cohort-7", "cohort-8"):
        assert f'href="/cohorts/{slug}/schedule/"' in body
        assert f'href="/cohorts/{slug}/progress/"' in body
    assert "You are not in a cohort yet" not in body


def test_it_keeps_the_empty_state_for_users_without_a_cohort(outsider_client: Client) -> None:
    body = outsider_client.get(URL).content.decode()
    assert "You are not in a cohort yet" in body
    assert "membership-card" not in body
    assert "Your learning" not in body


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: None) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/dashboard/"


def test_it_refuses_post(learner_client: Client) -> None:
    assert learner_client.post(URL).status_code == 405


# --- Query counts ------------------------------------------------------------------------


def grow_learner(learner: User, cohort: Cohort, size: int) -> None:
    """``size`` modules of two projects each, half scored, some extended, reviews behind them."""
    for index in range(size):
        module = ModuleFactory()
        for offset in (0, 1):
            release = release_in(
                cohort, f"P{index}-{offset}", module=module, opened_days_ago=5 + offset
            )
            if offset:
                scored(learner, release, "80.00", reviewed_at=timezone.now() - timedelta(days=1))
            else:
                ExtensionFactory(release=release, learner=learner)
        other = CohortFactory(slug=f"extra-learning-{index}")
        MembershipFactory(user=learner, cohort=other, role="learner")
        release_in(other, f"Q{index}")


def grow_mentor(mentor: User, cohort: Cohort, size: int) -> None:
    """``size`` more mentored cohorts, and ``size`` learners with work in each cohort."""
    cohorts = [cohort]
    for index in range(size):
        other = CohortFactory(slug=f"extra-mentoring-{index}")
        MembershipFactory(user=mentor, cohort=other, role="mentor")
        cohorts.append(other)
    for target in cohorts:
        past = release_in(target, "Past", opened_days_ago=20, first_in_days=-10)
        for _ in range(size):
            learner = learner_in(target, "L")
            attempt = AttemptFactory(learner=learner, release=past, score=Decimal(30))
            iteration = IterationFactory(attempt=attempt, number=1)
            ReviewFactory(iteration=iteration, reviewer=mentor)
            ExtensionFactory(release=past, learner=learner_in(target, "Late"))


@pytest.mark.parametrize("size", [1, 10])
def test_the_learner_home_costs_a_constant_number_of_queries(
    learner: User,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    grow_learner(learner, cohort, size)
    client = client_for(learner)
    # Cold cache (but the session comes from the cache):
    # 1. user  2. memberships with cohort and program (also the nav's)
    # 3. the learner's releases  4. their extensions
    # 5. the learner's attempts with the date of the review behind each score
    # 6. the programs' projects with their module  7. the three latest reviews
    # 8. peer reviews owed (attempts with the reviews given per project)
    with django_assert_num_queries(8):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.content.decode().count('class="open-project"') == 1 + 3 * size
    # Warm cache: the user and the memberships; the learner's section is one rendered
    # fragment (a peer review the learner gives bumps their own version).
    with django_assert_num_queries(2):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.content.decode().count('class="open-project"') == 1 + 3 * size


@pytest.mark.parametrize("size", [1, 10])
def test_the_mentor_home_costs_a_constant_number_of_queries(
    mentor: User,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    grow_mentor(mentor, cohort, size)
    client = client_for(mentor)
    # Cold cache (but the session comes from the cache), no standings yet:
    # 1. user  2. memberships with cohort and program (also the nav's)
    # 3. the cohorts' releases  4. their learners with standings  5. the missing standings
    # created  6. savepoint  7. the standings locked  8. attempts  9. extensions
    # 10. standings stored  11. savepoint released  12. waiting iterations per cohort
    # 13. the mentor's reviews of the last 7 days
    at_risk = (size + 1) * min(size * 2, AT_RISK_LISTED)
    with django_assert_num_queries(13):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.content.decode().count('class="dash-at-risk-item"') == at_risk
    # An empty cache, standings kept: 1–4, 12 and 13, and the session from the database.
    cache.clear()
    with django_assert_num_queries(7):
        response = client.get(URL)
    assert response.content.decode().count('class="dash-at-risk-item"') == at_risk
    # Warm cache: user, memberships; the mentor's section is one rendered fragment
    # (their own reviews bump the cohort's version, so its count is never stale).
    with django_assert_num_queries(2):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.content.decode().count('class="dash-at-risk-item"') == at_risk


@pytest.mark.parametrize("size", [1, 10])
def test_the_home_of_a_learner_who_mentors_costs_a_constant_number_of_queries(
    learner: User,
    cohort: Cohort,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    grow_learner(learner, cohort, size)
    mentored = CohortFactory(slug="mentored")
    MembershipFactory(user=learner, cohort=mentored, role="mentor")
    grow_mentor(learner, mentored, size)
    client = client_for(learner)
    # Cold: the 2 of every page, 6 for the learner's part, 11 for the mentor's part (see
    # above: its standings are computed and stored).
    with django_assert_num_queries(19):
        cold = client.get(URL)
    # Warm: the 2 of every page; each section is one rendered fragment.
    with django_assert_num_queries(2):
        warm = client.get(URL)
    for response in (cold, warm):
        assert response.status_code == 200
        body = response.content.decode()
        assert body.count('class="open-project"') == 1 + 3 * size
        assert 'href="/cohorts/mentored/progress/"' in body
        assert body.count('class="dash-at-risk-item"') == (size + 1) * min(size * 2, AT_RISK_LISTED)


@pytest.mark.parametrize("size", [1, 10])
def test_the_staff_home_costs_a_constant_number_of_queries(
    staff: User,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for index in range(size):
        ProjectReleaseFactory(cohort=CohortFactory(slug=f"extra-{index}"))
    client = client_for(staff)
    # (The session comes from the cache.) 1. user  2. memberships (none)
    # 3. cohorts with their program
    with django_assert_num_queries(3):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.content.decode().count("/progress/") == size


@pytest.mark.parametrize("size", [1, 10])
def test_the_reviewer_home_costs_a_constant_number_of_queries(
    reviewer: User,
    size: int,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for index in range(size):
        other = CohortFactory(slug=f"extra-{index}")
        MembershipFactory(user=reviewer, cohort=other, role="reviewer")
        ProjectReleaseFactory(cohort=other)
    client = client_for(reviewer)
    # (The session comes from the cache.) 1. user  2. memberships  3. open releases with
    # project and module  4. the user's extensions on them (prefetch)
    with django_assert_num_queries(4):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.content.decode().count('class="open-project"') == 1 + size


def test_pages_stay_free_of_inline_styles(
    learner_client: Client, mentor_client: Client, learner: User, release: ProjectRelease
) -> None:
    scored(learner, release, "88.00")
    # Each page with the parts that could carry a style: the chart, the radar, the stats.
    present = {
        learner_client: ["Your learning", '<svg class="score-chart"', 'class="radar-day'],
        mentor_client: ["Mentoring", "<dt>Waiting for review</dt>", "Your reviews in the last"],
    }
    for client, parts in present.items():
        response = client.get(URL)
        assert response.status_code == 200
        body = response.content.decode()
        for part in parts:
            assert part in body
        assert "style=" not in body
        assert "<script>" not in body
        assert " on" + "click=" not in body
        assert "hx-on" not in body


def test_module_progress_counts_only_the_projects_the_program_still_has(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    """A project dropped from the program's files (archived) no longer counts in its
    module's "N of M done"."""
    module = release.project.module
    AttemptFactory(learner=learner, release=release, status="approved", score=Decimal(80))
    ProjectFactory(module=module, order=99, title="Dropped", archived=True)
    body = html.unescape(learner_client.get(URL).content.decode())
    progress = body.split(f'id="module-{release.cohort_id}-{module.pk}"')[1]
    assert re.search(r"</span>\s*<span[^>]*>1 of 1 done", progress)

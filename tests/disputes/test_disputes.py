"""Disputes: a learner contests a failed verdict within the window; a mentor who did not
give it upholds or overturns it; an overturned verdict recomputes the score."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture
from pytest_django.fixtures import Settings

from core.disputes.services import DisputeError, dispute_claim, dispute_open, dispute_resolve
from core.models import (
    Attempt,
    AuditEvent,
    Cohort,
    Dispute,
    EmailPreference,
    Iteration,
    Notification,
    ProjectRelease,
    Review,
    User,
    Verdict,
)
from tests.conftest import client_for
from tests.disputes.conftest import decide
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    ReviewFactory,
    UserFactory,
    VerdictFactory,
)

pytestmark = pytest.mark.django_db

REASON = "Task 1 yields each batch lazily: see `batch_rows` in commit abc123."


def open_dispute(learner: User, verdict: Verdict, capture: Capture | None = None) -> Dispute:
    if capture is None:
        return dispute_open(learner=learner, verdict=verdict, reason=REASON)
    with capture(execute=True):
        return dispute_open(learner=learner, verdict=verdict, reason=REASON)


def resolve(dispute: Dispute, user: User, outcome: str, capture: Capture) -> Dispute:
    with capture(execute=True):
        dispute_claim(dispute=dispute, user=user)
        return dispute_resolve(
            dispute=dispute, user=user, outcome=outcome, comment="Checked the commit: it does."
        )


# --- Opening: the window, one open per verdict, the limits ------------------------------


def test_a_dispute_goes_to_a_mentor_who_did_not_give_the_verdict(
    learner: User,
    mentor: User,
    second_mentor: User,
    failed_verdict: Verdict,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    dispute = open_dispute(learner, failed_verdict, django_capture_on_commit_callbacks)
    assert dispute.status == Dispute.Status.OPEN
    assert dispute.verdict_author == mentor
    assert dispute.assigned_to == second_mentor
    assert AuditEvent.objects.filter(action="dispute_opened", object_id=str(dispute.pk)).exists()
    told = Notification.objects.get(kind=Notification.Kind.DISPUTE_OPENED)
    assert told.user == second_mentor
    assert told.url == f"/disputes/{dispute.pk}/"
    assert not Notification.objects.filter(kind="dispute_opened", user=mentor).exists()


def test_with_no_other_mentor_in_the_cohort_staff_decide(
    learner: User,
    staff: User,
    failed_verdict: Verdict,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    dispute = open_dispute(learner, failed_verdict, django_capture_on_commit_callbacks)
    assert dispute.assigned_to is None
    assert Notification.objects.get(kind="dispute_opened").user == staff
    assert Dispute.objects.handled_by(staff).filter(pk=dispute.pk).exists()


def test_routing_spreads_disputes_over_the_other_mentors(
    learner: User, second_mentor: User, failed_verdict: Verdict, cohort: Cohort
) -> None:
    third = UserFactory(display_name="Tess Mentor")
    MembershipFactory(user=third, cohort=cohort, role="mentor")
    first = open_dispute(learner, failed_verdict)
    other = failed_verdict.review.verdicts.get(task__number=2)
    second = open_dispute(learner, other)
    assert {first.assigned_to, second.assigned_to} == {second_mentor, third}


def test_a_verdict_can_be_contested_until_the_window_closes(
    learner: User, failed_verdict: Verdict
) -> None:
    closes = failed_verdict.review.submitted_at + timedelta(days=settings.DISPUTE_WINDOW_DAYS)
    too_late = time_machine.travel(closes + timedelta(seconds=1), tick=False)
    with too_late, pytest.raises(DisputeError, match="7 days after the review"):
        open_dispute(learner, failed_verdict)
    with time_machine.travel(closes, tick=False):
        assert open_dispute(learner, failed_verdict).is_open


def test_the_window_is_a_setting(
    learner: User, failed_verdict: Verdict, settings: Settings
) -> None:
    settings.DISPUTE_WINDOW_DAYS = 1
    later = failed_verdict.review.submitted_at + timedelta(days=1, minutes=1)
    too_late = time_machine.travel(later, tick=False)
    with too_late, pytest.raises(DisputeError, match="1 days after the review"):
        open_dispute(learner, failed_verdict)


def test_one_open_dispute_per_verdict(
    learner: User,
    second_mentor: User,
    failed_verdict: Verdict,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    dispute = open_dispute(learner, failed_verdict)
    with pytest.raises(DisputeError, match="already disputed"):
        open_dispute(learner, failed_verdict)
    assert Dispute.objects.filter(verdict=failed_verdict).count() == 1
    # Decided, it may be contested again (the attempt's limit still counts it).
    resolve(dispute, second_mentor, "upheld", django_capture_on_commit_callbacks)
    assert open_dispute(learner, failed_verdict).is_open


def test_an_attempt_carries_a_limited_number_of_disputes(
    learner: User, decided: Review, settings: Settings
) -> None:
    settings.DISPUTES_PER_ATTEMPT = 1
    open_dispute(learner, decided.verdicts.get(task__number=1))
    with pytest.raises(DisputeError, match="1 disputes at most"):
        open_dispute(learner, decided.verdicts.get(task__number=2))


def test_only_failed_verdicts_of_ones_own_deciding_review_are_disputable(
    learner: User, decided: Review, cohort: Cohort
) -> None:
    with pytest.raises(DisputeError, match="Only a failed verdict"):
        open_dispute(learner, decided.verdicts.get(task__number=0))
    classmate = UserFactory()
    MembershipFactory(user=classmate, cohort=cohort, role="learner")
    with pytest.raises(DisputeError, match="your own work"):
        open_dispute(classmate, decided.verdicts.get(task__number=1))
    assert not Dispute.objects.exists()


def test_a_reason_is_required(learner: User, failed_verdict: Verdict) -> None:
    with pytest.raises(DisputeError, match="Write why"):
        dispute_open(learner=learner, verdict=failed_verdict, reason="   ")


# --- Deciding: upheld and overturned, with the score ---------------------------------------


def test_upheld_keeps_the_verdict_and_the_score(
    learner: User,
    second_mentor: User,
    failed_verdict: Verdict,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    attempt = Attempt.objects.get(learner=learner)
    assert attempt.score == Decimal("50.00")
    dispute = resolve(
        open_dispute(learner, failed_verdict),
        second_mentor,
        "upheld",
        django_capture_on_commit_callbacks,
    )
    assert dispute.status == Dispute.Status.UPHELD
    failed_verdict.refresh_from_db()
    attempt.refresh_from_db()
    assert failed_verdict.passed is False
    assert attempt.score == Decimal("50.00")
    told = Notification.objects.get(user=learner, kind="dispute_resolved")
    assert "not accepted" in told.title


def test_overturned_reverses_the_verdict_and_recomputes_the_score(
    learner: User,
    second_mentor: User,
    failed_verdict: Verdict,
    django_capture_on_commit_callbacks: Capture,
    learner_client: Client,
) -> None:
    attempt = Attempt.objects.get(learner=learner)
    dispute = resolve(
        open_dispute(learner, failed_verdict),
        second_mentor,
        "overturned",
        django_capture_on_commit_callbacks,
    )
    failed_verdict.refresh_from_db()
    attempt.refresh_from_db()
    assert failed_verdict.passed is True
    assert dispute.was_passed is False  # what it was stays on the dispute
    # Both mandatory tasks pass now: M = 100%, A = 0%, before the first deadline.
    assert attempt.score == Decimal("100.00")
    event = AuditEvent.objects.get(action="dispute_resolved", object_id=str(dispute.pk))
    assert event.actor == second_mentor
    assert event.detail["outcome"] == "overturned"
    assert event.detail["score"] == ["50.00", "100.00"]
    told = Notification.objects.get(user=learner, kind="dispute_resolved")
    assert "now passes" in told.title and "100%" in told.body
    # The receipt counts the new verdict and says why.
    page = learner_client.get(attempt.get_absolute_url()).content.decode()
    assert "100.00%" in page
    assert "overturned on dispute" in page  # on task 1's line
    assert "Checked the commit: it does." in page


def test_deciding_needs_the_disputes_claim(
    learner: User,
    second_mentor: User,
    staff: User,
    failed_verdict: Verdict,
) -> None:
    dispute = open_dispute(learner, failed_verdict)
    with pytest.raises(DisputeError, match="Claim this dispute"):
        dispute_resolve(dispute=dispute, user=second_mentor, outcome="upheld", comment="No.")
    dispute_claim(dispute=dispute, user=second_mentor)
    with pytest.raises(DisputeError, match="Noor Mentor is deciding"):
        dispute_claim(dispute=dispute, user=staff)
    with pytest.raises(DisputeError, match="Claim this dispute"):
        dispute_resolve(dispute=dispute, user=staff, outcome="overturned", comment="Yes.")
    # An expired claim is anyone's again.
    later = dispute.created_at + timedelta(minutes=settings.CLAIM_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        dispute_claim(dispute=dispute, user=staff)
        assert dispute_resolve(dispute=dispute, user=staff, outcome="upheld", comment="No.")


def test_each_claim_is_audited_and_a_refused_one_is_not(
    learner: User,
    second_mentor: User,
    staff: User,
    failed_verdict: Verdict,
) -> None:
    dispute = open_dispute(learner, failed_verdict)

    def claims() -> list[tuple[User | None, str]]:
        events = AuditEvent.objects.filter(action="dispute_claimed").order_by("created_at", "pk")
        return [(event.actor, event.object_type) for event in events]

    dispute_claim(dispute=dispute, user=second_mentor)
    assert claims() == [(second_mentor, "core.dispute")]
    assert AuditEvent.objects.get(action="dispute_claimed").object_id == str(dispute.pk)
    with pytest.raises(DisputeError, match="Noor Mentor is deciding"):
        dispute_claim(dispute=dispute, user=staff)
    assert claims() == [(second_mentor, "core.dispute")]  # refused: nothing recorded
    # Once her claim expires, staff's claim is recorded too.
    later = dispute.created_at + timedelta(minutes=settings.CLAIM_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        dispute_claim(dispute=dispute, user=staff)
    assert claims() == [(second_mentor, "core.dispute"), (staff, "core.dispute")]


def test_a_decided_dispute_is_not_decided_again(
    learner: User,
    second_mentor: User,
    failed_verdict: Verdict,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    dispute = resolve(
        open_dispute(learner, failed_verdict),
        second_mentor,
        "upheld",
        django_capture_on_commit_callbacks,
    )
    with pytest.raises(DisputeError, match="decided already"):
        dispute_resolve(dispute=dispute, user=second_mentor, outcome="overturned", comment="Hm.")
    failed_verdict.refresh_from_db()
    assert failed_verdict.passed is False


def test_a_comment_is_required_to_decide(
    learner: User, second_mentor: User, failed_verdict: Verdict
) -> None:
    dispute = open_dispute(learner, failed_verdict)
    dispute_claim(dispute=dispute, user=second_mentor)
    with pytest.raises(DisputeError, match="comment for the learner"):
        dispute_resolve(dispute=dispute, user=second_mentor, outcome="upheld", comment="")


# --- The pages and who may open them --------------------------------------------------------


def test_the_learner_contests_a_verdict_from_the_attempt_page(
    learner: User,
    learner_client: Client,
    second_mentor: User,
    failed_verdict: Verdict,
) -> None:
    attempt = Attempt.objects.get(learner=learner)
    page = learner_client.get(attempt.get_absolute_url()).content.decode()
    assert f'href="/attempts/{attempt.pk}/dispute/"' in page
    form = learner_client.get(f"/attempts/{attempt.pk}/dispute/").content.decode()
    assert "Task 1. Batch rows (iteration 1)" in form
    assert "Task 0." not in form  # passed: nothing to contest
    response = learner_client.post(
        f"/attempts/{attempt.pk}/dispute/", {"verdict": failed_verdict.pk, "reason": REASON}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/attempts/{attempt.pk}/#disputes"
    dispute = Dispute.objects.get()
    assert dispute.reason == REASON and dispute.assigned_to == second_mentor
    page = learner_client.get(attempt.get_absolute_url()).content.decode()
    assert "waiting for a decision" in page


def test_the_dispute_form_refuses_an_empty_reason_and_another_verdict(
    learner: User, learner_client: Client, decided: Review
) -> None:
    attempt = Attempt.objects.get(learner=learner)
    passed = decided.verdicts.get(task__number=0)
    response = learner_client.post(
        f"/attempts/{attempt.pk}/dispute/", {"verdict": passed.pk, "reason": ""}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Choose one of the failed verdicts listed." in body
    assert "Say why you contest this verdict." in body
    assert not Dispute.objects.exists()


def test_the_reason_is_bounded(
    learner: User, learner_client: Client, failed_verdict: Verdict
) -> None:
    attempt = Attempt.objects.get(learner=learner)
    response = learner_client.post(
        f"/attempts/{attempt.pk}/dispute/",
        {"verdict": failed_verdict.pk, "reason": "x" * (settings.MARKDOWN_MAX_CHARS + 1)},
    )
    assert response.status_code == 200
    assert not Dispute.objects.exists()


def test_past_the_window_the_attempt_page_offers_no_dispute(
    learner: User, learner_client: Client, failed_verdict: Verdict
) -> None:
    attempt = Attempt.objects.get(learner=learner)
    later = failed_verdict.review.submitted_at + timedelta(
        days=settings.DISPUTE_WINDOW_DAYS, hours=1
    )
    with time_machine.travel(later, tick=False):
        page = learner_client.get(attempt.get_absolute_url()).content.decode()
        form = learner_client.get(f"/attempts/{attempt.pk}/dispute/").content.decode()
    assert "/dispute/" not in page
    assert "No verdict to contest" in form


def test_only_the_learner_opens_the_dispute_form(
    learner: User, mentor: User, staff: User, cohort: Cohort, failed_verdict: Verdict
) -> None:
    attempt = Attempt.objects.get(learner=learner)
    classmate = UserFactory()
    MembershipFactory(user=classmate, cohort=cohort, role="learner")
    for user in (classmate, mentor, staff):
        client = client_for(user)
        assert client.get(f"/attempts/{attempt.pk}/dispute/").status_code == 404
        response = client.post(
            f"/attempts/{attempt.pk}/dispute/", {"verdict": failed_verdict.pk, "reason": REASON}
        )
        assert response.status_code == 404
    assert not Dispute.objects.exists()
    assert Client().get(f"/attempts/{attempt.pk}/dispute/").status_code == 302


def test_who_sees_a_dispute(
    learner: User,
    mentor: User,
    second_mentor: User,
    staff: User,
    cohort: Cohort,
    failed_verdict: Verdict,
) -> None:
    """Its learner and those who may decide it; never another learner, another cohort's
    mentor, or the mentor whose verdict it contests."""
    dispute = open_dispute(learner, failed_verdict)
    classmate = UserFactory()
    MembershipFactory(user=classmate, cohort=cohort, role="learner")
    elsewhere = UserFactory()
    MembershipFactory(user=elsewhere, cohort=CohortFactory(), role="mentor")
    url = f"/disputes/{dispute.pk}/"
    for user in (learner, second_mentor, staff):
        assert client_for(user).get(url).status_code == 200, user
    for user in (classmate, elsewhere, mentor):
        client = client_for(user)
        assert client.get(url).status_code == 404, user
        assert client.post(f"{url}claim/").status_code == 404, user
        assert client.post(f"{url}resolve/", {"outcome": "overturned"}).status_code == 404
    # The learner reads it but never decides it.
    assert client_for(learner).post(f"{url}claim/").status_code == 404
    assert client_for(learner).post(f"{url}resolve/").status_code == 404
    assert Client().get(url).status_code == 302
    assert client_for(second_mentor).post(url).status_code == 405
    assert client_for(second_mentor).get(f"{url}claim/").status_code == 405
    dispute.refresh_from_db()
    assert dispute.is_open and dispute.claimed_by is None


def test_a_mentor_claims_and_overturns_through_the_pages(
    learner: User,
    second_mentor: User,
    failed_verdict: Verdict,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    dispute = open_dispute(learner, failed_verdict)
    client = client_for(second_mentor)
    page = client.get(f"/disputes/{dispute.pk}/").content.decode()
    assert "Claim to decide" in page and "Task 1 yields each batch lazily" in page
    assert client.post(f"/disputes/{dispute.pk}/claim/").status_code == 302
    page = client.get(f"/disputes/{dispute.pk}/").content.decode()
    assert "Decide" in page and 'name="outcome"' in page
    # No comment: the form says so and nothing changes.
    response = client.post(f"/disputes/{dispute.pk}/resolve/", {"outcome": "overturned"})
    assert response.status_code == 200
    assert "Explain the outcome to the learner." in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/disputes/{dispute.pk}/resolve/",
            {"outcome": "overturned", "comment": "Right: it is lazy."},
        )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OVERTURNED
    assert Attempt.objects.get(learner=learner).score == Decimal("100.00")
    page = client.get(f"/disputes/{dispute.pk}/").content.decode()
    assert "Overturned" in page and "Right: it is lazy." in page


# --- The mentor's queue and the staff board -----------------------------------------------


def make_disputes(release: ProjectRelease, author: User, count: int) -> list[Dispute]:
    """``count`` learners each contesting ``author``'s failed verdict on task 1."""
    task = release.project.tasks.get(number=1)
    disputes = []
    for _ in range(count):
        attempt = AttemptFactory(release=release)
        review = ReviewFactory(
            iteration=IterationFactory(attempt=attempt, number=1),
            reviewer=author,
            decision=Review.Decision.CHANGES_REQUESTED,
        )
        verdict = VerdictFactory(review=review, task=task, passed=False)
        disputes.append(open_dispute(attempt.learner, verdict))
    return disputes


def queue_queries(client: Client) -> tuple[int, str]:
    cache.clear()  # the queue's table is cached: measure the page cold, both times
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/review/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_queue_lists_disputes_to_decide_in_constant_queries(
    release: ProjectRelease, mentor: User, second_mentor: User
) -> None:
    client = client_for(second_mentor)
    make_disputes(release, mentor, 1)
    few, page = queue_queries(client)
    assert page.count('class="queue-dispute') == 1
    assert "routed to you" in page
    make_disputes(release, mentor, 4)
    many, page = queue_queries(client)
    assert page.count('class="queue-dispute') == 5
    assert few == many
    # The author of the verdicts sees none of them.
    assert 'class="queue-dispute' not in client_for(mentor).get("/review/").content.decode()


def test_the_queue_lists_only_the_disputes_of_the_cohorts_its_mentor_mentors(
    release: ProjectRelease, mentor: User, second_mentor: User
) -> None:
    make_disputes(release, mentor, 2)
    elsewhere = UserFactory()
    MembershipFactory(user=elsewhere, cohort=CohortFactory(), role="mentor")
    assert 'class="queue-dispute' not in client_for(elsewhere).get("/review/").content.decode()
    page = client_for(second_mentor).get("/review/").content.decode()
    assert page.count('class="queue-dispute') == 2


def test_the_staff_sla_board_counts_open_disputes_and_their_age(
    release: ProjectRelease,
    mentor: User,
    second_mentor: User,
    staff: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    disputes = make_disputes(release, mentor, 3)
    resolve(disputes[0], second_mentor, "upheld", django_capture_on_commit_callbacks)
    oldest = min(d.created_at for d in disputes[1:])
    with time_machine.travel(oldest + timedelta(hours=30), tick=False):
        page = client_for(staff).get("/staff/sla/").content.decode()
    assert '<span class="fs-5 fw-semibold" id="sla-open-disputes">2</span>' in page
    assert "the oldest waiting 1 d 6 h for a mentor" in page


def test_an_iteration_decided_by_someone_else_later_counts(
    learner: User, mentor: User, second_mentor: User, failed_verdict: Verdict, waiting: Iteration
) -> None:
    """Only the review that decides an iteration can be contested: a later one replaces it."""
    later = ReviewFactory(
        iteration=waiting, reviewer=second_mentor, decision=Review.Decision.APPROVED
    )
    VerdictFactory(review=later, task=failed_verdict.task, passed=True)
    with pytest.raises(DisputeError, match="count towards your score"):
        open_dispute(learner, failed_verdict)


def test_decide_helper_fails_the_named_tasks(waiting: Iteration, mentor: User) -> None:
    review = decide(waiting, mentor, failed=(2,))
    assert sorted(review.verdicts.filter(passed=False).values_list("task__number", flat=True)) == [
        2
    ]


# --- Notifications follow the learner's email preferences ----------------------------------


def test_the_outcome_is_emailed_unless_the_learner_turned_it_off(
    learner: User,
    second_mentor: User,
    decided: Review,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    first = open_dispute(learner, decided.verdicts.get(task__number=1))
    mail.outbox.clear()
    resolve(first, second_mentor, "overturned", django_capture_on_commit_callbacks)
    assert [message.to for message in mail.outbox] == [[learner.email]]
    assert "now passes" in mail.outbox[0].subject
    EmailPreference.objects.create(user=learner, kind="dispute_resolved", enabled=False)
    second = open_dispute(learner, decided.verdicts.get(task__number=2))
    mail.outbox.clear()
    resolve(second, second_mentor, "upheld", django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert Notification.objects.filter(user=learner, kind="dispute_resolved").count() == 2

"""Review SLA: which waiting iterations are past their due times, and telling people once.

Escalation is computed from timestamps on read (``IterationQuerySet.for_mentor_queue``,
``core.peer.services.is_escalated``), so the mentor queue and the staff SLA board
are right without any scheduler. ``escalate_reviews`` (``manage.py escalate_reviews``,
run from cron every few minutes) only adds notifications, each at most once:

- past its peer SLA and still short of its N peer reviews, an iteration is announced
  to the mentors of its cohort ("escalated to mentors");
- past its mentor SLA and still undecided, it is announced to staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from core.models import Iteration, Membership, Notification, Review, User
from core.notifications.services import notify

PEER_KEY = "escalated:peer:{iteration}:{user}"
MENTOR_KEY = "escalated:mentor:{iteration}:{user}"


def with_peer_reviews_in(iterations: QuerySet[Iteration]) -> QuerySet[Iteration]:
    """Annotate ``peer_reviews_in``: how many peer reviews of each iteration are submitted.

    A correlated subquery rather than a join, so the rows are neither grouped nor
    multiplied, and the count can be filtered on next to plain columns.
    """
    submitted = (
        Review.objects.filter(
            iteration=OuterRef("pk"), kind=Review.Kind.PEER, submitted_at__isnull=False
        )
        .order_by()
        .values("iteration")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return iterations.annotate(
        peer_reviews_in=Coalesce(Subquery(submitted, output_field=IntegerField()), Value(0))
    )


def _short_of_peers(now: datetime) -> Q:
    """Past the peer SLA with fewer than the project's N submitted peer reviews."""
    return Q(
        peer_due_at__lte=now,
        peer_reviews_in__lt=F("attempt__release__project__peer_reviews_required"),
    )


def escalated_to_mentors(now: datetime | None = None) -> QuerySet[Iteration]:
    """Waiting iterations past their peer SLA and still short of peer reviews."""
    now = now or timezone.now()
    return with_peer_reviews_in(Iteration.objects.waiting()).filter(_short_of_peers(now))


def sla_breaches(now: datetime | None = None) -> QuerySet[Iteration]:
    """Waiting iterations past an SLA: escalated to mentors, or past the mentor SLA."""
    now = now or timezone.now()
    return with_peer_reviews_in(Iteration.objects.waiting()).filter(
        _short_of_peers(now) | Q(mentor_due_at__lte=now)
    )


@dataclass(frozen=True)
class Notice:
    """One escalation notice for one user, with the key that keeps it single."""

    user: User
    key: str
    title: str
    body: str
    url: str
    iteration_id: int
    due_at: datetime  # when the SLA passed


def peer_notices(now: datetime) -> list[Notice]:
    """One notice per mentor of the cohort for each iteration escalated to mentors."""
    iterations = list(
        escalated_to_mentors(now).select_related(
            "attempt__learner", "attempt__release__project", "attempt__release__cohort"
        )
    )
    cohort_ids = {iteration.attempt.release.cohort_id for iteration in iterations}
    mentors: dict[int, list[User]] = {}
    for membership in (
        Membership.objects.mentors()
        .filter(cohort_id__in=cohort_ids, user__is_active=True)
        .select_related("user")
    ):
        mentors.setdefault(membership.cohort_id, []).append(membership.user)
    notices = []
    for iteration in iterations:
        project = iteration.attempt.release.project
        learner = iteration.attempt.learner.name
        reviews_in = iteration.peer_reviews_in  # type: ignore[attr-defined]  # annotated above
        assert iteration.peer_due_at is not None  # escalated: past its peer_due_at
        for mentor in mentors.get(iteration.attempt.release.cohort_id, []):
            notices.append(
                Notice(
                    user=mentor,
                    key=PEER_KEY.format(iteration=iteration.pk, user=mentor.pk),
                    title=f"Escalated: {learner}'s {project.title} needs a mentor",
                    body=(
                        f"Iteration {iteration.number} has {reviews_in} of "
                        f"{project.peer_reviews_required} peer reviews after its "
                        f"{project.peer_sla_hours}-hour peer SLA; it is in your review queue."
                    ),
                    url=reverse("review_detail", args=[iteration.pk]),
                    iteration_id=iteration.pk,
                    due_at=iteration.peer_due_at,
                )
            )
    return notices


def mentor_notices(now: datetime) -> list[Notice]:
    """One notice per staff user for each iteration past its mentor SLA."""
    iterations = list(
        Iteration.objects.past_mentor_sla(now).select_related(
            "attempt__learner", "attempt__release__project", "attempt__release__cohort"
        )
    )
    if not iterations:
        return []
    staff = list(User.objects.filter(is_staff=True, is_active=True))
    notices = []
    for iteration in iterations:
        release = iteration.attempt.release
        url = f"{reverse('staff_sla')}?cohort={release.cohort.slug}"
        assert iteration.mentor_due_at is not None  # past its mentor SLA: past mentor_due_at
        for user in staff:
            notices.append(
                Notice(
                    user=user,
                    key=MENTOR_KEY.format(iteration=iteration.pk, user=user.pk),
                    title=(
                        f"Mentor SLA breached: {iteration.attempt.learner.name}'s "
                        f"{release.project.title} ({release.cohort.name})"
                    ),
                    body=(
                        f"Iteration {iteration.number} is still waiting past its "
                        f"{release.project.mentor_sla_hours}-hour mentor SLA."
                    ),
                    url=url,
                    iteration_id=iteration.pk,
                    due_at=iteration.mentor_due_at,
                )
            )
    return notices


def _send(notices: list[Notice]) -> int:
    """Notify each notice's user unless already told; returns how many were sent."""
    sent_before = set(
        Notification.objects.filter(dedupe_key__in=[n.key for n in notices]).values_list(
            "dedupe_key", flat=True
        )
    )
    sent = 0
    for notice in notices:
        if notice.key in sent_before:
            continue
        # The dedupe key makes a concurrent run's duplicate a no-op (unique constraint).
        sent += len(
            notify(
                users=[notice.user],
                kind=Notification.Kind.ITERATION_SUBMITTED,
                title=notice.title,
                body=notice.body,
                url=notice.url,
                dedupe_key=notice.key,
            )
        )
    return sent


def escalate_reviews(now: datetime | None = None) -> tuple[int, int]:
    """Tell mentors about iterations escalated past their peer SLA, and staff about
    mentor SLA breaches, once each; returns (peer escalation, mentor breach) notices sent.

    Safe to run from cron every few minutes: the selection is a constant number of
    queries, and a dedupe key per iteration and recipient keeps every notice single.
    """
    now = now or timezone.now()
    peer = _send(peer_notices(now))
    mentor = _send(mentor_notices(now))
    return peer, mentor

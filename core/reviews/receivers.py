"""Review-domain writes bump the cached pages of their cohort and learner; finished
checks of a submitted iteration are decided here."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from core.checks.models import CheckRun, CheckTaskResult
from core.checks.signals import checks_finished
from core.cohorts.receivers import cohort_of_release
from core.models import Attempt, Iteration, PeerAssignment, Review, ReviewClaim
from core.platform.cache import bump_on_commit
from core.reviews.services import iteration_checks_decide


def _cohort_of_iteration(iteration_id: int) -> list[int]:
    return list(Iteration.objects.filter(pk=iteration_id).values_list("cohort_id", flat=True))


@receiver(post_save, sender=Attempt)
def bump_after_attempt_change(sender: type, instance: Attempt, **kwargs: Any) -> None:
    """A decision, a status change or a new attempt; scores are recomputed in the same commit."""
    release_id = instance.release_id
    bump_on_commit(cohorts=lambda: cohort_of_release(release_id), learners=[instance.learner_id])


@receiver(post_save, sender=Iteration)
def bump_cohort_after_iteration_change(sender: type, instance: Iteration, **kwargs: Any) -> None:
    """A submission enters (or leaves) the review queue (the learner's pages show their
    attempt, saved with it)."""
    bump_on_commit(cohorts=[instance.cohort_id])


@receiver(post_save, sender=Review)
def bump_after_review(sender: type, instance: Review, **kwargs: Any) -> None:
    """A submitted review (mentor or peer) is the learner's latest feedback; drafts are not."""
    if instance.submitted_at is None:
        return
    iteration_id = instance.iteration_id
    bump_on_commit(
        cohorts=lambda: _cohort_of_iteration(iteration_id),
        learners=lambda: Attempt.objects.filter(iterations=iteration_id).values_list(
            "learner_id", flat=True
        ),
    )


@receiver(post_save, sender=ReviewClaim)
def bump_cohort_after_claim(sender: type, instance: ReviewClaim, **kwargs: Any) -> None:
    """A claim taken, extended or released changes who the review queue says has the work
    (the learner's own pages show nothing of claims)."""
    iteration_id = instance.iteration_id
    bump_on_commit(cohorts=lambda: _cohort_of_iteration(iteration_id))


@receiver(post_save, sender=PeerAssignment)
def bump_reviewer_after_peer_work(sender: type, instance: PeerAssignment, **kwargs: Any) -> None:
    """Peer work given counts towards the peer reviews the *reviewer* owes."""
    bump_on_commit(learners=[instance.reviewer_id])


@receiver(checks_finished)
def decide_checked_iteration(
    sender: type, run: CheckRun, results: list[CheckTaskResult], **kwargs: Any
) -> None:
    """A submitted iteration's checks finished: what they mean for it is the review
    domain's to decide (in the same transaction); its cohort's pages and the learner's
    show the results."""
    if run.iteration_id is None:
        return
    iteration_checks_decide(run=run, results=results)
    bump_on_commit(cohorts=[run.release.cohort_id], learners=[run.learner_id])

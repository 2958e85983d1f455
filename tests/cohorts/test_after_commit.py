"""Work registered to run after a commit: one failing piece never stops the others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks as Capture

from core.models import ProjectRelease, User
from core.platform import cache as versioned
from tests.factories import ExtensionFactory


def explode(**kwargs: object) -> None:
    raise RuntimeError("the recompute failed")


def test_a_failing_score_recompute_still_lets_the_cohort_pages_refresh(
    release: ProjectRelease,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    monkeypatch.setattr("core.cohorts.receivers.release_recompute_scores", explode)
    name = versioned.version_name("schedule", release.cohort_id)
    before = versioned.cache_version(name)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        release.second_deadline += timedelta(days=1)
        release.save()  # recompute first, then the schedule's version bump
    assert len(callbacks) >= 2
    assert versioned.cache_version(name) != before


def test_a_failing_recompute_after_an_extension_still_lets_the_pages_refresh(
    release: ProjectRelease,
    learner: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    monkeypatch.setattr("core.cohorts.receivers.release_recompute_scores", explode)
    name = versioned.version_name("learner", learner.pk)
    before = versioned.cache_version(name)
    with django_capture_on_commit_callbacks(execute=True):
        ExtensionFactory(release=release, learner=learner)
    assert versioned.cache_version(name) != before

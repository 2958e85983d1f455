"""The extension ledger: a learner's latest extension on a release applies, written once
(``ExtensionQuerySet``), and every way of loading it gives the same dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.models import Extension, ProjectRelease, User
from tests.factories import ExtensionFactory, ProjectReleaseFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 12, 9, 30, tzinfo=UTC)


@pytest.fixture
def ledger() -> dict[str, object]:
    """One release (second deadline passed) and learners with none, one, or several
    extensions: the latest created last, or created in the same instant (the higher id
    wins), or moving the deadlines earlier than an older one did."""
    release = ProjectReleaseFactory(
        opens_at=NOW - timedelta(days=20),
        first_deadline=NOW - timedelta(days=10),
        second_deadline=NOW - timedelta(days=1),
    )
    none, one, later, tied, earlier = (UserFactory() for _ in range(5))

    def extend(learner: User, days: int, created: datetime) -> Extension:
        return ExtensionFactory(
            release=release,
            learner=learner,
            first_deadline=NOW + timedelta(days=days),
            second_deadline=NOW + timedelta(days=days + 2),
            created_at=created,
        )

    expected = {
        none.pk: None,
        one.pk: extend(one, 3, NOW - timedelta(days=2)),
    }
    extend(later, 1, NOW - timedelta(days=3))
    expected[later.pk] = extend(later, 5, NOW - timedelta(days=2))
    extend(tied, 1, NOW - timedelta(days=2))
    expected[tied.pk] = extend(tied, 4, NOW - timedelta(days=2))
    extend(earlier, 9, NOW - timedelta(days=3))
    # The latest applies even though it gives less time: it closed the project again.
    expected[earlier.pk] = ExtensionFactory(
        release=release,
        learner=earlier,
        first_deadline=NOW - timedelta(days=5),
        second_deadline=NOW - timedelta(hours=1),
        created_at=NOW - timedelta(days=1),
    )
    return {"release": release, "expected": expected}


def test_latest_for_picks_the_latest(ledger: dict) -> None:
    release = ledger["release"]
    for learner_id, extension in ledger["expected"].items():
        assert Extension.objects.latest_for(learner_id, release) == extension


def test_the_batch_picks_the_same_ones(ledger: dict) -> None:
    release = ledger["release"]
    latest = Extension.objects.filter(release=release).latest_by_release_and_learner()
    assert latest == {
        (release.pk, learner_id): extension
        for learner_id, extension in ledger["expected"].items()
        if extension is not None
    }


@pytest.mark.parametrize("loader", ["with_deadlines_for", "with_latest_extension_for"])
def test_every_loader_applies_the_same_deadlines(ledger: dict, loader: str) -> None:
    release = ledger["release"]
    for learner_id, extension in ledger["expected"].items():
        learner = User.objects.get(pk=learner_id)
        loaded = getattr(ProjectRelease.objects.filter(pk=release.pk), loader)(learner).get()
        assert loaded.deadlines == release.deadlines_for(extension), loader
        if extension is not None:
            assert loaded.deadlines.extension.reason == extension.reason


def test_open_for_filters_what_the_deadlines_call_current(ledger: dict) -> None:
    release = ledger["release"]
    for learner_id, extension in ledger["expected"].items():
        learner = User.objects.get(pk=learner_id)
        current = release.deadlines_for(extension).state(NOW) == "current"
        assert ProjectRelease.objects.open_for(learner, NOW).filter(pk=release.pk).exists() == (
            current
        )
    # Only the learners whose latest extension runs past now are still racing it.
    racing = {
        learner_id
        for learner_id in ledger["expected"]
        if ProjectRelease.objects.open_for(User(pk=learner_id), NOW).exists()
    }
    assert len(racing) == 3  # one, later, tied: not "none", not "earlier"

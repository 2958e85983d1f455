"""Attachment downloads /attachments/<id>/: only for those who may see the attempt."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from pytest_django.fixtures import Settings

from core.models import Attachment, Cohort, ProjectRelease, User
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    IterationFactory,
    MembershipFactory,
    UserFactory,
)
from tests.platform.test_uploads import PDF_BYTES


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def make_attachment(
    learner: User,
    release: ProjectRelease,
    *,
    name: str = "report.pdf",
    content: bytes = PDF_BYTES,
    content_type: str = "application/pdf",
) -> Attachment:
    iteration = IterationFactory(attempt=AttemptFactory(learner=learner, release=release))
    return Attachment.objects.create(
        iteration=iteration,
        file=ContentFile(content, name=name),
        original_name=name,
        content_type=content_type,
        size=len(content),
    )


@pytest.fixture
def attachment(learner: User, release: ProjectRelease) -> Attachment:
    return make_attachment(learner, release)


def url(attachment: Attachment) -> str:
    return f"/attachments/{attachment.pk}/"


def test_the_owner_downloads_it(learner_client: Client, attachment: Attachment) -> None:
    response = learner_client.get(url(attachment))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_it_is_stored_under_a_random_name(attachment: Attachment, media_root: Path) -> None:
    stored = Path(attachment.file.path)
    assert stored.parent == media_root / "attachments"
    assert stored.suffix == ".pdf"
    assert stored.stem != "report"


def test_a_mentor_of_the_cohort_downloads_it(mentor_client: Client, attachment: Attachment) -> None:
    assert mentor_client.get(url(attachment)).status_code == 200


def test_staff_download_it(staff_client: Client, attachment: Attachment) -> None:
    assert staff_client.get(url(attachment)).status_code == 200


def test_another_learner_gets_404(cohort: Cohort, attachment: Attachment) -> None:
    other = UserFactory()
    MembershipFactory(user=other, cohort=cohort, role="learner")
    assert client_for(other).get(url(attachment)).status_code == 404


def test_the_outsider_gets_404(outsider_client: Client, attachment: Attachment) -> None:
    assert outsider_client.get(url(attachment)).status_code == 404


def test_a_mentor_of_another_cohort_gets_404(attachment: Attachment) -> None:
    other_mentor = UserFactory()
    MembershipFactory(user=other_mentor, cohort=CohortFactory(), role="mentor")
    assert client_for(other_mentor).get(url(attachment)).status_code == 404


def test_an_unknown_attachment_is_not_found(learner_client: Client, db: None) -> None:
    assert learner_client.get("/attachments/999999/").status_code == 404


def test_a_missing_file_is_not_found(learner_client: Client, attachment: Attachment) -> None:
    Path(attachment.file.path).unlink()
    assert learner_client.get(url(attachment)).status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client: Client, attachment: Attachment) -> None:
    response = client.get(url(attachment))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_only_get_is_allowed(learner_client: Client, attachment: Attachment, method: str) -> None:
    assert getattr(learner_client, method)(url(attachment)).status_code == 405


def test_a_type_outside_the_allow_list_is_sent_as_octet_stream(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    attachment = make_attachment(
        learner, release, name="page.txt", content=b"<script>x</script>", content_type="text/html"
    )
    response = learner_client.get(url(attachment))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_hostile_name_cannot_break_the_header(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    attachment = make_attachment(
        learner, release, name="x.txt", content=b"hello\n", content_type="text/plain"
    )
    Attachment.objects.filter(pk=attachment.pk).update(
        original_name='evil"\r\nSet-Cookie: a=b; x="report.txt'
    )
    response = learner_client.get(url(attachment))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="evil\\"Set-Cookie: a=b; x=\\"report.txt"'
    )
    assert "Set-Cookie" not in {key for key, _ in response.items()}


def test_a_non_ascii_name_is_encoded(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    attachment = make_attachment(
        learner, release, name="résumé.md", content=b"# hi\n", content_type="text/markdown"
    )
    response = learner_client.get(url(attachment))
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.md"

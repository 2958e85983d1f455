"""Staff import a zipped curriculum folder in the admin: upload, read the plan, apply."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from core.models import Program, Project
from tests.curriculum.folders import ORM_MD, TINY, snapshot, zipped

URL = reverse("admin:core_program_import")


def upload(client: Client, data: bytes, name: str = "tiny.zip") -> str:
    response = client.post(URL, {"archive": SimpleUploadedFile(name, data)})
    assert response.status_code == 200
    return response.content.decode()


def token_of(page: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


@pytest.fixture
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_the_program_list_links_to_the_import(staff_client: Client) -> None:
    page = staff_client.get(reverse("admin:core_program_changelist")).content.decode()
    assert f'href="{URL}"' in page


def test_it_shows_the_upload_form(staff_client: Client) -> None:
    page = staff_client.get(URL).content.decode()
    assert 'type="file" name="archive"' in page
    assert 'enctype="multipart/form-data"' in page


def test_staff_see_the_plan_then_apply_it(staff_client: Client, media: Path) -> None:
    page = upload(staff_client, zipped(TINY))

    assert "add" in page and "project orm-basics" in page
    assert not Program.objects.exists()  # a plan changes nothing

    response = staff_client.post(URL, {"apply": "1", "token": token_of(page)})

    program = Program.objects.get(slug="tiny")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:core_program_change", args=[program.pk])
    assert Project.objects.filter(module__program=program).count() == 3
    assert not list((media / "curriculum-imports").iterdir())  # the kept upload is gone
    # The same folder again: nothing to do, and nothing to apply.
    again = upload(staff_client, zipped(TINY))
    assert "nothing to do" in again
    assert 'name="apply"' not in again


def test_a_folder_with_problems_lists_them_and_changes_nothing(
    staff_client: Client, media: Path
) -> None:
    files = {**TINY, "projects/orm-basics.md": ORM_MD.replace("  points: 10", "  points: 0")}
    page = upload(staff_client, zipped(files))

    assert "1 problem: nothing was imported" in page
    assert "projects/orm-basics.md:11: points must be a positive integer" in page
    assert 'name="apply"' not in page
    assert not Program.objects.exists()


def test_a_zip_bomb_is_refused_and_changes_nothing(staff_client: Client, media: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tiny/program.md", TINY["program.md"])
        archive.writestr("tiny/projects/bomb.md", b"\0" * (60 * 1024 * 1024))  # 60 MB of zeros
    before = snapshot()

    page = upload(staff_client, buffer.getvalue())

    assert "a zip archive may unpack to at most" in page
    assert snapshot() == before
    assert not (media / "curriculum-imports").exists()


def test_a_zip_with_a_climbing_path_or_a_link_is_refused(staff_client: Client, media: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../program.md", TINY["program.md"])
    assert "a path that climbs out of its folder" in upload(staff_client, buffer.getvalue())

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("tiny/program.md")
        link.external_attr = (0o120777 << 16) | 0
        archive.writestr(link, "/etc/passwd")
    assert "a symbolic link" in upload(staff_client, buffer.getvalue())
    assert not Program.objects.exists()


def test_a_file_that_is_not_a_zip_is_refused(staff_client: Client, media: Path) -> None:
    page = upload(staff_client, b"%PDF-1.4 not a folder", name="tiny.pdf")
    assert "upload a .zip archive" in page


def test_a_forged_or_stale_token_applies_nothing(staff_client: Client, media: Path) -> None:
    response = staff_client.post(URL, {"apply": "1", "token": "curriculum-imports/x.zip"})
    assert response.status_code == 302
    assert response["Location"] == URL
    assert not Program.objects.exists()


def test_an_upload_never_applied_is_deleted_once_its_token_expired(
    staff_client: Client, media: Path
) -> None:
    """Staff read a plan and walked away: the kept archive goes with the next upload
    after its token's max age, not before."""
    upload(staff_client, zipped(TINY))
    kept = media / "curriculum-imports"
    [abandoned] = list(kept.iterdir())

    upload(staff_client, zipped(TINY))  # within the max age: both stay
    assert abandoned in list(kept.iterdir())
    assert len(list(kept.iterdir())) == 2

    later = timezone.now() + timedelta(minutes=settings.CURRICULUM_UPLOAD_MAX_AGE_MINUTES + 1)
    with time_machine.travel(later):
        upload(staff_client, zipped(TINY))
    assert len(list(kept.iterdir())) == 1
    assert abandoned not in list(kept.iterdir())


def test_learners_are_sent_to_the_admin_sign_in(learner_client: Client, media: Path) -> None:
    response = learner_client.post(URL, {"archive": SimpleUploadedFile("t.zip", zipped(TINY))})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not Program.objects.filter(slug="tiny").exists()
    assert not (media / "curriculum-imports").exists()


def test_anonymous_users_are_sent_to_the_admin_sign_in(client: Client, db: None) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_other_methods_are_refused(staff_client: Client) -> None:
    assert staff_client.put(URL).status_code == 405


def test_a_zip_made_by_the_macos_finder_is_read(staff_client: Client, media: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in TINY.items():
            archive.writestr(f"tiny/{path}", text)
            archive.writestr(f"__MACOSX/tiny/._{Path(path).name}", "resource fork")

    page = upload(staff_client, buffer.getvalue())

    assert "add" in page and "project orm-basics" in page
    assert "problem" not in page

"""The submit page /projects/<slug>/submit/ and its live field checks.

Who gets what: a learner of a cohort the project is released to (and open)
submits. A learner whose release has not opened, and mentors, reviewers and
staff (who can see the project but are not its learners), get a refusal page
with status 403: the project is no secret to them. Anyone else gets 404.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from core.models import Attachment, Attempt, Cohort, Iteration, Project, ProjectRelease, User
from core.reviews.services import NothingChanged, iteration_submit
from tests.conftest import client_for
from tests.factories import (
    AttemptFactory,
    CohortFactory,
    ExtensionFactory,
    IterationFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectReleaseFactory,
    TaskFactory,
    UserFactory,
)
from tests.platform.test_uploads import (
    EXE_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    zip_bomb_bytes,
    zip_bytes,
    zip_with_symlink_bytes,
)

URL = "/projects/python-generators/submit/"
VALIDATE_URL = "/projects/python-generators/submit/validate/"
REPO = "https://github.com/alice/prodev-backend-python"
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def form_data(project: Project, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "repo_url": REPO,
        "commit_sha": SHA,
        "tasks": [task.pk for task in project.tasks.order_by("number")[:2]],
        "notes": "Tasks 0 and 1 are done; **2** is next.",
        "submit_token": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def iterations(learner: User) -> list[Iteration]:
    return list(Iteration.objects.filter(attempt__learner=learner).order_by("number"))


# --- GET ---------------------------------------------------------------------------------


def test_it_shows_the_form(learner_client: Client, project: Project) -> None:
    response = learner_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Submit Python Generators" in body
    assert "Iteration 1 · Cohort 7" in body
    assert 'enctype="multipart/form-data"' in body
    assert "0. Stream rows (mandatory, 10 pts)" in body
    assert "2. Lazy pagination (advanced, 10 pts)" in body
    assert 'name="submit_token"' in body
    assert 'type="file" name="attachments"' in body and " multiple" in body
    assert f'hx-post="{VALIDATE_URL}"' in body
    assert 'hx-trigger="change, keyup changed delay:500ms"' in body
    assert "data-md-editor" in body  # notes with Write / Preview
    assert "This is your first iteration" in body
    assert "100%" in body  # before the first deadline
    assert "Lateness counts from the moment you submit, not from the review" in body


def test_it_is_csp_safe(learner_client: Client, project: Project) -> None:
    body = learner_client.get(URL).content.decode()
    assert "hx-on" not in body
    assert " style=" not in body
    assert " onclick=" not in body and " onchange=" not in body
    assert '<script src="/static/js/submit.js" defer></script>' in body


def test_it_gives_each_page_view_a_fresh_token(learner_client: Client, project: Project) -> None:
    first = learner_client.get(URL).context["form"]["submit_token"].value()
    second = learner_client.get(URL).context["form"]["submit_token"].value()
    assert first != second


def test_it_prefills_a_resubmission(
    learner_client: Client, learner: User, project: Project
) -> None:
    IterationFactory(
        attempt__learner=learner, attempt__release=project.releases.get(), number=1
    ).tasks_claimed.set(project.tasks.filter(number=1))
    form = learner_client.get(URL).context["form"]
    assert form["repo_url"].value() == "https://github.com/alice/prodev-backend-python"
    assert form["tasks"].value() == [project.tasks.get(number=1).pk]


def test_it_warns_that_a_new_iteration_supersedes_the_waiting_one(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    attempt = AttemptFactory(learner=learner, release=release)
    IterationFactory(attempt=attempt, number=1, status="reviewed")
    IterationFactory(attempt=attempt, number=2)
    body = learner_client.get(URL).content.decode()
    assert "Iteration 3 · Cohort 7" in body
    assert "Iteration 2 is still waiting for review" in body
    assert "supersedes it in the queue" in body
    assert "You have submitted 2 iterations" in body
    assert f'href="/attempts/{attempt.pk}/"' in body


def test_it_points_to_the_feedback_when_changes_were_requested(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    attempt = AttemptFactory(learner=learner, release=release, status="changes_requested")
    IterationFactory(attempt=attempt, number=1, status="reviewed")
    body = learner_client.get(URL).content.decode()
    assert "Your mentor requested changes on iteration 1." in body
    assert f'<a href="/attempts/{attempt.pk}/">Read the feedback</a>' in body


def test_it_says_when_the_work_is_already_approved(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    attempt = AttemptFactory(learner=learner, release=release, status="approved", score=85)
    IterationFactory(attempt=attempt, number=1, status="reviewed")
    body = learner_client.get(URL).content.decode()
    assert "Your work on this project is approved (score 85%)." in body
    assert "your best reviewed iteration counts" in body


def test_it_warns_after_the_first_deadline(learner_client: Client, release: ProjectRelease) -> None:
    release.first_deadline = timezone.now() - timedelta(hours=1)
    release.save()
    body = learner_client.get(URL).content.decode()
    assert "The first deadline has passed: an iteration submitted now is scored at" in body
    assert "<strong>65%</strong>" in body


def test_it_warns_after_the_second_deadline(
    learner_client: Client, release: ProjectRelease
) -> None:
    release.first_deadline = timezone.now() - timedelta(days=2)
    release.second_deadline = timezone.now() - timedelta(days=1)
    release.save()
    body = learner_client.get(URL).content.decode()
    assert "Both deadlines have passed" in body
    assert "<strong>50%</strong>" in body


def test_it_applies_the_learners_extension(
    learner_client: Client, learner: User, release: ProjectRelease
) -> None:
    release.first_deadline = timezone.now() - timedelta(hours=1)
    release.save()
    ExtensionFactory(
        release=release,
        learner=learner,
        first_deadline=timezone.now() + timedelta(days=2),
        second_deadline=timezone.now() + timedelta(days=9),
    )
    body = learner_client.get(URL).content.decode()
    assert "The first deadline has passed" not in body
    assert "Before the first deadline" in body
    assert "Your deadlines were extended." in body


# --- POST --------------------------------------------------------------------------------


def test_it_submits_an_iteration(
    learner_client: Client, learner: User, project: Project, media_root: Path
) -> None:
    files = [
        SimpleUploadedFile("report.pdf", PDF_BYTES, content_type="text/html"),
        SimpleUploadedFile("screenshot.png", PNG_BYTES, content_type="image/png"),
        SimpleUploadedFile("project.zip", zip_bytes(), content_type="application/zip"),
    ]
    response = learner_client.post(URL, form_data(project, attachments=files))

    [iteration] = iterations(learner)
    assert response.status_code == 302
    assert response["Location"] == f"/attempts/{iteration.attempt_id}/"
    assert iteration.number == 1
    assert iteration.status == "waiting"
    assert iteration.repo_url == REPO
    assert iteration.commit_sha == SHA
    assert iteration.notes == "Tasks 0 and 1 are done; **2** is next."
    assert sorted(iteration.tasks_claimed.values_list("number", flat=True)) == [0, 1]
    stored = list(iteration.attachments.order_by("id"))
    assert [a.original_name for a in stored] == ["report.pdf", "screenshot.png", "project.zip"]
    # The type we found inside the file, not the one the browser sent.
    assert [a.content_type for a in stored] == ["application/pdf", "image/png", "application/zip"]
    assert stored[0].size == len(PDF_BYTES)
    for attachment in stored:
        path = Path(attachment.file.path)
        assert path.is_relative_to(media_root / "attachments")
        assert path.stem not in {"report", "screenshot", "project"}  # a random name
    assert (media_root / stored[0].file.name).read_bytes() == PDF_BYTES

    page = learner_client.get(response["Location"])
    assert "Iteration 1 of Python Generators is submitted" in page.content.decode()


def test_it_lowercases_and_strips_the_sha(
    learner_client: Client, learner: User, project: Project
) -> None:
    learner_client.post(URL, form_data(project, commit_sha=f"  {SHA.upper()} "))
    assert iterations(learner)[0].commit_sha == SHA


def test_the_sha_is_optional(learner_client: Client, learner: User, project: Project) -> None:
    response = learner_client.post(URL, form_data(project, commit_sha="", tasks=[]))
    assert response.status_code == 302
    assert iterations(learner)[0].commit_sha == ""


def test_a_second_submission_supersedes_the_waiting_one(
    learner_client: Client, learner: User, project: Project
) -> None:
    learner_client.post(URL, form_data(project))
    learner_client.post(URL, form_data(project, notes="Fixed task 1."))

    first, second = iterations(learner)
    assert (first.number, first.status) == (1, "superseded")
    assert (second.number, second.status) == (2, "waiting")
    assert first.notes == "Tasks 0 and 1 are done; **2** is next."  # kept, not replaced
    assert first.attempt_id == second.attempt_id


def test_the_same_post_twice_creates_one_iteration(
    learner_client: Client, learner: User, project: Project
) -> None:
    data = form_data(project)
    first = learner_client.post(URL, data)
    second = learner_client.post(URL, data)

    assert len(iterations(learner)) == 1
    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    page = learner_client.get(second["Location"]).content.decode()
    assert "Iteration 1 was already submitted." in page


@pytest.mark.parametrize(
    ("repo_url", "message"),
    [
        ("http://github.com/alice/repo", "Use an https:// link to your repository."),
        ("https://example.com/alice/repo", "The repository must be on bitbucket.org"),
        ("https://github.com/alice", "Link to the repository itself"),
        ("not a url", "Enter a valid URL."),
        ("", "This field is required."),
    ],
)
def test_it_refuses_a_bad_repository_url(
    learner_client: Client, learner: User, project: Project, repo_url: str, message: str
) -> None:
    response = learner_client.post(URL, form_data(project, repo_url=repo_url))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "Your iteration was not submitted" in response.content.decode()
    assert iterations(learner) == []


@pytest.mark.parametrize(
    ("sha", "message"),
    [
        ("0123abc", "That is a short SHA: paste all 40 characters"),
        ("z" * 40, "A commit SHA is 40 hexadecimal characters"),
        (SHA + "0", "A commit SHA is 40 hexadecimal characters"),
    ],
)
def test_it_refuses_a_bad_sha(
    learner_client: Client, learner: User, project: Project, sha: str, message: str
) -> None:
    response = learner_client.post(URL, form_data(project, commit_sha=sha))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert iterations(learner) == []


def test_it_refuses_a_task_of_another_project(
    learner_client: Client, learner: User, project: Project
) -> None:
    other = TaskFactory()
    response = learner_client.post(URL, form_data(project, tasks=[other.pk]))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert iterations(learner) == []


@pytest.mark.parametrize("token", ["", "not-a-uuid"])
def test_it_refuses_a_post_without_a_token(
    learner_client: Client, learner: User, project: Project, token: str
) -> None:
    response = learner_client.post(URL, form_data(project, submit_token=token))
    assert "This form has expired: reload the page and submit again." in response.content.decode()
    assert iterations(learner) == []


def test_it_keeps_the_token_when_the_form_comes_back_with_errors(
    learner_client: Client, project: Project
) -> None:
    data = form_data(project, repo_url="http://github.com/a/b")
    response = learner_client.post(URL, data)
    assert f'value="{data["submit_token"]}"' in response.content.decode()


def test_a_late_submission_is_allowed(
    learner_client: Client, learner: User, project: Project, release: ProjectRelease
) -> None:
    release.first_deadline = timezone.now() - timedelta(days=2)
    release.second_deadline = timezone.now() - timedelta(days=1)
    release.save()
    assert learner_client.post(URL, form_data(project)).status_code == 302
    assert len(iterations(learner)) == 1


# --- Resubmitting nothing ----------------------------------------------------------------


@pytest.fixture
def previous(learner: User, release: ProjectRelease, project: Project) -> Iteration:
    """Alice's iteration 1, reviewed with changes requested: tasks 0 and 1, no commit."""
    attempt = AttemptFactory(learner=learner, release=release, status="changes_requested")
    iteration = IterationFactory(
        attempt=attempt, number=1, commit_sha="", notes="Tasks 0 and 1.", status="reviewed"
    )
    iteration.tasks_claimed.set(project.tasks.filter(number__in=[0, 1]))
    return iteration


def as_prefilled(project: Project, **overrides: object) -> dict[str, object]:
    """What the submit page posts when Alice presses submit straight away: the repository
    and tasks of her previous iteration (prefilled), no commit, no notes, no file."""
    return form_data(project, **{"commit_sha": "", "notes": "", **overrides})


def test_resubmitting_nothing_asks_first_and_says_why(
    learner_client: Client, learner: User, project: Project, previous: Iteration
) -> None:
    data = as_prefilled(project)
    response = learner_client.post(URL, data)

    assert response.status_code == 200
    assert iterations(learner) == [previous]  # nothing written, nothing in the queue
    body = response.content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    assert "Nothing has changed since iteration 1" in text
    assert (
        "Iteration 2 is not submitted yet: it would hand in the same work again, with the same "
        "repository and tasks, no commit SHA, no notes and no files."
    ) in text
    assert "Your mentor asked for changes on iteration 1 and would find none." in text
    assert "Add the commit that holds your changes" in text
    assert '<input type="hidden" name="confirm_unchanged" value="yes">' in body
    assert "Submit iteration 2 anyway" in text
    # The learner's form comes back as it was, with its token, ready to confirm or amend.
    assert f'value="{data["submit_token"]}"' in body
    assert f'value="{REPO}"' in body


def test_confirming_submits_the_same_work_again(
    learner_client: Client, learner: User, project: Project, previous: Iteration
) -> None:
    data = as_prefilled(project)
    learner_client.post(URL, data)
    response = learner_client.post(URL, {**data, "confirm_unchanged": "yes"})

    assert response.status_code == 302
    _, again = iterations(learner)
    assert (again.number, again.status, again.commit_sha, again.notes) == (2, "waiting", "", "")
    assert str(again.submit_token) == data["submit_token"]
    # The same form once more (a double click, or Back and submit): its iteration, not a
    # question about it and not a third one.
    for repeat in ({**data, "confirm_unchanged": "yes"}, data):
        response = learner_client.post(URL, repeat)
        assert (response.status_code, response["Location"]) == (
            302,
            f"/attempts/{again.attempt_id}/",
        )
    assert len(iterations(learner)) == 2
    page = learner_client.get(response["Location"]).content.decode()
    assert "Iteration 2 was already submitted." in page


def test_the_same_commit_or_the_same_notes_are_nothing_new(
    learner_client: Client, learner: User, project: Project, previous: Iteration
) -> None:
    previous.commit_sha = SHA
    previous.save()
    for data in (
        as_prefilled(project, commit_sha=SHA.upper()),
        as_prefilled(project, notes="  Tasks 0 and 1.\n"),
    ):
        response = learner_client.post(URL, data)
        assert response.status_code == 200
        assert "Nothing has changed since iteration 1" in response.content.decode()
    assert (
        "the same commit (0123456)"
        in learner_client.post(URL, as_prefilled(project, commit_sha=SHA)).content.decode()
    )
    assert iterations(learner) == [previous]


def test_a_waiting_iteration_would_lose_its_place_in_the_queue(
    learner_client: Client, learner: User, project: Project, previous: Iteration
) -> None:
    Iteration.objects.filter(pk=previous.pk).update(status="waiting")
    body = learner_client.post(URL, as_prefilled(project)).content.decode()
    assert "Iteration 1 would leave the review queue and this one would join it at the back." in (
        body
    )
    assert Iteration.objects.get(pk=previous.pk).status == "waiting"


CHANGES: dict[str, Callable[[Project], dict[str, object]]] = {
    "a new commit": lambda project: {"commit_sha": "f" * 40},
    "new notes": lambda project: {"notes": "Fixed the empty page."},
    "another repository": lambda project: {"repo_url": "https://github.com/alice/generators-2"},
    "one task more": lambda project: {"tasks": [task.pk for task in project.tasks.all()]},
    "one task fewer": lambda project: {"tasks": [project.tasks.get(number=0).pk]},
    "a file": lambda project: {"attachments": [SimpleUploadedFile("run.png", PNG_BYTES)]},
}


@pytest.mark.parametrize("change", CHANGES)
def test_any_change_submits_at_once(
    learner_client: Client, learner: User, project: Project, previous: Iteration, change: str
) -> None:
    response = learner_client.post(URL, as_prefilled(project, **CHANGES[change](project)))
    assert response.status_code == 302
    assert len(iterations(learner)) == 2


def test_a_first_iteration_is_never_questioned(
    learner_client: Client, learner: User, project: Project
) -> None:
    assert learner_client.post(URL, as_prefilled(project)).status_code == 302
    assert len(iterations(learner)) == 1


def test_the_service_refuses_an_unconfirmed_repeat_and_writes_nothing(
    learner: User, release: ProjectRelease, project: Project, previous: Iteration
) -> None:
    same = {
        "learner": learner,
        "release": release,
        "repo_url": REPO,
        "tasks_claimed": project.tasks.filter(number__in=[0, 1]),
    }
    with pytest.raises(NothingChanged) as refused:
        iteration_submit(**same, allow_unchanged=False)
    assert refused.value.previous == previous
    assert iterations(learner) == [previous]
    assert Attempt.objects.get(learner=learner).status == "changes_requested"
    # Other callers (imports, the demo, tests) submit as before unless they ask.
    iteration, created = iteration_submit(**same)
    assert created and iteration.number == 2


# --- Hostile uploads ---------------------------------------------------------------------


def _hostile_zip(name: str) -> bytes:
    return {
        "parent": zip_bytes({"../evil.py": b"import os\n"}),
        "absolute": zip_bytes({"/etc/cron.d/evil": b"* * * * * root sh\n"}),
        "symlink": zip_with_symlink_bytes(),
    }[name]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("report.pdf", EXE_BYTES, "“report.pdf” does not look like a PDF"),
        ("setup.exe", EXE_BYTES, "“setup.exe” was refused: .exe files are not accepted."),
        ("bomb.zip", "bomb", "“bomb.zip” unpacks to 60.0 MB"),
        ("project.zip", "parent", "it contains a path that climbs out of its folder (../evil.py)"),
        ("project.zip", "absolute", "it contains an absolute path (/etc/cron.d/evil)"),
        ("project.zip", "symlink", "it contains a symbolic link (config.py)"),
    ],
)
def test_it_refuses_a_hostile_upload(
    learner_client: Client,
    learner: User,
    project: Project,
    media_root: Path,
    name: str,
    content: bytes | str,
    message: str,
) -> None:
    if content == "bomb":
        content = zip_bomb_bytes(60)
    elif isinstance(content, str):
        content = _hostile_zip(content)
    upload = SimpleUploadedFile(name, content)
    response = learner_client.post(URL, form_data(project, attachments=[upload]))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "choose yours again" in response.content.decode()
    assert iterations(learner) == []
    assert not (media_root / "attachments").exists()


def test_it_refuses_an_oversized_upload(
    learner_client: Client, learner: User, project: Project, settings: Settings
) -> None:
    settings.MAX_UPLOAD_MB = 1
    upload = SimpleUploadedFile("notes.md", b"#" * (1024 * 1024 + 1))
    response = learner_client.post(URL, form_data(project, attachments=[upload]))
    assert "“notes.md” is 1.0 MB; each file may be at most 1 MB." in response.content.decode()
    assert iterations(learner) == []


def test_it_refuses_too_many_files(learner_client: Client, learner: User, project: Project) -> None:
    uploads = [SimpleUploadedFile(f"notes{n}.md", b"# Notes\n") for n in range(6)]
    response = learner_client.post(URL, form_data(project, attachments=uploads))
    assert "You attached 6 files; an iteration may have at most 5." in response.content.decode()
    assert iterations(learner) == []


def test_it_accepts_a_markdown_attachment(
    learner_client: Client, learner: User, project: Project
) -> None:
    upload = SimpleUploadedFile("NOTES.md", "# Notes — all good\n".encode())
    assert learner_client.post(URL, form_data(project, attachments=[upload])).status_code == 302
    [attachment] = Attachment.objects.filter(iteration__attempt__learner=learner)
    assert (attachment.original_name, attachment.content_type) == ("NOTES.md", "text/markdown")


def raw_multipart(fields: dict[str, object], filename: bytes, content: bytes) -> bytes:
    """A multipart body as a client may really send it: the file's name as raw bytes."""
    lines = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            lines += [f"--{BOUNDARY}", f'Content-Disposition: form-data; name="{name}"', ""]
            lines.append(str(item))
    head = "\r\n".join(lines).encode() + f"\r\n--{BOUNDARY}\r\n".encode()
    part = (
        b'Content-Disposition: form-data; name="attachments"; filename="' + filename + b'"\r\n'
        b"Content-Type: text/markdown\r\n\r\n" + content + b"\r\n"
    )
    return head + part + f"--{BOUNDARY}--\r\n".encode()


BOUNDARY = "prodev-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def test_it_refuses_a_file_whose_name_is_not_utf8(
    learner_client: Client, learner: User, project: Project
) -> None:
    # Django cannot read the part's headers, drops the file and used to accept the
    # iteration without it.
    body = raw_multipart(form_data(project), b"r\xe9sum\xe9.md", b"# Notes\n")
    response = learner_client.post(URL, body, content_type=MULTIPART)
    assert response.status_code == 200
    assert (
        "“r\ufffdsum\ufffd.md” was refused: its name is not valid UTF-8. "
        "Rename the file and attach it again."
    ) in response.content.decode()
    assert iterations(learner) == []


def test_it_accepts_a_file_whose_name_is_utf8(
    learner_client: Client, learner: User, project: Project
) -> None:
    body = raw_multipart(form_data(project), "résumé.md".encode(), b"# Notes\n")
    assert learner_client.post(URL, body, content_type=MULTIPART).status_code == 302
    [attachment] = Attachment.objects.filter(iteration__attempt__learner=learner)
    assert attachment.original_name == "résumé.md"


def test_a_failed_submission_leaves_no_file_behind(
    learner_client: Client,
    learner: User,
    project: Project,
    media_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    saves = 0
    original_save = Attachment.save

    def failing_save(self: Attachment, *args: object, **kwargs: object) -> None:
        nonlocal saves
        saves += 1
        if saves == 2:  # the database refuses the second file's row
            raise DatabaseError("disk full")
        original_save(self, *args, **kwargs)

    monkeypatch.setattr(Attachment, "save", failing_save)
    uploads = [SimpleUploadedFile(f"notes{n}.md", b"# Notes\n") for n in range(2)]
    with pytest.raises(DatabaseError):
        learner_client.post(URL, form_data(project, attachments=uploads))
    assert iterations(learner) == []
    assert not [path for path in media_root.rglob("*") if path.is_file()]


# --- Who may submit ----------------------------------------------------------------------


def test_a_project_not_open_yet_is_refused(
    learner_client: Client, learner: User, project: Project, release: ProjectRelease
) -> None:
    release.shift(days=5)  # opens in three days
    release.save()
    for response in (learner_client.get(URL), learner_client.post(URL, form_data(project))):
        assert response.status_code == 403
        body = response.content.decode()
        assert "This project is not open to you yet" in body
        assert "opens for Cohort 7 on" in body
    assert iterations(learner) == []


def test_a_project_of_another_cohort_is_not_found(
    learner_client: Client, learner: User, cohort: Cohort
) -> None:
    other = ProjectReleaseFactory(project=ProjectFactory(slug="django-signals"))
    TaskFactory(project=other.project)
    url = "/projects/django-signals/submit/"
    assert learner_client.get(url).status_code == 404
    assert learner_client.post(url, {"repo_url": REPO}).status_code == 404


def test_an_unknown_project_is_not_found(learner_client: Client) -> None:
    assert learner_client.get("/projects/no-such-project/submit/").status_code == 404


def test_the_outsider_gets_404(outsider_client: Client, project: Project) -> None:
    assert outsider_client.get(URL).status_code == 404
    assert outsider_client.post(URL, form_data(project)).status_code == 404


@pytest.mark.parametrize("who", ["mentor", "reviewer", "staff"])
def test_people_who_are_not_its_learners_are_refused(
    request: pytest.FixtureRequest, project: Project, release: ProjectRelease, who: str
) -> None:
    # Documented choice: they can see the project, so they get a 403 page saying why.
    client = request.getfixturevalue(f"{who}_client")
    for response in (client.get(URL), client.post(URL, form_data(project))):
        assert response.status_code == 403
        body = response.content.decode()
        assert "You are not a learner of a cohort this project is released to" in body
    assert not Iteration.objects.exists()


def test_a_mentor_who_is_a_learner_elsewhere_is_still_refused(
    mentor: User, mentor_client: Client
) -> None:
    MembershipFactory(user=mentor, cohort=CohortFactory(), role="learner")
    assert mentor_client.get(URL).status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client: Client, project: Project) -> None:
    for response in (client.get(URL), client.post(URL, form_data(project))):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert not Iteration.objects.exists()


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_not_allowed(learner_client: Client, method: str) -> None:
    assert getattr(learner_client, method)(URL).status_code == 405


# --- Live checks (HTMX) ------------------------------------------------------------------


def validate(client: Client, field: str, value: str) -> str:
    response = client.post(
        VALIDATE_URL, {field: value}, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME=field
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_live_check_answers_with_the_field_and_its_error(learner_client: Client) -> None:
    body = validate(learner_client, "repo_url", "http://github.com/alice/repo")
    assert body.lstrip().startswith('<div id="submit-field-repo_url"')
    assert "Use an https:// link to your repository." in body
    assert "is-invalid" in body
    assert 'hx-post="/projects/python-generators/submit/validate/"' in body  # still live
    assert "<html" not in body and "<form" not in body and "commit_sha" not in body


def test_the_live_check_marks_a_good_value(learner_client: Client) -> None:
    body = validate(learner_client, "repo_url", REPO)
    assert "is-valid" in body
    assert "Repository URL looks good." in body
    assert "invalid-feedback" not in body


def test_the_live_check_checks_the_sha(learner_client: Client) -> None:
    body = validate(learner_client, "commit_sha", "xyz")
    assert body.lstrip().startswith('<div id="submit-field-commit_sha"')
    assert "A commit SHA is 40 hexadecimal characters" in body
    assert "is-valid" in validate(learner_client, "commit_sha", SHA.upper())


def test_the_live_check_refuses_other_fields(learner_client: Client) -> None:
    response = learner_client.post(
        VALIDATE_URL, {"notes": "x"}, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="notes"
    )
    assert response.status_code == 400


def test_the_live_check_needs_htmx(learner_client: Client) -> None:
    assert learner_client.post(VALIDATE_URL, {"repo_url": REPO}).status_code == 400


def test_the_live_check_refuses_get(learner_client: Client) -> None:
    assert learner_client.get(VALIDATE_URL).status_code == 405


def test_the_live_check_is_404_for_the_outsider(outsider_client: Client, project: Project) -> None:
    response = outsider_client.post(
        VALIDATE_URL, {"repo_url": REPO}, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="repo_url"
    )
    assert response.status_code == 404


def test_the_live_check_sends_anonymous_users_to_sign_in(client: Client, project: Project) -> None:
    response = client.post(VALIDATE_URL, {"repo_url": REPO}, HTTP_HX_REQUEST="true")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Query counts ------------------------------------------------------------------------


@pytest.mark.parametrize("task_count", [1, 10])
def test_the_form_takes_a_constant_number_of_queries(
    django_assert_num_queries: object, cohort: Cohort, task_count: int
) -> None:
    project = ProjectFactory(slug="many-tasks")
    tasks = [TaskFactory(project=project, number=n) for n in range(task_count)]
    release = ProjectReleaseFactory(cohort=cohort, project=project)
    learner = UserFactory()
    MembershipFactory(user=learner, cohort=cohort, role="learner")
    ExtensionFactory(release=release, learner=learner)
    IterationFactory(attempt__learner=learner, attempt__release=release).tasks_claimed.set(tasks)
    client = client_for(learner)
    # (The session comes from the cache.) 1 user, 2 the learner's open releases of the
    # project, 3 their extension, 4 their latest iteration (with its attempt), 5 its
    # claimed tasks (to prefill), 6 a live claim on it (it is waiting), 7 the nav's
    # roles, 8 the project's tasks (the checkboxes).
    with django_assert_num_queries(8):  # type: ignore[operator]
        assert client.get("/projects/many-tasks/submit/").status_code == 200


def test_a_token_of_someone_else_never_returns_their_iteration(
    learner: User, cohort: Cohort, project: Project, release: ProjectRelease
) -> None:
    """Bob posts a form that carries Alice's token (a page restored after she logged out
    on a shared computer): he gets an iteration of his own, and a second post of the same
    form still gives him only that one."""
    token = str(uuid.uuid4())
    assert client_for(learner).post(URL, form_data(project, submit_token=token)).status_code == 302
    [alices] = iterations(learner)
    bob = UserFactory(email="bob@example.com", display_name="Bob Learner")
    MembershipFactory(user=bob, cohort=cohort, role="learner")
    bob_client = client_for(bob)

    data = form_data(project, submit_token=token, repo_url="https://github.com/bob/generators")
    first = bob_client.post(URL, data)
    second = bob_client.post(URL, data)

    [bobs] = iterations(bob)
    assert bobs.pk != alices.pk
    assert bobs.attempt.learner == bob
    assert (bobs.repo_url, bobs.status) == ("https://github.com/bob/generators", "waiting")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/attempts/{bobs.attempt_id}/"
    page = bob_client.get(second["Location"]).content.decode()
    assert "Iteration 1 was already submitted." in page
    assert iterations(learner) == [alices]
    assert str(Iteration.objects.get(pk=alices.pk).submit_token) == token


def test_a_token_someone_else_holds_is_refused_rather_than_shared(
    learner: User, cohort: Cohort, project: Project, release: ProjectRelease
) -> None:
    """Even when the token Bob's form would store is taken (Carol posted it), Bob is
    told to reload: no iteration of his is half-made and nobody's is returned."""
    token = uuid.uuid4()
    bob = UserFactory(email="bob@example.com", display_name="Bob Learner")
    carol = UserFactory(email="carol@example.com", display_name="Carol Learner")
    for person in (bob, carol):
        MembershipFactory(user=person, cohort=cohort, role="learner")
    bobs_own = uuid.uuid5(token, f"learner:{bob.pk}:release:{release.pk}")
    client_for(learner).post(URL, form_data(project, submit_token=str(token)))
    client_for(carol).post(URL, form_data(project, submit_token=str(bobs_own)))

    response = client_for(bob).post(URL, form_data(project, submit_token=str(token)))

    assert response.status_code == 200
    assert "This form has expired: reload the page and submit again." in response.content.decode()
    assert iterations(bob) == []
    assert len(iterations(learner)) == len(iterations(carol)) == 1


def test_a_token_of_another_release_starts_a_new_iteration(
    learner_client: Client, learner: User, cohort: Cohort, project: Project
) -> None:
    """The same learner's token from another project's form is no double submit here."""
    other = ProjectReleaseFactory(cohort=cohort, project=ProjectFactory(slug="other-project"))
    token = uuid.uuid4()
    earlier = IterationFactory(attempt__learner=learner, attempt__release=other, submit_token=token)

    response = learner_client.post(URL, form_data(project, submit_token=str(token)))

    assert response.status_code == 302
    [iteration] = Iteration.objects.filter(attempt__release__project=project)
    assert iteration.pk != earlier.pk
    assert response["Location"] == f"/attempts/{iteration.attempt_id}/"
    assert iteration.attempt.learner == learner
    assert len(iterations(learner)) == 2

"""Fetching a learner's repository with real git, from a git server on this machine.

Every test here talks to 127.0.0.1 only: a ``git http-backend`` behind a small HTTPS
server with a self-signed certificate (tests/checks/gitserver.py), which
REPOSITORY_HOSTS allows as ``127.0.0.1:<port>`` and CHECKS_GIT_CA_BUNDLE trusts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.checks.models import CheckRun
from core.checks.services import check_run_request
from core.checks.sources import SourceError, fetch_repository
from core.models import Project, ProjectRelease, User
from tests.checks.gitserver import Certificate, GitServer, missing_tools, self_signed, serving
from tests.checks.support import BAD_ROWS, GOOD_ROWS, rows_suite, work_queue

MB = 1024 * 1024


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    missing = missing_tools()
    if missing:
        pytest.skip(f"no git server for these tests: {missing}")
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def allow(settings: Any, certificate: Certificate) -> Any:
    """Fetching on, trusting the test certificate; ``allow(server)`` adds its host."""
    settings.CHECKS_FETCH_REPOSITORIES = True
    settings.CHECKS_GIT_CA_BUNDLE = str(certificate.cert)
    settings.CHECKS_GIT_SECONDS = 20

    def add(*servers: GitServer) -> None:
        settings.REPOSITORY_HOSTS = [*settings.REPOSITORY_HOSTS, *(s.host for s in servers)]

    return add


@pytest.fixture
def server(tmp_path: Path, certificate: Certificate, allow: Any) -> Iterator[GitServer]:
    """A git server whose host is allowed."""
    with serving(tmp_path / "served", certificate) as started:
        allow(started)
        yield started


def fetch(url: str, tmp_path: Path, sha: str = "") -> tuple[str, Path]:
    dest = tmp_path / "checkout"
    return fetch_repository(url=url, commit_sha=sha, dest=dest), dest


def files_in(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_it_fetches_exactly_the_commit_asked_for(server: GitServer, tmp_path: Path) -> None:
    repo = server.repository()
    first = repo.commit({"rows.py": "VERSION = 1\n"})
    repo.commit({"rows.py": "VERSION = 2\n", "notes.md": "later\n"})

    sha, dest = fetch(server.url(repo.path), tmp_path, first)

    assert sha == first
    assert files_in(dest) == {"rows.py": "VERSION = 1\n"}  # and no .git directory
    assert not (dest / ".git").exists()
    assert all(method in ("GET", "POST") for method, _path in server.requests)


def test_it_fetches_the_default_branch_without_a_sha(server: GitServer, tmp_path: Path) -> None:
    repo = server.repository()
    repo.commit({"rows.py": "VERSION = 1\n"})
    head = repo.commit({"rows.py": "VERSION = 2\n"})
    repo.commit({"rows.py": "VERSION = 3\n"}, branch="experiment")  # newer, not the default

    sha, dest = fetch(server.url(repo.path), tmp_path)

    assert sha == head
    assert files_in(dest) == {"rows.py": "VERSION = 2\n"}


def test_a_commit_not_in_the_repository_is_named(server: GitServer, tmp_path: Path) -> None:
    repo = server.repository()
    repo.commit({"rows.py": "VERSION = 1\n"})
    with pytest.raises(SourceError) as refused:
        fetch(server.url(repo.path), tmp_path, "0123456789abcdef0123456789abcdef01234567")
    assert str(refused.value) == "That commit is not in the repository (was it pushed?)."


def test_a_missing_repository_is_named(server: GitServer, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as refused:
        fetch(server.url("alice/nothing-here.git"), tmp_path)
    assert str(refused.value) == "The repository was not found: is it public?"


def test_a_redirect_to_another_host_is_not_followed(
    tmp_path: Path, certificate: Certificate, allow: Any
) -> None:
    with serving(tmp_path / "elsewhere", certificate) as elsewhere:
        repo = elsewhere.repository()
        repo.commit({"rows.py": "VERSION = 1\n"})
        with serving(tmp_path / "served", certificate, redirect_to=elsewhere.port) as server:
            # Both hosts allowed: even so, a redirect is not followed.
            allow(server, elsewhere)
            with pytest.raises(SourceError) as refused:
                fetch(server.url(repo.path), tmp_path)
    assert str(refused.value) == (
        "The repository address redirects elsewhere; give its final address."
    )
    assert server.requests  # asked, answered with a redirect…
    assert elsewhere.connections == 0  # …which git did not follow


ON_HOSTS = "The repository must be on bitbucket.org, codeberg.org, github.com, gitlab.com."
NO_TOKEN = (
    "Leave the name or token out of the address: reviewers and checks read public repositories"
    " only."
)


@pytest.mark.parametrize(
    ("address", "allowed", "message"),
    [
        pytest.param("https://{host}/alice/rows.git", False, ON_HOSTS, id="host-not-allowed"),
        # The host is allowed: the scheme or the credentials are not.
        pytest.param(
            "http://{host}/alice/rows.git",
            True,
            "Use an https:// link to your repository.",
            id="http",
        ),
        pytest.param("https://alice:s3cret@{host}/alice/rows.git", True, NO_TOKEN, id="password"),
        pytest.param("https://ghp_token@{host}/alice/rows.git", True, NO_TOKEN, id="token"),
    ],
)
def test_refused_addresses_are_never_contacted(
    tmp_path: Path,
    certificate: Certificate,
    allow: Any,
    address: str,
    allowed: bool,
    message: str,
) -> None:
    with serving(tmp_path / "served", certificate) as server:
        server.repository().commit({"rows.py": "VERSION = 1\n"})
        if allowed:
            allow(server)
        with pytest.raises(SourceError) as refused:
            fetch(address.format(host=server.host), tmp_path)
    assert str(refused.value) == message
    assert server.connections == 0


def test_a_repository_whose_files_are_too_large_is_refused_before_checkout(
    server: GitServer, settings: Any, tmp_path: Path
) -> None:
    settings.CHECKS_MAX_REPOSITORY_MB = 1
    repo = server.repository()
    # Compressible: its pack is small, its files are not.
    repo.commit({"rows.py": "VERSION = 1\n", "data.csv": "0,1,2,3\n" * (MB // 4)})
    with pytest.raises(SourceError) as refused:
        fetch(server.url(repo.path), tmp_path)
    assert str(refused.value) == (
        "The repository's files add up to 2.0 MB; checks take at most 1 MB."
    )
    assert not (tmp_path / "checkout" / "data.csv").exists()


def test_a_repository_too_large_to_download_is_refused(
    server: GitServer, settings: Any, tmp_path: Path
) -> None:
    settings.CHECKS_MAX_REPOSITORY_MB = 1
    repo = server.repository()
    repo.commit({"rows.py": "VERSION = 1\n", "noise.bin": os.urandom(3 * MB)})
    with pytest.raises(SourceError) as refused:
        fetch(server.url(repo.path), tmp_path)
    assert str(refused.value) == "The repository is larger than checks allow."


def test_a_server_that_stalls_is_given_up_on_in_time(
    tmp_path: Path, certificate: Certificate, allow: Any, settings: Any
) -> None:
    settings.CHECKS_GIT_SECONDS = 2
    with serving(tmp_path / "served", certificate, stall=True) as server:
        allow(server)
        started = time.monotonic()
        with pytest.raises(SourceError) as refused:
            fetch(server.url("alice/rows.git"), tmp_path)
        elapsed = time.monotonic() - started
    assert str(refused.value) == "Fetching the repository took longer than 2 seconds."
    assert server.requests  # it was asked, and never answered
    assert 2 <= elapsed < 5


def test_symbolic_links_are_checked_out_as_plain_files(server: GitServer, tmp_path: Path) -> None:
    repo = server.repository()
    repo.commit(
        {"rows.py": "VERSION = 1\n"},
        links={"passwords": "/etc/passwd", "up": "../../..", "rows_link.py": "rows.py"},
    )
    _sha, dest = fetch(server.url(repo.path), tmp_path)
    for name, target in (
        ("passwords", "/etc/passwd"),
        ("up", "../../.."),
        ("rows_link.py", "rows.py"),
    ):
        path = dest / name
        assert not path.is_symlink() and path.is_file()
        assert path.read_text() == target


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media", "queue_only")
def test_a_learners_check_of_a_repository_runs_at_its_commit(
    sandbox: None,
    server: GitServer,
    learner: User,
    project: Project,
    release: ProjectRelease,
) -> None:
    rows_suite(project)
    repo = server.repository("alice/generators")
    good = repo.commit({"rows.py": GOOD_ROWS})
    head = repo.commit({"rows.py": BAD_ROWS})
    url = server.url(repo.path)

    check_run_request(learner=learner, release=release, repo_url=url, commit_sha=good)
    [at_commit] = work_queue()
    check_run_request(learner=learner, release=release, repo_url=url)
    [latest] = work_queue()

    assert at_commit.status == CheckRun.Status.PASSED, at_commit.error
    assert at_commit.commit_sha == good
    assert latest.status == CheckRun.Status.FAILED, latest.error
    assert latest.commit_sha == head  # recorded once fetched: what was checked
    assert latest.task_results.get().cases_passed == 1

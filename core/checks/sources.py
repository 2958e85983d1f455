"""Where a run's code comes from: a repository at a commit, or a zip archive.

Both land in a fresh temporary directory on the host, which the sandbox copies in;
nothing here runs the learner's code. Fetching uses the git command line with
every way out closed: https only, hosts from ``REPOSITORY_HOSTS``, no credentials,
no prompts, no redirects, no system or global git configuration, no hooks and no
submodules, a time limit, a size limit on every file git writes, and a shallow fetch
of exactly the commit asked for. Symbolic links are checked out as plain files.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File

from core.platform.uploads import MB, validate_attachment
from core.reviews.models import validate_repository_url

GIT = "/usr/bin/git"
# Git's exit when it was refused a redirect, a host or a protocol is just "failed":
# these are what its messages say, turned into words a learner can act on.
_GIT_HINTS = (
    ("not our ref", "That commit is not in the repository (was it pushed?)."),
    ("couldn't find remote ref", "That commit or branch is not in the repository."),
    ("Repository not found", "The repository was not found: is it public?"),
    ("could not read Username", "The repository asks for a password: make it public."),
    ("Authentication failed", "The repository asks for a password: make it public."),
    ("returned error: 401", "The repository asks for a password: make it public."),
    ("returned error: 403", "The repository refused access: make it public."),
    ("returned error: 404", "The repository was not found: is it public?"),
    ("' not found", "The repository was not found: is it public?"),  # fatal: repository '…'
    ("redirect", "The repository address redirects elsewhere; give its final address."),
    # With redirects off, git reports the 301/302/303/307/308 it was answered as an error.
    ("returned error: 30", "The repository address redirects elsewhere; give its final address."),
    ("Could not resolve host", "The repository's host could not be reached."),
    ("File size limit exceeded", "The repository is larger than checks allow."),
    # The size limit kills git's helper (unpack-objects, index-pack), not git itself.
    (f"died of signal {int(signal.SIGXFSZ)}", "The repository is larger than checks allow."),
)


class SourceError(Exception):
    """The code could not be fetched or unpacked; the message is for the learner."""


def fetching_enabled() -> tuple[bool, str]:
    """Whether runs may fetch repositories here, and how to turn it on when not."""
    if settings.CHECKS_FETCH_REPOSITORIES:
        return True, ""
    return False, (
        "Fetching repositories is off on this server (development and tests never contact "
        "other hosts). Upload a zip archive of your code instead, or set "
        "CHECKS_FETCH_REPOSITORIES=true to turn fetching on."
    )


def _git_env(home: Path) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ALLOW_PROTOCOL": "https",
        "GIT_PROTOCOL_FROM_USER": "0",
    }
    if settings.CHECKS_GIT_CA_BUNDLE:
        env["GIT_SSL_CAINFO"] = str(settings.CHECKS_GIT_CA_BUNDLE)
    return env


_GIT_CONFIG = (
    "-c", "http.followRedirects=false",
    "-c", "credential.helper=",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.symlinks=false",
    "-c", "core.fsmonitor=false",
    "-c", "protocol.version=2",
    "-c", "submodule.recurse=false",
    "-c", "fetch.recurseSubmodules=false",
    "-c", "advice.detachedHead=false",
)  # fmt: skip


def _limit_file_size() -> None:  # runs in the child, before exec
    size = settings.CHECKS_MAX_REPOSITORY_MB * MB
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    os.setsid()  # its own process group, so a timeout kills git's helpers too


def _git(args: Sequence[str], *, cwd: Path, env: dict[str, str], deadline: float) -> str:
    """Run one git command within what is left of the time budget; its stdout."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SourceError("Fetching the repository took too long.")
    process = subprocess.Popen(
        [GIT, *_GIT_CONFIG, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limit_file_size,
    )
    try:
        out, err = process.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise SourceError(
            f"Fetching the repository took longer than {settings.CHECKS_GIT_SECONDS} seconds."
        ) from None
    if process.returncode != 0:
        text = err.decode("utf-8", "replace")
        if process.returncode < 0 and -process.returncode == signal.SIGXFSZ:
            text += "\nFile size limit exceeded"
        for needle, hint in _GIT_HINTS:
            if needle.lower() in text.lower():
                raise SourceError(hint)
        raise SourceError("The repository could not be fetched.")
    return out.decode("utf-8", "replace")


def fetch_repository(*, url: str, commit_sha: str, dest: Path) -> str:
    """Check out ``url`` at ``commit_sha`` (or its default branch) into ``dest``; the SHA."""
    enabled, why = fetching_enabled()
    if not enabled:
        raise SourceError(why)
    try:
        validate_repository_url(url)
    except ValidationError as error:
        raise SourceError(" ".join(error.messages)) from None
    deadline = time.monotonic() + settings.CHECKS_GIT_SECONDS
    with tempfile.TemporaryDirectory(prefix="prodev-git-home-") as home:
        env = _git_env(Path(home))
        dest.mkdir(parents=True, exist_ok=True)
        _git(["init", "-q", "."], cwd=dest, env=env, deadline=deadline)
        ref = commit_sha or "HEAD"
        _git(
            ["fetch", "-q", "--depth=1", "--no-tags", "--no-recurse-submodules", url, ref],
            cwd=dest,
            env=env,
            deadline=deadline,
        )
        sha = _git(["rev-parse", "FETCH_HEAD"], cwd=dest, env=env, deadline=deadline).strip()
        if commit_sha and sha != commit_sha:
            raise SourceError("The repository answered with another commit than the one asked.")
        _check_tree_size(
            _git(["ls-tree", "-r", "-l", "--full-tree", sha], cwd=dest, env=env, deadline=deadline)
        )
        _git(["checkout", "-q", sha], cwd=dest, env=env, deadline=deadline)
    shutil.rmtree(dest / ".git", ignore_errors=True)
    return sha


def _check_tree_size(listing: str) -> None:
    """Refuse a checkout past the size or file limits before writing it."""
    files = 0
    size = 0
    for line in listing.splitlines():
        meta, _, _path = line.partition("\t")
        fields = meta.split()
        if len(fields) < 4 or fields[1] != "blob":
            continue  # submodules ("commit") are not fetched
        files += 1
        size += int(fields[3]) if fields[3].isdigit() else 0
    if files > settings.MAX_ZIP_ENTRIES:
        raise SourceError(
            f"The repository holds {files:,} files; checks take at most "
            f"{settings.MAX_ZIP_ENTRIES:,}."
        )
    if size > settings.CHECKS_MAX_REPOSITORY_MB * MB:
        raise SourceError(
            f"The repository's files add up to {size / MB:.1f} MB; checks take at most "
            f"{settings.CHECKS_MAX_REPOSITORY_MB} MB."
        )


def extract_archive(*, archive: File[bytes], dest: Path) -> None:
    """Unpack a zip archive into ``dest`` after the attachment checks (size, bombs, paths,
    links, nested archives), writing regular files only, within the same byte budget."""
    name = PurePosixPath(archive.name or "code.zip").name
    try:
        validate_attachment(archive)  # type: ignore[arg-type]  # File has what it reads
    except ValidationError as error:
        raise SourceError(" ".join(error.messages)) from None
    if PurePosixPath(name).suffix.lower() != ".zip":
        raise SourceError("Checks read a zip archive of your code.")
    budget = settings.MAX_ZIP_UNCOMPRESSED_MB * MB
    archive.seek(0)
    with zipfile.ZipFile(archive) as zipped:
        members = [info for info in zipped.infolist() if not info.is_dir()]
        prefix = _common_folder(members)
        for info in members:
            relative = PurePosixPath(info.filename.replace("\\", "/"))
            if prefix:
                relative = relative.relative_to(prefix)
            target = dest.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(info) as member, target.open("xb") as out:
                while chunk := member.read(64 * 1024):
                    budget -= len(chunk)
                    if budget < 0:
                        raise SourceError("The archive unpacks to more than checks allow.")
                    out.write(chunk)


def _common_folder(members: list[zipfile.ZipInfo]) -> PurePosixPath | None:
    """The one folder every file is in (a zipped project folder), to unpack its content."""
    tops = {PurePosixPath(info.filename.replace("\\", "/")).parts[0] for info in members}
    if len(tops) == 1 and all("/" in info.filename.replace("\\", "/") for info in members):
        return PurePosixPath(tops.pop())
    return None


@contextlib.contextmanager
def code_checkout(
    *, repo_url: str, commit_sha: str, archive: File[bytes] | None
) -> Iterator[tuple[Path, str]]:
    """A temporary directory holding the code, and the commit it came from ("" for zips)."""
    with tempfile.TemporaryDirectory(prefix="prodev-code-") as directory:
        dest = Path(directory) / "code"
        dest.mkdir()
        if archive is not None:
            extract_archive(archive=archive, dest=dest)
            yield dest, ""
        else:
            yield dest, fetch_repository(url=repo_url, commit_sha=commit_sha, dest=dest)

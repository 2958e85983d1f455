"""A git server over HTTPS on 127.0.0.1, for fetching tests that never leave the machine.

``GitServer`` runs ``git http-backend`` as a CGI behind a small threaded HTTPS server
with a self-signed certificate (made with the ``openssl`` command line), serving the
bare repositories under its root. It counts every connection it accepts and records
every request, so a test can show that a refused fetch never connected. Two other
behaviours stand in for hostile hosts: ``redirect_to`` answers every request with a
302 to another port, ``stall`` accepts and never answers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

GIT = shutil.which("git") or "/usr/bin/git"
# Git's own environment here: no configuration of this machine's users or system.
GIT_ENV = {
    "PATH": "/usr/bin:/bin",
    "LC_ALL": "C",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Alice Learner",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice Learner",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
}
SOCKET_SECONDS = 30  # a handler thread never outlives a test by long


def git(*args: str, cwd: Path) -> str:
    """Run git in ``cwd`` (failing loudly); its stdout."""
    result = subprocess.run(
        [GIT, *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def missing_tools() -> str | None:
    """What this machine lacks to serve git over HTTPS; None when it has it all."""
    if shutil.which("openssl") is None:
        return "the openssl command line is not installed"
    if not Path(GIT).exists():
        return "git is not installed"
    backend = Path(git("--exec-path", cwd=Path("/"))) / "git-http-backend"
    if not backend.exists():
        return "git http-backend is not installed"
    return None


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def self_signed(directory: Path) -> Certificate:
    """A certificate for IP address 127.0.0.1, valid for a day, and its key."""
    directory.mkdir(parents=True, exist_ok=True)
    made = Certificate(directory / "cert.pem", directory / "key.pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(made.key), "-out", str(made.cert),
        ],
        check=True,
        capture_output=True,
        env=_real_clock_env(),
    )  # fmt: skip
    return made


def _real_clock_env() -> dict[str, str]:
    """This process's environment without a shifted clock (``faketime``, which the
    shifted-clock run uses): git reads the certificate with an environment of its own
    (core/checks/sources.py), on the real clock, so the certificate is dated by it too."""
    return {
        name: value
        for name, value in os.environ.items()
        if name != "LD_PRELOAD" and not name.startswith(("FAKETIME", "DONT_FAKE"))
    }


class Repository:
    """A bare repository under a server's root, built commit by commit from a work tree."""

    def __init__(self, root: Path, path: str) -> None:
        self.path = path  # "alice/rows.git": its URL path under the server
        self.bare = root / path
        self.work = root.parent / "work" / path
        self.work.mkdir(parents=True)
        git("init", "-q", "-b", "main", ".", cwd=self.work)
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        git("init", "-q", "--bare", "-b", "main", str(self.bare), cwd=self.work)
        # Fetching one commit by its SHA (what checks do) needs the server's permission.
        git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=self.bare)

    def commit(
        self,
        files: dict[str, str | bytes],
        *,
        links: dict[str, str] | None = None,
        branch: str = "main",
        message: str = "Work",
    ) -> str:
        """Commit ``files`` (and symbolic ``links``: name → target) on ``branch``, push it;
        the new commit's SHA."""
        current = git("branch", "--show-current", cwd=self.work)
        if current != branch:
            known = git("branch", "--list", branch, cwd=self.work)
            git("checkout", "-q", *([] if known else ["-b"]), branch, cwd=self.work)
        for name, content in files.items():
            target = self.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        for name, pointing_to in (links or {}).items():
            (self.work / name).symlink_to(pointing_to)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", str(self.bare), f"{branch}:{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


class GitServer:
    """``git http-backend`` over HTTPS on 127.0.0.1 (see the module's docstring)."""

    def __init__(
        self,
        root: Path,
        certificate: Certificate,
        *,
        redirect_to: int | None = None,
        stall: bool = False,
    ) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.redirect_to = redirect_to
        self.stall = stall
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        self.stop = threading.Event()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate.cert, certificate.key)
        self._httpd = _HTTPSServer(self, context)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        """As REPOSITORY_HOSTS names it: host and port."""
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"https://{self.host}/{path}"

    def repository(self, path: str = "alice/rows.git") -> Repository:
        return Repository(self.root, path)

    def __enter__(self) -> GitServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


class _HTTPSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: GitServer, context: ssl.SSLContext) -> None:
        self.owner = owner
        self.context = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        self.owner.connections += 1
        sock.settimeout(SOCKET_SECONDS)
        # The handshake happens in the handler's thread, so a slow client blocks nobody.
        return self.context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        ), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (a killed git) is not this server's failure


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPSServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        owner = self.server.owner
        owner.requests.append((self.command, self.path))
        if owner.stall:
            owner.stop.wait(SOCKET_SECONDS)
            return
        if owner.redirect_to is not None:
            self.send_response(302)
            self.send_header("Location", f"https://127.0.0.1:{owner.redirect_to}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        env = GIT_ENV | {
            "GIT_PROJECT_ROOT": str(owner.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
        }
        for header, variable in (
            ("Git-Protocol", "HTTP_GIT_PROTOCOL"),
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
        ):
            if self.headers.get(header):
                env[variable] = self.headers[header]
        backend = subprocess.run(
            [GIT, "http-backend"],
            input=body,
            env=env,
            capture_output=True,
            timeout=SOCKET_SECONDS,
            check=False,
        )
        head, _, payload = backend.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(payload)


@contextlib.contextmanager
def serving(root: Path, certificate: Certificate, **options: Any) -> Iterator[GitServer]:
    with GitServer(root, certificate, **options) as server:
        yield server

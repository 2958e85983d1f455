"""The sandbox's self-test: run hostile probes in the real sandbox, check each guarantee.

Used by ``python manage.py checks_doctor``. Three short runs with small limits: one
probe that tries everything at once (core/checks/runner/probe.py ``look``), one
that lingers past the wall limit with a SIGTERM-proof child and a setsid daemon,
and one that spins past the CPU limit. Each guarantee becomes one Finding.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core.checks import sandbox
from core.checks.runtime import load_manifest, runtime_dir
from core.checks.sandbox import Limits, SandboxResult, sandbox_run
from core.checks.slots import slot_held_if_free, uid_processes

PROBE = Path(__file__).parent / "runner" / "probe.py"
CANARY_VARIABLE = "PRODEV_CHECKS_CANARY"
# Small limits keep the self-test to seconds.
PROBE_LIMITS = Limits(
    wall_seconds=10, cpu_seconds=5, memory_mb=256, processes=16, disk_mb=32, file_size_mb=8
)
LINGER_LIMITS = Limits(wall_seconds=2, cpu_seconds=5, processes=16)
SPIN_LIMITS = Limits(wall_seconds=10, cpu_seconds=1)
ALLOCATE_MB = 1024
WRITE_MB = 64
FORK_ATTEMPTS = 200
SERVICES = (("127.0.0.1", 5432), ("127.0.0.1", 6379))
DNS = ("127.0.0.1", 53)


@dataclass(frozen=True)
class Finding:
    """One guarantee checked: whether it held, and what was seen."""

    ok: bool
    message: str


@contextmanager
def _probe_dirs() -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory(prefix="check-doctor-") as name:
        code, suite = Path(name) / "code", Path(name) / "suite"
        code.mkdir()
        suite.mkdir()
        shutil.copy(PROBE, code / "probe.py")
        yield code, suite


@contextmanager
def _host_listener() -> Iterator[int]:
    """A TCP listener on the host's loopback: the sandbox must not reach it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        yield listener.getsockname()[1]


def _forbidden_paths() -> list[str]:
    """Host paths that must not exist inside the sandbox."""
    paths = [
        str(settings.BASE_DIR),
        str(Path(settings.BASE_DIR) / "site_config" / "settings.py"),
        str(settings.MEDIA_ROOT),
        "/root",
        "/home",
        "/run",
        "/var/run/postgresql",
        "/run/postgresql",
        "/var/run/redis",
        "/etc/shadow",
        "/usr/bin",
    ]
    database = settings.DATABASES["default"]
    if str(database.get("ENGINE", "")).endswith("sqlite3"):
        paths.append(str(database["NAME"]))
    return paths


def _allowed_roots() -> set[str]:
    manifest = load_manifest()
    allowed = {"/", "/null", "/zero", "/full", "/random", "/urandom", "/tty", "/etc/ld.so.cache"}
    allowed.add(str(runtime_dir().resolve()))
    if manifest:
        allowed |= {str(Path(item).resolve()) for item in manifest.library_dirs}
        if manifest.loader:
            allowed.add(str(Path(manifest.loader).resolve()))
    return allowed


def _look(findings: list[Finding]) -> None:
    token = secrets.token_hex(8)
    os.environ[CANARY_VARIABLE] = token
    try:
        with _probe_dirs() as (code, suite), _host_listener() as port:
            plan = {
                "tcp": [*SERVICES, ("127.0.0.1", port)],
                "udp": [DNS],
                "paths": _forbidden_paths(),
                "fork_attempts": FORK_ATTEMPTS,
                "memory_bytes": ALLOCATE_MB * 1024 * 1024,
                "file_bytes": WRITE_MB * 1024 * 1024,
            }
            result = sandbox_run(
                code_dir=code,
                suite_dir=suite,
                command=["python", "probe.py", "look", json.dumps(plan)],
                limits=PROBE_LIMITS,
            )
    finally:
        os.environ.pop(CANARY_VARIABLE, None)
    try:
        seen = json.loads(result.output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        findings.append(Finding(False, f"the probe did not report: {result.output[-800:]}"))
        return
    add = findings.append

    privileged = seen["capabilities"].strip("0") != ""
    add(
        Finding(
            seen["uid"] == sandbox.SANDBOX_USER_ID and not privileged and result.slot is not None,
            f"runs unprivileged: uid {seen['uid']} inside, slot uid "
            f"{settings.CHECKS_SANDBOX_UID_BASE + (result.slot or 0)} outside, "
            f"capabilities {seen['capabilities']}",
        )
    )
    for target, outcome in seen["tcp"].items():
        add(Finding(outcome != "connected", f"no network: connect to {target}: {outcome}"))
    for target, outcome in seen["udp"].items():
        add(Finding(outcome != "answered", f"no network: UDP to {target}: {outcome}"))
    add(
        Finding(
            seen["interfaces"] == ["lo"],
            f"no network: interfaces {', '.join(seen['interfaces'])} (a loopback of its own)",
        )
    )
    add(
        Finding(
            os.getpid() not in seen["pids"] and len(seen["pids"]) <= 3,
            f"host processes invisible: /proc lists {len(seen['pids'])} processes, "
            f"pids {seen['pids']}",
        )
    )
    leaked = [name for name in (CANARY_VARIABLE, "SECRET_KEY") if name in seen["environ"]]
    leaked += [name for name in (CANARY_VARIABLE, "SECRET_KEY") if name in seen["pid1_environ"]]
    add(
        Finding(
            not leaked and token not in result.output and settings.SECRET_KEY not in result.output,
            "host environment invisible: no canary, no SECRET_KEY in os.environ or "
            f"/proc/1/environ ({len(seen['environ'])} variables: {', '.join(seen['environ'])})",
        )
    )
    visible = [path for path, exists in seen["paths"].items() if exists]
    add(
        Finding(
            not visible,
            "application code, settings, media, database, /root, /home, /run and sockets "
            f"not visible ({len(seen['paths'])} paths checked)"
            + (f"; VISIBLE: {', '.join(visible)}" if visible else ""),
        )
    )
    allowed = _allowed_roots()
    odd = [
        root
        for root in seen["mount_roots"]
        if root not in allowed and not root.startswith(("/bindfile", "/newroot"))
    ]
    add(
        Finding(
            not odd,
            "mountinfo shows no host path beyond the runtime and system libraries"
            + (f"; UNEXPECTED: {', '.join(odd)}" if odd else ""),
        )
    )
    add(
        Finding(
            seen["write_root"] != "written" and seen["write_runtime"] != "written",
            f"read-only outside /work: / → {seen['write_root']}; "
            f"/opt/runtime → {seen['write_runtime']}",
        )
    )
    fork = seen["fork"]
    add(
        Finding(
            fork["forked"] < PROBE_LIMITS.processes and bool(fork["error"]),
            f"fork bomb held at {fork['forked']} processes (limit {PROBE_LIMITS.processes}): "
            f"{fork['error']}",
        )
    )
    add(
        Finding(
            seen["memory"] == "MemoryError",
            f"memory limit: allocating {ALLOCATE_MB} MB with a {PROBE_LIMITS.memory_mb} MB "
            f"limit → {seen['memory']}",
        )
    )
    add(
        Finding(
            not seen["file"].startswith("wrote"),
            f"file size limit: writing {WRITE_MB} MB with a {PROBE_LIMITS.file_size_mb} MB "
            f"limit → {seen['file']}",
        )
    )


def _leftovers(result: SandboxResult) -> list[int] | None:
    """Processes left under the run's uid; None if another run took the slot first."""
    if result.slot is None:
        return []
    with slot_held_if_free(result.slot) as held:
        return uid_processes(settings.CHECKS_SANDBOX_UID_BASE + result.slot) if held else None


def _linger(findings: list[Finding]) -> None:
    with _probe_dirs() as (code, suite):
        result = sandbox_run(
            code_dir=code,
            suite_dir=suite,
            command=["python", "probe.py", "linger"],
            limits=LINGER_LIMITS,
        )
    left = _leftovers(result)
    after = (
        "the slot was already reused by another run"
        if left is None
        else f"{len(left)} processes of the slot's uid left"
    )
    findings.append(
        Finding(
            result.timed_out and result.killed_reason == "wall time" and not left,
            f"wall limit kills the process tree: a SIGTERM-proof child and a setsid daemon "
            f"killed at {result.wall_seconds:.1f} s (limit {LINGER_LIMITS.wall_seconds:g} s), "
            f"{after}",
        )
    )


def _spin(findings: list[Finding]) -> None:
    with _probe_dirs() as (code, suite):
        result = sandbox_run(
            code_dir=code,
            suite_dir=suite,
            command=["python", "probe.py", "spin"],
            limits=SPIN_LIMITS,
        )
    findings.append(
        Finding(
            result.killed_reason == "cpu time" and not result.timed_out,
            f"CPU limit: a busy loop was stopped after {result.wall_seconds:.1f} s "
            f"(limit {SPIN_LIMITS.cpu_seconds} s CPU): {result.killed_reason}",
        )
    )


def run_self_test() -> list[Finding]:
    """Run the probes in the real sandbox; one Finding per guarantee."""
    findings: list[Finding] = []
    _look(findings)
    _linger(findings)
    _spin(findings)
    return findings

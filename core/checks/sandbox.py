"""Run learner code in a bubblewrap sandbox: ``run_suite``, ``sandbox_run``, ``sandbox_available``.

Each run (bwrap 0.8, started as an unprivileged slot uid, core/checks/slots.py):

* Namespaces: ``--unshare-all --unshare-user --disable-userns``: no network (only
  a loopback of its own), its own PID, IPC, UTS, cgroup and user namespaces, and no
  nested user namespaces. ``--die-with-parent``, ``--new-session`` (no TIOCSTI).
  Environment cleared, then PATH, HOME=/work, LANG, TMPDIR, PYTHON* and the caller's.
* Filesystem: an empty read-only root holding only
  ``/opt/runtime`` (the check runtime, read-only: core/checks/runtime.py), the
  directories of the shared libraries its binaries load (read-only, as ldd found
  them), ``/etc/ld.so.cache``, a synthetic ``/etc/passwd``, ``group``, ``hosts`` and
  ``nsswitch.conf`` (the sandbox user ``learner``, uid 1000), the runner at
  ``/runner`` (these last are written in with ``--file``, so no host path of the
  application shows in /proc/self/mountinfo), a fresh ``/proc`` (host processes
  invisible), a minimal read-only ``/dev`` (null, zero, random, urandom, tty, pts) and ``/work``: a
  tmpfs of ``limits.disk_mb``, the only writable place (``/tmp`` points into it).
  Nothing else of the host: no application code, media, database or Redis socket,
  /root, /home or /run.
* Code and suite: streamed in as a tar archive on a pipe (read by the host as
  root, symbolic links stored as links, never followed) and extracted by the runner
  into ``/work/code`` and ``/work/suite``: separate directories, so a learner's
  file can never replace a suite file, and the archive fills the size-limited tmpfs
  like any other write. Staging through a pipe rather than binding the host
  directories keeps their host paths out of the sandbox's mountinfo.
* rlimits (``prlimit``): CPU seconds, address space, processes (per uid: hence the
  slot uids), file size, open files, no core dumps.
* Output: stdout and stderr combined, read as it comes; the first
  ``limits.output_bytes`` are kept and the rest is read and dropped, so a child
  printing without end neither blocks nor fills the host's memory.
* Wall clock: at ``limits.wall_seconds`` every process of the slot's uid but bwrap is
  killed (a double-forked, setsid daemon included), then bwrap. When the sandbox's
  PID 1 dies the kernel kills the rest of its PID namespace anyway; the uid sweep
  (which also reaps the PID 1 that bwrap leaves behind) runs after every run, and
  before a slot's next run unless its last holder released it swept.
* Start: the runner's first report line says it started. Without it bwrap failed to
  set the sandbox up, which is retried once and otherwise raised (SandboxStartError).
* Report: the runner writes it to a pipe passed as an extra descriptor (not stdout,
  which the learner's prints share); the host reads at most CHECKS_REPORT_BYTES
  and parses it as hostile input (core/checks/report.py).

What this does not do: limits are per process (RLIMIT_AS, RLIMIT_CPU), so a run
may use up to processes × memory in total; there is no seccomp filter, so the
kernel's whole system-call surface is reachable (by an unprivileged user with no
capabilities); and what the learner's code does inside the pytest process
can falsify that run's report (see core/checks/runner/run.py).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import selectors
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from core.checks.report import STARTED, RunnerReport, parse_report
from core.checks.runtime import RuntimeManifest, runtime_dir, runtime_status
from core.checks.slots import Slot, kill_uid, slot_lease

logger = logging.getLogger(__name__)

# The sandbox's own layout. Suites and commands may rely on these paths.
WORK_DIR = "/work"
CODE_DIR = "/work/code"
SUITE_DIR = "/work/suite"
TMP_DIR = "/work/tmp"
RUNTIME_MOUNT = "/opt/runtime"
RUNNER_DIR = "/runner"
SANDBOX_USER = "learner"
SANDBOX_USER_ID = 1000  # inside the user namespace only; outside it is the slot's uid
SANDBOX_HOSTNAME = "sandbox"

RUNNER_SOURCE = Path(__file__).with_name("runner")
CHUNK_BYTES = 64 * 1024
# After a kill, how long the host keeps reading what was already written to the pipes.
DRAIN_SECONDS = 2.0
# A second beyond the CPU limit: SIGXCPU first (soft limit), then SIGKILL (hard).
CPU_GRACE_SECONDS = 1
PROBE_TIMEOUT_SECONDS = 20
MB = 1024 * 1024

_ETC_FILES = {
    "/etc/passwd": f"{SANDBOX_USER}:x:{SANDBOX_USER_ID}:{SANDBOX_USER_ID}:"
    f"{SANDBOX_USER}:{WORK_DIR}:/nonexistent\n",
    "/etc/group": f"{SANDBOX_USER}:x:{SANDBOX_USER_ID}:\n",
    "/etc/hosts": f"127.0.0.1\tlocalhost {SANDBOX_HOSTNAME}\n::1\tlocalhost\n",
    "/etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
}


class SandboxUnavailable(RuntimeError):
    """Learner code cannot run here (no sandbox, and running it unsandboxed is not allowed)."""


class SandboxStartError(RuntimeError):
    """The sandbox failed to start twice in a row (what bwrap said is the message)."""


@dataclass(frozen=True)
class Limits:
    """What one run may use. Defaults come from the CHECKS_* settings."""

    wall_seconds: float = field(default_factory=lambda: float(settings.CHECKS_WALL_SECONDS))
    cpu_seconds: int = field(default_factory=lambda: settings.CHECKS_CPU_SECONDS)
    memory_mb: int = field(default_factory=lambda: settings.CHECKS_MEMORY_MB)
    processes: int = field(default_factory=lambda: settings.CHECKS_PROCESSES)
    output_bytes: int = field(default_factory=lambda: settings.CHECKS_OUTPUT_BYTES)
    disk_mb: int = field(default_factory=lambda: settings.CHECKS_DISK_MB)
    file_size_mb: int = field(default_factory=lambda: settings.CHECKS_FILE_SIZE_MB)
    open_files: int = field(default_factory=lambda: settings.CHECKS_OPEN_FILES)


@dataclass(frozen=True)
class SandboxResult:
    """How one run ended, what it printed, and the runner's report (None if it wrote none)."""

    exit_code: int | None  # None when killed (timed_out or killed_reason says why)
    timed_out: bool
    killed_reason: str | None  # "wall time", "cpu time", "file size", "signal SIGSEGV"…
    output: str
    output_truncated: bool
    wall_seconds: float
    report: RunnerReport | None
    slot: int | None = None  # None when unsandboxed (development only)
    sandboxed: bool = True
    started: bool = True  # False: the runner never ran (bwrap could not set the sandbox up)


# --- availability -------------------------------------------------------------------


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def _static_problem() -> str | None:
    """Why the sandbox cannot work here, judged without starting it; None if it may."""
    if _tool("bwrap") is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    if _tool("prlimit") is None:
        return "prlimit is not installed (apt-get install util-linux)"
    if _read_int("/proc/sys/kernel/unprivileged_userns_clone") == 0:
        return "user namespaces are disabled: sysctl kernel.unprivileged_userns_clone=0"
    if _read_int("/proc/sys/user/max_user_namespaces") == 0:
        return "user namespaces are disabled: sysctl user.max_user_namespaces=0"
    if _read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1:
        return (
            "AppArmor forbids unprivileged user namespaces: "
            "sysctl kernel.apparmor_restrict_unprivileged_userns=1"
        )
    if os.geteuid() != 0:
        return (
            "checks must be started by root (or with CAP_SETUID, CAP_SETGID and CAP_KILL) "
            "to run each sandbox as its own unprivileged uid"
        )
    directory = runtime_dir()
    for part in (directory, *directory.parents):
        if part.exists() and not part.stat().st_mode & 0o001:
            return (
                f"the sandbox user cannot reach the check runtime: {part} is not "
                "searchable by others (chmod o+x, or set CHECKS_RUNTIME_DIR elsewhere)"
            )
    return None


@functools.cache
def _probe(fingerprint: str) -> str | None:
    """Start one real sandbox; None if it ran, else the reason. Cached per runtime."""
    del fingerprint  # the cache key: a rebuilt runtime is probed again
    try:
        with tempfile.TemporaryDirectory(prefix="check-probe-") as empty:
            result = _run(
                code_dir=Path(empty),
                suite_dir=Path(empty),
                runner_args=["exec", "--", "python", "-I", "-c", "print('sandbox ok')"],
                limits=Limits(wall_seconds=PROBE_TIMEOUT_SECONDS),
                env=None,
                sandboxed=True,
            )
    except (OSError, RuntimeError) as error:
        return f"the sandbox could not start: {error}"
    if result.exit_code != 0 or "sandbox ok" not in result.output:
        return f"the sandbox did not run (exit {result.exit_code}): {result.output.strip()[-500:]}"
    return None


def sandbox_available() -> tuple[bool, str]:
    """Whether learner code can run sandboxed here, and a human reason either way."""
    problem = _static_problem()
    if problem is not None:
        return False, problem
    manifest, runtime_reason = runtime_status()
    if manifest is None:
        return False, runtime_reason
    problem = _probe(manifest.fingerprint)
    if problem is not None:
        _probe.cache_clear()  # a fixed machine is found without a restart
        return False, problem
    return True, f"{_bwrap_version()}, user namespaces, {runtime_reason}"


@functools.cache
def _bwrap_version() -> str:
    result = subprocess.run(
        [_tool("bwrap") or "bwrap", "--version"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "bubblewrap"


# --- the run ------------------------------------------------------------------------


def _clean_member(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Files, directories and links only, owned by nobody in particular, sane modes."""
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return None
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    if member.isdir():
        member.mode = 0o755
    elif member.isfile():
        member.mode = 0o755 if member.mode & 0o111 else 0o644
    return member


def _write_archive(descriptor: int, code_dir: Path, suite_dir: Path) -> None:
    """Stream ``code/`` and ``suite/`` as tar into the pipe; stop quietly if it closes."""
    with (
        contextlib.suppress(OSError),
        os.fdopen(descriptor, "wb") as stream,
        tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as archive,
    ):
        archive.add(code_dir, arcname="code", filter=_clean_member)
        archive.add(suite_dir, arcname="suite", filter=_clean_member)


def _data_fd(content: bytes) -> int:
    """A memory file holding ``content``, positioned at its start, for bwrap's --file."""
    descriptor = os.memfd_create("prodev-check-data")
    os.write(descriptor, content)
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


def _environment(env: Mapping[str, str] | None, python_lib: str) -> dict[str, str]:
    base = {
        "PATH": f"{RUNTIME_MOUNT}/python/bin",
        "HOME": WORK_DIR,
        "USER": SANDBOX_USER,
        "LOGNAME": SANDBOX_USER,
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "TMPDIR": TMP_DIR,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        # The interpreter's RUNPATH names where it was built; its library is here.
        "LD_LIBRARY_PATH": python_lib,
    }
    return base | dict(env or {})


def _prlimit_args(limits: Limits) -> list[str]:
    memory = limits.memory_mb * MB
    file_size = limits.file_size_mb * MB
    return [
        _tool("prlimit") or "prlimit",
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + CPU_GRACE_SECONDS}",
        f"--as={memory}:{memory}",
        f"--nproc={limits.processes}:{limits.processes}",
        f"--fsize={file_size}:{file_size}",
        f"--nofile={limits.open_files}:{limits.open_files}",
        "--core=0:0",
        "--",
    ]


def _bwrap_args(
    *,
    manifest: RuntimeManifest,
    limits: Limits,
    env: dict[str, str],
    data_fds: dict[str, int],
) -> list[str]:
    args = [
        _tool("bwrap") or "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--uid",
        str(SANDBOX_USER_ID),
        "--gid",
        str(SANDBOX_USER_ID),
        "--hostname",
        SANDBOX_HOSTNAME,
        "--clearenv",
    ]
    for name, value in env.items():
        args += ["--setenv", name, value]
    for directory in manifest.library_dirs:
        args += ["--ro-bind", directory, directory]
    if manifest.loader:
        args += ["--ro-bind", manifest.loader, manifest.loader]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    args += ["--ro-bind", str(runtime_dir()), RUNTIME_MOUNT]
    for destination, descriptor in data_fds.items():
        # A plain file in the root tmpfs (read-only once / is remounted below): cheaper
        # than --ro-bind-data's mount per file, and no trace of it in mountinfo.
        args += ["--perms", "0444", "--file", str(descriptor), destination]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(limits.disk_mb * MB),
        "--tmpfs",
        WORK_DIR,
        "--symlink",
        TMP_DIR,
        "/tmp",
        # Without these the root and /dev tmpfs would be writable, and unbounded.
        "--remount-ro",
        "/",
        "--remount-ro",
        "/dev",
        "--chdir",
        WORK_DIR,
        "--",
    ]
    return args


@dataclass
class _Collected:
    output: bytearray = field(default_factory=bytearray)
    output_truncated: bool = False
    report: bytearray = field(default_factory=bytearray)
    report_truncated: bool = False


class _Descriptors:
    """File descriptors this run opened; each is closed exactly once.

    A worker may run other threads: closing a number twice could close a socket
    another thread has just been given that number.
    """

    def __init__(self) -> None:
        self._open: set[int] = set()

    def own(self, descriptor: int) -> int:
        self._open.add(descriptor)
        return descriptor

    def release(self, descriptor: int) -> int:
        """Stop owning ``descriptor`` (someone else closes it); returns it."""
        self._open.discard(descriptor)
        return descriptor

    def close(self, descriptor: int) -> None:
        if descriptor in self._open:
            self._open.discard(descriptor)
            os.close(descriptor)

    def close_all(self) -> None:
        for descriptor in list(self._open):
            self.close(descriptor)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _killed_reason(signal_number: int, wall_seconds: float, limits: Limits) -> str:
    # SIGXCPU comes at the soft CPU limit; SIGKILL a second later if it was ignored.
    # The kernel says no more, so a SIGKILL after at least the CPU limit is counted as it.
    if signal_number == signal.SIGXCPU or (
        signal_number == signal.SIGKILL and wall_seconds >= limits.cpu_seconds
    ):
        return "cpu time"
    if signal_number == signal.SIGXFSZ:
        return "file size"
    return f"signal {_signal_name(signal_number)}"


@contextlib.contextmanager
def _maybe_slot(sandboxed: bool) -> Iterator[Slot | None]:
    if not sandboxed:
        yield None
        return
    with slot_lease() as slot:
        yield slot


def _sandboxed_command(
    *, limits: Limits, env: Mapping[str, str] | None, fds: _Descriptors
) -> tuple[list[str], dict[str, str], tuple[int, ...], str, str, str]:
    """prlimit + bwrap argv, bwrap's own environment, data fds, and the inner paths."""
    manifest, reason = runtime_status()
    if manifest is None:
        raise SandboxUnavailable(reason)
    data = {path: content.encode() for path, content in _ETC_FILES.items()}
    data[f"{RUNNER_DIR}/run.py"] = (RUNNER_SOURCE / "run.py").read_bytes()
    data[f"{RUNNER_DIR}/pytest.ini"] = (RUNNER_SOURCE / "pytest.ini").read_bytes()
    data_fds = {path: fds.own(_data_fd(content)) for path, content in data.items()}
    environment = _environment(env, f"{RUNTIME_MOUNT}/python/lib")
    argv = [
        *_prlimit_args(limits),
        *_bwrap_args(manifest=manifest, limits=limits, env=environment, data_fds=data_fds),
        f"{RUNTIME_MOUNT}/{manifest.python}",
    ]
    # bwrap itself gets nothing of the worker's environment (it clears its command's).
    bwrap_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    return (
        argv,
        bwrap_env,
        tuple(data_fds.values()),
        WORK_DIR,
        f"{RUNNER_DIR}/run.py",
        f"{RUNNER_DIR}/pytest.ini",
    )


def _unsandboxed_command(
    *, limits: Limits, env: Mapping[str, str] | None, work: Path
) -> tuple[list[str], dict[str, str], tuple[int, ...], str, str, str]:
    """Development only: the same runner under the same rlimits, with no isolation."""
    manifest, reason = runtime_status()
    if manifest is None:
        raise SandboxUnavailable(reason)
    python_dir = runtime_dir() / "python"
    environment = _environment(env, str(python_dir / "lib")) | {
        "PATH": f"{python_dir / 'bin'}:/usr/bin:/bin",
        "HOME": str(work),
        "TMPDIR": str(work / "tmp"),
    }
    argv = [*_prlimit_args(limits), str(runtime_dir() / manifest.python)]
    return (
        argv,
        environment,
        (),
        str(work),
        str(RUNNER_SOURCE / "run.py"),
        str(RUNNER_SOURCE / "pytest.ini"),
    )


def _run(
    *,
    code_dir: Path,
    suite_dir: Path,
    runner_args: list[str],
    limits: Limits,
    env: Mapping[str, str] | None,
    sandboxed: bool,
) -> SandboxResult:
    """Stage ``code_dir`` and ``suite_dir``, run the runner with ``runner_args``, collect."""
    code_dir = Path(code_dir).resolve(strict=True)
    suite_dir = Path(suite_dir).resolve(strict=True)
    if not code_dir.is_dir() or not suite_dir.is_dir():
        raise NotADirectoryError(f"{code_dir} and {suite_dir} must be directories")
    case_chars = settings.CHECKS_CASE_OUTPUT_BYTES
    fds = _Descriptors()
    with contextlib.ExitStack() as stack, _maybe_slot(sandboxed) as slot:
        stack.callback(fds.close_all)
        if sandboxed:
            argv, spawn_env, data_fds, work, runner, ini = _sandboxed_command(
                limits=limits, env=env, fds=fds
            )
        else:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="check-")))
            argv, spawn_env, data_fds, work, runner, ini = _unsandboxed_command(
                limits=limits, env=env, work=work_dir
            )
        archive_read, archive_write = (fds.own(fd) for fd in os.pipe())
        report_read, report_write = (fds.own(fd) for fd in os.pipe())
        output_read, output_write = (fds.own(fd) for fd in os.pipe())
        argv += [
            *("-I", "-B", runner),
            *("--work", work, "--ini", ini, "--case-output-chars", str(case_chars)),
            *("--archive-fd", str(archive_read), "--report-fd", str(report_write)),
            *runner_args,
        ]
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output_write,
            stderr=subprocess.STDOUT,
            pass_fds=(archive_read, report_write, *data_fds),
            env=spawn_env,
            start_new_session=True,
            user=slot.uid if slot else None,
            group=slot.gid if slot else None,
            extra_groups=[] if slot else None,
        )
        # Only the child holds these now, so EOF and EPIPE follow the sandbox's life.
        for fd in (archive_read, report_write, output_write, *data_fds):
            fds.close(fd)
        writer = threading.Thread(
            target=_write_archive,
            args=(fds.release(archive_write), code_dir, suite_dir),
            daemon=True,
        )
        writer.start()
        collected = _Collected()
        timed_out, status = _collect(
            process=process,
            output_fd=output_read,
            report_fd=report_read,
            deadline=started + limits.wall_seconds,
            limits=limits,
            collected=collected,
            slot_uid=slot.uid if slot else None,
        )
        wall = time.monotonic() - started
        writer.join(timeout=DRAIN_SECONDS)

    exit_code: int | None = os.waitstatus_to_exitcode(status)
    killed_reason: str | None = None
    if timed_out:
        exit_code, killed_reason = None, "wall time"
    elif exit_code is not None and exit_code < 0:
        killed_reason, exit_code = _killed_reason(-exit_code, wall, limits), None
    elif sandboxed and exit_code is not None and 128 < exit_code < 128 + signal.NSIG:
        # bwrap reports its command's death by signal N as exit status 128 + N.
        killed_reason, exit_code = _killed_reason(exit_code - 128, wall, limits), None
    return SandboxResult(
        exit_code=exit_code,
        timed_out=timed_out,
        killed_reason=killed_reason,
        output=collected.output.decode(errors="replace"),
        output_truncated=collected.output_truncated,
        wall_seconds=wall,
        report=parse_report(
            bytes(collected.report).removeprefix(STARTED),
            truncated=collected.report_truncated,
            output_chars=case_chars,
        ),
        slot=slot.number if slot else None,
        sandboxed=sandboxed,
        started=collected.report.startswith(STARTED),
    )


def _started(run: Callable[[], SandboxResult]) -> SandboxResult:
    """``run()``, once more on a fresh slot if the sandbox did not start the first time.

    bwrap can fail before the learner's code is even on disk ("Can't fork for pid 1"
    while the machine is short of processes). That is ours to retry, and if it fails
    again ours to report, never a result of the learner's.
    """
    for _ in range(2):
        result = run()
        if result.started:
            return result
        logger.warning("The sandbox did not start: %s", result.output.strip()[-500:])
    raise SandboxStartError(result.output.strip()[-500:])


def _kill_everything(process: subprocess.Popen[bytes], slot_uid: int | None) -> None:
    """Every process of the slot's uid but bwrap itself, then bwrap's process group.

    In that order, the sandbox's PID 1 dies while bwrap is there to reap it. Killed
    first, bwrap would leave its child to the machine's init, and until init reaps it
    (slowly, or never, in a container without one) it counts against the uid's
    process limit, so the slot's next run could not start.
    """
    if slot_uid is not None:
        kill_uid(slot_uid, spare=process.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _collect(
    *,
    process: subprocess.Popen[bytes],
    output_fd: int,
    report_fd: int,
    deadline: float,
    limits: Limits,
    collected: _Collected,
    slot_uid: int | None,
) -> tuple[bool, int]:
    """Read output and report until the process ends or the deadline passes.

    Returns (whether it timed out, the wait status).
    """
    report_limit = settings.CHECKS_REPORT_BYTES
    exit_handle = os.pidfd_open(process.pid)
    streams = {output_fd, report_fd}
    exited = timed_out = False
    drain_until: float | None = None  # after an exit or a kill: read what is left, briefly
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(output_fd, selectors.EVENT_READ)
            selector.register(report_fd, selectors.EVENT_READ)
            selector.register(exit_handle, selectors.EVENT_READ)
            while streams or not exited:
                now = time.monotonic()
                if drain_until is None and now >= deadline:
                    timed_out = True
                    _kill_everything(process, slot_uid)
                    drain_until = now + DRAIN_SECONDS
                if drain_until is not None and now >= drain_until:
                    break
                until = deadline if drain_until is None else drain_until
                for key, _ in selector.select(timeout=max(until - now, 0)):
                    if key.fd == exit_handle:
                        exited = True
                        selector.unregister(exit_handle)
                        if drain_until is None:
                            drain_until = time.monotonic() + DRAIN_SECONDS
                        continue
                    chunk = os.read(key.fd, CHUNK_BYTES)
                    if not chunk:
                        selector.unregister(key.fd)
                        streams.discard(key.fd)
                    elif key.fd == output_fd:
                        room = max(limits.output_bytes - len(collected.output), 0)
                        collected.output += chunk[:room]
                        collected.output_truncated |= len(chunk) > room
                    else:
                        room = max(report_limit - len(collected.report), 0)
                        collected.report += chunk[:room]
                        collected.report_truncated |= len(chunk) > room
    finally:
        os.close(exit_handle)
    if not exited:
        _kill_everything(process, slot_uid)
    elif slot_uid is None:
        # Unsandboxed (development): children of the run may still hold the pipes.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    # Sandboxed, the slot's release sweeps the uid again, so nothing survives the run.
    _, status = os.waitpid(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return timed_out, status


# --- the public calls ---------------------------------------------------------------


def _mode() -> bool:
    """True to sandbox; False only in development with CHECKS_ALLOW_UNSANDBOXED."""
    available, reason = sandbox_available()
    if available:
        return True
    if settings.CHECKS_ALLOW_UNSANDBOXED and settings.DEBUG:
        return False
    raise SandboxUnavailable(reason)


def sandbox_run(
    *,
    code_dir: Path,
    suite_dir: Path,
    command: Sequence[str],
    limits: Limits,
    env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Copy code and suite into a fresh sandbox (/work/code, /work/suite) and run ``command``.

    ``command`` runs in /work/code with the check runtime's ``python`` on PATH. No
    runner report is written (``report`` is None). Raises SandboxUnavailable when
    the sandbox cannot run here and CHECKS_ALLOW_UNSANDBOXED does not apply, and
    SandboxStartError when it failed to start twice.
    """
    if not command:
        raise ValueError("command must not be empty")
    return _started(
        functools.partial(
            _run,
            code_dir=code_dir,
            suite_dir=suite_dir,
            runner_args=["exec", "--", *command],
            limits=limits,
            env=env,
            sandboxed=_mode(),
        )
    )


def run_suite(
    *,
    code_dir: Path,
    suite_dir: Path,
    limits: Limits | None = None,
    code_paths: Sequence[str] = (),
    pytest_args: Sequence[str] = (),
) -> SandboxResult:
    """Run the pytest suite in ``suite_dir`` against the learner's code in ``code_dir``.

    ``code_paths``: directories inside the code to import from before its root (a task's
    directory, such as ``0x01-async``); ``pytest_args``: the suite's own arguments. The
    result's ``report`` lists each case (see core/checks/report.py); it is None when the
    runner wrote nothing (e.g. killed before its first case). Raises SandboxUnavailable
    when learner code cannot run here, and SandboxStartError as ``sandbox_run`` does.
    """
    options = [arg for path in code_paths for arg in ("--code-path", path)]
    return _started(
        functools.partial(
            _run,
            code_dir=code_dir,
            suite_dir=suite_dir,
            runner_args=[*options, "pytest", "--", *pytest_args],
            limits=limits or Limits(),
            env=None,
            sandboxed=_mode(),
        )
    )


__all__ = [
    "CODE_DIR",
    "SUITE_DIR",
    "WORK_DIR",
    "Limits",
    "RunnerReport",
    "SandboxResult",
    "SandboxStartError",
    "SandboxUnavailable",
    "run_suite",
    "sandbox_available",
    "sandbox_run",
]

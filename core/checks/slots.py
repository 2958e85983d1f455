"""Sandbox slots: one unprivileged uid per concurrent run, and cleaning a uid's processes.

A run's process limit (RLIMIT_NPROC) counts every process of its uid on the whole
machine, and the kernel does not apply it to root at all. So each run starts as
uid ``CHECKS_SANDBOX_UID_BASE + slot`` and holds that slot for its whole life with
an exclusive ``flock`` on ``CHECKS_SLOT_LOCK_DIR/slot-NNN.lock``: two workers, or
two threads of one worker, never share a uid, and a worker that dies releases its
locks with its file descriptors. After every run, any process still running as
its uid is killed (and reaped, see ``adopt_orphans``), and the lock file is marked
clean; a slot not marked clean (its holder crashed) is swept before it is used. A run
starts only on a uid with no process at all, so its process limit is all its own: a
slot whose uid is busy outside this lock directory, or still has unreaped processes,
is passed over.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

# Between two passes over /proc while killing: the kernel needs a moment to reap.
SWEEP_PAUSE_SECONDS = 0.01
# A fork bomb held by RLIMIT_NPROC dies in a few passes; this many means something is wrong.
SWEEP_PASSES = 200
SLOT_POLL_SECONDS = 0.1
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
# What a slot's lock file says about its uid: swept on release, or (possibly) not.
CLEAN = b"clean"
IN_USE = b"inuse"


class NoFreeSlot(RuntimeError):
    """Every sandbox slot stayed busy for CHECKS_SLOT_WAIT_SECONDS."""


class SlotError(RuntimeError):
    """The slot lock directory is unsafe or unusable."""


@dataclass(frozen=True)
class Slot:
    """A leased slot: its number and the uid/gid its run uses."""

    number: int
    uid: int
    gid: int


def uid_processes(uid: int, *, zombies: bool = False) -> list[int]:
    """Pids of every live process whose real uid is ``uid``; with ``zombies``, also of
    those dead but not yet reaped (they still count against the uid's process limit)."""
    return [
        pid for pid, status in _processes() if status.uid == uid and (zombies or not status.zombie)
    ]


@dataclass(frozen=True)
class _Status:
    zombie: bool
    parent: int
    uid: int  # the real uid


def _status(pid: int) -> _Status | None:
    """A process's state, parent and real uid, from /proc/PID/status (not its directory's
    owner, which a process can make root's with prctl(PR_SET_DUMPABLE, 0)); None if gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            fields = dict(line.split(b":", 1) for line in status if b":" in line)
        return _Status(
            zombie=fields[b"State"].split()[0] == b"Z",
            parent=int(fields[b"PPid"]),
            uid=int(fields[b"Uid"].split()[0]),
        )
    except (OSError, ValueError, IndexError, KeyError):
        return None


def _processes() -> Iterator[tuple[int, _Status]]:
    """Every process on the machine with its status, one pass over /proc."""
    for name in os.listdir("/proc"):
        if name.isdigit() and (status := _status(int(name))) is not None:
            yield int(name), status


def adopt_orphans() -> None:
    """Make this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER).

    bwrap exits as soon as the sandboxed command has, without reaping the sandbox's
    PID 1, so that process is orphaned at the end of every run. Left to the machine's
    init it lingers as a zombie until init reaps it (seconds later; never, in a
    container whose init does not reap), and meanwhile counts against its uid's
    process limit: runs in quick succession on one slot would fail to start. Adopted,
    it is reaped by ``kill_uid`` when the slot is released.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        logger.warning(
            "Cannot adopt orphaned sandbox processes: %s", os.strerror(ctypes.get_errno())
        )


def _reap_adopted(uid: int, *, spare: int | None) -> None:
    """Reap this process's dead children of ``uid`` (but ``spare``, which a Popen waits for).

    Only one thread holds a slot, and so a uid, at a time: no other thread waits for these.
    """
    me = os.getpid()
    for pid, status in _processes():
        if status.uid == uid and status.zombie and status.parent == me and pid != spare:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def kill_uid(uid: int, *, spare: int | None = None) -> int:
    """SIGKILL every process of ``uid`` (but ``spare``) until none is left, reap those that
    are this process's children; how many were signalled.

    Each process is opened as a pidfd and its uid checked again through that
    handle's pid before signalling, so a pid reused by another process in between
    is never hit.
    """
    if uid < settings.CHECKS_SANDBOX_UID_BASE:
        raise ValueError(f"refusing to kill uid {uid}: not a sandbox uid")
    signalled = 0
    for _ in range(SWEEP_PASSES):
        pids = [pid for pid in uid_processes(uid) if pid != spare]
        if not pids:
            _reap_adopted(uid, spare=spare)
            return signalled
        for pid in pids:
            try:
                handle = os.pidfd_open(pid)
            except OSError:
                continue
            try:
                status = _status(pid)
                if status is not None and status.uid == uid:
                    signal.pidfd_send_signal(handle, signal.SIGKILL)
                    signalled += 1
            except OSError:
                pass
            finally:
                os.close(handle)
        time.sleep(SWEEP_PAUSE_SECONDS)
    raise RuntimeError(f"processes of uid {uid} survived {SWEEP_PASSES} passes of SIGKILL")


def _lock_dir() -> Path:
    directory = Path(settings.CHECKS_SLOT_LOCK_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    # Anyone who could write here could hold every slot, or swap a lock file.
    if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SlotError(f"{directory} must be owned by uid {os.geteuid()} and writable only by it")
    return directory


def _lock_path(directory: Path, number: int) -> Path:
    return directory / f"slot-{number:03d}.lock"


@contextmanager
def slot_held_if_free(number: int) -> Iterator[bool]:
    """Hold slot ``number`` for the block if no run has it (True), else yield False.

    For checks that look at a slot's uid after a run: another worker may lease the
    slot as soon as it is released, and its processes are no leftovers.
    """
    descriptor = os.open(
        _lock_path(_lock_dir(), number), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
    )
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def busy_slots() -> dict[int, list[int]]:
    """Slots no run holds whose uid still has processes, dead ones included, by slot: a
    run passes them over (another deployment's, or not yet reaped) or sweeps them first
    (a crashed worker's)."""
    busy: dict[int, list[int]] = {}
    for number in range(settings.CHECKS_SANDBOX_SLOTS):
        with slot_held_if_free(number) as held:
            pids = uid_processes(settings.CHECKS_SANDBOX_UID_BASE + number, zombies=True)
            if held and pids:
                busy[number] = pids
    return busy


@contextmanager
def slot_lease(*, wait_seconds: float | None = None) -> Iterator[Slot]:
    """Hold a free slot (its processes cleaned before and after) for the ``with`` block."""
    directory = _lock_dir()
    wait = settings.CHECKS_SLOT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait
    base = settings.CHECKS_SANDBOX_UID_BASE
    while True:
        for number in range(settings.CHECKS_SANDBOX_SLOTS):
            descriptor = os.open(
                _lock_path(directory, number), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            slot = Slot(number=number, uid=base + number, gid=base + number)
            clean = os.pread(descriptor, len(CLEAN), 0) == CLEAN
            if clean and uid_processes(slot.uid):
                # Swept on release, yet busy: something outside this lock directory (another
                # deployment or test run on this machine) runs as this uid. Not ours to kill.
                logger.warning("Sandbox uid %s is in use outside %s", slot.uid, directory)
            elif not clean:
                # Its holder crashed, or the lock file is new: sweep it first.
                kill_uid(slot.uid)
            if uid_processes(slot.uid, zombies=True):
                # Every process of the uid, dead but unreaped ones too, counts against this
                # run's process limit: take another slot until this one is empty.
                fcntl.flock(descriptor, fcntl.LOCK_UN)
                os.close(descriptor)
                continue
            adopt_orphans()
            try:
                os.pwrite(descriptor, IN_USE, 0)
                yield slot
            finally:
                try:
                    kill_uid(slot.uid)
                    os.pwrite(descriptor, CLEAN, 0)
                finally:
                    fcntl.flock(descriptor, fcntl.LOCK_UN)
                    os.close(descriptor)
            return
        if time.monotonic() >= deadline:
            raise NoFreeSlot(
                f"all {settings.CHECKS_SANDBOX_SLOTS} sandbox slots stayed busy for {wait} s"
            )
        time.sleep(SLOT_POLL_SECONDS)

"""Sandbox slots: one unprivileged uid per concurrent run, and cleaning a uid's processes.

A run's process limit (RLIMIT_NPROC) counts every process of its uid on the whole
machine, and the kernel does not apply it to root at all. So each run starts as
uid ``CHECKS_SANDBOX_UID_BASE + slot`` and holds that slot for its whole life with
an exclusive ``flock`` on ``CHECKS_SLOT_LOCK_DIR/slot-NNN.lock``: two workers, or
two threads of one worker, never share a uid, and a worker that dies releases its
locks with its file descriptors. After every run, any process still running as
its uid is killed, and the lock file is marked clean; a slot not marked clean (its
holder crashed) is swept before it is used.
"""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Between two passes over /proc while killing: the kernel needs a moment to reap.
SWEEP_PAUSE_SECONDS = 0.01
# A fork bomb held by RLIMIT_NPROC dies in a few passes; this many means something is wrong.
SWEEP_PASSES = 200
SLOT_POLL_SECONDS = 0.1
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


def uid_processes(uid: int) -> list[int]:
    """Pids of every live (not zombie) process whose real uid is ``uid``."""
    found: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        if _status_uid(int(name)) == uid:
            found.append(int(name))
    return found


def _status_uid(pid: int) -> int | None:
    """The real uid of a live process, from /proc (not its directory owner, which a
    process can make root's with prctl(PR_SET_DUMPABLE, 0)); None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            real_uid = None
            for line in status:
                if line.startswith(b"State:") and b"Z" in line.split()[1]:
                    return None
                if line.startswith(b"Uid:"):
                    real_uid = int(line.split()[1])
                    break
            return real_uid
    except (OSError, ValueError, IndexError):
        return None


def kill_uid(uid: int) -> int:
    """SIGKILL every process of ``uid`` until none is left; how many were signalled.

    Each process is opened as a pidfd and its uid checked again through that
    handle's pid before signalling, so a pid reused by another process in between
    is never hit.
    """
    if uid < settings.CHECKS_SANDBOX_UID_BASE:
        raise ValueError(f"refusing to kill uid {uid}: not a sandbox uid")
    signalled = 0
    for _ in range(SWEEP_PASSES):
        pids = uid_processes(uid)
        if not pids:
            return signalled
        for pid in pids:
            try:
                handle = os.pidfd_open(pid)
            except OSError:
                continue
            try:
                if _status_uid(pid) == uid:
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
            try:
                # A holder that swept its uid on release marked the slot clean; anything
                # else (a crashed worker, an old lock file) gets swept first.
                if os.pread(descriptor, len(CLEAN), 0) != CLEAN:
                    kill_uid(slot.uid)
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

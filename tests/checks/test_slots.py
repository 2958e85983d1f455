"""Slots: one uid per concurrent run, held by an flock, processes of a uid killed."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from core.checks.slots import (
    NoFreeSlot,
    SlotError,
    kill_uid,
    slot_held_if_free,
    slot_lease,
    uid_processes,
)
from tests.checks.conftest import TEST_UID as UID


def test_leases_held_at_once_get_different_slots_and_uids(lock_dir: Path) -> None:
    with slot_lease(wait_seconds=0) as first, slot_lease(wait_seconds=0) as second:
        assert first.number != second.number
        assert {first.uid, second.uid} == {UID, UID + 1}
        with pytest.raises(NoFreeSlot), slot_lease(wait_seconds=0):
            pass
    with slot_lease(wait_seconds=0) as again:
        assert again.number == 0  # released on leaving the block
    assert oct(lock_dir.stat().st_mode & 0o777) == "0o700"


def test_a_crashed_holder_releases_its_slot(lock_dir: Path) -> None:
    # Another process takes slot 0 and dies without unlocking: the kernel drops its lock.
    # (--close: flock's child must not inherit the locked descriptor.)
    lock_dir.mkdir(mode=0o700)
    holder = subprocess.Popen(
        ["flock", "--exclusive", "--close", str(lock_dir / "slot-000.lock"), "sleep", "30"]
    )
    try:
        deadline = time.monotonic() + 5
        while not (lock_dir / "slot-000.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        with slot_lease(wait_seconds=0) as slot:
            assert slot.number == 1
    finally:
        holder.kill()
        holder.wait()
    with slot_lease(wait_seconds=0) as slot:
        assert slot.number == 0


def test_it_refuses_a_lock_directory_others_can_write(lock_dir: Path) -> None:
    lock_dir.mkdir(mode=0o700)
    lock_dir.chmod(0o777)
    with pytest.raises(SlotError, match="writable only by it"), slot_lease(wait_seconds=0):
        pass


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to a sandbox uid needs root")
def test_leftover_processes_of_a_slot_uid_are_killed_before_it_is_used(lock_dir: Path) -> None:
    leftover = subprocess.Popen(["sleep", "60"], user=UID, group=UID, extra_groups=[])
    try:
        assert uid_processes(UID) == [leftover.pid]
        with slot_lease(wait_seconds=0) as slot:
            assert slot.uid == UID
            # Killed, and reaped by the sweep (this process is its parent).
            assert uid_processes(UID, zombies=True) == []
    finally:
        leftover.kill()
        leftover.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to a sandbox uid needs root")
def test_a_clean_slot_whose_uid_is_busy_elsewhere_is_passed_over(lock_dir: Path) -> None:
    with slot_lease(wait_seconds=0):
        pass  # slot 0, swept and marked clean on release
    # Something that does not use this lock directory runs as slot 0's uid.
    foreign = subprocess.Popen(["sleep", "60"], user=UID, group=UID, extra_groups=[])
    try:
        with slot_lease(wait_seconds=0) as slot:
            assert slot.uid == UID + 1
        assert foreign.poll() is None  # not ours to kill
    finally:
        foreign.kill()
        foreign.wait()


def test_it_never_kills_a_uid_outside_the_sandbox_range(lock_dir: Path) -> None:
    with pytest.raises(ValueError, match="not a sandbox uid"):
        kill_uid(0)


def test_a_slot_in_use_is_not_held_for_inspection(lock_dir: Path) -> None:
    with slot_lease(wait_seconds=0) as slot, slot_held_if_free(slot.number) as held:
        assert held is False
    with slot_held_if_free(0) as held:
        assert held is True

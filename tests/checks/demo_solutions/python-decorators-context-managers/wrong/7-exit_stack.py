"""Compose resources with ExitStack.

Typical mistake: the sources are opened in a plain list, so when one fails to open the
ones already open are never closed.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    """Log how long the block took."""
    started = time.perf_counter()
    try:
        yield
    finally:
        logger.info("%s took %.3fs", label, time.perf_counter() - started)


def copy_users(source_paths: list[str], target_path: str) -> int:
    """Copy every user of every source into the target, once per email; how many."""
    sources = [sqlite3.connect(path) for path in source_paths]
    target = sqlite3.connect(target_path)
    target.execute(
        "CREATE TABLE IF NOT EXISTS user_data (user_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "email TEXT NOT NULL UNIQUE, age INTEGER NOT NULL)"
    )
    before = target.total_changes
    for source in sources:
        target.executemany(
            "INSERT OR IGNORE INTO user_data VALUES (?, ?, ?, ?)",
            source.execute("SELECT user_id, name, email, age FROM user_data"),
        )
        source.close()
    target.commit()
    copied = target.total_changes - before
    target.close()
    return copied

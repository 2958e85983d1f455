"""Races on PostgreSQL: workers started together, each on its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_together(workers: list[Callable[[], object]]) -> list[object]:
    """Start every worker at the same moment, each in its own thread and so on its own
    database connection, as concurrent requests are; return each one's result or
    exception."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:  # collected and asserted on by the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results

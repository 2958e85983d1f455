"""The runner's report, as the host reads it: bounded, schema-checked, never trusted.

The runner (core/checks/runner/run.py) writes one JSON object per line: a ``case``
per finished check, then one ``summary``. The learner's code runs in the same
process and may write to the same descriptor, so everything here is read as
hostile input: lines that are not JSON objects of the expected shape are counted
and dropped, strings are cut to size, numbers must be finite, a node id is
reported once (later lines for it are dropped), and nothing after the summary
counts.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

OUTCOMES = ("passed", "failed", "error", "skipped")
NODEID_CHARS = 1000
NAME_CHARS = 300
MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class CaseResult:
    """One check case: its pytest node id, short name, outcome, seconds and output excerpt."""

    nodeid: str
    name: str
    outcome: str
    duration: float
    output: str


@dataclass(frozen=True)
class RunnerReport:
    """What the runner reported. ``complete`` only if its summary line arrived."""

    cases: tuple[CaseResult, ...]
    exit_status: int | None
    message: str
    complete: bool
    truncated: bool
    rejected_lines: int

    def counts(self) -> dict[str, int]:
        """How many cases ended in each outcome (every outcome present, possibly 0)."""
        found = Counter(case.outcome for case in self.cases)
        return {outcome: found[outcome] for outcome in OUTCOMES}

    @property
    def all_passed(self) -> bool:
        """True when the run finished, found cases, and every one passed."""
        return (
            self.complete
            and self.exit_status == 0
            and bool(self.cases)
            and all(case.outcome == "passed" for case in self.cases)
        )


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    return value[:limit]


def _case(record: dict[str, Any], *, output_chars: int) -> CaseResult | None:
    nodeid = _text(record.get("nodeid"), NODEID_CHARS)
    name = _text(record.get("name", nodeid), NAME_CHARS)
    outcome = record.get("outcome")
    duration = record.get("duration", 0.0)
    output = _text(record.get("output", ""), output_chars)
    if not nodeid or name is None or output is None or outcome not in OUTCOMES:
        return None
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        return None
    if not math.isfinite(duration) or duration < 0:
        return None
    return CaseResult(
        nodeid=nodeid, name=name, outcome=outcome, duration=float(duration), output=output
    )


# The runner's first line (core/checks/runner/run.py): without it, the sandbox around the
# runner failed to start, which is the server's trouble, not the learner's.
STARTED = b'{"event": "start"}\n'


def parse_report(data: bytes, *, truncated: bool, output_chars: int) -> RunnerReport | None:
    """Parse the bytes read from the report channel; None when the runner wrote nothing.

    ``truncated`` says the host stopped reading at its byte limit (the last,
    partial line is then dropped). ``output_chars`` caps each case's output.
    """
    if not data:
        return None
    lines = data.split(b"\n")
    if not data.endswith(b"\n"):
        lines = lines[:-1]  # a partial last line: cut by the limit or by a kill
    cases: list[CaseResult] = []
    seen: set[str] = set()
    rejected = 0
    exit_status: int | None = None
    message = ""
    complete = False
    for line in lines:
        if not line.strip():
            continue
        if complete:
            rejected += 1  # nothing after the summary counts
            continue
        try:
            record = json.loads(line)
        except ValueError:
            rejected += 1
            continue
        if not isinstance(record, dict):
            rejected += 1
            continue
        event = record.get("event")
        if event == "case":
            case = _case(record, output_chars=output_chars)
            if case is None or case.nodeid in seen:
                rejected += 1
                continue
            seen.add(case.nodeid)
            cases.append(case)
        elif event == "summary":
            status = record.get("exit_status")
            if isinstance(status, bool) or not isinstance(status, int):
                rejected += 1
                continue
            exit_status = status
            message = _text(record.get("message", ""), MESSAGE_CHARS) or ""
            complete = True
        else:
            rejected += 1
    return RunnerReport(
        cases=tuple(cases),
        exit_status=exit_status,
        message=message,
        complete=complete,
        truncated=truncated,
        rejected_lines=rejected,
    )

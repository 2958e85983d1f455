"""The check runner: stage the learner's code and a suite, then run pytest on the suite.

It runs inside the sandbox (core/checks/sandbox.py), as
``python -I -B /runner/run.py --work /work --archive-fd N [--report-fd M] MODE``, with
the check runtime's interpreter. It imports only the standard library and pytest,
never the site's code, and writes nothing outside ``--work``.

1. Staging: a tar stream on ``--archive-fd`` holds ``code/`` (the learner's files)
   and ``suite/`` (the check suite); it is extracted under ``--work`` with tarfile's
   "tar" filter (no absolute paths, nothing outside the directory). Symbolic links
   stay links and resolve inside the sandbox, where the host's files do not exist.
2. ``pytest`` mode runs pytest in this process on ``<work>/suite`` only, with
   ``-c`` naming our pytest.ini (so no learner or suite configuration file is
   read), ``--rootdir`` and ``--confcutdir`` at the suite (so no conftest.py
   outside the suite is loaded), ``-p no:cacheprovider``, and the learner's
   directories put on ``sys.path`` after pytest is imported. ``python -I``
   keeps the working directory and PYTHON* variables off ``sys.path``, and pytest
   is imported before the learner's directory is on it, so a learner's
   ``pytest.py`` or ``conftest.py`` is never imported as such. The suite's
   directory is put ahead of the learner's when its modules are imported, so its
   own helpers win over same-named learner files.
3. Each case's result goes to ``--report-fd`` as one JSON object per line as soon
   as the case ends (so a run killed half-way still reports what finished), then a
   summary line. The host parses it defensively (core/checks/report.py).

``exec`` mode stages, then replaces this process with the given command (run in
``<work>/code``); it writes no report.

What this does NOT protect against: the learner's code is imported into this very
process. It can patch pytest or this plugin, forge or drop report lines, read the
suite's files (including hidden cases) and exit early. The sandbox bounds what it
can reach on the machine; it cannot make a verdict trustworthy beyond "the code
under test did not cheat". Suites that need more must compare behaviour the code
cannot fake from inside (for example by running it as a separate process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import pytest

# Exit status when the submission could not be staged (e.g. it does not fit the disk).
EXIT_STAGING_FAILED = 70
NAME_CHARS = 300


def stage(*, work: Path, archive_fd: int) -> None:
    """Extract the host's tar stream (``code/``, ``suite/``) under ``work``."""
    for name in ("code", "suite", "tmp"):
        (work / name).mkdir(parents=True, exist_ok=True)
    with (
        os.fdopen(archive_fd, "rb") as stream,
        tarfile.open(fileobj=stream, mode="r|") as archive,
    ):
        for member in archive:
            top = member.name.lstrip("/").split("/", 1)[0]
            if top not in {"code", "suite"}:
                continue
            archive.extract(member, work, filter="tar")


def excerpt(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its start and its end."""
    if len(text) <= limit:
        return text
    half = max(limit // 2, 1)
    cut = len(text) - 2 * half
    return f"{text[:half]}\n… [{cut} characters cut] …\n{text[-half:]}"


class ReportPlugin:
    """Writes one JSON line per finished case, and a summary, to the report stream."""

    def __init__(self, stream: BinaryIO | None, *, case_output_chars: int) -> None:
        self._stream = stream
        self._limit = case_output_chars
        self._cases: dict[str, dict[str, Any]] = {}
        self.collected = 0

    def emit(self, record: dict[str, Any]) -> None:
        """Write ``record`` as a line; a closed stream is the host's business, not ours."""
        if self._stream is None:
            return
        try:
            self._stream.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
            self._stream.flush()
        except (OSError, ValueError):
            self._stream = None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = len(session.items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A module that cannot be imported (e.g. the learner's syntax error) is one error case.
        if report.failed:
            nodeid = report.nodeid or "<collection>"
            self.emit(
                {
                    "event": "case",
                    "nodeid": nodeid,
                    "name": nodeid.rsplit("/", 1)[-1][:NAME_CHARS],
                    "outcome": "error",
                    "duration": 0.0,
                    "output": excerpt(report.longreprtext, self._limit),
                }
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        case = self._cases.setdefault(
            report.nodeid, {"outcome": "passed", "duration": 0.0, "text": []}
        )
        case["duration"] += report.duration
        if report.when == "call":
            if report.failed:
                case["outcome"] = "failed"
            elif report.skipped:
                case["outcome"] = "skipped"  # skip() or an expected failure
        elif report.failed and case["outcome"] != "failed":
            case["outcome"] = "error"  # a fixture broke in setup or teardown
        elif report.skipped and report.when == "setup":
            case["outcome"] = "skipped"
        if report.longreprtext:
            case["text"].append(report.longreprtext)
        if report.when == "teardown":
            # The teardown report carries every phase's captured output.
            for title, content in report.sections:
                case["text"].append(f"--- {title} ---\n{content}")
            self._cases.pop(report.nodeid)
            self.emit(
                {
                    "event": "case",
                    "nodeid": report.nodeid,
                    "name": report.nodeid.rsplit("::", 1)[-1][:NAME_CHARS],
                    "outcome": case["outcome"],
                    "duration": round(case["duration"], 6),
                    "output": excerpt("\n".join(case["text"]), self._limit),
                }
            )


def code_paths(code: Path, relative: list[str]) -> list[str]:
    """The learner's directories to import from: ``relative`` ones inside ``code`` that
    exist (a task's directory), in order, then ``code`` itself."""
    paths = []
    for name in relative:
        path = (code / name).resolve()
        if name and path.is_dir() and path.is_relative_to(code.resolve()):
            paths.append(str(path))
    return [*paths, str(code)]


def run_pytest(
    *, work: Path, ini: Path, plugin: ReportPlugin, relative: list[str], extra: list[str]
) -> int:
    """Run the suite under ``work`` with our configuration only; pytest's exit status.

    ``extra``: the suite's own pytest arguments (checked by the site: -x, -k, -m …).
    """
    import pytest

    code, suite = work / "code", work / "suite"
    os.chdir(code)
    # After pytest is imported (so a learner's pytest.py cannot stand in for it), before
    # the suite is collected (whose directory pytest then puts ahead of these).
    sys.path[:0] = code_paths(code, relative)
    args = [
        str(suite),
        "-c",
        str(ini),
        "--rootdir",
        str(suite),
        "--confcutdir",
        str(suite),
        "-p",
        "no:cacheprovider",
        "--tb=short",
        "--color=no",
        *extra,
    ]
    return int(pytest.main(args, plugins=[plugin]))


def main(argv: list[str]) -> int:
    """Stage, then run pytest (``pytest``) or another command (``exec -- CMD...``)."""
    parser = argparse.ArgumentParser(prog="run.py")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--archive-fd", type=int, required=True)
    parser.add_argument("--report-fd", type=int)
    parser.add_argument("--ini", type=Path, default=Path(__file__).with_name("pytest.ini"))
    parser.add_argument("--case-output-chars", type=int, default=4096)
    parser.add_argument("--code-path", action="append", default=[])
    parser.add_argument("mode", choices=("pytest", "exec"))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    sys.dont_write_bytecode = True
    if args.mode == "pytest":
        # Imported here, not at the top, so ``exec`` mode does not pay for it; and before
        # anything of the learner's is on disk, let alone on sys.path.
        import pytest  # noqa: F401

    report = os.fdopen(args.report_fd, "wb") if args.report_fd is not None else None
    plugin = ReportPlugin(report, case_output_chars=args.case_output_chars)
    # First of all, so the host can tell a sandbox that never started from our failures.
    plugin.emit({"event": "start"})
    try:
        stage(work=args.work, archive_fd=args.archive_fd)
    except (OSError, tarfile.TarError) as error:
        message = f"The submission could not be copied into the sandbox: {error}"
        print(message, file=sys.stderr)
        plugin.emit({"event": "summary", "exit_status": EXIT_STAGING_FAILED, "message": message})
        return EXIT_STAGING_FAILED

    if args.mode == "exec":
        if report is not None:
            report.close()
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        os.chdir(args.work / "code")
        try:
            os.execvp(command[0], command)
        except (OSError, IndexError) as error:
            print(f"Cannot run {command!r}: {error}", file=sys.stderr)
            return 127

    extra = args.command[1:] if args.command[:1] == ["--"] else args.command
    status = run_pytest(
        work=args.work, ini=args.ini, plugin=plugin, relative=args.code_path, extra=extra
    )
    plugin.emit({"event": "summary", "exit_status": status, "collected": plugin.collected})
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

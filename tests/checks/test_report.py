"""The host's reading of the runner's report: hostile bytes in, a bounded report out."""

from __future__ import annotations

import json

from core.checks.report import parse_report


def line(**record: object) -> bytes:
    return json.dumps(record).encode() + b"\n"


def good_case(nodeid: str = "test_a.py::test_one", outcome: str = "passed") -> bytes:
    return line(
        event="case",
        nodeid=nodeid,
        name=nodeid.split("::")[-1],
        outcome=outcome,
        duration=0.25,
        output="",
    )


SUMMARY = line(event="summary", exit_status=0, collected=1)


def test_it_reads_cases_and_the_summary() -> None:
    report = parse_report(good_case() + SUMMARY, truncated=False, output_chars=100)

    assert report is not None
    assert report.complete and report.exit_status == 0 and report.rejected_lines == 0
    assert [(case.name, case.outcome, case.duration) for case in report.cases] == [
        ("test_one", "passed", 0.25)
    ]
    assert report.all_passed


def test_nothing_written_is_no_report() -> None:
    assert parse_report(b"", truncated=False, output_chars=100) is None


def test_it_drops_lines_of_the_wrong_shape() -> None:
    junk = [
        b"not json\n",
        b"[1, 2]\n",
        line(event="case", nodeid="x", outcome="PASSED", duration=0),  # unknown outcome
        line(event="case", nodeid="x", outcome="passed", duration=float("nan")),
        line(event="case", nodeid="x", outcome="passed", duration=-1),
        line(event="case", nodeid="x", outcome="passed", duration=True),
        line(event="case", nodeid=7, outcome="passed", duration=0),
        line(event="case", nodeid="", outcome="passed", duration=0),
        line(event="case", nodeid="x", outcome="passed", duration=0, output=["list"]),
        line(event="surprise"),
        line(event="summary", exit_status="0"),
    ]
    report = parse_report(b"".join(junk) + good_case(), truncated=False, output_chars=100)

    assert report is not None
    assert report.rejected_lines == len(junk)
    assert len(report.cases) == 1
    assert not report.complete and report.exit_status is None
    assert not report.all_passed  # no summary: never a pass


def test_a_case_counts_once_and_nothing_after_the_summary() -> None:
    data = (
        good_case(outcome="failed")
        + good_case(outcome="passed")  # a forged second verdict for the same case
        + SUMMARY
        + good_case("test_a.py::test_late")
        + line(event="summary", exit_status=0)
    )
    report = parse_report(data, truncated=False, output_chars=100)

    assert report is not None
    assert [case.outcome for case in report.cases] == ["failed"]
    assert report.rejected_lines == 3
    assert not report.all_passed


def test_it_caps_strings_and_drops_a_partial_last_line() -> None:
    long_case = line(
        event="case",
        nodeid="n" * 5000,
        name="m" * 5000,
        outcome="failed",
        duration=1,
        output="o" * 5000,
    )
    report = parse_report(long_case + b'{"event": "case", "nod', truncated=True, output_chars=64)

    assert report is not None and report.truncated
    (case,) = report.cases
    assert len(case.nodeid) == 1000 and len(case.name) == 300 and len(case.output) == 64
    assert report.counts() == {"passed": 0, "failed": 1, "error": 0, "skipped": 0}

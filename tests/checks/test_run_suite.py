"""run_suite with ordinary submissions: every case reported, as pytest saw it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from core.checks import sandbox as sandbox_module
from core.checks.sandbox import (
    Limits,
    SandboxResult,
    SandboxStartError,
    SandboxUnavailable,
    run_suite,
)
from tests.checks.conftest import TEST_LIMITS, case, leftovers, write_tree

Run = Callable[..., SandboxResult]

CALC = """
    def add(a, b):
        return a + b

    def divide(a, b):
        return a / b
"""


def test_it_reports_each_case_of_a_passing_suite(run: Run) -> None:
    suite = {
        "test_calc.py": """
            import pytest
            from calc import add

            @pytest.mark.parametrize("n", range(20))
            def test_add(n):
                assert add(n, 1) == n + 1
        """
    }
    result = run({"calc.py": CALC}, suite)

    assert result.exit_code == 0
    assert not result.timed_out and result.killed_reason is None
    report = result.report
    assert report is not None
    assert report.complete and report.all_passed and report.exit_status == 0
    assert [found.name for found in report.cases] == [f"test_add[{n}]" for n in range(20)]
    assert [found.nodeid for found in report.cases][:2] == [
        "test_calc.py::test_add[0]",
        "test_calc.py::test_add[1]",
    ]
    assert report.counts() == {"passed": 20, "failed": 0, "error": 0, "skipped": 0}
    assert all(0 <= found.duration < 5 for found in report.cases)
    assert "20 passed" in result.output
    assert result.sandboxed and result.slot is not None


def test_it_reports_failures_errors_and_skips(run: Run) -> None:
    suite = {
        "test_calc.py": """
            import pytest
            from calc import add, divide

            @pytest.fixture
            def broken():
                raise RuntimeError("fixture broke")

            def test_passes():
                assert add(1, 1) == 2

            def test_wrong_answer():
                print("checking 1 + 2")
                assert add(1, 2) == 4

            def test_learner_code_raises():
                divide(1, 0)

            def test_setup_error(broken):
                pass

            @pytest.mark.skip(reason="not this week")
            def test_skipped():
                pass

            @pytest.mark.xfail(reason="known")
            def test_expected_failure():
                assert False
        """
    }
    result = run({"calc.py": CALC}, suite)

    assert result.exit_code == 1
    report = result.report
    assert report is not None and report.complete and report.exit_status == 1
    outcomes = {found.name: found.outcome for found in report.cases}
    assert outcomes == {
        "test_passes": "passed",
        "test_wrong_answer": "failed",
        "test_learner_code_raises": "failed",
        "test_setup_error": "error",
        "test_skipped": "skipped",
        "test_expected_failure": "skipped",
    }
    wrong = case(result, "test_wrong_answer").output
    assert "assert 3 == 4" in wrong
    assert "checking 1 + 2" in wrong  # the case's captured output
    assert "ZeroDivisionError" in case(result, "test_learner_code_raises").output
    assert "fixture broke" in case(result, "test_setup_error").output
    assert "not this week" in case(result, "test_skipped").output
    assert not report.all_passed


def test_a_syntax_error_in_the_learners_code_is_one_error_case(run: Run) -> None:
    suite = {"test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"}
    result = run({"calc.py": "def add(a, b)\n    return a + b\n"}, suite)

    report = result.report
    assert report is not None and report.complete
    assert report.exit_status == 2  # pytest: interrupted by a collection error
    assert [(found.nodeid, found.outcome) for found in report.cases] == [("test_calc.py", "error")]
    assert "SyntaxError" in report.cases[0].output
    assert "calc.py" in report.cases[0].output


def test_a_cases_output_is_cut_to_an_excerpt(run: Run) -> None:
    suite = {
        "test_noisy.py": """
            def test_noisy():
                print("FIRST LINE")
                print("x" * 100_000)
                assert "LAST" == "LINE"
        """
    }
    result = run({"calc.py": CALC}, suite)

    output = case(result, "test_noisy").output
    assert len(output) <= settings.CHECKS_CASE_OUTPUT_BYTES + 100  # plus the cut marker
    assert "characters cut" in output
    # The excerpt keeps the start (the failure, the first lines printed) and the end.
    assert "AssertionError" in output
    assert "FIRST LINE" in output
    assert output.endswith("x" * 100)


def test_two_concurrent_runs_get_different_slots(sandbox: None, tmp_path: Path) -> None:
    suite = {"test_slow.py": "import time\n\ndef test_slow():\n    time.sleep(1)\n"}
    results: list[SandboxResult] = []

    def one(name: str) -> None:
        code = write_tree(tmp_path / name / "code", {"calc.py": CALC})
        suite_dir = write_tree(tmp_path / name / "suite", suite)
        results.append(run_suite(code_dir=code, suite_dir=suite_dir, limits=TEST_LIMITS))

    threads = [threading.Thread(target=one, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2
    assert all(result.report and result.report.all_passed for result in results)
    assert results[0].slot != results[1].slot


def test_a_sandbox_that_does_not_start_is_tried_once_more_then_raised(
    sandbox: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code = write_tree(tmp_path / "code", {"calc.py": CALC})
    suite = write_tree(tmp_path / "suite", {"test_calc.py": "def test_it():\n    pass\n"})
    # bwrap and the sandbox's PID 1 take both processes the limit allows: none is left
    # for the command ("bwrap: Can't fork for pid 1"), as when zombies fill the uid.
    starved = Limits(**{**TEST_LIMITS.__dict__, "processes": 2})
    with pytest.raises(SandboxStartError, match=r"^bwrap: .*Resource temporarily unavailable"):
        run_suite(code_dir=code, suite_dir=suite, limits=starved)
    tries = [r for r in caplog.records if r.getMessage().startswith("The sandbox did not start")]
    assert len(tries) == 2
    # The same submission with room to start runs as usual.
    result = run_suite(code_dir=code, suite_dir=suite, limits=TEST_LIMITS)
    assert result.started and result.report is not None and result.report.all_passed


def test_runs_back_to_back_each_have_the_whole_process_limit(sandbox: None, tmp_path: Path) -> None:
    # bwrap leaves the sandbox's PID 1 to be reaped by someone else: were it left to
    # the machine's init, each run would leave one more process on the slot's uid for a
    # while, and the third quick run with a limit of 4 could not start.
    code = write_tree(tmp_path / "code", {"calc.py": CALC})
    suite = write_tree(tmp_path / "suite", {"test_calc.py": "def test_it():\n    pass\n"})
    tight = Limits(**{**TEST_LIMITS.__dict__, "processes": 4})
    for _ in range(6):
        result = run_suite(code_dir=code, suite_dir=suite, limits=tight)
        assert result.report is not None and result.report.all_passed, result.output
        assert leftovers(result.slot) == []


def test_a_django_and_drf_suite_runs(run: Run) -> None:
    code = {
        "shop/__init__.py": "",
        "shop/serializers.py": """
            from rest_framework import serializers

            class ItemSerializer(serializers.Serializer):
                name = serializers.CharField(max_length=20)
                price = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0)
        """,
    }
    suite = {
        "conftest.py": """
            import django
            from django.conf import settings

            def pytest_configure(config):
                settings.configure(
                    INSTALLED_APPS=["django.contrib.contenttypes", "rest_framework"],
                    DATABASES={
                        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
                    },
                    USE_TZ=True,
                    TIME_ZONE="Africa/Nairobi",
                )
                django.setup()
        """,
        "test_items.py": """
            from shop.serializers import ItemSerializer

            def test_a_valid_item():
                assert ItemSerializer(data={"name": "pen", "price": "1.50"}).is_valid()

            def test_a_negative_price_is_refused():
                serializer = ItemSerializer(data={"name": "pen", "price": "-1"})
                assert not serializer.is_valid()
                assert "price" in serializer.errors

            def test_time_zones_work(db):
                from django.utils import timezone
                assert timezone.localtime().tzinfo is not None
        """,
    }
    result = run(code, suite)

    assert result.report is not None, result.output
    assert result.report.all_passed, result.output
    assert len(result.report.cases) == 3


def test_it_refuses_to_run_unsandboxed_by_default(
    check_runtime: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sandbox_module, "sandbox_available", lambda: (False, "bubblewrap is not installed")
    )
    code = write_tree(tmp_path / "code", {"calc.py": CALC})
    suite = write_tree(tmp_path / "suite", {"test_ok.py": "def test_ok(): pass\n"})

    with pytest.raises(SandboxUnavailable, match="bubblewrap is not installed"):
        run_suite(code_dir=code, suite_dir=suite, limits=TEST_LIMITS)
    with (
        override_settings(CHECKS_ALLOW_UNSANDBOXED=True, DEBUG=False),
        pytest.raises(SandboxUnavailable),
    ):
        run_suite(code_dir=code, suite_dir=suite, limits=TEST_LIMITS)


def test_development_may_run_unsandboxed_when_allowed(
    check_runtime: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sandbox_module, "sandbox_available", lambda: (False, "bubblewrap is not installed")
    )
    code = write_tree(tmp_path / "code", {"calc.py": CALC, "conftest.py": "raise SystemExit\n"})
    suite = write_tree(
        tmp_path / "suite",
        {"test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n"},
    )
    with override_settings(CHECKS_ALLOW_UNSANDBOXED=True, DEBUG=True):
        result = run_suite(code_dir=code, suite_dir=suite, limits=TEST_LIMITS)

    assert not result.sandboxed and result.slot is None
    assert result.report is not None and result.report.all_passed, result.output

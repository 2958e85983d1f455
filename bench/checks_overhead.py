"""The sandbox's cost: a 20-case suite through run_suite versus the same pytest run directly.

``python bench/checks_overhead.py [--runs 15]`` (as root, with bubblewrap and the
check runtime built) times, interleaved so machine noise hits all alike:

* ``direct``: the check runtime's python running pytest on the suite, with the
  runner's pytest.ini and options, in a directory already holding code and suite;
* ``runner``: the same through the runner (staging from a tar stream, report
  plugin) and the same rlimits, no sandbox (CHECKS_ALLOW_UNSANDBOXED's path);
* ``sandbox``: run_suite, the real thing (slot, uid sweeps, bwrap, staging).

It prints the median of each and the ratio sandbox / direct (target ≤ 1.15), plus
the fixed cost of an empty sandbox (``python -c pass`` in it versus outside).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.15
CALC = "def add(a, b):\n    return a + b\n"
SUITE = textwrap.dedent(
    """
    import pytest
    from calc import add

    @pytest.mark.parametrize("n", range(20))
    def test_add(n):
        assert add(n, 1) == n + 1
    """
)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import override_settings

    from core.checks import sandbox
    from core.checks.runtime import load_manifest, runtime_dir
    from core.checks.sandbox import Limits, run_suite, sandbox_available, sandbox_run

    call_command("build_check_runtime", verbosity=0)
    available, reason = sandbox_available()
    if not available:
        raise SystemExit(f"The sandbox cannot run here: {reason}")
    manifest = load_manifest()
    assert manifest is not None
    python = runtime_dir() / manifest.python
    ini = sandbox.RUNNER_SOURCE / "pytest.ini"
    limits = Limits()

    with tempfile.TemporaryDirectory(prefix="checks-bench-") as name:
        base = Path(name)
        code, suite = base / "code", base / "suite"
        code.mkdir()
        suite.mkdir()
        (code / "calc.py").write_text(CALC)
        (suite / "test_calc.py").write_text(SUITE)
        direct_env = {
            "PATH": f"{python.parent}:/usr/bin:/bin",
            "HOME": str(base),
            "LANG": "C.UTF-8",
            "LD_LIBRARY_PATH": str(runtime_dir() / "python" / "lib"),
        }
        direct_cmd = [
            str(python),
            *("-I", "-B", "-m", "pytest", str(suite), "-c", str(ini)),
            *("--rootdir", str(suite), "--confcutdir", str(suite), "-p", "no:cacheprovider"),
            *("-o", f"pythonpath={code}", "--tb=short", "--color=no"),
        ]

        def direct() -> None:
            subprocess.run(direct_cmd, cwd=code, env=direct_env, capture_output=True, check=True)

        def runner() -> None:
            with override_settings(CHECKS_ALLOW_UNSANDBOXED=True, DEBUG=True):
                result = sandbox._run(
                    code_dir=code,
                    suite_dir=suite,
                    runner_args=["pytest"],
                    limits=limits,
                    env=None,
                    sandboxed=False,
                )
            assert result.report and result.report.all_passed, result.output

        def sandboxed() -> None:
            result = run_suite(code_dir=code, suite_dir=suite, limits=limits)
            assert result.report and result.report.all_passed, result.output

        def empty_direct() -> None:
            subprocess.run(
                [str(python), "-I", "-c", "pass"], env=direct_env, check=True, capture_output=True
            )

        def empty_sandbox() -> None:
            result = sandbox_run(
                code_dir=code,
                suite_dir=suite,
                command=["python", "-I", "-c", "pass"],
                limits=limits,
            )
            assert result.exit_code == 0, result.output

        plans = {
            "direct": direct,
            "runner": runner,
            "sandbox": sandboxed,
            "python -c pass": empty_direct,
            "python -c pass, sandboxed": empty_sandbox,
        }
        for action in plans.values():  # warm the page cache and the probe
            action()
        times: dict[str, list[float]] = {label: [] for label in plans}
        for _ in range(args.runs):
            for label, action in plans.items():
                times[label].append(timed(action))
        shutil.rmtree(base, ignore_errors=True)

    medians = {label: statistics.median(values) for label, values in times.items()}
    print(f"{args.runs} runs each, interleaved; median (min–max) in ms, {os.cpu_count()} cores")
    for label, values in times.items():
        print(
            f"  {label:28} {medians[label] * 1000:7.1f}  "
            f"({min(values) * 1000:.1f}–{max(values) * 1000:.1f})"
        )
    ratio = medians["sandbox"] / medians["direct"]
    fixed = medians["python -c pass, sandboxed"] - medians["python -c pass"]
    best = min(times["sandbox"]) / min(times["direct"])
    print(
        f"sandbox / direct: {ratio:.3f} by median, {best:.3f} by minimum (target ≤ {TARGET_RATIO})"
    )
    print(f"runner / direct:  {medians['runner'] / medians['direct']:.3f}")
    print(f"fixed cost of a sandbox around an empty python: {fixed * 1000:.1f} ms")
    if ratio > TARGET_RATIO:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

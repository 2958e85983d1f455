"""Hostile learner code in the real sandbox: each attack is a submission run by run_suite.

Every test gets the ``run`` fixture, which afterwards checks that no process of any
sandbox uid is left, that files outside are unchanged, and that a fresh run passes.
Network attacks target loopback addresses only, so even a broken sandbox would send
nothing off this machine.
"""

from __future__ import annotations

import json
import resource
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from core.checks import sandbox as sandbox_module
from core.checks import slots
from core.checks.runtime import load_manifest, runtime_dir
from core.checks.sandbox import SandboxResult, run_suite, sandbox_run
from tests.checks.conftest import TEST_LIMITS, case, leftovers, write_tree

Run = Callable[..., SandboxResult]

# The suite every attack uses: call the learner's attack() and print what it saw.
ATTACK_SUITE = {
    "test_attack.py": """
        import json
        from attack import attack

        def test_attack():
            print("OBSERVED " + json.dumps(attack()))
    """
}


def observed(result: SandboxResult) -> dict:
    """What the learner's attack() returned, from its case's captured output."""
    found = case(result, "test_attack")
    assert found.outcome == "passed", found.output
    for line in found.output.splitlines():
        if line.startswith("OBSERVED "):
            return json.loads(line.removeprefix("OBSERVED "))
    raise AssertionError(found.output)


def test_it_refuses_tcp_and_udp_to_the_hosts_loopback(run: Run) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        attack = """
            import socket

            def tcp(port):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    return "connected"
                except OSError as error:
                    return type(error).__name__

            def udp(port):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.settimeout(1)
                    try:
                        sock.sendto(b"probe", ("127.0.0.1", port))
                        sock.recvfrom(100)
                        return "answered"
                    except OSError as error:
                        return type(error).__name__

            def attack():
                return {
                    "postgres": tcp(5432),
                    "redis": tcp(6379),
                    "host_listener": tcp(__PORT__),
                    "dns": udp(53),
                    "interfaces": [name for _, name in socket.if_nameindex()],
                }
        """.replace("__PORT__", str(port))
        result = run({"attack.py": attack}, ATTACK_SUITE)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever reached the host's listener

    seen = observed(result)
    assert seen["postgres"] == "ConnectionRefusedError"
    assert seen["redis"] == "ConnectionRefusedError"
    assert seen["host_listener"] == "ConnectionRefusedError"
    assert seen["dns"] in {"TimeoutError", "ConnectionRefusedError"}
    assert seen["interfaces"] == ["lo"]


def test_it_shows_no_host_environment_processes_or_paths(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    canary = secrets.token_hex(12)
    monkeypatch.setenv("PRODEV_TEST_CANARY", canary)
    monkeypatch.setenv("SECRET_KEY", f"host-secret-{canary}")
    attack = """
        import os

        def attack():
            with open("/proc/1/environ", "rb") as environ:
                pid1 = environ.read().decode(errors="replace")
            with open("/proc/self/mountinfo") as mountinfo:
                roots = [line.split()[3] for line in mountinfo]
            return {
                "environ": dict(os.environ),
                "pid1": pid1,
                "pids": [name for name in os.listdir("/proc") if name.isdigit()],
                "roots": roots,
            }
    """
    result = run({"attack.py": attack}, ATTACK_SUITE)

    seen = observed(result)
    assert "PRODEV_TEST_CANARY" not in seen["environ"]
    assert "SECRET_KEY" not in seen["environ"]
    assert canary not in seen["pid1"]
    assert canary not in result.output
    assert set(seen["environ"]) <= {
        *("PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "PWD", "LD_LIBRARY_PATH"),
        *("PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "PYTHONUNBUFFERED"),
        *("PYTEST_VERSION", "PYTEST_CURRENT_TEST"),
    }
    assert len(seen["pids"]) <= 3  # bwrap's init, the runner, nothing of the host

    # mountinfo reveals the runtime and the system's library directories, nothing else.
    manifest = load_manifest()
    assert manifest is not None
    allowed = {str(runtime_dir().resolve()), "/etc/ld.so.cache", "/"}
    allowed |= {str(Path(directory).resolve()) for directory in manifest.library_dirs}
    allowed.add(str(Path(manifest.loader).resolve()))
    allowed |= {"/null", "/zero", "/full", "/random", "/urandom", "/tty"}
    for root in seen["roots"]:
        assert root in allowed or root.startswith(("/bindfile", "/newroot")), root
        assert str(tmp_path) not in root


def test_it_hides_the_application_settings_media_and_sockets(run: Run) -> None:
    paths = {
        "settings": str(Path(settings.BASE_DIR) / "site_config" / "settings.py"),
        "app": str(settings.BASE_DIR),
        "media": str(settings.MEDIA_ROOT),
        "root": "/root",
        "home": "/home",
        "postgres_socket": "/var/run/postgresql",
        "run": "/run",
        "shadow": "/etc/shadow",
    }
    attack = """
        import json, os

        PATHS = json.loads('__PATHS__')

        def attack():
            seen = {name: os.path.lexists(path) for name, path in PATHS.items()}
            try:
                import site_config.settings
                seen["import_settings"] = "imported"
            except ImportError as error:
                seen["import_settings"] = type(error).__name__
            try:
                with open("leak_settings") as leak:
                    seen["symlink_to_settings"] = leak.read()
            except OSError as error:
                seen["symlink_to_settings"] = type(error).__name__
            with open("leak_passwd") as leak:
                seen["symlink_to_passwd"] = leak.read()
            return seen
    """.replace("__PATHS__", json.dumps(paths))
    result = run(
        {"attack.py": attack},
        ATTACK_SUITE,
        links={"leak_settings": paths["settings"], "leak_passwd": "/etc/passwd"},
    )

    seen = observed(result)
    for name in paths:
        assert seen[name] is False, name
    assert seen["import_settings"] == "ModuleNotFoundError"
    # The host never follows a learner's symbolic link: inside, it points at nothing...
    assert seen["symlink_to_settings"] == "FileNotFoundError"
    # ...or at the sandbox's own files.
    assert seen["symlink_to_passwd"].startswith("learner:x:1000:1000:")
    assert settings.SECRET_KEY not in result.output


def test_a_fork_bomb_is_held_by_the_process_limit(run: Run) -> None:
    attack = """
        import os, time

        def attack():
            children = []
            try:
                while True:
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(30)
                        os._exit(0)
                    children.append(pid)
            except OSError as error:
                return {"forked": len(children), "error": type(error).__name__}
    """
    result = run({"attack.py": attack}, ATTACK_SUITE, processes=16)

    seen = observed(result)
    assert seen["error"] == "BlockingIOError"
    assert seen["forked"] < 16
    assert result.exit_code == 0


def test_a_fork_bomb_that_never_stops_is_killed_at_the_wall_limit(run: Run) -> None:
    attack = """
        import os

        def attack():
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
    """
    result = run({"attack.py": attack}, ATTACK_SUITE, processes=16, wall_seconds=3)

    assert result.timed_out
    assert result.killed_reason == "wall time"
    assert result.exit_code is None
    assert result.wall_seconds < 3 + sandbox_module.DRAIN_SECONDS + 2


def test_a_4_gb_allocation_fails_with_memory_error(run: Run) -> None:
    attack = """
        def attack():
            block = bytearray(4 * 1024 ** 3)
            return {"allocated": len(block)}
    """
    result = run({"attack.py": attack}, ATTACK_SUITE, memory_mb=256)

    found = case(result, "test_attack")
    assert found.outcome == "failed"
    assert "MemoryError" in found.output
    assert result.exit_code == 1


def test_an_infinite_loop_is_stopped_by_the_cpu_limit(run: Run) -> None:
    attack = """
        def attack():
            while True:
                pass
    """
    result = run({"attack.py": attack}, ATTACK_SUITE, cpu_seconds=2, wall_seconds=20)

    assert result.killed_reason == "cpu time"
    assert not result.timed_out
    assert result.exit_code is None
    assert result.wall_seconds < 10
    assert result.report is None  # killed before its one case ended


def test_writing_2_gb_hits_the_file_size_and_disk_limits(run: Run, tmp_path: Path) -> None:
    free_before = shutil.disk_usage(tmp_path).free
    attack = """
        import os

        MB = b"\\0" * (1024 * 1024)

        def fill(path, megabytes):
            written = 0
            try:
                with open(path, "wb") as target:
                    for _ in range(megabytes):
                        target.write(MB)
                        target.flush()
                        written += 1
            except OSError as error:
                return written, error.strerror
            return written, "no error"

        def attack():
            one_file = fill("/work/tmp/big", 2048)
            os.unlink("/work/tmp/big")
            total, error = 0, ""
            for number in range(512):  # 4 MB each: under the file size limit
                written, error = fill(f"/work/tmp/part{number}", 4)
                total += written
                if error != "no error":
                    break
            for number in range(number + 1):  # room again for pytest's captured output
                os.unlink(f"/work/tmp/part{number}")
            return {"one_file": one_file, "many_files": [total, error]}
    """
    result = run({"attack.py": attack}, ATTACK_SUITE, disk_mb=32, file_size_mb=8)

    seen = observed(result)
    assert seen["one_file"] == [8, "File too large"]
    assert seen["many_files"][0] <= 32
    assert seen["many_files"][1] == "No space left on device"
    # The writes went to the sandbox's tmpfs: the host's disk did not lose 2 GB.
    assert free_before - shutil.disk_usage(tmp_path).free < 512 * 1024 * 1024


def test_printing_200_mb_is_capped_and_drained(run: Run) -> None:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    attack = """
        import os

        def attack():
            seen = {}
            try:
                for _ in range(200):
                    print("x" * (1024 * 1024))
                seen["print"] = "printed"
            except OSError as error:
                seen["print"] = error.strerror
            # Behind pytest's capture: every pipe this process holds (output and report).
            block = b"y" * (1024 * 1024)
            for fd in range(3, 64):
                try:
                    if not os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                        continue
                    for _ in range(200):
                        os.write(fd, block)
                    seen[str(fd)] = "wrote 200 MB"
                except OSError as error:
                    seen[str(fd)] = error.strerror
            return seen
    """
    result = run({"attack.py": attack}, ATTACK_SUITE)

    assert not result.timed_out
    assert result.output_truncated
    assert len(result.output.encode()) <= TEST_LIMITS.output_bytes
    # The report channel was flooded too: read up to its limit, its junk rejected.
    assert result.report is None or not result.report.all_passed
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kb < 100 * 1024


def test_printing_200_mb_from_a_plain_command_is_capped_and_drained(
    sandbox: None, tmp_path: Path
) -> None:
    code = write_tree(tmp_path / "code", {"flood.py": "import sys\n"})
    suite = write_tree(tmp_path / "suite", {})
    started = time.monotonic()
    result = sandbox_run(
        code_dir=code,
        suite_dir=suite,
        command=["python", "-c", "import os\nfor _ in range(200): os.write(1, b'z' * 2**20)"],
        limits=TEST_LIMITS,
    )

    assert result.exit_code == 0, result.output[-500:]
    assert result.output_truncated
    assert result.output == "z" * TEST_LIMITS.output_bytes
    assert time.monotonic() - started < TEST_LIMITS.wall_seconds


def test_sleeping_children_that_ignore_sigterm_die_at_the_wall_limit(run: Run) -> None:
    attack = """
        import os, signal, time

        def attack():
            for _ in range(3):
                if os.fork() == 0:
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)
                    while True:
                        time.sleep(1)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(1000)
    """
    result = run({"attack.py": attack}, ATTACK_SUITE, wall_seconds=3)

    assert result.timed_out
    assert result.killed_reason == "wall time"
    assert result.wall_seconds < 3 + sandbox_module.DRAIN_SECONDS + 2


DAEMON = """
    import os, time

    def attack():
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:  # a daemon that means to outlive the run
                    with open("/work/tmp/alive", "a") as marker:
                        marker.write("x")
                    time.sleep(0.05)
            os._exit(0)
        time.sleep(0.5)
        return {"marker": os.path.getsize("/work/tmp/alive")}
"""


def test_a_daemon_does_not_outlive_the_run(run: Run) -> None:
    result = run({"attack.py": DAEMON}, ATTACK_SUITE)

    assert observed(result)["marker"] > 0  # it was running during the run
    assert result.exit_code == 0
    assert not result.timed_out
    assert leftovers(result.slot) == []


def test_the_pid_namespace_alone_kills_a_daemon_when_the_run_ends(
    sandbox: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the uid sweep turned off, only the kernel (PID 1 of the sandbox died) can
    # have killed the daemon.
    swept: list[int] = []
    monkeypatch.setattr(slots, "kill_uid", swept.append)
    monkeypatch.setattr(sandbox_module, "kill_uid", swept.append)
    code = write_tree(tmp_path / "code", {"attack.py": DAEMON})
    suite = write_tree(tmp_path / "suite", ATTACK_SUITE)
    result = run_suite(code_dir=code, suite_dir=suite, limits=TEST_LIMITS)
    assert result.exit_code == 0, result.output
    assert result.slot is not None
    # Live ones only: the sweep, turned off, is also what reaps the sandbox's PID 1.
    deadline = time.monotonic() + 2
    while leftovers(result.slot, zombies=False) and time.monotonic() < deadline:
        time.sleep(0.05)  # the kernel tears the namespace down asynchronously
    assert leftovers(result.slot, zombies=False) == []
    assert swept  # the sweep was asked for, and did nothing
    monkeypatch.undo()
    slots.kill_uid(settings.CHECKS_SANDBOX_UID_BASE + result.slot)
    assert leftovers(result.slot) == []


def test_learner_config_files_cannot_replace_the_suite_or_its_verdict(run: Run) -> None:
    code = {
        "calc.py": "def add(a, b):\n    return a - b\n",
        # Each of these would mark every check passed, or collect nothing, if read.
        "conftest.py": """
            import pytest

            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_makereport(item, call):
                outcome = yield
                outcome.get_result().outcome = "passed"
        """,
        "pytest.ini": "[pytest]\naddopts = -k nothing_matches\n",
        "setup.cfg": "[tool:pytest]\naddopts = -k nothing_matches\n",
        "tox.ini": "[pytest]\naddopts = -k nothing_matches\n",
        "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-k nothing_matches"\n',
        "pytest.py": "import sys\nsys.exit(0)\n",
        "sitecustomize.py": "import sys\nsys.exit(0)\n",
        "test_fake.py": "def test_fake():\n    pass\n",
        "helpers.py": "EXPECTED = None\n",
    }
    suite = {
        "helpers.py": "EXPECTED = 5\n",
        "conftest.py": """
            import pytest
            import helpers

            @pytest.fixture
            def expected():
                return helpers.EXPECTED
        """,
        "test_calc.py": """
            import helpers
            from calc import add

            def test_add(expected):
                assert add(2, 3) == expected

            def test_the_suites_helpers_win():
                assert helpers.__file__ == "/work/suite/helpers.py"
        """,
    }
    result = run(code, suite)

    assert result.report is not None and result.report.complete
    outcomes = {found.name: found.outcome for found in result.report.cases}
    assert outcomes == {"test_add": "failed", "test_the_suites_helpers_win": "passed"}
    assert result.report.exit_status == 1
    assert "assert -1 == 5" in case(result, "test_add").output


def test_a_submission_too_big_for_the_disk_is_reported(run: Run) -> None:
    big = "x" * (12 * 1024 * 1024)
    result = run({"big.txt": big, "calc.py": "X = 1\n"}, {"test_ok.py": "def test_ok(): pass\n"})

    assert result.report is not None
    assert "could not be copied into the sandbox" in result.report.message
    assert result.exit_code == 70

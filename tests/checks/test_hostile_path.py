"""Hostile submissions through the whole path: "check my code" with a zip, worked by a
worker (``run_checks`` in this process), shown on the run's page.

Each run ends finished with an outcome that says why, nothing of it keeps running,
this process (the worker) carries on, and the next, honest run passes. The sandbox's
own tests (test_sandbox.py) show the limits one by one; these show that the Django
side turns each into a result a learner can read.
"""

from __future__ import annotations

import hashlib
import json
import re
import resource
import secrets
import shutil
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from core.checks import sandbox as sandbox_module
from core.checks.models import CheckRun, CheckTaskResult
from core.checks.runtime import load_manifest, runtime_dir
from core.checks.services import check_run_request
from core.models import CheckSuite, Project, ProjectRelease, Task, User
from tests.checks.conftest import SETTINGS_FILE, nothing_left_running
from tests.checks.support import simple_suite, work_queue, zip_of
from tests.conftest import client_for
from tests.factories import CheckCaseFactory, CheckFileFactory, CheckSuiteFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sandbox", "media", "queue_only"),
]

SUITE = """
from app import work


def test_it_works():
    assert work() == 42
"""
HONEST = "def work():\n    return 42\n"
CPU_OR_WALL = (
    "Used more CPU time than the limit allows.",
    "Stopped after 5 seconds, the time limit.",
)

FORK_BOMB = """
import os

def work():
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""
INFINITE_LOOP = """
def work():
    while True:
        pass
"""
PRINTS_200_MB = """
import sys

def work():
    line = "x" * (1024 * 1024 - 1) + "\\n"
    for _ in range(200):
        sys.stdout.write(line)
    return 42
"""
DAEMON = """
import os
import time

def work():
    if os.fork() == 0:  # a child that detaches and lives on
        os.setsid()
        if os.fork() == 0:
            for descriptor in range(3):
                os.close(descriptor)
            time.sleep(600)
        os._exit(0)
    return 42
"""
CONNECTS = """
import socket

def work():
    answers = {{}}
    for port in (5432, 6379, {port}):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
                connection.sendall(b"PING\\r\\n")
                answers[port] = connection.recv(100)
        except OSError as error:
            answers[port] = type(error).__name__
    return answers
"""


@pytest.fixture
def task(project: Project) -> Task:
    """Task 0 with a small suite and small limits: hostile code ends in seconds."""
    task = Task.objects.get(project=project, number=0)
    suite = simple_suite(task, SUITE, ["test_it_works"])
    suite.wall_seconds, suite.cpu_seconds = 5, 3
    suite.save()
    return task


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A port something listens on, on this machine's loopback (as PostgreSQL and Redis
    may): code in the sandbox must not reach it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def check(learner: User, release: ProjectRelease, code: str) -> CheckRun:
    """Ask for "check my code" on ``code`` (app.py) and work the queue; the run."""
    check_run_request(
        learner=learner, release=release, archive=zip_of({"app.py": textwrap.dedent(code)})
    )
    [run] = work_queue()
    return run


@pytest.mark.parametrize(
    ("code", "cpu_seconds", "outcome", "reasons", "says"),
    [
        # Stopped: the task and the case it was in time out. Two dozen processes share
        # the CPU, so the wall clock usually stops a fork bomb first.
        pytest.param(FORK_BOMB, 3, "timeout", CPU_OR_WALL, "", id="fork-bomb"),
        pytest.param(INFINITE_LOOP, 1, "timeout", CPU_OR_WALL[:1], "", id="infinite-loop"),
        # The file size limit stops pytest's capture at 16 MB: the case fails, saying so.
        pytest.param(
            PRINTS_200_MB, 3, "failed", ("",), "OSError: [Errno 27] File too large", id="200-mb"
        ),
    ],
)
def test_code_that_will_not_stop_ends_with_its_reason(
    learner: User,
    release: ProjectRelease,
    task: Task,
    code: str,
    cpu_seconds: int,
    outcome: str,
    reasons: tuple[str, ...],
    says: str,
) -> None:
    CheckSuite.objects.filter(task=task).update(cpu_seconds=cpu_seconds)
    run = check(learner, release, code)

    assert run.status == CheckRun.Status.FAILED, run.error
    assert run.error == "" and run.finished_at is not None
    result = run.task_results.get()
    assert (result.outcome, result.cases_passed, result.cases_total) == (outcome, 0, 1)
    assert result.reason in reasons
    # What is kept of the output is bounded, however much was printed.
    assert len(result.output) < settings.CHECKS_CASE_OUTPUT_BYTES * 4 + 100
    [case] = result.cases.all()
    assert case.outcome == outcome
    assert says in case.output and len(case.output) < settings.CHECKS_CASE_OUTPUT_BYTES + 100
    nothing_left_running()
    assert check(learner, release, HONEST).status == CheckRun.Status.PASSED


def test_a_daemon_does_not_outlive_its_run(
    learner: User, release: ProjectRelease, task: Task
) -> None:
    run = check(learner, release, DAEMON)

    assert run.status == CheckRun.Status.PASSED, run.error
    assert run.duration_seconds() < 5  # not held up by the daemon until the time limit
    nothing_left_running()
    assert check(learner, release, HONEST).status == CheckRun.Status.PASSED


def test_the_databases_and_the_hosts_loopback_are_out_of_reach(
    learner: User, release: ProjectRelease, task: Task, host_listener: int
) -> None:
    run = check(learner, release, CONNECTS.format(port=host_listener))

    assert run.status == CheckRun.Status.FAILED, run.error
    result = run.task_results.get()
    assert result.outcome == CheckTaskResult.Outcome.FAILED
    [case] = result.cases.all()
    refused = "ConnectionRefusedError"
    assert f"{{5432: '{refused}', 6379: '{refused}', {host_listener}: '{refused}'}}" in case.output
    nothing_left_running()
    assert check(learner, release, HONEST).status == CheckRun.Status.PASSED


def test_output_is_shown_inert_on_the_run_page(
    learner: User, release: ProjectRelease, task: Task
) -> None:
    code = """
        def work():
            print("<script>alert(1)</script>")
            print('<img src=x onerror="alert(2)"><b>bold</b>')
            print("\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07 \\x1b[2J\\x1b[Hcleared")
            return 0
    """
    run = check(learner, release, code)
    assert run.status == CheckRun.Status.FAILED, run.error
    [case] = run.task_results.get().cases.all()
    assert "<script>alert(1)</script>" in case.output  # kept as text…
    assert "\x1b" not in case.output and "\x07" not in case.output

    response = client_for(learner).get(f"/checks/{run.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    # …and shown as text: in the case's output and in the suite's full output.
    assert body.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2
    assert "<script>alert(1)" not in body
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;&lt;b&gt;bold&lt;/b&gt;" in body
    assert "<b>bold</b>" not in body
    assert "red 0;title " in body
    assert "\x1b" not in body and "\x07" not in body


# --- what the sandbox's own tests show, now as learner submissions ---------------------
# The attacks below report what they saw: the suite prints the learner's attack() as a
# JSON line, and a passed case keeps its output, so the test reads it from the run.
ATTACK_SUITE = """
import json
from app import attack


def test_attack():
    print("OBSERVED " + json.dumps(attack()))
"""
NO_ATTACK = "def attack():\n    return {}\n"


@pytest.fixture
def attack_task(project: Project) -> Task:
    """Task 0 with the attack suite and small limits."""
    task = Task.objects.get(project=project, number=0)
    suite = simple_suite(task, ATTACK_SUITE, ["test_attack"])
    suite.wall_seconds, suite.cpu_seconds = 5, 3
    suite.save()
    return task


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A file outside the sandbox, next to the media directory; afterwards, it and the
    application's settings module are as they were."""
    sentinel = tmp_path / "outside.txt"
    sentinel.write_text("untouched")
    settings_digest = hashlib.sha256(SETTINGS_FILE.read_bytes()).hexdigest()
    yield sentinel
    assert sentinel.read_text() == "untouched"
    assert hashlib.sha256(SETTINGS_FILE.read_bytes()).hexdigest() == settings_digest


def observed(run: CheckRun) -> dict[str, Any]:
    """What the learner's attack() returned, from the run's one recorded case."""
    assert run.status == CheckRun.Status.PASSED, (run.error, run.task_results.get().output)
    result = run.task_results.get()
    assert result.outcome == CheckTaskResult.Outcome.PASSED
    [case] = result.cases.all()
    assert case.outcome == "passed"
    assert "more characters not shown" not in case.output  # all of it: nothing cut off
    for line in case.output.splitlines():
        if line.startswith("OBSERVED "):
            return dict(json.loads(line.removeprefix("OBSERVED ")))
    raise AssertionError(case.output)


def the_worker_carries_on(learner: User, release: ProjectRelease, honest: str) -> None:
    """Nothing of the run is left running, and this worker passes the next, honest run."""
    nothing_left_running()
    assert check(learner, release, honest).status == CheckRun.Status.PASSED


def test_udp_to_the_hosts_dns_port_fails(
    learner: User, release: ProjectRelease, attack_task: Task, outside: Path
) -> None:
    code = """
        import socket

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
            return {"dns": udp(53), "host_listener": udp(__PORT__)}
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.setblocking(False)
        run = check(learner, release, code.replace("__PORT__", str(listener.getsockname()[1])))
        with pytest.raises(BlockingIOError):
            listener.recvfrom(100)  # nothing reached the host's own UDP listener

    seen = observed(run)
    assert seen["dns"] in {"TimeoutError", "ConnectionRefusedError"}
    assert seen["host_listener"] in {"TimeoutError", "ConnectionRefusedError"}
    the_worker_carries_on(learner, release, NO_ATTACK)


def media_files(media: Path) -> dict[str, str]:
    """Every file under ``media``, by path, with its digest."""
    return {
        str(path.relative_to(media)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(media.rglob("*"))
        if path.is_file()
    }


def test_the_hosts_environment_settings_secret_and_media_are_out_of_reach(
    learner: User,
    release: ProjectRelease,
    attack_task: Task,
    outside: Path,
    media: Path,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    canary = secrets.token_hex(12)
    settings.SECRET_KEY = f"app-secret-{canary}"
    # The worker's own environment: what a leak of it would show.
    monkeypatch.setenv("PRODEV_TEST_CANARY", canary)
    monkeypatch.setenv("SECRET_KEY", f"env-secret-{canary}")
    paths = {
        "settings": str(SETTINGS_FILE),
        "app": str(settings.BASE_DIR),
        "media": str(media),
        "outside": str(outside),
    }
    code = """
        import json, os

        PATHS = json.loads('__PATHS__')

        def attempt(action):
            try:
                return action()
            except Exception as error:
                return type(error).__name__

        def read(path):
            with open(path, "rb") as source:
                return source.read().decode(errors="replace")

        def write(path):
            with open(path, "w") as target:
                target.write("planted")
            return "wrote"

        def django_secret():
            os.environ["DJANGO_SETTINGS_MODULE"] = "site_config.settings"
            from django.conf import settings
            return settings.SECRET_KEY

        def attack():
            environ = dict(os.environ)
            return {
                "environ": environ,
                "pid1": attempt(lambda: read("/proc/1/environ")),
                "roots": [line.split()[3] for line in read("/proc/self/mountinfo").splitlines()],
                "exists": {name: os.path.lexists(path) for name, path in PATHS.items()},
                "settings_file": attempt(lambda: read(PATHS["settings"])),
                "import_settings": attempt(lambda: __import__("site_config.settings") and "in"),
                "secret_key": attempt(django_secret),
                "media": attempt(lambda: os.listdir(PATHS["media"])),
                "plant_media": attempt(lambda: write(PATHS["media"] + "/planted.txt")),
                "overwrite_outside": attempt(lambda: write(PATHS["outside"])),
            }
    """.replace("__PATHS__", json.dumps(paths))
    check_run_request(
        learner=learner, release=release, archive=zip_of({"app.py": textwrap.dedent(code)})
    )
    stored = media_files(media)
    assert stored, "the request's zip is in the media directory"
    [run] = work_queue()

    seen = observed(run)
    assert set(seen["environ"]) <= {
        *("PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "PWD", "LD_LIBRARY_PATH"),
        *("PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "PYTHONUNBUFFERED"),
        *("PYTEST_VERSION", "PYTEST_CURRENT_TEST", "DJANGO_SETTINGS_MODULE"),
    }
    assert "PATH" in seen["environ"]  # it did read its environment
    assert canary not in json.dumps(seen["environ"])
    assert isinstance(seen["pid1"], str) and "PATH=" in seen["pid1"]
    assert canary not in seen["pid1"]
    manifest = load_manifest()
    assert manifest is not None
    allowed = {str(runtime_dir().resolve()), "/etc/ld.so.cache", "/"}
    allowed |= {str(Path(directory).resolve()) for directory in manifest.library_dirs}
    allowed.add(str(Path(manifest.loader).resolve()))
    allowed |= {"/null", "/zero", "/full", "/random", "/urandom", "/tty"}
    assert seen["roots"]
    for root in seen["roots"]:
        assert root in allowed or root.startswith(("/bindfile", "/newroot")), root
        assert not root.startswith((str(media), str(outside.parent))), root
    assert seen["exists"] == dict.fromkeys(paths, False)
    assert seen["settings_file"] == "FileNotFoundError"
    assert seen["import_settings"] == "ModuleNotFoundError"
    assert seen["secret_key"] == "ModuleNotFoundError"
    assert seen["media"] == "FileNotFoundError"
    assert seen["plant_media"] != "wrote" and seen["overwrite_outside"] != "wrote"
    # Outside, nothing changed; no secret is stored with the run or shown on its page.
    assert media_files(media) == stored
    result = run.task_results.get()
    for text in (result.output, *result.cases.values_list("output", flat=True)):
        assert canary not in text
    page = client_for(learner).get(f"/checks/{run.pk}/")
    assert page.status_code == 200
    assert "test_attack" in page.content.decode() and canary not in page.content.decode()
    the_worker_carries_on(learner, release, NO_ATTACK)


def test_a_4_gb_allocation_fails_its_case_with_memory_error(
    learner: User, release: ProjectRelease, attack_task: Task, outside: Path
) -> None:
    CheckSuite.objects.filter(task=attack_task).update(memory_mb=256)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = """
        def attack():
            block = bytearray(4 * 1024 ** 3)
            return {"allocated": len(block)}
    """
    run = check(learner, release, code)

    assert run.status == CheckRun.Status.FAILED, run.error
    assert run.error == ""
    result = run.task_results.get()
    assert (result.outcome, result.cases_passed, result.cases_total) == ("failed", 0, 1)
    [case] = result.cases.all()
    assert case.outcome == "failed"
    assert "MemoryError" in case.output
    # The worker did not take the allocation upon itself.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 100 * 1024
    the_worker_carries_on(learner, release, NO_ATTACK)


def test_writing_2_gb_is_stopped_by_the_file_size_and_disk_limits(
    learner: User,
    release: ProjectRelease,
    attack_task: Task,
    outside: Path,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.CHECKS_DISK_MB, settings.CHECKS_FILE_SIZE_MB = 32, 8  # as the sandbox's tests
    free_before = shutil.disk_usage(tmp_path).free
    code = """
        import os, tempfile

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
            tmp = tempfile.gettempdir()
            one_file = fill(f"{tmp}/big", 2048)
            os.unlink(f"{tmp}/big")
            total, error = 0, ""
            for number in range(512):  # 4 MB each: under the file size limit
                written, error = fill(f"{tmp}/part{number}", 4)
                total += written
                if error != "no error":
                    break
            for number in range(number + 1):  # room again for pytest's captured output
                os.unlink(f"{tmp}/part{number}")
            return {"tmp": tmp, "one_file": one_file, "many_files": [total, error]}
    """
    run = check(learner, release, code)

    seen = observed(run)
    assert seen["tmp"] == "/work/tmp"
    assert seen["one_file"] == [8, "File too large"]
    assert seen["many_files"][0] <= 32
    assert seen["many_files"][1] == "No space left on device"
    # The writes went to the sandbox's own tmpfs: the host's disk did not lose 2 GB.
    assert free_before - shutil.disk_usage(tmp_path).free < 512 * 1024 * 1024
    the_worker_carries_on(learner, release, NO_ATTACK)


def test_children_that_ignore_sigterm_are_killed_at_the_wall_limit(
    learner: User, release: ProjectRelease, attack_task: Task, outside: Path
) -> None:
    wall = 3  # as the sandbox's own test
    CheckSuite.objects.filter(task=attack_task).update(wall_seconds=wall)
    code = """
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
    run = check(learner, release, code)

    assert run.status == CheckRun.Status.FAILED, run.error
    assert run.error == "" and run.finished_at is not None
    result = run.task_results.get()
    assert (result.outcome, result.cases_passed, result.cases_total) == ("timeout", 0, 1)
    assert re.fullmatch(r"Stopped after \d+ seconds, the time limit\.", result.reason)
    assert result.duration_ms < (wall + sandbox_module.DRAIN_SECONDS + 2) * 1000
    [case] = result.cases.all()
    assert case.outcome == "timeout"
    the_worker_carries_on(learner, release, NO_ATTACK)


CALC_SUITE = {
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
# Each of these would mark every check passed, collect nothing, or stand in for one of the
# suite's files, if it were read.
LEARNER_OVERRIDES = {
    "conftest.py": """
        import pytest

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(item, call):
            outcome = yield
            outcome.get_result().outcome = "passed"
    """,
    "suite/conftest.py": "import sys\nsys.exit(0)\n",
    "pytest.ini": "[pytest]\naddopts = -k nothing_matches\n",
    "setup.cfg": "[tool:pytest]\naddopts = -k nothing_matches\n",
    "tox.ini": "[pytest]\naddopts = -k nothing_matches\n",
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-k nothing_matches"\n',
    "pytest.py": "import sys\nsys.exit(0)\n",
    "sitecustomize.py": "import sys\nsys.exit(0)\n",
    "test_calc.py": "def test_add():\n    pass\n\n\ndef test_the_suites_helpers_win():\n    pass\n",
    "test_fake.py": "def test_fake():\n    pass\n",
    "helpers.py": "EXPECTED = -1\n",
}


def test_the_learners_conftest_and_tests_cannot_replace_the_suites_or_pass_its_checks(
    learner: User, release: ProjectRelease, project: Project, outside: Path
) -> None:
    task = Task.objects.get(project=project, number=0)
    suite = CheckSuiteFactory(task=task, wall_seconds=5, cpu_seconds=3)
    for path, content in CALC_SUITE.items():
        CheckFileFactory(suite=suite, path=path, content=textwrap.dedent(content))
    for order, name in enumerate(("test_add", "test_the_suites_helpers_win")):
        CheckCaseFactory(suite=suite, name=name, order=order)
    code = {"calc.py": "def add(a, b):\n    return a - b\n", **LEARNER_OVERRIDES}

    check_run_request(learner=learner, release=release, archive=zip_of(code))
    [run] = work_queue()

    assert run.status == CheckRun.Status.FAILED, run.error
    assert run.error == ""
    result = run.task_results.get()
    assert (result.outcome, result.cases_passed, result.cases_total) == ("failed", 1, 2)
    outcomes = dict(result.cases.values_list("name", "outcome"))
    assert outcomes == {"test_add": "failed", "test_the_suites_helpers_win": "passed"}
    # The suite's test ran, with the suite's fixture and helpers: 2 - 3 is not 5.
    assert "assert -1 == 5" in result.cases.get(name="test_add").output
    assert "test_calc.py" in result.output and "test_fake" not in result.output
    nothing_left_running()
    check_run_request(
        learner=learner,
        release=release,
        archive=zip_of({"calc.py": "def add(a, b):\n    return a + b\n", **LEARNER_OVERRIDES}),
    )
    [honest] = work_queue()
    assert honest.status == CheckRun.Status.PASSED, honest.task_results.get().output

"""The check runtime: the interpreter and packages a check suite runs with, built once.

Like an Exercism test-runner image, one directory (``settings.CHECKS_RUNTIME_DIR``)
holds everything the sandbox mounts, read-only, besides the system's shared
libraries:

* ``python/``: a copy of the interpreter (its binary, its shared library and its
  standard library, without the test suite, IDLE, Tk and the build files), with
  ``runtime-requirements.txt`` installed into its site-packages. A copy, not a
  virtualenv: a virtualenv points at its base interpreter, which may live where
  the sandbox user cannot read (here /root/.pyenv), and mounting it elsewhere would
  reveal its host path. In the sandbox it is ``/opt/runtime/python``.
* ``manifest.json``: the fingerprint it was built from (requirements file,
  interpreter, layout version), the Python version, and the host directories of
  the shared libraries its binaries load (found with ldd at build time), which
  the sandbox mounts read-only at the same paths.

``build_runtime`` rebuilds only when the fingerprint changed, in a temporary
directory that replaces the old one when complete.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

REQUIREMENTS = Path(__file__).with_name("runtime-requirements.txt")
MANIFEST = "manifest.json"
# Bump when the runtime's layout or build steps change, to force a rebuild.
LAYOUT_VERSION = 1
# Parts of the standard library no check needs: tests, GUIs, build files, pip's bootstrap.
STDLIB_LEFT_OUT = ("test", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages")
STDLIB_LEFT_OUT_PREFIXES = ("config-",)
PIP_TIMEOUT_SECONDS = 900
INTROSPECT_TIMEOUT_SECONDS = 60
_LDD_LINE = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)", re.MULTILINE)

_INTROSPECT = """
import json, sys, sysconfig
print(json.dumps({
    "version": sys.version.split()[0],
    "major_minor": "%d.%d" % sys.version_info[:2],
    "executable": sys.executable,
    "prefix": sys.base_prefix,
    "stdlib": sysconfig.get_path("stdlib"),
    "dynload": sysconfig.get_config_var("DESTSHARED") or "",
}))
"""


class RuntimeBuildError(RuntimeError):
    """The runtime could not be built; the message says which step failed."""


@dataclass(frozen=True)
class RuntimeManifest:
    """What a built runtime is: its fingerprint, Python version and library directories."""

    fingerprint: str
    python_version: str
    python: str  # the interpreter, relative to the runtime directory
    library_dirs: tuple[str, ...]
    loader: str  # the ELF interpreter (e.g. /lib64/ld-linux-x86-64.so.2), or ""


def runtime_dir() -> Path:
    """Where the runtime lives (``settings.CHECKS_RUNTIME_DIR``)."""
    return Path(settings.CHECKS_RUNTIME_DIR)


def source_python() -> Path:
    """The interpreter the runtime is copied from: the setting, or the one behind this one."""
    configured = settings.CHECKS_RUNTIME_PYTHON
    base = configured or getattr(sys, "_base_executable", "") or sys.executable
    return Path(base).resolve()


def fingerprint(python: Path | None = None) -> str:
    """A hash of what the runtime is built from; cheap, so every run can check it."""
    python = python or source_python()
    digest = hashlib.sha256()
    digest.update(f"layout {LAYOUT_VERSION}\n".encode())
    digest.update(REQUIREMENTS.read_bytes())
    try:
        stat = python.stat()
        digest.update(f"\n{python} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    except OSError:
        digest.update(f"\n{python} missing\n".encode())
    return digest.hexdigest()


def load_manifest(directory: Path | None = None) -> RuntimeManifest | None:
    """The manifest of the runtime in ``directory``, or None if absent or unreadable."""
    path = (directory or runtime_dir()) / MANIFEST
    try:
        data = json.loads(path.read_text())
        return RuntimeManifest(
            fingerprint=str(data["fingerprint"]),
            python_version=str(data["python_version"]),
            python=str(data["python"]),
            library_dirs=tuple(str(item) for item in data["library_dirs"]),
            loader=str(data.get("loader", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def runtime_status(directory: Path | None = None) -> tuple[RuntimeManifest | None, str]:
    """The manifest when the runtime is built and current, else None and why not."""
    directory = directory or runtime_dir()
    manifest = load_manifest(directory)
    if manifest is None:
        return None, (
            f"the check runtime is not built at {directory}: "
            "run python manage.py build_check_runtime"
        )
    if manifest.fingerprint != fingerprint():
        return None, (
            f"the check runtime at {directory} is out of date (its requirements or "
            "interpreter changed): run python manage.py build_check_runtime"
        )
    return manifest, f"check runtime {manifest.fingerprint[:12]} (Python {manifest.python_version})"


def _introspect(python: Path) -> dict[str, str]:
    result = subprocess.run(
        [str(python), "-I", "-c", _INTROSPECT],
        capture_output=True,
        text=True,
        timeout=INTROSPECT_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeBuildError(f"{python} does not run: {result.stderr.strip()}")
    facts: dict[str, str] = json.loads(result.stdout)  # what _INTROSPECT prints
    return facts


def _ldd(paths: list[Path]) -> list[str]:
    """Every shared library (and loader) path ldd reports for ``paths``."""
    found: list[str] = []
    for start in range(0, len(paths), 50):  # keeps each command line short
        result = subprocess.run(
            ["ldd", *(str(path) for path in paths[start : start + 50])],
            capture_output=True,
            text=True,
            timeout=INTROSPECT_TIMEOUT_SECONDS,
            check=False,
        )
        found.extend(_LDD_LINE.findall(result.stdout))
    return found


def _copy_interpreter(info: dict[str, str], python: Path, target: Path) -> str:
    """Copy the interpreter into ``target``; its path relative to ``target``'s parent."""
    version = info["major_minor"]
    prefix = Path(info["prefix"])
    (target / "bin").mkdir(parents=True)
    (target / "lib").mkdir()
    binary = target / "bin" / f"python{version}"
    shutil.copy2(python, binary)
    for alias in ("python3", "python"):
        (target / "bin" / alias).symlink_to(binary.name)
    # The interpreter's own shared library (a --enable-shared build): found through
    # LD_LIBRARY_PATH in the sandbox, where its build-time RUNPATH does not exist.
    for library in _ldd([python]):
        if Path(library).is_relative_to(prefix):
            shutil.copy2(Path(library).resolve(), target / "lib" / Path(library).name)

    stdlib = Path(info["stdlib"])

    def left_out(directory: str, names: list[str]) -> list[str]:
        if Path(directory) != stdlib:
            return []
        return [
            name
            for name in names
            if name in STDLIB_LEFT_OUT or name.startswith(STDLIB_LEFT_OUT_PREFIXES)
        ]

    stdlib_copy = target / "lib" / f"python{version}"
    shutil.copytree(stdlib, stdlib_copy, symlinks=True, ignore=left_out)
    dynload = Path(info["dynload"]) if info["dynload"] else None
    if dynload and dynload.is_dir() and not dynload.is_relative_to(stdlib):
        shutil.copytree(dynload, stdlib_copy / "lib-dynload", symlinks=True)
    return str(binary.relative_to(target.parent))


def _library_dirs(python_dir: Path, prefix: Path) -> tuple[tuple[str, ...], str]:
    """The host directories of the libraries the runtime's binaries load, and the loader."""
    binaries = [path for path in python_dir.rglob("*.so*") if path.is_file()]
    binaries += [path for path in (python_dir / "bin").iterdir() if not path.is_symlink()]
    directories: set[str] = set()
    loader = ""
    for library in _ldd(binaries):
        path = Path(library)
        if path.is_relative_to(prefix) or path.is_relative_to(python_dir):
            continue
        if "ld-linux" in path.name or path.name.startswith("ld-"):
            loader = loader or str(path)
            continue
        directories.add(str(path.parent))
    if not directories:
        raise RuntimeBuildError("ldd found no shared libraries: is ldd installed?")
    return tuple(sorted(directories)), loader


def _make_readable(directory: Path) -> None:
    """Everyone may read the runtime: the sandbox runs as an unprivileged uid."""
    for root, _dirs, files in os.walk(directory):
        os.chmod(root, 0o755)
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(0o755 if mode & 0o111 else 0o644)


def build_runtime(
    *, directory: Path | None = None, force: bool = False, log: Callable[[str], None] = print
) -> tuple[bool, RuntimeManifest]:
    """Build the runtime unless it is current; (whether it was built, its manifest)."""
    directory = directory or runtime_dir()
    directory.parent.mkdir(parents=True, exist_ok=True)
    lock_path = directory.parent / f".{directory.name}.lock"
    with open(lock_path, "w") as lock:
        # One build at a time; a second builder finds the first one's result below.
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest, _ = runtime_status(directory)
        if manifest is not None and not force:
            return False, manifest

        python = source_python()
        wanted = fingerprint(python)
        started = time.monotonic()
        building = directory.parent / f".{directory.name}.build-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        try:
            info = _introspect(python)
            log(f"Copying Python {info['version']} from {info['prefix']}")
            relative = _copy_interpreter(info, python, building / "python")
            interpreter = building / relative
            log(f"Installing {REQUIREMENTS.name}")
            pip = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "--python",
                    str(interpreter),
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--no-warn-script-location",
                    "--root-user-action=ignore",
                    "--quiet",
                    "-r",
                    str(REQUIREMENTS),
                ],
                capture_output=True,
                text=True,
                timeout=PIP_TIMEOUT_SECONDS,
                check=False,
            )
            if pip.returncode != 0:
                raise RuntimeBuildError(f"pip install failed:\n{pip.stdout}{pip.stderr}")
            library_dirs, loader = _library_dirs(building / "python", Path(info["prefix"]))
            manifest = RuntimeManifest(
                fingerprint=wanted,
                python_version=info["version"],
                python=relative,
                library_dirs=library_dirs,
                loader=loader,
            )
            (building / MANIFEST).write_text(
                json.dumps(
                    {
                        "fingerprint": manifest.fingerprint,
                        "python_version": manifest.python_version,
                        "python": manifest.python,
                        "library_dirs": list(manifest.library_dirs),
                        "loader": manifest.loader,
                        "requirements": REQUIREMENTS.read_text(),
                    },
                    indent=2,
                )
            )
            _make_readable(building)
            old = directory.parent / f".{directory.name}.old-{os.getpid()}"
            if directory.exists():
                directory.rename(old)
            building.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        log(f"Built the check runtime at {directory} in {time.monotonic() - started:.1f} s")
        return True, manifest

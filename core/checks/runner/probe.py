"""The doctor's probe: runs inside the sandbox and reports what it could reach, as JSON.

``python probe.py look '<json>'`` tries what hostile code would (connect, read host
paths, fork without end, allocate, write a big file) and prints one JSON object.
``python probe.py linger`` starts a child that ignores SIGTERM and a double-forked
setsid daemon, then sleeps, for the wall-limit check. ``python probe.py spin`` burns
CPU. Standard library only; never imported by the site.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from typing import Any

UDP_WAIT_SECONDS = 0.5
CHUNK = 1024 * 1024


def _connect(host: str, port: int) -> str:
    try:
        with socket.create_connection((host, port), timeout=1):
            return "connected"
    except OSError as error:
        return f"{type(error).__name__}: {error}"


def _udp(host: str, port: int) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(UDP_WAIT_SECONDS)
        try:
            udp.sendto(b"\x00\x01probe", (host, port))
            udp.recvfrom(512)
            return "answered"
        except OSError as error:
            return f"{type(error).__name__}: {error}"


def _fork_until_refused(limit: int) -> dict[str, Any]:
    children: list[int] = []
    error = ""
    try:
        for _ in range(limit):
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children.append(pid)
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return {"forked": len(children), "error": error}


def _allocate(size: int) -> str:
    try:
        block = bytearray(size)
        del block
        return "allocated"
    except MemoryError:
        return "MemoryError"


def _write(path: str, size: int) -> str:
    written = 0
    try:
        with open(path, "wb") as target:
            while written < size:
                target.write(b"\0" * CHUNK)
                target.flush()
                written += CHUNK
        return f"wrote {written} bytes"
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror} after {written} bytes"
    finally:
        if os.path.exists(path):
            os.unlink(path)


def _capabilities() -> str:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return line.split()[1]
    return ""


def _try_write(path: str) -> str:
    try:
        with open(path, "w") as target:
            target.write("x")
        return "written"
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror}"


def look(plan: dict[str, Any]) -> dict[str, Any]:
    """Everything the plan asks to try, and what happened."""
    with open("/proc/1/environ", "rb") as environ:
        pid1_environ = [item.split(b"=", 1)[0].decode() for item in environ.read().split(b"\0")]
    with open("/proc/self/mountinfo") as mountinfo:
        mount_roots = [line.split()[3] for line in mountinfo]
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "capabilities": _capabilities(),
        "tcp": {f"{host}:{port}": _connect(host, port) for host, port in plan["tcp"]},
        "udp": {f"{host}:{port}": _udp(host, port) for host, port in plan["udp"]},
        "interfaces": [name for _, name in socket.if_nameindex()],
        "pids": sorted(int(name) for name in os.listdir("/proc") if name.isdigit()),
        "paths": {path: os.path.lexists(path) for path in plan["paths"]},
        "environ": sorted(os.environ),
        "pid1_environ": sorted(name for name in pid1_environ if name),
        "mount_roots": mount_roots,
        "write_root": _try_write("/probe"),
        "write_runtime": _try_write("/opt/runtime/probe"),
        "fork": _fork_until_refused(plan["fork_attempts"]),
        "memory": _allocate(plan["memory_bytes"]),
        "file": _write("/work/tmp/probe.bin", plan["file_bytes"]),
    }


def linger() -> None:
    """A SIGTERM-proof child and a detached daemon; then wait to be killed."""
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(1)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                with open("/work/tmp/daemon-alive", "a") as marker:
                    marker.write(f"{time.time()}\n")
                time.sleep(0.1)
        os._exit(0)
    print("lingering", flush=True)
    while True:
        time.sleep(1)


def spin() -> None:
    """Burn CPU until a limit stops it."""
    print("spinning", flush=True)
    while True:
        pass


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "look":
        print(json.dumps(look(json.loads(sys.argv[2]))))
    elif mode == "linger":
        linger()
    else:
        spin()

"""A small HTTP load generator, for machines without ``wrk``.

``python bench/load.py URL --seconds 20 --connections 8`` keeps that many
keep-alive connections busy (one thread each) for that long, then prints one
``BENCH_JSON {...}`` line in the same shape as bench/wrk.lua. As bench/wrk.lua, it
sends ``BENCH_COOKIE`` on every request, or with ``BENCH_ROTATION`` (a file of
``path<TAB>cookie`` lines) each request is the next line's path as its user, the URL
giving only the host and port. Loopback only, and
bounded in time and in requests. Python's threads share one interpreter, so on a
small machine this generator itself may be the bottleneck: prefer ``wrk``.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

MAX_REQUESTS = 2_000_000
TIMEOUT_SECONDS = 10


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    url = urlsplit(args.url)
    if url.hostname not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("the load generator only talks to the loopback interface")
    path = url.path + (f"?{url.query}" if url.query else "")
    headers = {"X-Forwarded-Proto": "https"}
    if os.environ.get("BENCH_COOKIE"):
        headers["Cookie"] = os.environ["BENCH_COOKIE"]
    requests = [(path, headers)]
    if os.environ.get("BENCH_ROTATION"):
        lines = Path(os.environ["BENCH_ROTATION"]).read_text().splitlines()
        pairs = [line.split("\t", 1) for line in lines if "\t" in line]
        requests = [(where, headers | {"Cookie": cookie}) for where, cookie in pairs]
    rotation = itertools.cycle(requests)

    latencies: list[float] = []
    counts = {"requests": 0, "non200": 0, "socket_errors": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + args.seconds

    def worker() -> None:
        mine: list[float] = []
        non200 = errors = 0
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT_SECONDS)
        while time.perf_counter() < deadline and len(mine) < MAX_REQUESTS // args.connections:
            with lock:
                where, sent = next(rotation)
            started = time.perf_counter()
            try:
                connection.request("GET", where, headers=sent)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                connection.close()
                connection = http.client.HTTPConnection(
                    url.hostname, url.port, timeout=TIMEOUT_SECONDS
                )
                continue
            mine.append(time.perf_counter() - started)
            non200 += response.status != 200
        connection.close()
        with lock:
            latencies.extend(mine)
            counts["requests"] += len(mine)
            counts["non200"] += non200
            counts["socket_errors"] += errors

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.perf_counter() - started
    result = {
        "requests": counts["requests"],
        "duration_us": round(duration * 1e6),
        "p50_us": round(percentile(latencies, 0.50) * 1e6),
        "p95_us": round(percentile(latencies, 0.95) * 1e6),
        "p99_us": round(percentile(latencies, 0.99) * 1e6),
        "non200": counts["non200"],
        "socket_errors": counts["socket_errors"],
        "timeouts": 0,
    }
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

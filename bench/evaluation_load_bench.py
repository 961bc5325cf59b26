"""Kill-switch latency while `POST .../evaluate` is under load: one real `flagstaff serve` process on a fresh
PostgreSQL database, an environment of flags as costly as the format's limits allow, and clients that call
`evaluate` back to back while kill/on calls are timed.

Run: `python bench/evaluation_load_bench.py` (about a minute; prints a markdown table). Loopback only.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from server_bench import (
    ADMIN_TOKEN,
    ENVIRONMENT,
    PROJECT,
    ScratchDatabase,
    Server,
    _commit,
    _load_average,
    _machine,
    _percentile,
)

PATTERNS = 50  # flagstaff.limits.MAX_REGEX_PATTERNS: the most regular expressions one flag may hold
CONTEXT = {"key": "user-1", "ua": "ab" * 512}  # as long as a context value may be; no pattern matches it


def _heavy_flags(admin: httpx.Client, count: int) -> None:
    rules = [
        {
            "id": f"r{i}",
            "clauses": [{"attribute": "ua", "op": "matches", "values": [f"(a|b)*c{i}x$"]}],
            "serve": {"variation": 0},
        }
        for i in range(PATTERNS)
    ]
    for i in range(count):
        flags = f"/api/v1/projects/{PROJECT}"
        admin.put(f"{flags}/flags/heavy-{i}", json={"kind": "boolean", "variations": [True, False]})
        patch = admin.patch(
            f"{flags}/environments/{ENVIRONMENT}/flags/heavy-{i}", json={"enabled": True, "rules": rules}
        )
        patch.raise_for_status()
    switch = {"kind": "boolean", "variations": [True, False]}
    admin.put(f"/api/v1/projects/{PROJECT}/flags/switch", json=switch).raise_for_status()


def _kill_calls(base_url: str, calls: int) -> list[float]:
    """Alternating kill and on, so every call is a real change; milliseconds per call."""
    path = f"/api/v1/projects/{PROJECT}/environments/{ENVIRONMENT}/flags/switch"
    timings: list[float] = []
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as c:
        c.get(path).raise_for_status()
        for index in range(calls):
            action, body = ("kill", {"reason": "benchmark"}) if index % 2 == 0 else ("on", None)
            started = time.perf_counter()
            response = c.post(f"{path}/{action}", json=body)
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return timings


class EvaluationLoad:
    """`clients` threads, each calling evaluate back to back until stopped; counts answers by status."""

    def __init__(self, base_url: str, clients: int) -> None:
        self.base_url, self.clients = base_url, clients
        self.stop = threading.Event()
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> EvaluationLoad:
        for thread in self.threads:
            thread.start()
        time.sleep(1)  # every client has a request in flight
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(120)

    def _run(self) -> None:
        url = f"/api/v1/projects/{PROJECT}/environments/{ENVIRONMENT}/evaluate"
        with httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
            while not self.stop.is_set():
                status = c.post(url, json={"context": CONTEXT}, timeout=300).status_code
                with self.lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 503:
                    time.sleep(0.05)  # a polite client honours Retry-After; a short pause stands for it


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--flags", type=int, default=40, help="flags at the limits in the environment")
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 16], help="concurrent evaluators")
    parser.add_argument("--kill-calls", type=int, default=40)
    args = parser.parse_args()

    load_before, started_at = _load_average(), datetime.now(UTC)
    database = ScratchDatabase(args.postgres).create()
    workdir = Path(tempfile.mkdtemp(prefix="flagstaff-evaluation-bench-"))
    server = Server(database.url, workdir / "serve.log")
    rows: list[tuple[str, list[float], dict[int, int], float]] = []
    try:
        server.start()
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=60
        ) as admin:
            _heavy_flags(admin, args.flags)
            started = time.perf_counter()
            admin.post(
                f"/api/v1/projects/{PROJECT}/environments/{ENVIRONMENT}/evaluate", json={"context": CONTEXT}
            ).raise_for_status()
            one = (time.perf_counter() - started) * 1000
        rows.append(("none", _kill_calls(server.base_url, args.kill_calls), {}, 0.0))
        for clients in args.clients:
            with EvaluationLoad(server.base_url, clients) as load:
                started = time.perf_counter()
                kills = _kill_calls(server.base_url, args.kill_calls)
                seconds = time.perf_counter() - started
            rows.append((f"{clients} clients", kills, dict(load.statuses), seconds))
    finally:
        server.stop()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"- Command: `{' '.join(['python', 'bench/evaluation_load_bench.py', *sys.argv[1:]])}`")
    print(f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; commit {_commit()}")
    print(f"- Machine: {_machine()}")
    print(f"- Load average (1, 5, 15 min): {load_before} at start, {_load_average()} at end")
    print(f"- Environment: {args.flags} flags of {PATTERNS} regex rules each; one evaluate-all: {one:.0f} ms")
    print()
    print("| evaluate load | kill/on p50 | p99 | max | evaluate answers during the kills |")
    print("| --- | --- | --- | --- | --- |")
    for label, kills, statuses, seconds in rows:
        answers = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items())) or "-"
        rate = f" in {seconds:.1f} s" if seconds else ""
        print(
            f"| {label} | {statistics.median(kills):.1f} ms | {_percentile(kills, 0.99):.1f} ms"
            f" | {max(kills):.1f} ms | {answers}{rate} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

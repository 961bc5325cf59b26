"""Guarded rollouts on real processes: how long a treatment that fails three times as often as the control
takes to be rolled back on every SDK, and whether a healthy one completes, at a few traffic levels.

    .venv/bin/python bench/release_e2e_bench.py      # or: make bench-release-e2e (about 20 minutes)

One `flagstaff serve` process on a throwaway PostgreSQL database (FLAGSTAFF_TEST_POSTGRES's server) or, with
`--sqlite`, on a SQLite file; real SDK clients in this process, connected to it, each driven by a thread of
requests (`tests/releases/traffic.py`: check the flag, `track("request")`, `track("error")` at the error rate
of the variation served). A plan releases "new" through 1, 5, 10, 25, 50 and 100 % under an SDK guard.

- **Rollback**: the treatment fails at 3x the control's rate from the plan's start. Measured from the plan's
  start (its first step written, so the treatment served and bad) to the guard tripping (the trip's time, by
  the server's clock), and to the rollback applied on every SDK client (each client's change listener seeing
  the revision of the rollback; the slowest client counts). One plan at a time.
- **No false rollback**: both variations fail alike; several plans, each on a flag of its own, run at once
  under the same traffic (every request checks every flag), and each should complete.

Prints markdown tables, recorded in bench/README.md: a reading, not a test; nothing fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import ScratchDatabase, commit, load_average, machine

from flagstaff import Client, LiveOptions
from tests.releases.plans import NEW, OLD, PERCENTS, create_old_new_flag, finished, start_plan
from tests.releases.traffic import Traffic
from tests.streaming.admin import Admin
from tests.streaming.processes import ServerProcess, wait_until

POSTGRES = os.environ.get("FLAGSTAFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True, slots=True)
class Settings:
    clients: int
    metrics_interval: float
    check_seconds: float
    guard_interval: float
    min_sample: int
    confidence: float
    ratio: float
    control_errors: float
    dwell: float

    def guard(self) -> dict[str, Any]:
        return {
            "source": "sdk",
            "ratio": self.ratio,
            "min_sample": self.min_sample,
            "confidence": self.confidence,
            "failure_event": "error",
            "total_event": "request",
        }


class Revisions:
    """When each client saw each revision: its change listener records (wall time, revision)."""

    def __init__(self, clients: list[Client]) -> None:
        self._seen: list[list[tuple[float, int]]] = [[] for _ in clients]
        self._lock = threading.Lock()
        for index, client in enumerate(clients):
            client.on_change(lambda _keys, i=index, c=client: self._record(i, c))

    def _record(self, index: int, client: Client) -> None:
        with self._lock:
            self._seen[index].append((time.time(), client.revision))

    def all_at(self, revision: int) -> float | None:
        """When the slowest client first had `revision` (or a later one); None if one never did."""
        with self._lock:
            firsts = [next((t for t, r in seen if r >= revision), None) for seen in self._seen]
        return None if None in firsts else max(t for t in firsts if t is not None)


@dataclass(frozen=True, slots=True)
class Rollback:
    status: str
    tripped_after: float | None
    applied_after: float | None
    percent: float | None
    treatment_total: int | None
    achieved_rate: float


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def one_rollback(admin: Admin, clients: list[Client], revisions: Revisions, s: Settings, rate: float, run: int
                 ) -> Rollback:  # fmt: skip
    flag = f"bad-{int(rate)}-{run}"
    create_old_new_flag(admin, flag)
    traffic = Traffic(
        clients, {flag: {OLD: s.control_errors, NEW: 3 * s.control_errors}}, rate, seed=run * 7919 + int(rate)
    ).start()
    try:
        started_wall = time.time()
        plan = start_plan(admin, flag, PERCENTS, s.dwell, s.guard())
        ended = wait_until(lambda: finished(admin, plan["id"]), len(PERCENTS) * s.dwell + 900, "the plan")
        if ended["status"] != "rolled_back":
            return Rollback(ended["status"], None, None, None, None, traffic.achieved_rate())
        trip = ended["trip"]
        revision = ended["propagation"]["revision"]
        applied = wait_until(lambda: revisions.all_at(revision), 60, "every client to apply the rollback")
        return Rollback(
            "rolled_back",
            _at(trip["at"]) - started_wall,
            applied - started_wall,
            trip["percent"],
            trip["treatment"]["total"],
            traffic.achieved_rate(),
        )
    finally:
        traffic.stop()


def healthy_plans(admin: Admin, clients: list[Client], s: Settings, rate: float, plans: int
                  ) -> tuple[list[str], list[float], float]:  # fmt: skip
    """(each plan's end status, seconds each completed one took, achieved request rate)."""
    flags = [f"ok-{int(rate)}-{index}" for index in range(plans)]
    for flag in flags:
        create_old_new_flag(admin, flag)
    rates = {flag: {OLD: s.control_errors, NEW: s.control_errors} for flag in flags}
    traffic = Traffic(clients, rates, rate, base_error_rate=s.control_errors, seed=int(rate)).start()
    try:
        started = [start_plan(admin, flag, PERCENTS, s.dwell, s.guard()) for flag in flags]
        timeout = len(PERCENTS) * s.dwell + 900
        ended = [wait_until(lambda p=p: finished(admin, p["id"]), timeout, "the plan") for p in started]
    finally:
        traffic.stop()
    took = [
        _at(e["finished_at"]) - _at(p["started_at"])
        for p, e in zip(started, ended, strict=True)
        if e["status"] == "completed"
    ]
    return [e["status"] for e in ended], took, traffic.achieved_rate()


def _seconds(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.1f} s (max {max(values):.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="200,1000,3000", help="requests/s over all clients (a, b, ...)")
    parser.add_argument("--runs", type=int, default=3, help="bad rollouts per rate, one after the other")
    parser.add_argument("--healthy", type=int, default=4, help="healthy plans per rate, run at once")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--metrics-interval", type=float, default=5.0, help="SDK metrics batches (default 5)")
    parser.add_argument("--check-seconds", type=float, default=1.0, help="FLAGSTAFF_ROLLOUT_CHECK_SECONDS")
    parser.add_argument("--guard-interval", type=float, default=10.0,
                        help="FLAGSTAFF_ROLLOUT_GUARD_INTERVAL_SECONDS")  # fmt: skip
    parser.add_argument("--min-sample", type=int, default=200)
    parser.add_argument("--confidence", type=float, default=0.999)
    parser.add_argument("--ratio", type=float, default=1.5)
    parser.add_argument("--control-errors", type=float, default=0.02)
    parser.add_argument("--dwell", type=float, default=30.0, help="seconds per step")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    args = parser.parse_args(argv)
    s = Settings(
        args.clients, args.metrics_interval, args.check_seconds, args.guard_interval, args.min_sample,
        args.confidence, args.ratio, args.control_errors, args.dwell,
    )  # fmt: skip
    rates = [float(rate) for rate in args.rates.split(",")]

    scratch = None if args.sqlite else ScratchDatabase(POSTGRES).create()
    directory = tempfile.TemporaryDirectory(prefix="flagstaff-release-e2e-")
    database_url = f"sqlite:///{directory.name}/flagstaff.db" if scratch is None else scratch.url
    server = ServerProcess(
        database_url,
        rollout_check_seconds=str(s.check_seconds),
        rollout_guard_interval_seconds=str(s.guard_interval),
    )
    clients: list[Client] = []
    bad: dict[float, list[Rollback]] = {}
    healthy: dict[float, tuple[list[str], list[float], float]] = {}
    try:
        server.launch().wait_ready(120)
        admin = Admin(server.base_url)
        secret, _ = admin.sdk_key()
        options = LiveOptions(metrics_interval=s.metrics_interval)
        clients = [Client(secret, server.base_url, options=options) for _ in range(s.clients)]
        for client in clients:
            assert client.wait_until_ready(30), client.status()
        revisions = Revisions(clients)
        for rate in rates:
            bad[rate] = []
            for run in range(args.runs):
                bad[rate].append(one_rollback(admin, clients, revisions, s, rate, run))
                print(f"{rate:.0f}/s run {run + 1}: {bad[rate][-1]}", file=sys.stderr, flush=True)
            healthy[rate] = healthy_plans(admin, clients, s, rate, args.healthy)
            print(f"{rate:.0f}/s healthy: {healthy[rate][0]}", file=sys.stderr, flush=True)
        admin.close()
    finally:
        for client in clients:
            client.close()
        server.kill()
        if scratch is not None:
            scratch.drop()
        directory.cleanup()

    print("## Guarded rollouts on real processes (`bench/release_e2e_bench.py`)\n")
    print(f"Machine: {machine()}; load average at the end {load_average()}; commit {commit()}.")
    print(
        f"One `flagstaff serve` on {'SQLite' if args.sqlite else 'PostgreSQL'}, {s.clients} SDK clients in "
        f"the benchmark's process. Plan: {', '.join(f'{p:g}' for p in PERCENTS)} %, {s.dwell:g} s per step. "
        f"Guard: sdk, ratio {s.ratio:g}, min_sample {s.min_sample}, confidence {s.confidence:g}. SDK "
        f"metrics_interval {s.metrics_interval:g} s; FLAGSTAFF_ROLLOUT_CHECK_SECONDS {s.check_seconds:g}, "
        f"FLAGSTAFF_ROLLOUT_GUARD_INTERVAL_SECONDS {s.guard_interval:g}. Control error rate "
        f"{s.control_errors:.0%}, treatment {3 * s.control_errors:.0%} (3x) from the plan's start.\n"
    )
    print("| requests/s (achieved) | rolled back | guard tripped after | applied on every SDK after | "
          "step at rollback | treatment requests at trip |")  # fmt: skip
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for rate, runs in bad.items():
        back = [r for r in runs if r.status == "rolled_back"]
        achieved = statistics.fmean(r.achieved_rate for r in runs)
        steps = ", ".join(f"{r.percent:g} %" for r in back)
        totals = ", ".join(str(r.treatment_total) for r in back)
        tripped = _seconds([r.tripped_after for r in back if r.tripped_after is not None])
        applied = _seconds([r.applied_after for r in back if r.applied_after is not None])
        print(
            f"| {rate:,.0f} ({achieved:,.0f}) | {len(back)} of {len(runs)} | {tripped} | {applied} | {steps} "
            f"| {totals} |"
        )
    print("\nEqual error rates (no rollback expected), the plans of one row running at once:\n")
    print("| requests/s (achieved) | completed | rolled back | time to complete |")
    print("| ---: | ---: | ---: | ---: |")
    for rate, (statuses, took, achieved) in healthy.items():
        print(
            f"| {rate:,.0f} ({achieved:,.0f}) | {statuses.count('completed')} of {len(statuses)} | "
            f"{statuses.count('rolled_back')} | {_seconds(took)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scheduled-change benchmark: R `flagstaff serve` replicas on one throwaway PostgreSQL database, N changes on
a few flags falling due within a short window; how late each ran (`ran_at - at`) and whether each ran once.

Run: `python bench/schedule_bench.py [--replicas 2] [--changes 100] [--window 3]` (needs PostgreSQL at
FLAGSTAFF_TEST_POSTGRES). Prints a markdown table; a reading, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.streaming.admin import ENV, Admin  # the test harness starts the same real processes
from tests.streaming.processes import ServerProcess, wait_until

POSTGRES = os.environ.get("FLAGSTAFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
FLAGS = ["alpha", "beta", "gamma", "delta", "epsilon"]


def _schedule(admin: Admin, flag: str, at: datetime, index: int) -> None:
    rule = {"id": f"r{index}", "clauses": [{"attribute": "k", "op": "in", "values": [str(index)]}]}
    body = {
        "flag": flag,
        "at": at.isoformat().replace("+00:00", "Z"),
        "action": "patch",
        "changes": {"rules": [{**rule, "serve": {"variation": 0}}]},
        "apply_if_changed": True,
    }
    response = admin.http.post(f"/api/v1/projects/{admin.project}/environments/{ENV}/schedules", json=body)
    response.raise_for_status()


def _all_settled(admin: Admin, count: int) -> list[dict[str, Any]] | None:
    url = f"/api/v1/projects/{admin.project}/environments/{ENV}/schedules"
    items: list[dict[str, Any]] = admin.http.get(url, params={"limit": 1000}).json()["items"]
    return items if len(items) == count and all(s["status"] != "pending" for s in items) else None


def _flag_writes(admin: Admin) -> Counter[str]:
    writes: Counter[str] = Counter()
    before = None
    while True:
        params: dict[str, Any] = {"project": admin.project, "environment": ENV, "limit": 1000}
        if before is not None:
            params["before"] = before
        page = admin.http.get("/api/v1/audit", params=params).json()
        writes.update(
            e["actor"]
            for e in page["items"]
            if e["action"] == "flag.update" and e["actor"].startswith("schedule:")
        )
        before = page["next"]
        if before is None:
            return writes


def run(replicas: int, changes: int, window: float) -> dict[str, Any]:
    name = f"flagstaff_schedule_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES.rsplit('/', 1)[0]}/{name}"
    servers = [ServerProcess(url).launch() for _ in range(replicas)]
    try:
        for server in servers:
            server.wait_ready()
        admin = Admin(servers[0].base_url)
        for flag in FLAGS:
            admin.create_flag(flag, enabled=False)
        start = datetime.now(UTC) + timedelta(seconds=2 + changes * 0.1)  # after every change is created
        for index in range(changes):
            admin.use(servers[index % replicas].base_url)
            _schedule(
                admin, FLAGS[index % len(FLAGS)], start + timedelta(seconds=window * index / changes), index
            )
        settled = wait_until(lambda: _all_settled(admin, changes), 60 + window, "every change to run")
        late = sorted(
            (datetime.fromisoformat(s["ran_at"]) - datetime.fromisoformat(s["at"])).total_seconds() * 1000
            for s in settled
        )
        writes = _flag_writes(admin)
        admin.close()
        return {
            "applied": sum(s["status"] == "applied" for s in settled),
            "written_once": sum(count == 1 for count in writes.values()),
            "median": statistics.median(late),
            "p95": late[min(len(late) - 1, int(len(late) * 0.95))],
            "max": late[-1],
        }
    finally:
        for server in servers:
            server.kill()
        time.sleep(0.5)
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--window", type=float, default=3.0, help="seconds over which the changes fall due")
    args = parser.parse_args()
    found = run(args.replicas, args.changes, args.window)
    print(
        "| replicas | changes due within | applied | written exactly once | ran_at - at median | p95 | max |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    due = f"{args.changes} in {args.window:g} s"
    once = found["written_once"]
    late = f"{found['median']:.0f} ms | {found['p95']:.0f} ms | {found['max']:.0f} ms"
    print(f"| {args.replicas} | {due} | {found['applied']} | {once} | {late} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

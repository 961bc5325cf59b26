"""Triggers and webhooks benchmark: one `flagstaff serve` process, a webhook receiver on loopback.

Measures how long a trigger's fire takes (HTTP round trip, each fire a real flag change), how long after a
write its webhook event reaches the receiver (at the default poll interval and a shorter one), and what a kill
costs while the receiver holds every delivery open (it should cost what it costs without one).

Run: `python bench/webhook_bench.py [--postgres] [--events N]` (PostgreSQL at FLAGSTAFF_TEST_POSTGRES).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.streaming.admin import ENV, Admin  # the test harness starts the same real processes
from tests.streaming.processes import ServerProcess
from tests.webhook_receiver import WebhookReceiver

POSTGRES = os.environ.get("FLAGSTAFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _database(postgres: bool, directory: Path) -> tuple[str, str | None]:
    if not postgres:
        return f"sqlite:///{directory / 'bench.db'}", None
    name = f"flagstaff_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}", name


def _drop(name: str | None) -> None:
    if name is not None:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(ordered) * 1000:.1f} | {p99 * 1000:.1f} | {ordered[-1] * 1000:.1f}"


def _fires(admin: Admin, events: int) -> list[float]:
    """Alternating kill and on triggers on one flag: every fire changes it."""
    admin.create_flag("fired", enabled=True)
    path = f"/api/v1/projects/{admin.project}/environments/{ENV}/triggers"
    urls = [
        admin.http.post(path, json={"name": action, "flag": "fired", "action": action}).json()["url"]
        for action in ("kill", "on")
    ]
    took = []
    with httpx.Client(timeout=10) as client:
        for index in range(events):
            started = time.perf_counter()
            answer = client.post(urls[index % 2], json={"reason": "bench"})
            took.append(time.perf_counter() - started)
            assert answer.status_code == 200 and answer.json()["changed"], answer.text
    return took


def _event_delays(admin: Admin, receiver: WebhookReceiver, events: int) -> list[float]:
    """From a write's answer to its event's arrival, one write at a time."""
    admin.create_flag("watched", enabled=False)
    path = f"/api/v1/projects/{admin.project}/environments/{ENV}/webhooks"
    hook = admin.http.post(path, json={"name": "bench", "url": receiver.url, "events": ["flag.*"]}).json()
    delays = []
    for index in range(events):
        admin.switch("watched", "on" if index % 2 == 0 else "off")
        written = time.perf_counter()
        receiver.wait_for(index + 1, timeout=30)
        delays.append(time.perf_counter() - written)
    admin.http.delete(f"{path}/{hook['id']}")
    return delays


def _kills(admin: Admin, events: int, flag: str) -> list[float]:
    admin.create_flag(flag, enabled=True)
    took = []
    for index in range(events):
        started = time.perf_counter()
        admin.switch(flag, "kill" if index % 2 == 0 else "on")
        took.append(time.perf_counter() - started)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL instead of SQLite")
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as directory:
        for poll in ("1", "0.1"):
            url, name = _database(args.postgres, Path(directory) / poll)
            Path(directory, poll).mkdir(exist_ok=True)
            server = ServerProcess(url, webhook_poll_interval_seconds=poll, access_log="false").start()
            receiver = WebhookReceiver().start()
            admin = Admin(server.base_url)
            try:
                if poll == "1":
                    fires = _fires(admin, args.events)
                    rows.append(f"| trigger fire (HTTP round trip, a real change each) | {_stats(fires)} |")
                    kills = _kills(admin, args.events, "plain")
                    rows.append(f"| kill, no webhook (HTTP round trip) | {_stats(kills)} |")
                    hanging = WebhookReceiver().start()
                    hanging.hang()
                    admin.http.post(
                        f"/api/v1/projects/{admin.project}/environments/{ENV}/webhooks",
                        json={"name": "hangs", "url": hanging.url},
                    )
                    try:
                        held = _kills(admin, args.events, "held")
                        rows.append(
                            f"| kill while a webhook's receiver holds each delivery open | {_stats(held)} |"
                        )
                    finally:
                        hanging.stop()
                delays = _event_delays(admin, receiver, args.events)
                rows.append(
                    f"| write answered -> webhook event received, poll every {poll} s | {_stats(delays)} |"
                )
            finally:
                admin.close()
                receiver.stop()
                server.kill()
                _drop(name)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.events} events each, {backend}, one `flagstaff serve` process, receiver on loopback\n")
    print("| measured | median ms | p99 ms | max ms |")
    print("| --- | --: | --: | --: |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

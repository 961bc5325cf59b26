"""SDK metrics benchmark: one real `flagstaff serve` process on a fresh PostgreSQL database. Ingest latency
and cells per second of `POST /sdk/v1/metrics` by report size, alone and with concurrent reporters adding to
the same cells; then the stale-flag report of 10,000 flags with a month of evaluations of none, 1,000 and all
of them, in the rows retention and compaction keep.

The 10,000 flags and the older metric rows are written straight into the database (one statement each): what
is measured is reading them, and creating them through the API would take longer than the whole run.

Run: `python bench/metrics_ingest_bench.py` (about 3 minutes; prints a markdown table). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import REPO, ScratchDatabase, commit, free_port, load_average, machine

ADMIN_TOKEN = f"fs_admin_bench-{uuid.uuid4().hex}"
PROJECT, ENVIRONMENT = "default", "production"
FLAGS = 10_000


class Server:
    """`flagstaff serve` on the scratch database, with its default settings."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.base_url = f"http://127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGSTAFF_")}
        env.update({"FLAGSTAFF_DATABASE_URL": database_url, "FLAGSTAFF_ADMIN_TOKEN": ADMIN_TOKEN})
        env["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
        port = self.base_url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", port]
        self.log_path = log_path
        with log_path.open("wb") as sink:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not become ready:\n{log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _report(cells: int, instance: str) -> dict[str, Any]:
    counts = [
        {"flag": f"flag-{n % FLAGS:05d}", "variation": n // FLAGS % 2, "event": "$evaluation", "count": 3}
        for n in range(cells)
    ]
    return {
        "instance": instance,
        "start": time.time() - 5,
        "end": time.time(),
        "counts": counts,
        "dropped": 0,
    }


async def _ingest(base_url: str, key: str, cells: int, reporters: int, reports: int) -> dict[str, float]:
    """`reporters` clients each posting `reports` reports of `cells` cells (the same cells for all, so every
    write after the first adds to existing rows); milliseconds per report and cells per second overall."""
    headers = {"Authorization": f"Bearer {key}"}
    timings: list[float] = []

    async def reporter(number: int, client: httpx.AsyncClient) -> None:
        body = _report(cells, f"bench-{number}")
        for _ in range(reports):
            started = time.perf_counter()
            response = await client.post("/sdk/v1/metrics", json=body)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 202:
                raise RuntimeError(f"{response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        await client.post("/sdk/v1/metrics", json=_report(1, "warm-up"))
        started = time.perf_counter()
        await asyncio.gather(*(reporter(n, client) for n in range(reporters)))
        elapsed = time.perf_counter() - started
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95) - 1] if len(timings) >= 20 else timings[-1],
        "cells_per_second": cells * reporters * reports / elapsed,
    }


def _insert_flags(admin_url: str, count: int) -> None:
    """`count` boolean flags in the default project, each with its production config, in two statements."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        project_id = connection.execute("SELECT id FROM projects WHERE key = %s", [PROJECT]).fetchone()[0]
        connection.execute(
            """INSERT INTO flag_definitions (project_id, key, name, description, kind, variations, tags,
                   temporary, client_side, salt, version, deleted, created_at, updated_at)
               SELECT %s, 'flag-' || lpad(n::text, 5, '0'), '', '', 'boolean', '[true, false]', '[]', true,
                   false, 'flag-' || lpad(n::text, 5, '0'), 1, false, now() - interval '90 days', now()
               FROM generate_series(0, %s - 1) AS n""",
            [project_id, count],
        )
        connection.execute(
            """INSERT INTO flag_configs (flag_id, environment_id, enabled, off_variation, targets, rules,
                   fallthrough, prerequisites, track_events, version, updated_at)
               SELECT d.id, e.id, true, 1, '[]', '[]', '{"variation": 0}', '[]', false, 1, now()
               FROM flag_definitions d JOIN environments e ON e.project_id = d.project_id
               WHERE d.project_id = %s""",
            [project_id],
        )


def _insert_month(admin_url: str, first: int, flags: int) -> int:
    """A month of evaluations of both variations of `flags` more flags, as retention and compaction keep it
    with the default settings: per minute for the last 3 hours, per hour until 2 days, then per day."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        environment_id = connection.execute(
            "SELECT e.id FROM environments e JOIN projects p ON p.id = e.project_id "
            "WHERE p.key = %s AND e.key = %s",
            [PROJECT, ENVIRONMENT],
        ).fetchone()[0]
        cursor = connection.execute(
            """WITH now AS (SELECT date_trunc('minute', now() at time zone 'utc') AS minute),
               buckets AS (
                   SELECT minute - make_interval(mins => m) AS start FROM now, generate_series(1, 180) AS m
                   UNION ALL
                   SELECT date_trunc('hour', minute) - make_interval(hours => h)
                   FROM now, generate_series(3, 47) AS h
                   UNION ALL
                   SELECT date_trunc('day', minute) - make_interval(days => d)
                   FROM now, generate_series(2, 29) AS d)
               INSERT INTO flag_metric_counts (environment_id, flag_key, variation, event, bucket_start,
                   count, value_sum)
               -- the ingest runs wrote the last minutes' buckets already
               SELECT %s, 'flag-' || lpad(f::text, 5, '0'), v, '$evaluation', start, 10, 0
               FROM generate_series(%s, %s - 1) AS f, generate_series(0, 1) AS v, buckets
               ON CONFLICT DO NOTHING""",
            [environment_id, first, first + flags],
        )
        connection.execute("ANALYZE flag_metric_counts")
        return cursor.rowcount


def _stale_report(base_url: str, repeats: int) -> tuple[float, int, int]:
    """Median milliseconds of `GET .../stale-flags`, the flags checked, and the flags listed."""
    path = f"/api/v1/projects/{PROJECT}/environments/{ENVIRONMENT}/stale-flags"
    timings: list[float] = []
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=120
    ) as client:
        for _ in range(repeats):
            started = time.perf_counter()
            response = client.get(path, params={"days": 30})
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        body = response.json()
    return statistics.median(timings), body["flags_checked"], len(body["items"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--reports", type=int, default=40, help="reports per reporter and size")
    parser.add_argument("--repeats", type=int, default=3, help="stale-flag reports per size")
    args = parser.parse_args()

    database = ScratchDatabase(args.postgres).create()
    admin_url = database.url.replace("postgresql+psycopg://", "postgresql://", 1)
    server = Server(database.url, Path(tempfile.mkdtemp()) / "serve.log")
    rows: list[str] = []
    try:
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as admin:
            created = admin.post(
                f"/api/v1/projects/{PROJECT}/environments/{ENVIRONMENT}/sdk-keys", json={"name": "bench"}
            )
            created.raise_for_status()
            key = created.json()["secret"]
        _insert_flags(admin_url, FLAGS)
        for cells, reporters in [(100, 1), (1_000, 1), (10_000, 1), (1_000, 8)]:
            result = asyncio.run(_ingest(server.base_url, key, cells, reporters, args.reports))
            rows.append(
                f"| ingest: {cells:,} cells per report, {reporters} reporter{'s' if reporters > 1 else ''} "
                f"| {result['p50']:.1f} ms p50, {result['p95']:.1f} ms p95 per report "
                f"| {result['cells_per_second']:,.0f} cells/s |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
        active = 0
        for more in (0, 1_000, 9_000):  # flags evaluated all month: none, 1,000, all 10,000
            if more:
                _insert_month(admin_url, active, more)
                active += more
            with psycopg.connect(admin_url) as connection:
                total = connection.execute("SELECT count(*) FROM flag_metric_counts").fetchone()[0]
            median, checked, listed = _stale_report(server.base_url, args.repeats)
            rows.append(
                f"| stale-flag report, {checked:,} flags, {active:,} evaluated all month, "
                f"{total:,} metric rows "
                f"| {median:,.0f} ms (median of {args.repeats}) | {listed:,} flags listed |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    finally:
        server.stop()
        database.drop()

    print(f"SDK metrics benchmark, {datetime.now(UTC):%Y-%m-%d}, commit {commit()}")
    print(f"Machine: {machine()}; load average at the end {load_average()}")
    print()
    print("| what | time | throughput or size |")
    print("| --- | --- | --- |")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()

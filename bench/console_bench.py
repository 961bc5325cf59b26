"""Console benchmark: how long the flag list of an environment with 1,000 flags takes to render, whole and
searched, and the rows a live page fetches after one change; in process (the app over ASGI), so the figures
are the server's own work, without a network or a browser.

Run: `python bench/console_bench.py [--flags 1000] [--rounds 20]` (SQLite in a temporary directory; with
`--postgres`, also PostgreSQL at FLAGSTAFF_TEST_POSTGRES). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.main import create_app, prepare_database
from app.settings import Settings

TOKEN = "fs_admin_console-bench-token"
POSTGRES = os.environ.get("FLAGSTAFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def _timed(
    rounds: int, call: Callable[[], Awaitable[httpx.Response]]
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of each request. The app runs in this process, so its CPU time is the
    server's work (the database's own, on PostgreSQL, is not counted), and shows through a loaded machine."""
    timings, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = await call()
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.text[:300]
    return timings, cpu


async def _measure(
    database_url: str, flags: int, rounds: int
) -> list[tuple[str, tuple[list[float], list[float]], int]]:
    settings = Settings(database_url=database_url, admin_token=TOKEN, access_log=False, log_level="warning")
    app = create_app(settings)
    prepare_database(settings, app.state.services)
    transport = httpx.ASGITransport(app=app)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as http:
        project = f"bench-{uuid.uuid4().hex[:8]}"
        await http.post("/api/v1/projects", json={"key": project, "name": project}, headers=auth)
        for index in range(flags):
            key = f"flag-{index:04d}"
            tags = ["checkout" if index % 10 == 0 else "misc", f"team-{index % 7}"]
            body = {"kind": "boolean", "variations": [True, False], "tags": tags, "name": f"Flag {index}"}
            await http.put(f"/api/v1/projects/{project}/flags/{key}", json=body, headers=auth)
            if index % 3:
                await http.post(
                    f"/api/v1/projects/{project}/environments/production/flags/{key}/on", headers=auth
                )
        await http.post("/console/sign-in", data={"key": TOKEN})
        page = f"/console/projects/{project}/environments/production/flags"
        whole = await _timed(rounds, lambda: http.get(page))
        size = len((await http.get(page)).content)
        searched = await _timed(rounds, lambda: http.get(page, params={"q": "flag-09", "tag": "checkout"}))
        environment = await http.get(f"/api/v1/projects/{project}/environments/production", headers=auth)
        revision = int(environment.json()["revision"])
        await http.post(
            f"/api/v1/projects/{project}/environments/production/flags/flag-0001/kill",
            json={"reason": "bench"},
            headers=auth,
        )
        rows = await _timed(rounds, lambda: http.get(f"{page}/rows", params={"since": revision}))
    app.state.services.database.dispose()
    return [
        ("whole list", whole, size),
        ("searched (q + tag)", searched, 0),
        ("changed rows (live)", rows, 0),
    ]


def _postgres_database() -> tuple[str, Callable[[], None]]:
    admin = psycopg.connect(POSTGRES, autocommit=True)
    name = f"flagstaff_console_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return f"{POSTGRES.rsplit('/', 1)[0]}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        backends = [("SQLite", f"sqlite:///{directory}/bench.db", lambda: None)]
        if args.postgres:
            url, drop = _postgres_database()
            backends.append(("PostgreSQL", url, drop))
        print(f"Console flag list, {args.flags} flags, {args.rounds} requests each (ms):\n")
        print("| backend | request | median | p90 | max | CPU median | page size |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for name, url, cleanup in backends:
            try:
                for what, (timings, cpu), size in asyncio.run(_measure(url, args.flags, args.rounds)):
                    ordered = sorted(timings)
                    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
                    shown = f"{size / 1024:.0f} KiB" if size else ""
                    median = statistics.median(ordered)
                    cells = [
                        name,
                        what,
                        *(f"{ms:.1f}" for ms in (median, p90, ordered[-1], statistics.median(cpu))),
                    ]
                    print(f"| {' | '.join(cells)} | {shown} |")
            finally:
                cleanup()


if __name__ == "__main__":
    main()

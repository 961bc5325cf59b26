"""Console releases benchmark: what the releases page costs with many active rollout plans, and the plans
table's rows its script asks for every 2 s while a plan runs (each active plan is read with the SDK
confirmations of its last revision); in process (the app over ASGI), so the CPU column is the server's own
work.

Run: `python bench/console_releases_bench.py [--plans 50] [--rounds 20]` (SQLite in a temporary directory;
with `--postgres`, also PostgreSQL at FLAGSTAFF_TEST_POSTGRES). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from console_bench import _postgres_database, _timed

from app.main import create_app, prepare_database
from app.settings import Settings

TOKEN = "fs_admin_console-releases-bench"


Timings = tuple[list[float], list[float]]


async def _measure(database_url: str, plans: int, rounds: int) -> list[tuple[str, Timings, int]]:
    settings = Settings(database_url=database_url, admin_token=TOKEN, access_log=False, log_level="warning")
    app = create_app(settings)
    prepare_database(settings, app.state.services)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60
    ) as http:
        project = f"bench-{uuid.uuid4().hex[:8]}"
        await http.post("/api/v1/projects", json={"key": project, "name": project}, headers=auth)
        base = f"/api/v1/projects/{project}/environments/production"
        for index in range(plans):
            key = f"flag-{index:03d}"
            body = {"kind": "boolean", "variations": [True, False]}
            await http.put(f"/api/v1/projects/{project}/flags/{key}", json=body, headers=auth)
            await http.post(f"{base}/flags/{key}/on", headers=auth)
            plan = {"flag": key, "variation": 0, "control": 1, "reason": "bench",
                    "steps": [{"percent": p, "dwell_seconds": 3600} for p in (1, 5, 25, 100)]}  # fmt: skip
            started = await http.post(f"{base}/rollouts", json=plan, headers=auth)
            assert started.status_code == 201, started.text
        await http.post("/console/sign-in", data={"key": TOKEN})
        page = f"/console/projects/{project}/environments/production/releases"
        whole = await _timed(rounds, lambda: http.get(page))
        size = len((await http.get(page)).content)
        rows = await _timed(rounds, lambda: http.get(f"{page}/plans"))
        one = await _timed(
            rounds,
            lambda: http.get(f"/console/projects/{project}/environments/production/flags/flag-000/releases"),
        )
    app.state.services.database.dispose()
    return [
        ("releases page", whole, size),
        ("plans rows (the 2 s poll)", rows, 0),
        ("a flag's releases", one, 0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        backends = [("SQLite", f"sqlite:///{directory}/bench.db", lambda: None)]
        if args.postgres:
            url, drop = _postgres_database()
            backends.append(("PostgreSQL", url, drop))
        print(f"Console releases, {args.plans} running rollout plans, {args.rounds} requests each (ms):\n")
        print("| backend | request | median | p90 | max | CPU median | page size |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for name, url, cleanup in backends:
            try:
                for what, (timings, cpu), size in asyncio.run(_measure(url, args.plans, args.rounds)):
                    ordered = sorted(timings)
                    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
                    shown = f"{size / 1024:.0f} KiB" if size else ""
                    figures = (statistics.median(ordered), p90, ordered[-1], statistics.median(cpu))
                    cells = [name, what, *(f"{ms:.1f}" for ms in figures)]
                    print(f"| {' | '.join(cells)} | {shown} |")
            finally:
                cleanup()


if __name__ == "__main__":
    main()

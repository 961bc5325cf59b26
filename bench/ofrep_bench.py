"""OFREP benchmark: one real `flagstaff serve` process on a fresh PostgreSQL database with flags of typical
targeting; `POST /ofrep/v1/evaluate/flags/{key}` (one flag, a context of three attributes) requests per second
with wrk, and the bulk evaluation of every flag beside it.

Run: `python bench/ofrep_bench.py` (under a minute; prints a markdown table). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import ScratchDatabase, commit, load_average, machine
from http_load import LoadResult, run_wrk
from server_bench import ADMIN_TOKEN, Server, _create_flags, _sdk_key

CONTEXT = {"targetingKey": "user-42", "country": "SE", "email": "someone@example.com", "plan": "free"}


def _prelude(body: dict[str, object]) -> str:
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a database to connect to for CREATE/DROP DATABASE")  # fmt: skip
    parser.add_argument("--flags", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10, help="length of each load run")
    parser.add_argument("--rounds", type=int, default=3, help="single-flag runs")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (Debian package wrk)")

    load_before, started_at = load_average(), datetime.now(UTC)
    database = ScratchDatabase(args.postgres).create()
    workdir = Path(tempfile.mkdtemp(prefix="flagstaff-ofrep-bench-"))
    server = Server.flagstaff(database.url, workdir / "serve.log")
    single: list[LoadResult] = []
    try:
        server.start()
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as admin:
            sdk_key = _sdk_key(admin)
        asyncio.run(_create_flags(server.base_url, args.flags, concurrency=4))
        auth = {"Authorization": f"Bearer {sdk_key}"}
        url = f"{server.base_url}/ofrep/v1/evaluate/flags/flag-0000"
        check = httpx.post(url, json={"context": CONTEXT}, headers=auth)
        if check.status_code != 200:
            raise RuntimeError(f"single evaluation answered {check.status_code}: {check.text}")
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}: single flag for {args.seconds} s", file=sys.stderr, flush=True)
            prelude = _prelude({"context": CONTEXT})
            single.append(run_wrk(url, auth, args.threads, args.connections, args.seconds, prelude))
        bulk_url = f"{server.base_url}/ofrep/v1/evaluate/flags"
        bulk = run_wrk(
            bulk_url, auth, args.threads, args.connections, args.seconds, _prelude({"context": CONTEXT})
        )
    finally:
        server.stop()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"- Command: `{' '.join(['python', 'bench/ofrep_bench.py', *sys.argv[1:]])}`")
    print(f"- Commit: {commit()}; {machine()}; load average at start {load_before};"
          f" {started_at:%Y-%m-%d %H:%M} UTC")  # fmt: skip
    print(f"- wrk ({args.threads} threads, {args.connections} connections, {args.seconds} s per run);"
          f" {args.flags} flags of two rules and a rollout each")  # fmt: skip
    print()
    print("| measurement | req/s | latency p50 | p99 | max | errors | target |")
    print("| --- | --: | --: | --: | --: | --: | --- |")
    for index, result in enumerate(single):
        met = "met" if result.per_second >= 2000 else "**missed**"
        print(f"| `POST /ofrep/v1/evaluate/flags/{{key}}`, run {index + 1} | {result.per_second:,.0f} |"
              f" {result.p50_ms:.2f} ms | {result.p99_ms:.2f} ms | {result.max_ms:.1f} ms | {result.errors} |"
              f" >= 2,000 req/s: {met} |")  # fmt: skip
    print(f"| `POST /ofrep/v1/evaluate/flags` ({args.flags} flags) | {bulk.per_second:,.0f} |"
          f" {bulk.p50_ms:.2f} ms | {bulk.p99_ms:.2f} ms | {bulk.max_ms:.1f} ms"
          f" | {bulk.errors} | |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Server HTTP benchmark: one real `flagstaff serve` process on a fresh PostgreSQL database with 1,000 flags;
`GET /sdk/v1/flags` requests per second on the 304 and 200 paths, and kill-switch call latency.

Run: `python bench/server_bench.py` (about 1-2 minutes; prints a markdown table). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = f"fs_admin_bench-{uuid.uuid4().hex}"
PROJECT, ENVIRONMENT = "default", "production"
SNAPSHOT_PATH = "/sdk/v1/flags"
# wrk prints its own summary in a format meant for people; this Lua hook prints the numbers as one JSON line.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    bytes: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


class Server:
    """`flagstaff serve` in its own process (uvicorn runs in that same process, so its pid is the one to
    profile), started with a known admin token and stopped by its own handle."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # Only our settings: a FLAGSTAFF_* variable from the caller's shell (say, a Redis URL) would change
        # what is measured.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGSTAFF_")}
        self.env.update(
            {
                "FLAGSTAFF_DATABASE_URL": database_url,
                "FLAGSTAFF_ADMIN_TOKEN": ADMIN_TOKEN,
                # uvicorn's access log is logged at info: warning keeps it (and its console writes) out.
                "FLAGSTAFF_LOG_LEVEL": "warning",
                "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            }
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as sink:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not become ready:\n{self.log_path.read_text()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


class ScratchDatabase:
    """A PostgreSQL database of our own, created empty and dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"flagstaff_bench_{uuid.uuid4().hex[:10]}"
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        self.url = f"{base}/{self.name}"

    def create(self) -> ScratchDatabase:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return self

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            connection.execute(statement)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _flag_targeting(index: int) -> dict[str, Any]:
    """Two rules (the second a rollout) and a 10% fallthrough rollout: typical targeting, not a toy."""
    return {
        "enabled": True,
        "rules": [
            {
                "id": "countries",
                "clauses": [{"attribute": "country", "op": "in", "values": ["NL", "BE", "DE", "FR"]}],
                "serve": {"variation": 0},
            },
            {
                "id": "staff",
                "clauses": [
                    {"attribute": "email", "op": "ends_with", "values": ["@corp.example"]},
                    {"attribute": "plan", "op": "in", "values": ["enterprise", f"plan-{index % 7}"]},
                ],
                "serve": {
                    "rollout": {
                        "variations": [{"variation": 0, "weight": 50_000}, {"variation": 1, "weight": 50_000}]
                    }
                },
            },
        ],
        "fallthrough": {
            "rollout": {
                "variations": [{"variation": 0, "weight": 10_000}, {"variation": 1, "weight": 90_000}]
            }
        },
        "reason": "benchmark setup",
    }


async def _create_flags(base_url: str, count: int, concurrency: int) -> tuple[float, list[float]]:
    """PUT each definition then PATCH its targeting in production; returns the seconds taken and when each
    flag was done (seconds from the start, in completion order). A PATCH of rules checks the whole
    environment, so the pace slows as flags accumulate."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    pending = iter(range(count))
    finished: list[float] = []
    done = 0
    started = time.perf_counter()

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        for index in pending:
            key = f"flag-{index:04d}"
            definition = {"kind": "boolean", "variations": [True, False], "tags": [f"team-{index % 10}"]}
            put = await client.put(f"/api/v1/projects/{PROJECT}/flags/{key}", json=definition)
            if put.status_code != 201:
                raise RuntimeError(f"PUT {key}: {put.status_code} {put.text}")
            path = f"/api/v1/projects/{PROJECT}/environments/{ENVIRONMENT}/flags/{key}"
            patch = await client.patch(path, json=_flag_targeting(index))
            if patch.status_code != 200:
                raise RuntimeError(f"PATCH {key}: {patch.status_code} {patch.text}")
            done += 1
            finished.append(time.perf_counter() - started)
            if done % 100 == 0:
                elapsed = time.perf_counter() - started
                print(f"  {done:>5} flags created ({elapsed:.1f} s)", file=sys.stderr, flush=True)

    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return time.perf_counter() - started, finished


def _sdk_key(admin: httpx.Client) -> str:
    path = f"/api/v1/projects/{PROJECT}/environments/{ENVIRONMENT}/sdk-keys"
    response = admin.post(path, json={"name": "bench"})
    response.raise_for_status()
    secret: str = response.json()["secret"]
    return secret


def _run_wrk(url: str, headers: dict[str, str], threads: int, connections: int, seconds: int) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    try:
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script.name]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        output = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=seconds + 30, check=True
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    data = json.loads(line.removeprefix("BENCH "))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        bytes=data["bytes"],
        errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


async def _python_load(
    port: int, headers: dict[str, str], expect_status: int, connections: int, seconds: float
) -> LoadResult:
    """A keep-alive load generator on raw asyncio sockets, for machines without wrk. It shares the CPU with
    the server and is slower than wrk, so its req/s is a lower bound."""
    lines = [f"GET {SNAPSHOT_PATH} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    totals = {"bytes": 0, "errors": 0}
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for header in head.split(b"\r\n")[1:]:
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                latencies.append(time.perf_counter() - sent)
                totals["bytes"] += len(head) + len(body)
                if int(head.split(b" ", 2)[1]) != expect_status:
                    totals["errors"] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return LoadResult(
        requests=len(ordered),
        seconds=elapsed,
        bytes=totals["bytes"],
        errors=totals["errors"],
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        max_ms=ordered[-1] * 1000,
    )


def _kill_latency(base_url: str, calls: int) -> list[float]:
    """Alternating kill and on for one flag, so every call is a real change; milliseconds per call."""
    path = f"/api/v1/projects/{PROJECT}/environments/{ENVIRONMENT}/flags/flag-0000"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    timings: list[float] = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        client.get(path).raise_for_status()  # opens the keep-alive connection outside the timing
        for index in range(calls):
            action, body = ("kill", {"reason": "benchmark"}) if index % 2 == 0 else ("on", None)
            started = time.perf_counter()
            response = client.post(f"{path}/{action}", json=body)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or not response.json()["changed"]:
                raise RuntimeError(f"{action}: {response.status_code} {response.text}")
    return timings


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}; Python {python}"


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "app", "sdk")
    note = " (with uncommitted changes in app/ or sdk/)" if dirty else ""
    return git("rev-parse", "--short", "HEAD") + note


def _target(met: bool, text: str) -> str:
    return f"{text}: met" if met else f"{text}: **missed**"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a database to connect to for CREATE/DROP DATABASE")  # fmt: skip
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10, help="length of each load run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    # 32 rather than 64: on two cores, 64 connections gave fewer req/s and a p99 in the hundreds of ms.
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--kill-calls", type=int, default=200)
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    parser.add_argument("--profile", metavar="SVG", help="record a py-spy flame graph of the 304 run")
    args = parser.parse_args()

    wrk = None if args.python_load else shutil.which("wrk")
    generator = (
        f"wrk ({args.threads} threads, {args.connections} connections, {args.seconds} s per path)"
        if wrk
        else f"Python asyncio raw-socket keep-alive ({args.connections} connections,"
        f" {args.seconds} s per path; wrk not found, so req/s is a lower bound)"
    )
    load_before, started_at = _load_average(), datetime.now(UTC)
    database = ScratchDatabase(args.postgres).create()
    workdir = Path(tempfile.mkdtemp(prefix="flagstaff-server-bench-"))
    server = Server(database.url, workdir / "serve.log")
    try:
        print(f"starting flagstaff serve on a fresh database {database.name}", file=sys.stderr, flush=True)
        server.start()
        admin = httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
        )
        sdk_key = _sdk_key(admin)
        print(f"creating {args.flags} flags (PUT definition + PATCH targeting)", file=sys.stderr, flush=True)
        setup_seconds, finished = asyncio.run(_create_flags(server.base_url, args.flags, concurrency=4))

        auth = {"Authorization": f"Bearer {sdk_key}"}
        full = httpx.get(f"{server.base_url}{SNAPSHOT_PATH}", headers=auth, timeout=30)
        full.raise_for_status()
        etag = full.headers["etag"]
        flag_count = len(full.json()["flags"])
        if flag_count != args.flags:
            raise RuntimeError(f"the snapshot has {flag_count} flags, not {args.flags}")
        not_modified = httpx.get(
            f"{server.base_url}{SNAPSHOT_PATH}", headers={**auth, "If-None-Match": etag}, timeout=30
        )
        if not_modified.status_code != 304:
            raise RuntimeError(f"If-None-Match {etag} answered {not_modified.status_code}, not 304")

        results: dict[str, LoadResult] = {}
        for name, headers, status in (("304", {**auth, "If-None-Match": etag}, 304), ("200", auth, 200)):
            print(f"load on the {name} path for {args.seconds} s", file=sys.stderr, flush=True)
            spy = None
            if name == "304" and args.profile:
                spy = subprocess.Popen(
                    ["py-spy", "record", "-o", args.profile, "--pid", str(server.pid),
                     "--duration", str(args.seconds), "--nonblocking"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            if wrk:
                url = f"{server.base_url}{SNAPSHOT_PATH}"
                results[name] = _run_wrk(url, headers, args.threads, args.connections, args.seconds)
            else:
                load = _python_load(server.port, headers, status, args.connections, args.seconds)
                results[name] = asyncio.run(load)
            if spy is not None:
                spy.wait(args.seconds + 30)

        print(f"{args.kill_calls} sequential kill/on calls", file=sys.stderr, flush=True)
        kills = _kill_latency(server.base_url, args.kill_calls)
        admin.close()
    finally:
        server.stop()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)

    not_modified_run, full_run = results["304"], results["200"]
    kill_p50 = statistics.median(kills)
    body_kb = len(full.content) / 1000
    print(f"- Command: `{' '.join(['python', 'bench/server_bench.py', *sys.argv[1:]])}`")
    print(f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; commit {_commit()}")
    print(f"- Machine: {_machine()}")
    print(f"- Load average (1, 5, 15 min): {load_before} at start, {_load_average()} at end")
    print(f"- Load generator: {generator}")
    tenth = max(1, len(finished) // 10)
    first_pace = finished[tenth - 1] / tenth * 1000
    last_pace = (finished[-1] - finished[-tenth - 1]) / tenth * 1000 if len(finished) > tenth else first_pace
    print(
        f"- Setup: {args.flags} flags created in {setup_seconds:.1f} s ({2 * args.flags} admin calls,"
        f" 4 at once): {first_pace:.0f} ms per flag (PUT + PATCH) over the first {tenth},"
        f" {last_pace:.0f} ms over the last {tenth}; snapshot {body_kb:,.0f} kB at ETag {etag}"
    )
    print()
    print("| measurement | req/s | latency p50 | p99 | max | bytes/answer | errors | target |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, run, target in (
        ("`GET /sdk/v1/flags` 304 (`If-None-Match`: current ETag)", not_modified_run,
         _target(not_modified_run.per_second >= 3000, ">= 3,000 req/s")),
        (f"`GET /sdk/v1/flags` 200 (full snapshot, {body_kb:,.0f} kB)", full_run, ""),
    ):  # fmt: skip
        print(
            f"| {label} | {run.per_second:,.0f} | {run.p50_ms:.2f} ms | {run.p99_ms:.2f} ms"
            f" | {run.max_ms:.1f} ms | {run.bytes / max(run.requests, 1):,.0f} | {run.errors} | {target} |"
        )
    print(
        f"| kill/on call, {len(kills)} sequential (keep-alive) | {1000 / statistics.mean(kills):,.0f}"
        f" | {kill_p50:.2f} ms | {_percentile(kills, 0.99):.2f} ms | {max(kills):.1f} ms | | 0"
        f" | {_target(kill_p50 < 20, 'p50 < 20 ms')} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Server HTTP benchmark: one real `flagstaff serve` process on a fresh PostgreSQL database with 1,000 flags;
`GET /sdk/v1/flags` requests per second on the 304 path beside the floor (a bare Starlette app, interleaved in
the same run), on the 200 path in identity and gzip, and kill-switch call latency.

Run: `python bench/server_bench.py` (about 5 minutes; prints a markdown table). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import shutil
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import REPO, ScratchDatabase, commit, free_port, load_average, machine
from http_load import LoadResult, percentile, python_load, run_wrk

ADMIN_TOKEN = f"fs_admin_bench-{uuid.uuid4().hex}"
PROJECT, ENVIRONMENT = "default", "production"
SNAPSHOT_PATH = "/sdk/v1/flags"


class Server:
    """A server process (uvicorn runs in that same process, so its pid is the one to profile), ready when
    `ready_path` answers 200, stopped by its own handle."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path, ready_path: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.command = [*command, "--host", "127.0.0.1", "--port", str(self.port)]
        # Only our settings: a FLAGSTAFF_* variable from the caller's shell (say, a Redis URL) would change
        # what is measured.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGSTAFF_")}
        self.env.update(env)
        self.env["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
        self.log_path, self.ready_path = log_path, ready_path
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def flagstaff(cls, database_url: str, log_path: Path) -> Server:
        """`flagstaff serve` with its default logging: one access-log line per admin call, none per poll."""
        env = {"FLAGSTAFF_DATABASE_URL": database_url, "FLAGSTAFF_ADMIN_TOKEN": ADMIN_TOKEN}
        return cls([sys.executable, "-m", "app.cli", "serve"], env, log_path, "/readyz")

    @classmethod
    def floor(cls, etag: str, log_path: Path) -> Server:
        """The bare Starlette app of bench/poll_floor.py under the same uvicorn, with no access log."""
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(REPO / "bench"), "poll_floor:app",
                   "--log-level", "warning", "--no-access-log"]  # fmt: skip
        return cls(command, {"BENCH_FLOOR_ETAG": etag}, log_path, SNAPSHOT_PATH)

    def start(self) -> Server:
        with self.log_path.open("wb") as sink:
            self.process = subprocess.Popen(self.command, cwd=REPO, env=self.env, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}{self.ready_path}", timeout=1).status_code == 200:
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


def _target(met: bool, text: str) -> str:
    return f"{text}: met" if met else f"{text}: **missed**"


def _check_encodings(base_url: str, auth: dict[str, str], flags: int) -> tuple[str, int, int]:
    """The identity and gzip answers hold the same document of `flags` flags, and If-None-Match answers 304;
    returns the ETag and the two sizes on the wire."""
    url = f"{base_url}{SNAPSHOT_PATH}"
    with httpx.Client(timeout=30) as http:
        identity = http.get(url, headers={**auth, "Accept-Encoding": "identity"})
        identity.raise_for_status()
        with http.stream("GET", url, headers={**auth, "Accept-Encoding": "gzip"}) as compressed:
            raw = b"".join(compressed.iter_raw())
        if compressed.headers.get("content-encoding") != "gzip" or gzip.decompress(raw) != identity.content:
            raise RuntimeError("the gzip answer is not the identity answer compressed")
        etag = identity.headers["etag"]
        if (found := len(identity.json()["flags"])) != flags:
            raise RuntimeError(f"the snapshot has {found} flags, not {flags}")
        polled = http.get(url, headers={**auth, "If-None-Match": etag, "Accept-Encoding": "gzip"})
        if polled.status_code != 304:
            raise RuntimeError(f"If-None-Match {etag} answered {polled.status_code}, not 304")
    return etag, len(identity.content), len(raw)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a database to connect to for CREATE/DROP DATABASE")  # fmt: skip
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10, help="length of each load run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved floor / Flagstaff 304 runs")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    # 32 rather than 64: on two cores, 64 connections gave fewer req/s and a p99 in the hundreds of ms.
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--kill-calls", type=int, default=200)
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    parser.add_argument("--profile", metavar="SVG", help="record a py-spy flame graph of a Flagstaff 304 run")
    args = parser.parse_args()

    wrk = None if args.python_load else shutil.which("wrk")
    generator = (
        f"wrk ({args.threads} threads, {args.connections} connections, {args.seconds} s per run)"
        if wrk
        else f"Python asyncio raw-socket keep-alive ({args.connections} connections,"
        f" {args.seconds} s per run; wrk not found, so req/s is a lower bound)"
    )

    def load(target: Server, headers: dict[str, str], status: int, profile: str | None = None) -> LoadResult:
        spy = None
        if profile:
            spy = subprocess.Popen(
                ["py-spy", "record", "-o", profile, "--pid", str(target.pid),
                 "--duration", str(args.seconds), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        if wrk:
            url = f"{target.base_url}{SNAPSHOT_PATH}"
            result = run_wrk(url, headers, args.threads, args.connections, args.seconds)
        else:
            run = python_load(target.port, SNAPSHOT_PATH, headers, status, args.connections, args.seconds)
            result = asyncio.run(run)
        if spy is not None:
            spy.wait(args.seconds + 30)
        return result

    load_before, started_at = load_average(), datetime.now(UTC)
    database = ScratchDatabase(args.postgres).create()
    workdir = Path(tempfile.mkdtemp(prefix="flagstaff-server-bench-"))
    server = Server.flagstaff(database.url, workdir / "serve.log")
    floor: Server | None = None
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
        etag, identity_size, gzip_size = _check_encodings(server.base_url, auth, args.flags)
        floor = Server.floor(etag, workdir / "floor.log").start()

        # What the SDK sends when it polls: the revision it holds, and gzip.
        poll = {**auth, "If-None-Match": etag, "Accept-Encoding": "gzip"}
        polls: dict[str, list[LoadResult]] = {"floor": [], "flagstaff": []}
        for round_ in range(args.rounds):
            # Interleaved, the first of the pair alternating: a change of machine load hits both alike.
            order = [("floor", floor), ("flagstaff", server)]
            for name, target in order if round_ % 2 == 0 else order[::-1]:
                print(f"round {round_ + 1}: {name} 304 for {args.seconds} s", file=sys.stderr, flush=True)
                profile = args.profile if name == "flagstaff" and round_ == 0 else None
                polls[name].append(load(target, poll, 304, profile))
        full: dict[str, LoadResult] = {}
        for encoding in ("identity", "gzip"):
            print(f"Flagstaff 200 ({encoding}) for {args.seconds} s", file=sys.stderr, flush=True)
            full[encoding] = load(server, {**auth, "Accept-Encoding": encoding}, 200)

        print(f"{args.kill_calls} sequential kill/on calls", file=sys.stderr, flush=True)
        kills = _kill_latency(server.base_url, args.kill_calls)
        admin.close()
    finally:
        server.stop()
        if floor is not None:
            floor.stop()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)

    _report(args, generator, load_before, started_at, setup_seconds, finished, etag, polls, full, kills,
            (identity_size, gzip_size))  # fmt: skip
    return 0


def _median_run(runs: list[LoadResult]) -> LoadResult:
    return sorted(runs, key=lambda run: run.per_second)[len(runs) // 2]


def _report(
    args: argparse.Namespace,
    generator: str,
    load_before: str,
    started_at: datetime,
    setup_seconds: float,
    finished: list[float],
    etag: str,
    polls: dict[str, list[LoadResult]],
    full: dict[str, LoadResult],
    kills: list[float],
    sizes: tuple[int, int],
) -> None:
    identity_size, gzip_size = sizes
    print(f"- Command: `{' '.join(['python', 'bench/server_bench.py', *sys.argv[1:]])}`")
    print(f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; commit {commit()}")
    print(f"- Machine: {machine()}")
    print(f"- Load average (1, 5, 15 min): {load_before} at start, {load_average()} at end")
    print(f"- Load generator: {generator}")
    tenth = max(1, len(finished) // 10)
    first_pace = finished[tenth - 1] / tenth * 1000
    last_pace = (finished[-1] - finished[-tenth - 1]) / tenth * 1000 if len(finished) > tenth else first_pace
    print(
        f"- Setup: {args.flags} flags created in {setup_seconds:.1f} s ({2 * args.flags} admin calls,"
        f" 4 at once): {first_pace:.0f} ms per flag (PUT + PATCH) over the first {tenth},"
        f" {last_pace:.0f} ms over the last {tenth}; snapshot {identity_size / 1000:,.0f} kB"
        f" ({gzip_size / 1000:,.1f} kB in gzip) at ETag {etag}"
    )
    ratios = [f / b for f, b in zip(
        (r.per_second for r in polls["flagstaff"]), (r.per_second for r in polls["floor"]), strict=True
    )]  # fmt: skip
    each = ", ".join(f"{f.per_second:,.0f}/{b.per_second:,.0f}" for f, b in zip(
        polls["flagstaff"], polls["floor"], strict=True))  # fmt: skip
    print(f"- 304 runs, Flagstaff/floor req/s in each round: {each}")
    floor_run, poll_run = _median_run(polls["floor"]), _median_run(polls["flagstaff"])
    share = statistics.median(ratios)
    gzip_share = gzip_size / identity_size
    print()
    print("| measurement | req/s | latency p50 | p99 | max | bytes/answer | errors | target |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, run, target in (
        (f"floor: bare Starlette 304 (median of {len(polls['floor'])} runs)", floor_run, ""),
        (f"`GET /sdk/v1/flags` 304 (SDK key, `If-None-Match`, gzip accepted; median of {len(ratios)} runs)",
         poll_run, _target(share >= 2 / 3, f">= 2/3 of the floor: {share:.2f} (median of the rounds)")),
        (f"`GET /sdk/v1/flags` 200, identity ({identity_size / 1000:,.0f} kB)", full["identity"], ""),
        (f"`GET /sdk/v1/flags` 200, gzip ({gzip_size / 1000:,.1f} kB)", full["gzip"],
         _target(gzip_share <= 0.05, f"<= 5% of identity: {gzip_share:.1%}")),
    ):  # fmt: skip
        print(
            f"| {label} | {run.per_second:,.0f} | {run.p50_ms:.2f} ms | {run.p99_ms:.2f} ms"
            f" | {run.max_ms:.1f} ms | {run.bytes / max(run.requests, 1):,.0f} | {run.errors} | {target} |"
        )
    kill_p50 = statistics.median(kills)
    print(
        f"| kill/on call, {len(kills)} sequential (keep-alive) | {1000 / statistics.mean(kills):,.0f}"
        f" | {kill_p50:.2f} ms | {percentile(kills, 0.99):.2f} ms | {max(kills):.1f} ms | | 0"
        f" | {_target(kill_p50 < 20, 'p50 < 20 ms')} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())

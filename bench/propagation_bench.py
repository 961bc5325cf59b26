"""Propagation benchmark: two server processes behind Redis and PostgreSQL, N SSE stream clients spread over
both; kill-switch latency, idle-stream cost, and convergence after losing a process or Redis.

Run: `python bench/propagation_bench.py` (needs PostgreSQL at FLAGSTAFF_TEST_POSTGRES and redis-server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.streaming.admin import Admin  # the test harness starts the same real processes
from tests.streaming.processes import RedisServer, ServerProcess

POSTGRES = os.environ.get("FLAGSTAFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BENCH_SETTINGS = {"FLAGSTAFF_STREAM_HEARTBEAT_SECONDS": "15", "FLAGSTAFF_STREAM_POLL_SECONDS": "2"}


class StreamReader:
    """An SDK-like SSE client on raw asyncio sockets: records when each revision first arrives, and on a lost
    connection reconnects (to the other server when `failover`) with Last-Event-ID after a jittered delay."""

    def __init__(self, servers: list[tuple[str, int]], index: int, key: str) -> None:
        self.servers, self.index, self.key = servers, index, key
        self.revision = -1
        self.reached: list[tuple[int, float]] = []
        self.connected = asyncio.Event()
        self.stopped = False

    async def run(self) -> None:
        while not self.stopped:
            host, port = self.servers[self.index % len(self.servers)]
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                await self._read(host, port)
            self.connected.clear()
            if self.stopped:
                return
            self.index += 1  # the next attempt goes to the other process
            await asyncio.sleep(random.uniform(0.5, 1.0))  # the SDK's first backoff step, jittered

    async def _read(self, host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            resume = f"Last-Event-ID: {self.revision}\r\n" if self.revision >= 0 else ""
            writer.write(
                f"GET /sdk/v1/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {self.key}\r\n"
                f"Accept: text/event-stream\r\n{resume}\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                raise OSError(head.split(b"\r\n", 1)[0].decode())
            self.connected.set()
            pending = b""
            while True:
                chunk = await reader.read(65536)  # whole events at a time: fewer wake-ups than line by line
                if not chunk:
                    return
                now = time.perf_counter()
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if line.startswith(b"id: "):
                        revision = int(line[4:])
                        if revision > self.revision:
                            self.revision = revision
                            self.reached.append((revision, now))
        finally:
            writer.close()

    def reached_at(self, revision: int) -> float | None:
        return next((at for seen, at in self.reached if seen >= revision), None)


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


async def _connect(readers: list[StreamReader], concurrency: int = 200) -> list[asyncio.Task[None]]:
    tasks = []
    for start in range(0, len(readers), concurrency):
        batch = readers[start : start + concurrency]
        tasks += [asyncio.create_task(r.run()) for r in batch]
        await asyncio.wait_for(asyncio.gather(*(r.connected.wait() for r in batch)), 120)
    return tasks


async def _stop(readers: list[StreamReader], tasks: list[asyncio.Task[None]]) -> None:
    for reader in readers:
        reader.stopped = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _await_all(readers: list[StreamReader], revision: int, timeout: float) -> list[float | None]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(r.reached_at(revision) is None for r in readers):
        await asyncio.sleep(0.01)
    return [r.reached_at(revision) for r in readers]


async def _flip(admin: Admin) -> tuple[int, float]:
    """Kills the flag if on, else turns it on (always a real change); returns (revision, returned at)."""
    flag = await asyncio.to_thread(admin.http.get, admin._flag("checkout", "").rstrip("/"))
    action = "kill" if flag.json()["flag"]["enabled"] else "on"
    result = await asyncio.to_thread(admin.switch, "checkout", action)
    return int(result["revision"]), time.perf_counter()


async def kill_latency(
    admin: Admin, servers: list[tuple[str, int]], key: str, n: int, rounds: int
) -> list[float]:
    readers = [StreamReader(servers, i, key) for i in range(n)]
    tasks = await _connect(readers)
    latencies: list[float] = []
    for _ in range(rounds):
        await asyncio.sleep(0.3)
        revision, returned = await _flip(admin)
        for at in await _await_all(readers, revision, 10):
            latencies.append(float("inf") if at is None else (at - returned) * 1000)
    await _stop(readers, tasks)
    return latencies


def _process_usage(pid: int) -> tuple[float, float]:
    """(RSS in MiB, CPU seconds so far) of one process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss_kib / 1024, cpu


async def idle_streams(server: ServerProcess, key: str, n: int, window: float) -> tuple[float, float, float]:
    assert server.process is not None
    rss_before, _ = _process_usage(server.process.pid)
    readers = [StreamReader([("127.0.0.1", server.port)], 0, key) for _ in range(n)]
    tasks = await _connect(readers, concurrency=250)
    await asyncio.sleep(2)
    _, cpu_start = _process_usage(server.process.pid)
    await asyncio.sleep(window)
    rss, cpu_end = _process_usage(server.process.pid)
    await _stop(readers, tasks)
    return rss_before, rss, (cpu_end - cpu_start) / window * 100


async def convergence(
    admin: Admin, servers: list[tuple[str, int]], key: str, n: int, fault: object
) -> float:
    """Seconds from the fault until every client has the change made right after it."""
    readers = [StreamReader(servers, i, key) for i in range(n)]
    tasks = await _connect(readers)
    await asyncio.sleep(0.5)
    started = time.perf_counter()
    fault()  # type: ignore[operator]
    revision, _ = await _flip(admin)
    times = await _await_all(readers, revision, 60)
    await _stop(readers, tasks)
    missing = sum(t is None for t in times)
    if missing:
        raise RuntimeError(f"{missing} clients never converged")
    return max(t for t in times if t is not None) - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--rounds", type=int, default=5, help="kill/on changes timed per size")
    parser.add_argument("--idle", type=int, default=10_000, help="idle streams held by one process")
    parser.add_argument("--idle-window", type=float, default=20.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it: 10,000 sockets each side

    database = f"flagstaff_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    url = f"{POSTGRES.rsplit('/', 1)[0]}/{database}"
    os.environ.update(BENCH_SETTINGS)
    redis = RedisServer().start()
    servers = [ServerProcess(url, redis.url).launch() for _ in range(2)]
    for server in servers:
        server.env.update(BENCH_SETTINGS)
        server.wait_ready()
    rows: list[tuple[str, str]] = []
    try:
        admin = Admin(servers[0].base_url)
        admin.create_flag("checkout")
        key, _ = admin.sdk_key()
        addresses = [("127.0.0.1", s.port) for s in servers]
        for n in (int(size) for size in args.sizes.split(",")):
            latencies = asyncio.run(kill_latency(admin, addresses, key, n, args.rounds))
            p50, p99, worst = _percentiles(latencies)
            summary = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms"
            rows.append((f"kill -> seen, N={n} ({len(latencies)} samples)", summary))
            print(rows[-1], flush=True)
        if args.idle:
            before, rss, cpu = asyncio.run(idle_streams(servers[0], key, args.idle, args.idle_window))
            summary = f"RSS {rss:.0f} MiB (was {before:.0f}), CPU {cpu:.1f}%"
            rows.append((f"{args.idle} idle streams, one process", summary))
            print(rows[-1], flush=True)
        n = max(int(size) for size in args.sizes.split(","))
        seconds = asyncio.run(convergence(admin, addresses, key, n, servers[1].kill))
        rows.append((f"converge after SIGKILL of one process, N={n}", f"{seconds:.2f} s"))
        print(rows[-1], flush=True)
        servers[1].start()
        seconds = asyncio.run(convergence(admin, addresses, key, n, redis.stop))
        rows.append((f"converge after Redis stops, N={n}", f"{seconds:.2f} s"))
        admin.close()
    finally:
        for server in servers:
            server.kill()
        redis.stop()
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print("\n| measurement | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

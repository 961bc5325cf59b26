"""Propagation benchmark: two server processes behind Redis and PostgreSQL, N SSE stream clients spread over
both; kill-switch latency, idle-stream cost, and convergence after losing a process or Redis.

Run: `python bench/propagation_bench.py` (needs PostgreSQL at FLAGSTAFF_TEST_POSTGRES and redis-server).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from propagation_clients import ClientPool  # the stream clients, in their own processes

from tests.streaming.admin import Admin  # the test harness starts the same real processes
from tests.streaming.processes import RedisServer, ServerProcess

POSTGRES = os.environ.get("FLAGSTAFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
# The servers run `flagstaff serve` (uvloop and httptools, no uvicorn access log) with the documented defaults
# (the test harness would otherwise give them its fast timings).
STREAM_DEFAULTS = {
    "stream_heartbeat_seconds": "15",
    "stream_poll_seconds": "2",
    "stream_shutdown_spread_seconds": "5",
    "stream_retry_ms": "1000",
    "stream_resume_max_changes": "1000",
}


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


def _flip(admin: Admin) -> tuple[int, float]:
    """Kills the flag if on, else turns it on (always a real change); returns (revision, returned at)."""
    flag = admin.http.get(admin._flag("checkout", "").rstrip("/"))
    action = "kill" if flag.json()["flag"]["enabled"] else "on"
    result = admin.switch("checkout", action)
    return int(result["revision"]), time.perf_counter()


def _cpu_seconds(pids: list[int]) -> float:
    return sum(_process_usage(pid)[1] for pid in pids)


def kill_latency(
    admin: Admin, pool: ClientPool, servers: list[ServerProcess], key: str, n: int, rounds: int
) -> tuple[list[float], float, float]:
    """Each client's delay per change (ms), and the CPU per change (ms) of both servers and of all clients."""
    pool.connect([("127.0.0.1", s.port) for s in servers], key, n)
    server_pids = [s.process.pid for s in servers if s.process is not None]
    time.sleep(1)
    server_cpu, client_cpu = _cpu_seconds(server_pids), _cpu_seconds(pool.pids)
    latencies: list[float] = []
    for _ in range(rounds):
        time.sleep(0.3)
        revision, returned = _flip(admin)
        for at in pool.wait(revision, 10):
            latencies.append(float("inf") if at is None else (at - returned) * 1000)
    server_cpu = (_cpu_seconds(server_pids) - server_cpu) / rounds * 1000
    client_cpu = (_cpu_seconds(pool.pids) - client_cpu) / rounds * 1000
    pool.close_streams()
    return latencies, server_cpu, client_cpu


def _process_usage(pid: int) -> tuple[float, float]:
    """(RSS in MiB, CPU seconds so far) of one process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss_kib / 1024, cpu


def idle_streams(
    pool: ClientPool, server: ServerProcess, key: str, n: int, window: float
) -> tuple[float, float, float]:
    assert server.process is not None
    rss_before, _ = _process_usage(server.process.pid)
    pool.connect([("127.0.0.1", server.port)], key, n, concurrency=250)
    time.sleep(2)
    _, cpu_start = _process_usage(server.process.pid)
    time.sleep(window)
    rss, cpu_end = _process_usage(server.process.pid)
    pool.close_streams()
    return rss_before, rss, (cpu_end - cpu_start) / window * 100


def convergence(
    admin: Admin, pool: ClientPool, servers: list[ServerProcess], key: str, n: int, fault: Callable[[], None]
) -> float:
    """Seconds from the fault until every client has the change made right after it."""
    pool.connect([("127.0.0.1", s.port) for s in servers], key, n)
    time.sleep(0.5)
    started = time.perf_counter()
    fault()
    revision, _ = _flip(admin)
    times = pool.wait(revision, 60)
    pool.close_streams()
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
    parser.add_argument("--heartbeat-seconds", default=STREAM_DEFAULTS["stream_heartbeat_seconds"])
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--no-convergence", action="store_true", help="skip the two convergence runs")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it: 10,000 sockets each side

    database = f"flagstaff_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    url = f"{POSTGRES.rsplit('/', 1)[0]}/{database}"
    settings = {**STREAM_DEFAULTS, "stream_heartbeat_seconds": args.heartbeat_seconds}
    pool = ClientPool(args.client_processes)
    redis = RedisServer().start()
    servers = [ServerProcess(url, redis.url, **settings).launch() for _ in range(2)]
    for server in servers:
        server.wait_ready()
    rows: list[tuple[str, str]] = []
    try:
        admin = Admin(servers[0].base_url)
        admin.create_flag("checkout")
        key, _ = admin.sdk_key()
        for n in (int(size) for size in args.sizes.split(",")):
            latencies, server_cpu, client_cpu = kill_latency(admin, pool, servers, key, n, args.rounds)
            p50, p99, worst = _percentiles(latencies)
            summary = (
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms "
                f"(CPU per change: servers {server_cpu:.0f} ms, clients {client_cpu:.0f} ms)"
            )
            rows.append((f"kill -> seen, N={n} ({len(latencies)} samples)", summary))
            print(rows[-1], flush=True)
        if args.idle:
            before, rss, cpu = idle_streams(pool, servers[0], key, args.idle, args.idle_window)
            summary = f"RSS {rss:.0f} MiB (was {before:.0f}), CPU {cpu:.1f}%"
            heartbeat = f"{float(args.heartbeat_seconds):g} s heartbeat"
            rows.append((f"{args.idle} idle streams, one process, {heartbeat}", summary))
            print(rows[-1], flush=True)
        n = max(int(size) for size in args.sizes.split(","))
        if not args.no_convergence:
            seconds = convergence(admin, pool, servers, key, n, servers[1].kill)
            rows.append((f"converge after SIGKILL of one process, N={n}", f"{seconds:.2f} s"))
            print(rows[-1], flush=True)
            servers[1].start()
            seconds = convergence(admin, pool, servers, key, n, redis.stop)
            rows.append((f"converge after Redis stops, N={n}", f"{seconds:.2f} s"))
        admin.close()
    finally:
        for server in servers:
            server.kill()
        redis.stop()
        pool.shutdown()
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print("\n| measurement | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

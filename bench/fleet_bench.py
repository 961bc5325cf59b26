"""Fleet benchmark: 10,000 SSE streams spread over two server processes behind nginx (configured from
deploy/nginx.conf, on loopback ports), Redis and PostgreSQL: memory per stream, kill propagation to every
stream, and a rolling restart (SIGTERM) of one replica, with every stream resuming on the other.

Run: `python bench/fleet_bench.py` (about 3 minutes here; needs PostgreSQL at FLAGSTAFF_TEST_POSTGRES,
redis-server and nginx). Loopback only; every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import resource
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_env import commit, load_average, machine
from nginx_local import LocalNginx
from propagation_bench import POSTGRES, STREAM_DEFAULTS, _flip, _percentiles, _process_usage
from propagation_clients import ClientPool

from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import RedisServer, ServerProcess


def _rss(pids: list[int]) -> float:
    return sum(_process_usage(pid)[0] for pid in pids)


def _propagation(admin: Admin, pool: ClientPool, rounds: int, timeout: float) -> tuple[list[float], int]:
    """Milliseconds from each kill/on call returning to each stream reading it, and how many never did."""
    latencies, missed = [], 0
    for _ in range(rounds):
        time.sleep(0.5)
        revision, returned = _flip(admin)
        for at in pool.wait(revision, timeout):
            if at is None:
                missed += 1
            else:
                latencies.append((at - returned) * 1000)
    return latencies, missed


def _summary(latencies: list[float], missed: int) -> str:
    p50, p99, worst = _percentiles(latencies)
    return (
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms ({len(latencies)} samples, {missed} missed)"
    )


def _rolling_restart(
    pool: ClientPool, stopped: ServerProcess, streams: int, timeout: float
) -> dict[str, float]:
    """SIGTERM one replica; wait until it has exited and every stream is open again (on the other)."""
    assert stopped.process is not None
    _, snapshots_before, opened_before = pool.stats()
    started = time.perf_counter()
    stopped.process.send_signal(signal.SIGTERM)
    exited_at = back_at = None
    while time.perf_counter() - started < timeout:
        if exited_at is None and stopped.process.poll() is not None:
            exited_at = time.perf_counter() - started
        open_now, _, opened = pool.stats()
        if exited_at is not None and open_now == streams and opened > opened_before:
            back_at = time.perf_counter() - started
            break
        time.sleep(0.1)
    if back_at is None:
        raise RuntimeError(f"only {pool.stats()[0]} of {streams} streams were open again after {timeout} s")
    _, snapshots, opened = pool.stats()
    stopped.process = None
    return {
        "exited": exited_at or 0.0,
        "back": back_at,
        "moved": opened - opened_before,
        "snapshots": snapshots - snapshots_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="kill/on changes timed before and after")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--connect-concurrency", type=int, default=250)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it: 10,000 sockets each
    started_at, load_before = datetime.now(UTC), load_average()

    database = f"flagstaff_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    url = f"{POSTGRES.rsplit('/', 1)[0]}/{database}"
    workdir = Path(tempfile.mkdtemp(prefix="flagstaff-fleet-"))
    pool = ClientPool(args.client_processes)
    redis = RedisServer().start()
    servers = [ServerProcess(url, redis.url, **STREAM_DEFAULTS).launch() for _ in "ab"]
    nginx: LocalNginx | None = None
    nginx_version = "nginx"
    rows: list[tuple[str, str]] = []
    try:
        for server in servers:
            server.wait_ready()
        nginx = LocalNginx([s.port for s in servers], workdir, args.streams).start()
        nginx_version = nginx.version
        admin = Admin(f"http://127.0.0.1:{nginx.port}")
        admin.create_flag("checkout")
        key, _ = admin.sdk_key()
        # An SDK takes its snapshot from /sdk/v1/flags (gzip) and opens its stream from that revision.
        revision = int(
            admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}").json()["revision"]
        )
        pids = [s.process.pid for s in servers if s.process is not None]
        server_rss, nginx_rss = _rss(pids), _rss(nginx.worker_pids)
        connect_started = time.perf_counter()
        pool.connect([("127.0.0.1", nginx.port)], key, args.streams, args.connect_concurrency, revision)
        connect_seconds = time.perf_counter() - connect_started
        time.sleep(2)
        per_stream = (_rss(pids) - server_rss) * 1024 / args.streams
        per_stream_nginx = (_rss(nginx.worker_pids) - nginx_rss) * 1024 / args.streams
        open_now, snapshots, _ = pool.stats()
        opened = f"{args.streams:,} streams opened through nginx ({args.connect_concurrency} at a time)"
        rows.append((opened, f"{connect_seconds:.1f} s; {open_now:,} open; {snapshots} full snapshots sent"))
        memory = f"{per_stream:.1f} KiB ({_rss(pids):.0f} MiB in all); nginx {per_stream_nginx:.1f} KiB"
        rows.append(("memory per stream, both replicas (RSS after - before) / streams", memory))
        latencies, missed = _propagation(admin, pool, args.rounds, 30)
        rows.append(
            (
                f"kill -> seen by every stream, two replicas ({args.rounds} changes)",
                _summary(latencies, missed),
            )
        )

        restart = _rolling_restart(pool, servers[0], args.streams, 60)
        rows.append(("rolling restart: SIGTERM one replica",
                     f"exited after {restart['exited']:.1f} s; all {args.streams:,} streams open again after"
                     f" {restart['back']:.1f} s; {restart['moved']:,.0f} resumed on the other replica with"
                     f" Last-Event-ID; {restart['snapshots']:.0f} full snapshots sent"))  # fmt: skip
        survivor = [s.process.pid for s in servers if s.process is not None]
        latencies, missed = _propagation(admin, pool, args.rounds, 30)
        rows.append((f"kill -> seen by every stream, one replica left ({args.rounds} changes)",
                     _summary(latencies, missed) + f"; survivor RSS {_rss(survivor):.0f} MiB"))  # fmt: skip
        admin.close()
    finally:
        pool.shutdown()
        if nginx is not None:
            nginx.stop()
        for server in servers:
            server.kill()
        redis.stop()
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    print(f"- Command: `{' '.join(['python', 'bench/fleet_bench.py', *sys.argv[1:]])}`")
    print(f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; commit {commit()}")
    print(f"- Machine: {machine()}; {nginx_version}; servers, nginx, Redis, PostgreSQL, clients all on it")
    print(f"- Load average (1, 5, 15 min): {load_before} at start, {load_average()} at end")
    print(f"- Clients: {args.client_processes} processes; stream settings {STREAM_DEFAULTS}")
    print("\n| measurement | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

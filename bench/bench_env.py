"""What the server benchmarks share: a scratch PostgreSQL database, free loopback ports, and the description
of the machine and commit a run is recorded with."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}; Python {python}"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "app", "sdk")
    note = " (with uncommitted changes in app/ or sdk/)" if dirty else ""
    return git("rev-parse", "--short", "HEAD") + note

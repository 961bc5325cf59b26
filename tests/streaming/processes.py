"""Real processes for the streaming tests: `flagstaff serve` servers and throwaway redis-server instances on
free loopback ports, plus a deadline-polling helper. Every process started here is stopped by its own
handle."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "fs_admin_streaming-tests-token"
_NO_PERSISTENCE = ["--save", "", "--appendonly", "no"]
# Tight timings so that every failure mode shows within a second or two.
FAST_STREAM_SETTINGS = {
    "FLAGSTAFF_STREAM_HEARTBEAT_SECONDS": "1",
    "FLAGSTAFF_STREAM_POLL_SECONDS": "0.5",
    "FLAGSTAFF_STREAM_SHUTDOWN_SPREAD_SECONDS": "0.5",
    "FLAGSTAFF_STREAM_RETRY_MS": "200",
    "FLAGSTAFF_STREAM_RESUME_MAX_CHANGES": "5",
    "FLAGSTAFF_STREAM_PRESENCE_TTL_SECONDS": "3",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skips locally, fails in CI: a missing service must never silently skip these tests there."""
    if not condition:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, message: str = "condition") -> Any:
    """Polls `predicate` until it returns something truthy; fails with `message` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = predicate()
        except (httpx.HTTPError, OSError):  # e.g. a server that is still starting
            result = None
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(0.02)


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server is not installed")
        self.binary = binary or "redis-server"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", *_NO_PERSISTENCE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def _answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")


class ServerProcess:
    """One `flagstaff serve` process (the serve path operators run, signal handling included); `restart()`
    keeps its port."""

    def __init__(
        self, database_url: str, redis_url: str | None = None, *, output: Path | None = None, **settings: str
    ) -> None:
        self.port = free_port()
        self.output = output  # where the server's log goes (appended); the test's stderr when None
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "FLAGSTAFF_DATABASE_URL": database_url,
            "FLAGSTAFF_ADMIN_TOKEN": ADMIN_TOKEN,
            "FLAGSTAFF_LOG_LEVEL": "warning",
            **FAST_STREAM_SETTINGS,
            **{f"FLAGSTAFF_{name.upper()}": value for name, value in settings.items()},
        }
        if redis_url is not None:
            self.env["FLAGSTAFF_REDIS_URL"] = redis_url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        return self.launch().wait_ready()

    def launch(self) -> ServerProcess:
        """Starts the process without waiting, so that several can start (and migrate) together."""
        command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.output is None:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=subprocess.DEVNULL)
            return self
        with self.output.open("ab") as sink:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=sink, stderr=sink)
        return self

    def wait_ready(self, timeout: float = 90.0) -> ServerProcess:
        # Generous: on a loaded machine, importing the server alone has taken 15 s.
        wait_until(self._ready, timeout, f"the server on port {self.port}")
        return self

    def terminate(self) -> int | None:
        """SIGTERM (a graceful stop); returns the exit code."""
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(15)
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> ServerProcess:
        self.kill()
        return self.start()

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the server exited with {self.process.returncode}")
        return httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200

"""Running the real `flagstaff` command in tests: as a subprocess with a clean `FLAGSTAFF_*` environment, and
`flagstaff serve` on a free loopback port, always stopped at the end of the test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.streaming.processes import ADMIN_TOKEN

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cli_env(database_url: str, **extra: str) -> dict[str, str]:
    """This process's environment without any FLAGSTAFF_* variable, plus the database and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGSTAFF_")}
    env.update({"FLAGSTAFF_DATABASE_URL": database_url, "FLAGSTAFF_LOG_LEVEL": "warning", **extra})
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def flagstaff(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Server:
    """A running `flagstaff serve` process; `output` holds what it printed."""

    def __init__(self, database_url: str, output_dir: Path, **extra: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.output = output_dir / f"serve-{port}.log"
        with self.output.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                env=cli_env(database_url, **extra),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.output.read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server did not become ready:\n{self.output.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


Serve = Callable[..., Server]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """`serve(database_url, **FLAGSTAFF_variables)` starts `flagstaff serve` and waits until it is ready."""
    servers: list[Server] = []

    def start(database_url: str, **extra: str) -> Server:
        servers.append(Server(database_url, tmp_path, **extra))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def operator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `flagstaff serve` per test module, on a SQLite file of its own, whose first admin key is the
    streaming tests' (so that their `Admin` helper works); tests isolate themselves by project."""
    directory = tmp_path_factory.mktemp("operator")
    server = Server(f"sqlite:///{directory / 'flagstaff.db'}", directory, FLAGSTAFF_ADMIN_TOKEN=ADMIN_TOKEN)
    yield server
    server.stop()


def operator_env(server: Server, **extra: str) -> dict[str, str]:
    """The environment of a command talking to `server` with its admin key."""
    return cli_env("sqlite://", **{"FLAGSTAFF_URL": server.url, "FLAGSTAFF_API_KEY": ADMIN_TOKEN, **extra})

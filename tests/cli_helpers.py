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
    def __init__(self, url: str, output: Path) -> None:
        self.url, self.output = url, output


Serve = Callable[..., Server]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """`serve(database_url, **FLAGSTAFF_variables)` starts `flagstaff serve` and waits until it is ready."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(database_url: str, **extra: str) -> Server:
        port = free_port()
        output = tmp_path / f"serve-{port}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                env=cli_env(database_url, **extra),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, output.read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    return Server(url, output)
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"server did not become ready:\n{output.read_text()}")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)

"""The `flagstaff` command end to end: a real uvicorn process on a free loopback port, first-start bootstrap,
operator commands over HTTP, key creation, and the refusal to start on an unmigrated database."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGSTAFF_")}
    env.update({"FLAGSTAFF_DATABASE_URL": database_url, "FLAGSTAFF_LOG_LEVEL": "warning", **extra})
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _flagstaff(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Server:
    def __init__(self, url: str, output: Path) -> None:
        self.url, self.output = url, output


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    processes: list[subprocess.Popen[bytes]] = []

    def start(database_url: str, **extra: str) -> Server:
        port = _free_port()
        output = tmp_path / f"serve-{port}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                env=_env(database_url, **extra),
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


def test_first_start_migrates_creates_the_default_project_and_prints_an_admin_key_once(
    serve: callable,
    tmp_path: Path,  # type: ignore[valid-type]
):
    database_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    server = serve(database_url)
    printed = re.findall(r"fs_admin_[0-9a-f]{12}_\S+", server.output.read_text())
    assert len(printed) == 1
    headers = {"Authorization": f"Bearer {printed[0]}"}
    project = httpx.get(f"{server.url}/api/v1/projects/default", headers=headers, timeout=5).json()
    assert [e["key"] for e in project["environments"]] == ["development", "staging", "production"]


def test_operators_kill_and_audit_through_the_cli_against_a_running_server(
    serve: callable,
    database_url: str,  # type: ignore[valid-type]
):
    server = serve(database_url, FLAGSTAFF_ADMIN_TOKEN=ADMIN_TOKEN)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    project = f"cli-{os.getpid()}-{time.monotonic_ns() % 10**8}"
    assert (
        httpx.post(f"{server.url}/api/v1/projects", json={"key": project}, headers=headers).status_code == 201
    )
    flag = {"kind": "boolean", "variations": [True, False]}
    assert httpx.put(
        f"{server.url}/api/v1/projects/{project}/flags/pay", json=flag, headers=headers
    ).is_success
    on = httpx.post(
        f"{server.url}/api/v1/projects/{project}/environments/production/flags/pay/on", headers=headers
    )
    assert on.json()["flag"]["enabled"] is True
    env = _env(database_url, FLAGSTAFF_URL=server.url, FLAGSTAFF_API_KEY=ADMIN_TOKEN)
    killed = _flagstaff(
        "flags", "kill", "pay", "--project", project, "--env", "production", "--reason", "5xx", env=env
    )
    assert killed.returncode == 0 and "pay is off" in killed.stdout, killed.stderr
    audit = _flagstaff("audit", "--project", project, "--flag", "pay", env=env)
    assert audit.returncode == 0 and "flag.kill" in audit.stdout and 'reason="5xx"' in audit.stdout
    missing = _flagstaff(
        "flags", "kill", "nope", "--project", project, "--env", "production", "--reason", "x", env=env
    )
    assert missing.returncode == 2 and "404" in missing.stderr


def test_serve_logs_admin_calls_on_stdout_and_no_sdk_poll_by_default(
    serve: callable,
    tmp_path: Path,  # type: ignore[valid-type]
):
    database_url = f"sqlite:///{tmp_path / 'logged.db'}"
    server = serve(database_url, FLAGSTAFF_ADMIN_TOKEN=ADMIN_TOKEN, FLAGSTAFF_LOG_LEVEL="info")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    keys = f"{server.url}/api/v1/projects/default/environments/production/sdk-keys"
    created = httpx.post(keys, json={"name": "l"}, headers=headers)
    sdk = {"Authorization": f"Bearer {created.json()['secret']}"}
    for _ in range(3):
        assert httpx.get(f"{server.url}/sdk/v1/flags", headers=sdk, timeout=5).status_code == 200
    assert httpx.get(f"{server.url}/api/v1/projects", headers=headers, timeout=5).status_code == 200
    deadline = time.monotonic() + 5
    line = '"GET /api/v1/projects HTTP/1.1" 200'
    while line not in server.output.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.output.read_text()
    assert re.search(r'"GET /api/v1/projects HTTP/1.1" 200 [0-9.]+ ms request_id=[0-9a-f]{32}', log), log
    assert "/sdk/v1/flags" not in log, log


def test_keys_are_created_from_the_command_line(database_url: str):
    env = _env(database_url)
    admin = _flagstaff("keys", "create-admin", "--name", "ops", "--role", "operator", env=env)
    assert admin.returncode == 0 and "fs_admin_" in admin.stdout, admin.stderr
    sdk = _flagstaff("keys", "create-sdk", "--project", "default", "--env", "production", env=env)
    assert sdk.returncode == 0 and "fs_sdk_" in sdk.stdout, sdk.stderr


def test_serve_refuses_an_unmigrated_database_when_told_not_to_migrate(tmp_path: Path):
    env = _env(f"sqlite:///{tmp_path / 'empty.db'}", FLAGSTAFF_MIGRATE_ON_START="false")
    refused = _flagstaff("serve", "--port", str(_free_port()), env=env)
    assert refused.returncode == 2 and "flagstaff migrate" in refused.stderr
    migrated = _flagstaff("migrate", env=env)
    assert migrated.returncode == 0 and "head" in migrated.stdout


def test_serve_help_lists_every_setting_with_its_environment_variable():
    from app.settings import Settings

    shown = _flagstaff("serve", "--help", env=_env("sqlite://")).stdout
    for name in Settings.model_fields:
        assert f"FLAGSTAFF_{name.upper()}" in shown

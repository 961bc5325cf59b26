"""The `flagstaff` command end to end: a real uvicorn process on a free loopback port, first-start bootstrap,
operator commands over HTTP, key creation, and the refusal to start on an unmigrated database."""

from __future__ import annotations

import argparse
import os
import re
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import cli
from app.settings import LOG_LEVELS
from tests.cli_helpers import Serve, cli_env, flagstaff, free_port
from tests.cli_helpers import serve as serve  # the fixture
from tests.conftest import ADMIN_TOKEN


def test_first_start_migrates_creates_the_default_project_and_prints_an_admin_key_once(
    serve: Serve, tmp_path: Path
):
    database_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    server = serve(database_url)
    printed = re.findall(r"fs_admin_[0-9a-f]{12}_\S+", server.output.read_text())
    assert len(printed) == 1
    headers = {"Authorization": f"Bearer {printed[0]}"}
    project = httpx.get(f"{server.url}/api/v1/projects/default", headers=headers, timeout=5).json()
    assert [e["key"] for e in project["environments"]] == ["development", "staging", "production"]


def test_operators_kill_and_audit_through_the_cli_against_a_running_server(serve: Serve, database_url: str):
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
    env = cli_env(database_url, FLAGSTAFF_URL=server.url, FLAGSTAFF_API_KEY=ADMIN_TOKEN)
    killed = flagstaff(
        "flags", "kill", "pay", "--project", project, "--env", "production", "--reason", "5xx", env=env
    )
    assert killed.returncode == 0 and "pay is now killed" in killed.stdout, killed.stderr
    audit = flagstaff("audit", "--project", project, "--flag", "pay", env=env)
    assert audit.returncode == 0 and "flag.kill" in audit.stdout and "reason: 5xx" in audit.stdout
    missing = flagstaff(
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
    env = cli_env(database_url)
    admin = flagstaff("keys", "create-admin", "--name", "ops", "--role", "operator", env=env)
    assert admin.returncode == 0 and "fs_admin_" in admin.stdout, admin.stderr
    sdk = flagstaff("keys", "create-sdk", "--project", "default", "--env", "production", env=env)
    assert sdk.returncode == 0 and "fs_sdk_" in sdk.stdout, sdk.stderr


def test_serve_refuses_an_unmigrated_database_when_told_not_to_migrate(tmp_path: Path):
    env = cli_env(f"sqlite:///{tmp_path / 'empty.db'}", FLAGSTAFF_MIGRATE_ON_START="false")
    refused = flagstaff("serve", "--port", str(free_port()), env=env)
    assert refused.returncode == 2 and "flagstaff migrate" in refused.stderr
    migrated = flagstaff("migrate", env=env)
    assert migrated.returncode == 0 and "(the latest)" in migrated.stdout, migrated.stderr


def test_serve_help_lists_every_setting_with_its_environment_variable():
    from app.settings import Settings

    shown = flagstaff("serve", "--help", env=cli_env("sqlite://")).stdout
    for name in Settings.model_fields:
        assert f"FLAGSTAFF_{name.upper()}" in shown


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("FLAGSTAFF_ADMIN_TOKEN", "abcde", "must be at least 16 characters, not 5"),
        ("FLAGSTAFF_LOG_LEVEL", "loud", f"must be one of {', '.join(LOG_LEVELS)}, not 'loud'"),
    ],
)
def test_serve_refuses_a_bad_setting_in_one_line_naming_it(
    variable: str, value: str, complaint: str, tmp_path: Path
):
    env = cli_env(f"sqlite:///{tmp_path / 'never.db'}", **{variable: value})
    refused = flagstaff("serve", "--port", str(free_port()), env=env, timeout=20)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr == f"flagstaff: {variable}: {complaint}\n"
    assert not (tmp_path / "never.db").exists()


def test_version_names_the_server_and_the_sdk():
    shown = flagstaff("--version", env=cli_env("sqlite://"))
    assert shown.returncode == 0, shown.stderr
    assert (
        shown.stdout
        == f"flagstaff {metadata.version('flagstaff-server')} (SDK {metadata.version('flagstaff')})\n"
    )


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every command's parser, by its words: (), ("serve",), ("flags", "kill"), ..."""
    found: dict[tuple[str, ...], Any] = {path: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_commands(sub, (*path, name)))
    return found


def test_every_option_and_argument_has_help_text():
    missing = [
        f"{' '.join(words) or 'flagstaff'} {action.option_strings or action.dest}"
        for words, parser in _commands(cli._parser()).items()
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


@pytest.mark.parametrize(
    "command",
    [[], ["flags"], ["flags", "list"], ["flags", "kill"], ["flags", "on"], ["flags", "off"], ["audit"],
     ["import", "unleash"]],
)  # fmt: skip
def test_the_help_of_every_command_that_talks_to_a_server_names_its_variables(command: list[str]):
    shown = flagstaff(*command, "--help", env=cli_env("sqlite://"))
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())  # argparse wraps lines anywhere
    assert "FLAGSTAFF_URL" in text and "FLAGSTAFF_API_KEY" in text

"""`flagstaff audit` against a real `flagstaff serve`: each entry with its request id, reason and what changed
(before -> after), paging with --before, and `--json` for the API's answer as it is."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.cli_helpers import Server, flagstaff, operator_env
from tests.cli_helpers import operator_server as operator_server  # the fixture
from tests.streaming.admin import ENV, Admin


@pytest.fixture
def admin(operator_server: Server) -> Iterator[Admin]:
    client = Admin(operator_server.url)  # a fresh project
    yield client
    client.close()


def _kill(admin: Admin, key: str, request_id: str) -> None:
    admin.http.post(
        f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{key}/kill",
        json={"reason": "checkout 5xx"},
        headers={"X-Request-ID": request_id},
    ).raise_for_status()


def test_audit_shows_each_entry_with_its_request_id_reason_and_before_and_after(
    operator_server: Server, admin: Admin
) -> None:
    admin.create_flag("pay", enabled=True)
    _kill(admin, "pay", "incident-4711")

    shown = flagstaff("audit", "--project", admin.project, "--flag", "pay", env=operator_env(operator_server))

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "  flag.kill  " in lines[0] and lines[0].endswith(
        f"{admin.project}/{ENV}  flag pay  request incident-4711"
    )
    assert lines[1:4] == ["    reason: checkout 5xx", "    enabled: true -> false", "    version: 2 -> 3"]
    assert "  flag.on  " in lines[4]
    assert "    enabled: false -> true" in lines[5:]


def test_audit_pages_with_before_and_prints_the_raw_entries_with_json(
    operator_server: Server, admin: Admin
) -> None:
    admin.create_flag("pay", enabled=True)
    _kill(admin, "pay", "incident-4712")
    env = operator_env(operator_server)
    where = ["--project", admin.project, "--flag", "pay"]

    first = flagstaff("audit", *where, "--limit", "1", env=env)
    raw = flagstaff("audit", *where, "--limit", "1", "--json", env=env)

    assert first.returncode == 0 and raw.returncode == 0, first.stderr + raw.stderr
    page = json.loads(raw.stdout)
    [entry] = page["items"]
    assert entry["request_id"] == "incident-4712" and entry["action"] == "flag.kill"
    assert entry["before"]["enabled"] is True and entry["after"]["enabled"] is False
    assert first.stdout.splitlines()[-1] == f"(older entries: the same command with --before {page['next']})"
    older = flagstaff("audit", *where, "--limit", "1", "--before", str(page["next"]), env=env)
    assert "  flag.on  " in older.stdout.splitlines()[0]

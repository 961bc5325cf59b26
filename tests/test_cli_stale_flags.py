"""`flagstaff flags stale` against a real `flagstaff serve`, fed by metrics reports over HTTP with an SDK key:
the table of flags that served one variation to everyone, and a server error as one line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.cli_helpers import Server, flagstaff, operator_env
from tests.cli_helpers import operator_server as operator_server  # the fixture
from tests.streaming.admin import ENV, Admin


@pytest.fixture
def admin(operator_server: Server) -> Iterator[Admin]:
    client = Admin(operator_server.url)  # a fresh project
    yield client
    client.close()


def _report(server: Server, key: str, *counts: dict[str, Any]) -> None:
    body = {"instance": "cli-test", "start": 1.0, "end": 2.0, "counts": list(counts), "dropped": 0}
    response = httpx.post(
        f"{server.url}/sdk/v1/metrics", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 202, response.text


def _evaluations(flag: str, variation: int | None, count: int) -> dict[str, Any]:
    return {"flag": flag, "variation": variation, "event": "$evaluation", "count": count, "sum": 0.0}


def test_flags_stale_prints_the_flags_that_served_one_variation(
    operator_server: Server, admin: Admin
) -> None:
    for flag in ("checkout", "banner", "search", "fresh"):
        admin.create_flag(flag)
    admin.http.patch(
        f"/api/v1/projects/{admin.project}/flags/banner", json={"temporary": False}
    ).raise_for_status()
    key, _ = admin.sdk_key()
    _report(
        operator_server,
        key,
        _evaluations("checkout", 0, 1200),
        _evaluations("banner", None, 7),
        _evaluations("search", 0, 5),
        _evaluations("search", 1, 5),
    )

    listed = flagstaff(
        "flags", "stale", "--project", admin.project, "--env", ENV, env=operator_env(operator_server)
    )

    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == (
        f"{admin.project}/{ENV}: 2 of 4 flags look stale (not evaluated for 30 days, or one variation "
        "served in the last 24 hours)"
    )
    assert lines[1].split() == ["KEY", "REASON", "LAST", "EVALUATED", "LAST", "24", "HOURS"]
    banner, checkout = lines[2].split("  "), lines[3].split("  ")
    assert [cell.strip() for cell in banner if cell.strip()][:2] == ["banner", "one variation"]
    assert "default: 7" in lines[2] and lines[2].endswith("(permanent flag)")
    assert [cell.strip() for cell in checkout if cell.strip()][:2] == ["checkout", "one variation"]
    assert "0 (true): 1,200" in lines[3] and "permanent" not in lines[3]
    assert len(lines) == 4  # search served both variations; fresh is new


def test_flags_stale_with_nothing_stale_prints_one_line(operator_server: Server, admin: Admin) -> None:
    admin.create_flag("fresh")

    listed = flagstaff(
        "flags",
        "stale",
        "--project",
        admin.project,
        "--env",
        ENV,
        "--days",
        "7",
        env=operator_env(operator_server),
    )

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        f"{admin.project}/{ENV}: 0 of 1 flags look stale (not evaluated for 7 days, or one variation served "
        "in the last 24 hours)"
    ]


def test_flags_stale_reports_the_servers_refusal_in_one_line(operator_server: Server, admin: Admin) -> None:
    listed = flagstaff(
        "flags", "stale", "--project", admin.project, "--env", "nowhere", env=operator_env(operator_server)
    )

    assert listed.returncode == 2 and listed.stdout == ""
    assert listed.stderr.strip() == (
        f"flagstaff: the server answered 404 not_found: environment 'nowhere' does not exist in project "
        f"'{admin.project}' (field: environment)"
    )

"""`flagstaff schedule create|list|show|cancel` against a real `flagstaff serve` (SQLite, its schedule runner
on): relative and RFC 3339 times, the server's refusals as one line naming the field, and a change scheduled
a second ahead applied by the server itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.cli_errors import EXIT_REFUSED
from app.cli_schedules import resolve_time
from tests.cli_helpers import Server, flagstaff, operator_env
from tests.cli_helpers import operator_server as operator_server  # the fixture
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import wait_until


@pytest.fixture
def admin(operator_server: Server) -> Iterator[Admin]:
    client = Admin(operator_server.url)  # a fresh project
    yield client
    client.close()


def _schedule(server: Server, admin: Admin, *args: str) -> tuple[int, str, str]:
    done = flagstaff("schedule", *args, "--project", admin.project, "--env", ENV, env=operator_env(server))
    return done.returncode, done.stdout, done.stderr


def _flag(admin: Admin, key: str) -> dict[str, object]:
    response = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{key}")
    found: dict[str, object] = response.json()["flag"]
    return found


def test_relative_times_become_rfc3339_in_utc_and_others_pass_through() -> None:
    now = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)
    assert resolve_time("+10m", now) == "2026-12-01T00:00:00Z"
    assert resolve_time("+2h", now) == "2026-12-01T01:50:00Z"
    assert resolve_time("+1d", now) == "2026-12-01T23:50:00Z"
    assert resolve_time("+30s", now) == "2026-11-30T23:50:30Z"
    assert resolve_time("2026-12-01T09:00:00+01:00", now) == "2026-12-01T09:00:00+01:00"


def test_create_list_show_and_cancel(operator_server: Server, admin: Admin) -> None:
    admin.create_flag("checkout", enabled=False)
    code, out, err = _schedule(
        operator_server,
        admin,
        "create",
        "checkout",
        "patch",
        "--at",
        "+2h",
        "--changes",
        '{"enabled": true}',
        "--reason",
        "launch",
        "--json",
    )
    assert code == 0, err
    created = json.loads(out)
    assert created["status"] == "pending" and created["changes"] == {"enabled": True}
    assert created["reason"] == "launch" and created["expected_version"] == 1
    due = datetime.fromisoformat(created["at"]) - datetime.now(UTC)
    assert 7000 < due.total_seconds() <= 7200

    code, out, err = _schedule(operator_server, admin, "list")
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split() == ["ID", "FLAG", "ACTION", "AT", "STATUS", "OUTCOME"]
    assert row.split()[:3] == [str(created["id"]), "checkout", "patch"] and row.split()[-1] == "pending"

    code, out, err = _schedule(operator_server, admin, "show", str(created["id"]))
    assert code == 0, err
    assert out.startswith(f"#{created['id']}  patch checkout in {admin.project}/{ENV} at ")
    assert '    changes: {"enabled": true}' in out and "    reason: launch" in out

    code, out, err = _schedule(operator_server, admin, "cancel", str(created["id"]), "--reason", "moved")
    assert code == 0, err
    assert "    status: cancelled (cancelled by bootstrap: moved)" in out
    code, out, err = _schedule(operator_server, admin, "list", "--status", "pending")
    assert (code, out) == (0, f"no scheduled changes match in {admin.project}/{ENV}\n")
    assert _flag(admin, "checkout")["enabled"] is False


def test_refusals_are_one_line_naming_the_field(operator_server: Server, admin: Admin) -> None:
    admin.create_flag("checkout", enabled=False)
    code, out, err = _schedule(operator_server, admin, "create", "checkout", "on", "--at", "2026-12-01T09:00")
    assert code == EXIT_REFUSED and out == ""
    assert err.startswith("flagstaff: the server answered 422 invalid: ") and err.endswith("(field: at)\n")
    code, _, err = _schedule(operator_server, admin, "create", "checkout", "kill", "--at", "+1h")
    assert code == EXIT_REFUSED and err.endswith("(field: reason)\n")
    code, _, err = _schedule(operator_server, admin, "create", "checkout", "on", "--at", "+5 minutes")
    assert code == EXIT_REFUSED and "+N followed by s, m, h or d" in err
    code, _, err = _schedule(
        operator_server, admin, "create", "checkout", "patch", "--at", "+1h", "--changes", "{nope"
    )
    assert code == EXIT_REFUSED and err.startswith("flagstaff: --changes is not JSON")
    code, _, err = _schedule(operator_server, admin, "cancel", "999999")
    assert code == EXIT_REFUSED and "404" in err


def test_a_change_scheduled_a_second_ahead_is_applied_by_the_server(
    operator_server: Server, admin: Admin
) -> None:
    admin.create_flag("checkout", enabled=False)
    code, out, err = _schedule(
        operator_server, admin, "create", "checkout", "on", "--at", "+1s", "--reason", "go", "--json"
    )
    assert code == 0, err
    schedule_id = json.loads(out)["id"]

    wait_until(lambda: _flag(admin, "checkout")["enabled"] is True, 15, "the scheduled change")

    code, out, err = _schedule(operator_server, admin, "show", str(schedule_id))
    assert code == 0, err
    assert "    status: applied (applied as version 2)" in out and " s after its time" in out
    history = admin.http.get(
        f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/checkout/history"
    ).json()["items"]
    assert [(h["version"], h["actor"]) for h in history] == [(2, f"schedule:{schedule_id}"), (1, "bootstrap")]

"""`flagstaff rollout start|status|pause|resume|abort` against a real `flagstaff serve`: a plan started from
the command line, its status (step, percent, next step time, last guard check), and the changes to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli_helpers import Server, cli_env, flagstaff, operator_env
from tests.cli_helpers import operator_server as operator_server  # the fixture
from tests.streaming.admin import ENV, Admin


@pytest.fixture
def admin(operator_server: Server) -> Iterator[Admin]:
    client = Admin(operator_server.url)  # a fresh project
    response = client.http.put(
        f"/api/v1/projects/{client.project}/flags/checkout",
        json={"kind": "string", "variations": ["old", "new"]},
    )
    assert response.status_code == 201, response.text
    client.switch("checkout", "on")
    yield client
    client.close()


def _rollout(server: Server, admin: Admin, *args: str) -> Any:
    return flagstaff("rollout", *args, "--project", admin.project, "--env", ENV, env=operator_env(server))


def _plan(admin: Admin, plan_id: int) -> dict[str, Any]:
    response = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/rollouts/{plan_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_start_then_status_shows_the_step_percent_next_step_and_guard(
    operator_server: Server, admin: Admin
) -> None:
    started = _rollout(
        operator_server, admin, "start", "--flag", "checkout", "--variation", "1",
        "--steps", "1,5,10,25,50,100", "--dwell", "1h30m",
        "--guard-ratio", "2", "--guard-min-sample", "500", "--reason", "new checkout",
    )  # fmt: skip

    assert started.returncode == 0, started.stderr
    first = started.stdout.splitlines()[0]
    assert first.startswith("started rollout ") and first.endswith(f"of checkout in {admin.project}/{ENV}")
    plan_id = int(first.split()[2])
    plan = _plan(admin, plan_id)
    assert [s["dwell_seconds"] for s in plan["steps"]] == [5400.0] * 6
    assert (plan["guard"]["ratio"], plan["guard"]["min_sample"], plan["guard"]["source"]) == (2.0, 500, "sdk")

    status = _rollout(operator_server, admin, "status", str(plan_id))

    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == f"rollout {plan_id} of checkout in {admin.project}/{ENV}: running"
    assert "  step 1 of 6: 1% (variation 1 against 0)" in lines
    next_line = next(line for line in lines if line.startswith("  next: 5% at "))
    assert "in 5" in next_line  # about 5,400 s from now
    assert any(line.startswith("  guard: sdk, trips above 2 x") for line in lines)
    assert any(line.startswith("  last check:") for line in lines)
    assert any(line.startswith("  propagation: 0 of 0 connected SDK instances") for line in lines)


def test_pause_resume_and_abort_from_the_command_line(operator_server: Server, admin: Admin) -> None:
    started = _rollout(
        operator_server, admin, "start", "--flag", "checkout", "--variation", "1", "--steps", "10,100",
        "--dwell", "10m",
    )  # fmt: skip
    plan_id = int(started.stdout.split()[2])

    paused = _rollout(operator_server, admin, "pause", str(plan_id), "--reason", "pager")
    assert paused.returncode == 0, paused.stderr
    assert f"rollout {plan_id} of checkout in {admin.project}/{ENV}: paused" in paused.stdout
    assert (
        "  why: paused by bootstrap: pager" in paused.stdout.splitlines() or "why: paused by" in paused.stdout
    )
    assert "  next: 100% once resumed" in paused.stdout.splitlines()
    again = _rollout(operator_server, admin, "pause", str(plan_id))
    assert again.returncode == 2 and "409 conflict" in again.stderr and "(field: status)" in again.stderr
    resumed = _rollout(operator_server, admin, "resume", str(plan_id))
    assert resumed.returncode == 0 and ": running" in resumed.stdout.splitlines()[0]
    aborted = _rollout(operator_server, admin, "abort", str(plan_id), "--reason", "not today")
    assert aborted.returncode == 0 and ": aborted" in aborted.stdout.splitlines()[0]
    flag = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/checkout").json()[
        "flag"
    ]
    assert flag["fallthrough"] == {"variation": 0}

    listed = _rollout(operator_server, admin, "status")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["ID", "FLAG", "STATUS", "STEP", "PERCENT", "NEXT", "STEP"]
    assert row.split() == [str(plan_id), "checkout", "aborted", "1/2", "10%"]


def test_bad_input_fails_in_one_line_naming_the_option_or_the_field(
    operator_server: Server, admin: Admin
) -> None:
    def start(steps: str, dwell: str = "10m") -> Any:
        return _rollout(
            operator_server, admin, "start", "--flag", "checkout", "--variation", "1", "--steps", steps,
            "--dwell", dwell,
        )  # fmt: skip

    not_a_number = start("1,x")
    assert not_a_number.returncode == 2 and not_a_number.stderr == "flagstaff: --steps: 'x' is not a number\n"
    bad_dwell = start("1,5", "ten minutes")
    assert bad_dwell.returncode == 2 and "--dwell 'ten minutes' is not a duration" in bad_dwell.stderr
    uneven = start("1,5,10", "1m,2m")
    assert uneven.returncode == 2 and "--dwell gives 2 times for 3 steps" in uneven.stderr
    decreasing = start("5,1")
    assert decreasing.returncode == 2
    assert decreasing.stderr.startswith("flagstaff: the server answered 422 invalid: ")
    assert decreasing.stderr.rstrip().endswith("(field: steps[1].percent)")


@pytest.mark.parametrize("command", ["start", "status", "pause", "resume", "abort"])
def test_the_help_of_each_rollout_command_names_the_server_variables(command: str) -> None:
    shown = flagstaff("rollout", command, "--help", env=cli_env("sqlite://"))
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "FLAGSTAFF_URL" in text and "FLAGSTAFF_API_KEY" in text

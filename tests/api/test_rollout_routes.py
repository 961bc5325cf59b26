"""The rollout routes: bodies checked field by field (422 naming the field), the roles that may start, pause,
resume, abort and read plans, the plan's read model, If-Match and the wrong-status conflicts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url, error_of

pytestmark = pytest.mark.anyio
ENV = "production"
STRING_FLAG = {"kind": "string", "variations": ["old", "new"]}


def _rollouts(project: str, path: str = "") -> str:
    return f"/api/v1/projects/{project}/environments/{ENV}/rollouts{path}"


def _body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "flag": "checkout",
        "variation": 1,
        "steps": [{"percent": 1, "dwell_seconds": 0}, {"percent": 50, "dwell_seconds": 0}],
    }
    return {**body, **fields}


async def _flag_on(client: httpx.AsyncClient, project: str, key: str = "checkout") -> None:
    await create_flag(client, project, key, STRING_FLAG)
    response = await client.post(env_flag_url(project, ENV, key, "on"))
    assert response.status_code == 200, response.text


async def _key(client: httpx.AsyncClient, role: str, project: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/admin-keys", json={"name": f"{role}-rollouts", "role": role, "project": project}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['secret']}"}


def _steps(*percents: float, dwell: float = 0) -> list[dict[str, float]]:
    return [{"percent": p, "dwell_seconds": dwell} for p in percents]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"steps": []}, "steps"),
        ({"steps": _steps(0)}, "steps[0].percent"),
        ({"steps": _steps(100.5)}, "steps[0].percent"),
        ({"steps": [{"percent": True, "dwell_seconds": 0}]}, "steps[0].percent"),
        ({"steps": [{"percent": "5", "dwell_seconds": 0}]}, "steps[0].percent"),
        ({"steps": _steps(1, 1.0005)}, "steps[1].percent"),
        ({"steps": _steps(5, 5)}, "steps[1].percent"),
        ({"steps": _steps(10, 5)}, "steps[1].percent"),
        ({"steps": [{"percent": 1, "dwell_seconds": -1}]}, "steps[0].dwell_seconds"),
        ({"steps": [{"percent": 1, "dwell_seconds": 1e12}]}, "steps[0].dwell_seconds"),
        ({"steps": [{"percent": 1}]}, "steps[0].dwell_seconds"),
        ({"steps": _steps(*range(1, 22))}, "steps"),
        ({"variation": 2}, "variation"),
        ({"variation": True}, "variation"),
        ({"control": 1}, "control"),
        ({"control": 5}, "control"),
        ({"variation": 0}, "control"),  # the fallthrough already serves 0: no control to compare with
        ({"guard": {"ratio": 0.5}}, "guard.ratio"),
        ({"guard": {"source": "prometheus"}}, "guard.prometheus"),
        ({"guard": {"bogus": 1}}, "guard.bogus"),
        ({"guard": []}, "guard"),
        ({"reason": "a\x00b"}, "reason"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_a_bad_plan_is_refused_naming_its_field(
    client: httpx.AsyncClient, project: str, fields: dict[str, Any], field: str
) -> None:
    await _flag_on(client, project)
    before = (await client.get(env_flag_url(project, ENV, "checkout"))).json()["flag"]

    response = await client.post(_rollouts(project), json=_body(**fields))

    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field
    assert (await client.get(env_flag_url(project, ENV, "checkout"))).json()["flag"] == before
    assert (await client.get(_rollouts(project))).json()["items"] == []


async def test_a_rollout_fallthrough_needs_a_named_control(client: httpx.AsyncClient, project: str) -> None:
    await _flag_on(client, project)
    split = {
        "rollout": {"variations": [{"variation": 0, "weight": 50_000}, {"variation": 1, "weight": 50_000}]}
    }
    assert (
        await client.patch(env_flag_url(project, ENV, "checkout"), json={"fallthrough": split})
    ).is_success

    refused = await client.post(_rollouts(project), json=_body())
    started = await client.post(_rollouts(project), json=_body(control=0))

    assert refused.status_code == 422 and error_of(refused)["field"] == "control"
    assert started.status_code == 201, started.text
    assert started.json()["before"]["fallthrough"] == split


async def test_unknown_flags_environments_and_plans_are_404(client: httpx.AsyncClient, project: str) -> None:
    assert (await client.post(_rollouts(project), json=_body(flag="nope"))).status_code == 404
    assert (await client.get(_rollouts(project, "/999999"))).status_code == 404
    assert (await client.get(f"/api/v1/projects/{project}/environments/nope/rollouts")).status_code == 404
    await _flag_on(client, project)
    plan = (await client.post(_rollouts(project), json=_body())).json()
    staging = f"/api/v1/projects/{project}/environments/staging/rollouts/{plan['id']}"
    assert (await client.get(staging)).status_code == 404  # a plan is found in its own environment only


async def test_the_plan_shows_its_step_percent_next_step_time_and_confirmations(
    client: httpx.AsyncClient, project: str
) -> None:
    await _flag_on(client, project)
    body = _body(steps=_steps(1, 5, 100, dwell=600), reason="release", guard={"min_sample": 50})

    created = await client.post(_rollouts(project), json=body)

    assert created.status_code == 201, created.text
    plan = created.json()
    assert created.headers["etag"] == f'"{plan["version"]}"'
    read = await client.get(_rollouts(project, f"/{plan['id']}"))
    shown = read.json()
    assert (shown["status"], shown["current_step"], shown["percent"], shown["next_percent"]) == (
        "running",
        0,
        1.0,
        5.0,
    )
    assert shown["next_step_at"] is not None and shown["next_step_at"] > shown["step_started_at"]
    assert shown["guard"]["min_sample"] == 50 and shown["guard"]["ratio"] == 1.5  # defaults filled in
    flag = (await client.get(env_flag_url(project, ENV, "checkout"))).json()
    assert shown["flag_version"] == flag["flag"]["version"]
    assert shown["propagation"]["revision"] == flag["revision"]  # the step's revision; no SDK is connected
    assert (shown["propagation"]["confirmed"], shown["propagation"]["unconfirmed"]) == (0, 0)


async def test_roles_editors_start_and_resume_operators_pause_and_abort_readers_read(
    client: httpx.AsyncClient, project: str
) -> None:
    await _flag_on(client, project)
    editor, operator, reader = [
        await _key(client, role, project) for role in ("editor", "operator", "reader")
    ]
    assert (await client.post(_rollouts(project), json=_body(), headers=operator)).status_code == 403
    assert (await client.post(_rollouts(project), json=_body(), headers=reader)).status_code == 403
    created = await client.post(_rollouts(project), json=_body(), headers=editor)
    assert created.status_code == 201, created.text
    plan = _rollouts(project, f"/{created.json()['id']}")

    assert (await client.get(plan, headers=reader)).status_code == 200
    assert (await client.get(_rollouts(project), headers=reader)).status_code == 200
    assert (await client.post(f"{plan}/pause", headers=reader)).status_code == 403
    assert (await client.post(f"{plan}/pause", headers=operator)).status_code == 200
    assert (await client.post(f"{plan}/resume", headers=operator)).status_code == 403
    assert (await client.post(f"{plan}/resume", headers=editor)).status_code == 200
    assert (await client.post(f"{plan}/abort", headers=reader)).status_code == 403
    aborted = await client.post(f"{plan}/abort", json={"reason": "pager"}, headers=operator)
    assert aborted.status_code == 200 and aborted.json()["status"] == "aborted"
    entries = (await client.get("/api/v1/audit", params={"project": project, "limit": 20})).json()["items"]
    actions = [(e["action"], e["actor"]) for e in reversed(entries) if e["action"].startswith("rollout.")]
    assert [a for a, _ in actions] == [
        "rollout.start",
        "rollout.step",
        "rollout.pause",
        "rollout.resume",
        "rollout.abort",
    ]
    assert actions[2][1] == actions[4][1] == "operator-rollouts" and actions[3][1] == "editor-rollouts"


async def test_if_match_and_status_guard_every_change(client: httpx.AsyncClient, project: str) -> None:
    await _flag_on(client, project)
    plan = (await client.post(_rollouts(project), json=_body())).json()
    url = _rollouts(project, f"/{plan['id']}")

    stale = await client.post(f"{url}/pause", headers={"If-Match": f'"{plan["version"] + 1}"'})
    assert stale.status_code == 412 and error_of(stale)["field"] == "If-Match"
    paused = await client.post(f"{url}/pause", headers={"If-Match": f'"{plan["version"]}"'})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    again = await client.post(f"{url}/pause")
    assert again.status_code == 409 and error_of(again)["field"] == "status"
    assert (await client.post(f"{url}/abort")).status_code == 200
    for verb in ("pause", "resume", "abort"):
        assert (await client.post(f"{url}/{verb}")).status_code == 409
    second = await client.post(_rollouts(project), json=_body())
    assert second.status_code == 201  # the aborted plan no longer holds the flag
    conflict = await client.post(_rollouts(project), json=_body())
    assert conflict.status_code == 409 and error_of(conflict)["field"] == "flag"


async def test_the_list_filters_by_flag_and_status_newest_first(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    for key in ("a", "b"):
        await _flag_on(client, project, key)
    first = (await client.post(_rollouts(project), json=_body(flag="a"))).json()
    await client.post(_rollouts(project, f"/{first['id']}/abort"))
    second = (await client.post(_rollouts(project), json=_body(flag="a"))).json()
    third = (await client.post(_rollouts(project), json=_body(flag="b"))).json()

    async def ids(**params: Any) -> list[int]:
        page = (await client.get(_rollouts(project), params=params)).json()
        return [item["id"] for item in page["items"]]

    assert await ids() == [third["id"], second["id"], first["id"]]
    assert await ids(flag="a") == [second["id"], first["id"]]
    assert await ids(status="aborted") == [first["id"]]
    assert await ids(flag="b", status="running") == [third["id"]]
    page = (await client.get(_rollouts(project), params={"limit": 2})).json()
    assert page["next"] == second["id"]
    assert await ids(before=page["next"]) == [first["id"]]
    assert (await client.get(_rollouts(project), params={"status": "bogus"})).status_code == 422


async def test_a_plan_with_no_dwell_runs_to_completion_round_by_round(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _flag_on(client, project)
    plan = (await client.post(_rollouts(project), json=_body(steps=_steps(10, 100)))).json()
    runner = app.state.services.rollouts.runner

    runner.run_once()
    runner.run_once()

    done = (await client.get(_rollouts(project, f"/{plan['id']}"))).json()
    assert (done["status"], done["current_step"], done["percent"]) == ("completed", 1, 100.0)
    flag = (await client.get(env_flag_url(project, ENV, "checkout"))).json()["flag"]
    assert flag["fallthrough"]["rollout"]["variations"] == [
        {"variation": 1, "weight": 100_000},
        {"variation": 0, "weight": 0},
    ]

"""Scheduled changes through the API: created, listed, shown and cancelled by editors and seen by readers,
each checked when created as the direct call would be; run (by the schedule service with a clock moved ahead,
rather than by waiting) as the direct call with the schedule as actor, refused when the flag moved on unless
told otherwise, failed when no longer valid, and always audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.services.container import Services
from app.services.read_models import ScheduleOut
from tests.api.helpers import create_flag, env_flag_url, error_of, sdk_key

pytestmark = pytest.mark.anyio

ENV = "production"
RULE = {
    "id": "beta",
    "clauses": [{"attribute": "beta", "op": "in", "values": [True]}],
    "serve": {"variation": 0},
}


def _url(project: str, suffix: str = "") -> str:
    return f"/api/v1/projects/{project}/environments/{ENV}/schedules{suffix}"


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


async def _schedule(client: httpx.AsyncClient, project: str, **body: Any) -> dict[str, Any]:
    body = {"flag": "checkout", "at": _at(timedelta(hours=1)), "action": "on", **body}
    response = await client.post(_url(project), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _run_at(app: FastAPI, moment: datetime) -> dict[int, ScheduleOut]:
    """Runs what is due at `moment` (every project's: the database is shared), by the schedule id."""
    services: Services = app.state.services
    return {settled.id: settled for settled in services.schedules.run_due(moment)}


def _later(hours: float = 2) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


async def _flag(client: httpx.AsyncClient, project: str, flag: str = "checkout") -> dict[str, Any]:
    response = await client.get(env_flag_url(project, ENV, flag))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["flag"]
    return found


async def _audit(client: httpx.AsyncClient, project: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params={"project": project, "environment": ENV, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _key(client: httpx.AsyncClient, project: str, role: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/admin-keys", json={"name": f"{role}-{project}", "role": role, "project": project}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['secret']}"}


async def test_a_schedule_is_created_listed_shown_and_cancelled(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "checkout")
    at = _at(timedelta(days=3))
    created = await _schedule(
        client, project, at=at, action="patch", changes={"rules": [RULE]}, reason="open the beta"
    )
    assert created["status"] == "pending" and created["expected_version"] == 1
    assert created["flag"] == "checkout" and created["changes"] == {"rules": [RULE]}
    assert created["created_by"] == "bootstrap" and created["ran_at"] is None and created["outcome"] is None
    assert datetime.fromisoformat(created["at"]) == datetime.fromisoformat(at)

    shown = await client.get(_url(project, f"/{created['id']}"))
    assert shown.status_code == 200 and shown.json() == created
    listed = await client.get(_url(project))
    assert listed.json() == {"items": [created], "next": None}

    cancelled = await client.post(_url(project, f"/{created['id']}/cancel"), json={"reason": "not yet"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["outcome"] == "cancelled by bootstrap: not yet"
    again = await client.post(_url(project, f"/{created['id']}/cancel"))
    assert again.status_code == 409 and error_of(again)["field"] == "id"
    entries = await _audit(client, project, actor="bootstrap", limit=2)
    assert [(e["action"], e["target_kind"], e["target_key"]) for e in entries] == [
        ("schedule.cancel", "schedule", str(created["id"])),
        ("schedule.create", "schedule", str(created["id"])),
    ]
    assert entries[0]["reason"] == "not yet" and entries[0]["after"]["status"] == "cancelled"
    assert entries[1]["reason"] == "open the beta" and entries[1]["after"]["changes"] == {"rules": [RULE]}


async def test_the_list_is_by_due_time_filtered_and_paginated(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "checkout")
    await create_flag(client, project, "search")
    third = await _schedule(client, project, at=_at(timedelta(hours=3)))
    first = await _schedule(client, project, at=_at(timedelta(hours=1)), flag="search")
    second = await _schedule(client, project, at=_at(timedelta(hours=2)), action="off")
    await client.post(_url(project, f"/{second['id']}/cancel"))

    page = (await client.get(_url(project), params={"limit": 2})).json()
    assert [item["id"] for item in page["items"]] == [first["id"], second["id"]]
    rest = (await client.get(_url(project), params={"limit": 2, "after": page["next"]})).json()
    assert [item["id"] for item in rest["items"]] == [third["id"]] and rest["next"] is None
    only_checkout = (await client.get(_url(project), params={"flag": "checkout"})).json()["items"]
    assert [item["id"] for item in only_checkout] == [second["id"], third["id"]]
    pending = (await client.get(_url(project), params={"status": "pending"})).json()["items"]
    assert [item["id"] for item in pending] == [first["id"], third["id"]]
    elsewhere = await client.get(f"/api/v1/projects/{project}/environments/staging/schedules")
    assert elsewhere.json()["items"] == []
    unknown = await client.get(_url(project), params={"status": "done"})
    assert unknown.status_code == 422 and error_of(unknown)["field"] == "status"
    stale = await client.get(_url(project), params={"after": 2**31 - 1})
    assert stale.status_code == 422 and error_of(stale)["field"] == "after"
    huge = await client.get(_url(project), params={"after": 2**31})
    assert huge.status_code == 422 and error_of(huge)["field"] == "after"
    assert (await client.get(_url(project, f"/{2**31}"))).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"at": "2026-12-01T09:00:00"}, "at"),  # no zone
        ({"at": "2026-12-01"}, "at"),
        ({"at": 1_800_000_000}, "at"),
        ({"at": "2026-02-30T09:00:00Z"}, "at"),
        ({"at": "2001-01-01T00:00:00Z"}, "at"),  # the past
        ({"at": "2300-01-01T00:00:00Z"}, "at"),  # beyond FLAGSTAFF_SCHEDULE_MAX_DAYS_AHEAD
        ({"action": "delete"}, "action"),
        ({"action": "kill"}, "reason"),
        ({"action": "kill", "reason": ""}, "reason"),
        ({"action": "patch"}, "changes"),
        ({"action": "patch", "changes": {}}, "changes"),
        ({"action": "on", "changes": {"enabled": True}}, "changes"),
        ({"action": "patch", "changes": {"colour": "red"}}, "changes.colour"),
        ({"action": "patch", "changes": {"reason": "a reason belongs beside changes"}}, "changes.reason"),
        ({"action": "patch", "changes": {"off_variation": 7}}, "changes.off_variation"),
        (
            {"action": "patch", "changes": {"rules": [{"id": "r", "clauses": "x"}]}},
            "changes.rules[0].clauses",
        ),
        ({"if_version": 0}, "if_version"),
        ({"reason": "x" * 2001}, "reason"),
        ({"surprise": 1}, "surprise"),
        ({"flag": ""}, "flag"),
    ],
)
async def test_an_invalid_schedule_is_refused_naming_the_field(
    client: httpx.AsyncClient, project: str, body: dict[str, Any], field: str
):
    await create_flag(client, project, "checkout")
    request = {"flag": "checkout", "at": _at(timedelta(hours=1)), "action": "on", **body}
    response = await client.post(_url(project), json=request)
    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field
    assert (await client.get(_url(project))).json()["items"] == []


async def test_a_schedule_naming_an_unknown_flag_or_segment_is_refused(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    missing = await client.post(
        _url(project), json={"flag": "nope", "at": _at(timedelta(hours=1)), "action": "on"}
    )
    assert missing.status_code == 404 and error_of(missing)["field"] == "flag"
    rule = {"id": "r", "clauses": [{"op": "segment_match", "values": ["ghosts"]}], "serve": {"variation": 0}}
    body = {
        "flag": "checkout",
        "at": _at(timedelta(hours=1)),
        "action": "patch",
        "changes": {"rules": [rule]},
    }
    unknown_segment = await client.post(_url(project), json=body)
    assert unknown_segment.status_code == 422
    assert error_of(unknown_segment)["field"].startswith("changes.rules[0]")


async def test_rfc3339_times_with_any_zone_are_taken_as_that_instant(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "checkout")
    moment = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    local = moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00"
    shifted = (moment + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
    first = await _schedule(client, project, at=local.replace("T", "t"))
    second = await _schedule(client, project, at=shifted)
    assert datetime.fromisoformat(first["at"]) == datetime.fromisoformat(second["at"]) == moment


async def test_readers_see_schedules_and_only_editors_create_or_cancel_them(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    created = await _schedule(client, project, action="kill", reason="end of the campaign")
    reader, operator, editor = [
        await _key(client, project, role) for role in ("reader", "operator", "editor")
    ]
    body = {"flag": "checkout", "at": _at(timedelta(hours=1)), "action": "off"}
    for refused in (reader, operator):
        assert (await client.post(_url(project), json=body, headers=refused)).status_code == 403
        cancel = await client.post(_url(project, f"/{created['id']}/cancel"), headers=refused)
        assert cancel.status_code == 403
    assert (await client.get(_url(project), headers=reader)).json()["items"] == [created]
    assert (await client.get(_url(project, f"/{created['id']}"), headers=reader)).status_code == 200
    by_editor = await client.post(_url(project), json=body, headers=editor)
    assert by_editor.status_code == 201 and by_editor.json()["created_by"] == f"editor-{project}"
    cancelled = await client.post(_url(project, f"/{created['id']}/cancel"), headers=editor)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_a_schedule_is_found_only_in_its_own_environment(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "checkout")
    created = await _schedule(client, project)
    staging = f"/api/v1/projects/{project}/environments/staging/schedules/{created['id']}"
    assert (await client.get(staging)).status_code == 404
    gone = await client.post(f"{staging}/cancel")
    assert gone.status_code == 404 and error_of(gone)["field"] == "id"
    assert (await client.get(_url(project, f"/{created['id']}"))).json()["status"] == "pending"


async def test_a_due_patch_is_applied_once_as_the_patch_would_be_with_the_schedule_as_actor(
    app: FastAPI, client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    key = await sdk_key(client, project, ENV)
    snapshot_before = (await client.get("/sdk/v1/flags", headers={"Authorization": key})).json()
    created = await _schedule(
        client, project, action="patch", changes={"rules": [RULE], "enabled": True}, reason="beta opens"
    )
    assert _run_at(app, datetime.now(UTC)).get(created["id"]) is None  # not due yet

    ran = _run_at(app, _later())[created["id"]]

    assert (ran.status, ran.outcome, ran.applied_version) == ("applied", "applied as version 2", 2)
    assert ran.ran_at is not None
    flag = await _flag(client, project)
    assert flag["rules"] == [RULE] and flag["enabled"] is True and flag["version"] == 2
    snapshot = (await client.get("/sdk/v1/flags", headers={"Authorization": key})).json()
    assert snapshot["revision"] == snapshot_before["revision"] + 1
    assert snapshot["flags"]["checkout"]["rules"] == [RULE]
    actor = f"schedule:{created['id']}"
    entries = await _audit(client, project, actor=actor)
    assert [(e["action"], e["reason"]) for e in entries] == [
        ("schedule.applied", "beta opens"),
        ("flag.update", "beta opens"),
    ]
    assert entries[1]["before"]["rules"] == [] and entries[1]["after"]["rules"] == [RULE]
    history = (await client.get(env_flag_url(project, ENV, "checkout", "history"))).json()["items"]
    assert history[0]["actor"] == actor and history[0]["version"] == 2

    assert created["id"] not in _run_at(app, _later(3))  # settled: never again
    assert (await _flag(client, project))["version"] == 2
    shown = (await client.get(_url(project, f"/{created['id']}"))).json()
    assert shown["status"] == "applied" and shown["applied_version"] == 2


@pytest.mark.parametrize(("action", "enabled"), [("on", True), ("off", False), ("kill", False)])
async def test_a_due_switch_is_audited_as_that_switch(
    app: FastAPI, client: httpx.AsyncClient, project: str, action: str, enabled: bool
):
    await create_flag(client, project, "checkout")
    if not enabled:
        await client.post(env_flag_url(project, ENV, "checkout", "on"))
    created = await _schedule(client, project, action=action, reason="timed")

    ran = _run_at(app, _later())[created["id"]]

    assert ran.status == "applied" and (await _flag(client, project))["enabled"] is enabled
    flag_entry = (await _audit(client, project, flag="checkout", limit=1))[0]
    assert flag_entry["action"] == f"flag.{action}" and flag_entry["actor"] == f"schedule:{created['id']}"
    assert flag_entry["reason"] == "timed"


async def test_a_change_that_changes_nothing_is_applied_with_no_change(
    app: FastAPI, client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    created = await _schedule(client, project, action="off")
    revision = (await client.get(f"/api/v1/projects/{project}/environments/{ENV}")).json()["revision"]

    ran = _run_at(app, _later())[created["id"]]

    assert (ran.status, ran.outcome, ran.applied_version) == ("applied", "no change", 1)
    assert (await client.get(f"/api/v1/projects/{project}/environments/{ENV}")).json()["revision"] == revision
    actions = [e["action"] for e in await _audit(client, project, actor=f"schedule:{created['id']}")]
    assert actions == ["schedule.applied"]


async def test_a_change_is_refused_when_the_flag_moved_on_since_scheduling(
    app: FastAPI, client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    created = await _schedule(client, project, action="patch", changes={"rules": [RULE]}, reason="beta")
    await client.post(env_flag_url(project, ENV, "checkout", "on"))  # version 2

    ran = _run_at(app, _later())[created["id"]]

    assert ran.status == "refused" and ran.applied_version is None
    assert ran.outcome == "flag moved from version 1 to 2 since scheduling"
    flag = await _flag(client, project)
    assert flag["rules"] == [] and flag["version"] == 2
    entries = await _audit(client, project, actor=f"schedule:{created['id']}")
    assert [e["action"] for e in entries] == ["schedule.refused"]
    assert entries[0]["after"]["outcome"] == ran.outcome and entries[0]["before"]["status"] == "pending"


async def test_apply_if_changed_applies_over_a_newer_version(
    app: FastAPI, client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    created = await _schedule(
        client, project, action="patch", changes={"rules": [RULE]}, apply_if_changed=True
    )
    await client.post(env_flag_url(project, ENV, "checkout", "on"))

    ran = _run_at(app, _later())[created["id"]]

    assert (ran.status, ran.applied_version) == ("applied", 3)
    flag = await _flag(client, project)
    assert flag["rules"] == [RULE] and flag["enabled"] is True


async def test_if_version_names_the_version_a_chained_change_expects(
    app: FastAPI, client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    first = await _schedule(client, project, at=_at(timedelta(hours=1)), action="on")
    second = await _schedule(
        client, project, at=_at(timedelta(hours=2)), action="patch", changes={"rules": [RULE]}, if_version=2
    )
    unchained = await _schedule(client, project, at=_at(timedelta(hours=2)), action="off")
    assert second["expected_version"] == 2 and unchained["expected_version"] == 1

    ran = _run_at(app, _later(3))

    assert [ran[s["id"]].status for s in (first, second, unchained)] == ["applied", "applied", "refused"]
    flag = await _flag(client, project)
    assert flag["enabled"] is True and flag["rules"] == [RULE] and flag["version"] == 3


async def test_a_change_no_longer_valid_fails_with_the_reason_and_the_runner_goes_on(
    app: FastAPI, client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    await create_flag(client, project, "search")
    segment_url = f"/api/v1/projects/{project}/environments/{ENV}/segments/beta"
    assert (await client.put(segment_url, json={"included": ["u1"]})).status_code in (200, 201)
    rule = {"id": "r", "clauses": [{"op": "segment_match", "values": ["beta"]}], "serve": {"variation": 0}}
    broken = await _schedule(
        client, project, at=_at(timedelta(hours=1)), action="patch", changes={"rules": [rule]}
    )
    gone = await _schedule(client, project, at=_at(timedelta(hours=1)), flag="search", action="on")
    fine = await _schedule(client, project, at=_at(timedelta(hours=1, minutes=1)), action="on")
    assert (await client.delete(segment_url)).status_code == 204  # nothing refers to it yet
    assert (await client.delete(f"/api/v1/projects/{project}/flags/search")).status_code == 204

    ran = _run_at(app, _later())

    assert ran[broken["id"]].status == "failed" and "beta" in (ran[broken["id"]].outcome or "")
    assert ran[gone["id"]].status == "failed" and "search" in (ran[gone["id"]].outcome or "")
    assert ran[fine["id"]].status == "applied"
    flag = await _flag(client, project)
    assert flag["rules"] == [] and flag["enabled"] is True and flag["version"] == 2
    failed = await _audit(client, project, actor=f"schedule:{broken['id']}")
    assert [e["action"] for e in failed] == ["schedule.failed"]
    assert failed[0]["after"]["outcome"] == ran[broken["id"]].outcome


async def test_a_cancelled_change_never_runs(app: FastAPI, client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "checkout")
    created = await _schedule(client, project, action="on")
    await client.post(_url(project, f"/{created['id']}/cancel"))

    assert created["id"] not in _run_at(app, _later())

    assert (await _flag(client, project))["enabled"] is False
    assert (await client.get(_url(project, f"/{created['id']}"))).json()["status"] == "cancelled"
    assert await _audit(client, project, actor=f"schedule:{created['id']}") == []


async def test_a_settled_change_cannot_be_cancelled(app: FastAPI, client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "checkout")
    created = await _schedule(client, project, action="on")
    _run_at(app, _later())

    refused = await client.post(_url(project, f"/{created['id']}/cancel"))

    assert refused.status_code == 409 and "applied" in error_of(refused)["message"]

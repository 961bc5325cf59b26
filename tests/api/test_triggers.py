"""Monitoring triggers: a secret URL, created by editors and seen by readers, that kills (or turns on or off)
one flag when called with no other credential; Alertmanager's payload and plain JSON; idempotent, audited as
the trigger, rate limited, revocable; bad input answers 4xx naming the field."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from tests.api.helpers import create_flag, env_flag_url, error_of
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.anyio


def alertmanager(status: str, *alerts: tuple[str, str], group_status: str | None = None) -> dict[str, Any]:
    """A notification as Alertmanager (version 4) sends it: each alert as (name, summary)."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="CheckoutErrors"}',
        "truncatedAlerts": 0,
        "status": group_status or status,
        "receiver": "flagstaff",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.test",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "severity": "page"},
                "annotations": {"summary": summary},
                "startsAt": "2026-11-28T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.test/graph",
                "fingerprint": "c0ffee",
            }
            for name, summary in alerts
        ],
    }


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no key at all, as a monitoring system calls."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://flagstaff.test"
    ) as http:
        yield http


def triggers_url(project: str, env: str = "production") -> str:
    return f"/api/v1/projects/{project}/environments/{env}/triggers"


async def create_trigger(
    client: httpx.AsyncClient, project: str, flag: str, action: str = "kill", **fields: Any
) -> dict[str, Any]:
    body = {"name": fields.pop("name", "checkout-errors"), "flag": flag, "action": action, **fields}
    response = await client.post(triggers_url(project, fields.pop("env", "production")), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def flag_state(client: httpx.AsyncClient, project: str, flag: str) -> dict[str, Any]:
    response = await client.get(env_flag_url(project, "production", flag))
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


async def audit_by(client: httpx.AsyncClient, project: str, actor: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params={"project": project, "actor": actor})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def switched_on(client: httpx.AsyncClient, project: str, flag: str) -> None:
    await create_flag(client, project, flag)
    assert (await client.post(env_flag_url(project, "production", flag, "on"))).status_code == 200


# -- managing triggers ------


async def test_the_secret_url_is_shown_once_and_lists_show_only_its_fingerprint(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    secret = created["secret"]
    assert secret.startswith("fs_trigger_") and len(secret) > 40
    assert created["url"] == f"http://flagstaff.test/api/v1/triggers/{secret}"
    assert created["fingerprint"] == hashlib.sha256(secret.encode()).hexdigest()[:8]
    assert (created["flag"], created["action"], created["fire_count"], created["revoked_at"]) == (
        "checkout",
        "kill",
        0,
        None,
    )
    listed = await client.get(triggers_url(project))
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    assert "secret" not in listed.json()["items"][0] and secret not in listed.text
    shown = await client.get(f"{triggers_url(project)}/{created['id']}")
    assert shown.json()["fingerprint"] == created["fingerprint"] and secret not in shown.text
    entry = (await audit_by(client, project, "bootstrap"))[0]
    assert entry["action"] == "trigger.create" and entry["target_key"] == str(created["id"])
    assert entry["after"] == {
        "name": "checkout-errors",
        "flag": "checkout",
        "action": "kill",
        "fire_on_resolved": False,
    }
    assert secret not in str(entry)


async def test_editors_create_and_revoke_triggers_readers_and_operators_only_see_them(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    keys = {}
    for role in ("editor", "operator", "reader"):
        response = await client.post(
            "/api/v1/admin-keys", json={"name": role, "role": role, "project": project}
        )
        keys[role] = {"Authorization": f"Bearer {response.json()['secret']}"}
    body = {"name": "t", "flag": "checkout", "action": "kill"}
    for role in ("operator", "reader"):
        assert (await client.post(triggers_url(project), json=body, headers=keys[role])).status_code == 403
        assert (await client.get(triggers_url(project), headers=keys[role])).status_code == 200
    created = await client.post(triggers_url(project), json=body, headers=keys["editor"])
    assert created.status_code == 201
    one = f"{triggers_url(project)}/{created.json()['id']}"
    assert (await client.delete(one, headers=keys["reader"])).status_code == 403
    assert (await client.delete(one, headers=keys["editor"])).status_code == 200
    anonymous = {"Authorization": ""}
    assert (await client.post(triggers_url(project), json=body, headers=anonymous)).status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "t", "flag": "checkout", "action": "explode"}, 422, "action"),
        ({"name": "", "flag": "checkout", "action": "kill"}, 422, "name"),
        ({"name": "t", "action": "kill"}, 422, "flag"),
        ({"name": "t", "flag": "checkout", "action": "kill", "secret": "mine"}, 422, "secret"),
        (
            {"name": "t", "flag": "checkout", "action": "kill", "fire_on_resolved": "often"},
            422,
            "fire_on_resolved",
        ),
        ({"name": "t", "flag": "nope", "action": "kill"}, 404, "flag"),
    ],
)
async def test_a_bad_trigger_is_refused_naming_the_field(
    client: httpx.AsyncClient, project: str, body: dict[str, Any], status: int, field: str
):
    await create_flag(client, project, "checkout")
    response = await client.post(triggers_url(project), json=body)
    assert response.status_code == status, response.text
    assert error_of(response)["field"] == field
    assert (await client.get(triggers_url(project))).json()["items"] == []


async def test_unknown_environment_and_trigger_ids_are_404(client: httpx.AsyncClient, project: str):
    assert (await client.get(triggers_url(project, "nowhere"))).status_code == 404
    assert error_of(await client.get(f"{triggers_url(project)}/999999"))["field"] == "trigger_id"
    assert (await client.delete(f"{triggers_url(project)}/999999")).status_code == 404
    assert (await client.get(f"{triggers_url(project)}/0")).status_code == 422


# -- firing ------


async def test_a_plain_post_kills_the_flag_and_is_audited_as_the_trigger_with_its_reason(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await switched_on(client, project, "checkout")
    created = await create_trigger(client, project, "checkout", name="error-budget")
    fired = await anonymous.post(
        f"/api/v1/triggers/{created['secret']}",
        json={"reason": "error budget exhausted"},
        headers={"X-Request-ID": "alert-7"},
    )
    assert fired.status_code == 200, fired.text
    assert fired.json() | {"revision": None} == {
        "trigger": "error-budget",
        "action": "kill",
        "flag": "checkout",
        "changed": True,
        "revision": None,
        "ignored": None,
    }
    state = await flag_state(client, project, "checkout")
    assert state["flag"]["enabled"] is False and fired.json()["revision"] == state["revision"]
    [entry] = await audit_by(client, project, "trigger:error-budget")
    assert (entry["action"], entry["reason"], entry["request_id"]) == (
        "flag.kill",
        "error budget exhausted",
        "alert-7",
    )
    assert (entry["environment"], entry["target_key"]) == ("production", "checkout")
    listed = (await client.get(f"{triggers_url(project)}/{created['id']}")).json()
    assert listed["fire_count"] == 1 and listed["last_fired_at"] is not None


async def test_an_empty_body_fires_too_with_a_reason_naming_the_trigger(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    created = await create_trigger(client, project, "checkout", "on", name="recovered")
    fired = await anonymous.post(f"/api/v1/triggers/{created['secret']}")
    assert fired.status_code == 200 and fired.json()["changed"] is True
    assert (await flag_state(client, project, "checkout"))["flag"]["enabled"] is True
    [entry] = await audit_by(client, project, "trigger:recovered")
    assert (entry["action"], entry["reason"]) == ("flag.on", "trigger 'recovered' fired")


async def test_firing_twice_leaves_one_kill_and_answers_unchanged(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await switched_on(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    url = f"/api/v1/triggers/{created['secret']}"
    first, second = (await anonymous.post(url)).json(), (await anonymous.post(url)).json()
    assert (first["changed"], second["changed"]) == (True, False)
    assert second["revision"] == first["revision"]
    history = (await client.get(env_flag_url(project, "production", "checkout", "history"))).json()["items"]
    assert [item["actor"] for item in history].count("trigger:checkout-errors") == 1
    assert len(await audit_by(client, project, "trigger:checkout-errors")) == 1
    assert (await client.get(f"{triggers_url(project)}/{created['id']}")).json()["fire_count"] == 2


async def test_an_alertmanager_firing_notification_kills_with_the_alerts_as_reason(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await switched_on(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    payload = alertmanager(
        "firing",
        ("CheckoutErrors", "checkout 5xx above 5%"),
        ("CheckoutLatency", ""),
        ("CheckoutErrors", "checkout 5xx above 5%"),
    )
    fired = await anonymous.post(f"/api/v1/triggers/{created['secret']}", json=payload)
    assert fired.status_code == 200 and fired.json()["changed"] is True
    assert (await flag_state(client, project, "checkout"))["flag"]["enabled"] is False
    [entry] = await audit_by(client, project, "trigger:checkout-errors")
    assert entry["reason"] == "Alertmanager firing: CheckoutErrors (checkout 5xx above 5%), CheckoutLatency"


async def test_a_resolved_notification_is_acknowledged_and_ignored_by_default(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await switched_on(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    resolved = await anonymous.post(
        f"/api/v1/triggers/{created['secret']}", json=alertmanager("resolved", ("CheckoutErrors", "over"))
    )
    assert resolved.status_code == 200
    assert resolved.json() | {"trigger": None} == {
        "trigger": None,
        "action": "kill",
        "flag": "checkout",
        "changed": False,
        "revision": None,
        "ignored": "resolved",
    }
    assert (await flag_state(client, project, "checkout"))["flag"]["enabled"] is True
    assert await audit_by(client, project, "trigger:checkout-errors") == []
    plain = await anonymous.post(f"/api/v1/triggers/{created['secret']}", json={"status": "resolved"})
    assert plain.json()["ignored"] == "resolved"
    assert (await client.get(f"{triggers_url(project)}/{created['id']}")).json()["fire_count"] == 0


async def test_with_fire_on_resolved_a_resolved_notification_performs_the_action(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    created = await create_trigger(client, project, "checkout", "on", fire_on_resolved=True, name="all-clear")
    payload = alertmanager("resolved", ("CheckoutErrors", "over"))
    fired = await anonymous.post(f"/api/v1/triggers/{created['secret']}", json=payload)
    assert fired.json()["changed"] is True and fired.json()["ignored"] is None
    assert (await flag_state(client, project, "checkout"))["flag"]["enabled"] is True
    [entry] = await audit_by(client, project, "trigger:all-clear")
    assert entry["reason"] == "Alertmanager resolved: CheckoutErrors (over)"


async def test_only_the_alerts_in_the_groups_state_make_the_reason(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await switched_on(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    payload = alertmanager("firing", ("Firing", "now"))
    payload["alerts"].append({**payload["alerts"][0], "status": "resolved", "labels": {"alertname": "Over"}})
    assert (await anonymous.post(f"/api/v1/triggers/{created['secret']}", json=payload)).status_code == 200
    [entry] = await audit_by(client, project, "trigger:checkout-errors")
    assert entry["reason"] == "Alertmanager firing: Firing (now)"


async def test_a_long_alert_group_is_cut_to_the_reason_bound(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await switched_on(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    payload = alertmanager("firing", *((f"Alert{i}", "x" * 50) for i in range(100)))
    assert (await anonymous.post(f"/api/v1/triggers/{created['secret']}", json=payload)).status_code == 200
    [entry] = await audit_by(client, project, "trigger:checkout-errors")
    assert len(entry["reason"]) == 1000 and entry["reason"].endswith("…")


async def test_revoked_and_unknown_urls_answer_the_same_404(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await switched_on(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    revoked = await client.delete(f"{triggers_url(project)}/{created['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    again = await client.delete(f"{triggers_url(project)}/{created['id']}")
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
    answers = [
        await anonymous.post(f"/api/v1/triggers/{secret}")
        for secret in (created["secret"], "fs_trigger_" + "x" * 43, "nonsense", "fs_trigger_" + "y" * 500)
    ]
    assert {response.status_code for response in answers} == {404}
    assert len({response.text for response in answers}) == 1
    assert (await flag_state(client, project, "checkout"))["flag"]["enabled"] is True
    actions = [entry["action"] for entry in await audit_by(client, project, "bootstrap")]
    assert actions.count("trigger.revoke") == 1


async def test_a_trigger_whose_flag_was_deleted_answers_404_naming_the_flag(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    assert (await client.delete(f"/api/v1/projects/{project}/flags/checkout")).status_code == 204
    fired = await anonymous.post(f"/api/v1/triggers/{created['secret']}")
    assert fired.status_code == 404 and error_of(fired)["field"] == "flag"


@pytest.mark.parametrize(
    ("content", "headers", "status", "field"),
    [
        (b'{"status": "exploding"}', {"Content-Type": "application/json"}, 422, "status"),
        (b'{"alerts": "many"}', {"Content-Type": "application/json"}, 422, "alerts"),
        (b'{"alerts": [1]}', {"Content-Type": "application/json"}, 422, "alerts[0]"),
        (b'{"reason": 7}', {"Content-Type": "application/json"}, 422, "reason"),
        (b'{"reason": "a\\u0000b"}', {"Content-Type": "application/json"}, 422, "reason"),
        (b'{"reason": "\\ud800"}', {"Content-Type": "application/json"}, 422, "reason"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 422, "body"),
        (b'{"reason": ', {"Content-Type": "application/json"}, 422, "body"),
        (b"reason=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "Content-Type"),
    ],
)
async def test_a_bad_body_is_refused_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    project: str,
    content: bytes,
    headers: dict[str, str],
    status: int,
    field: str,
):
    await switched_on(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    response = await anonymous.post(f"/api/v1/triggers/{created['secret']}", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert error_of(response)["field"] == field
    assert (await flag_state(client, project, "checkout"))["flag"]["enabled"] is True


async def test_fires_beyond_the_rate_limit_get_429_with_retry_after(database_url: str, app: FastAPI):
    # An app of its own (on the same, migrated database) for its limit: two fires a minute per trigger.
    limited = create_app(
        Settings(database_url=database_url, admin_token=ADMIN_TOKEN, trigger_rate_limit_per_minute=2)
    )
    transport = httpx.ASGITransport(app=limited)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
            project = f"rate-{id(limited):x}"
            assert (await client.post("/api/v1/projects", json={"key": project})).status_code == 201
            await create_flag(client, project, "checkout")
            first = await create_trigger(client, project, "checkout", name="first")
            second = await create_trigger(client, project, "checkout", name="second")
            answers = [(await client.post(f"/api/v1/triggers/{first['secret']}")) for _ in range(3)]
            assert [response.status_code for response in answers] == [200, 200, 429]
            assert error_of(answers[2])["code"] == "rate_limited"
            assert 1 <= int(answers[2].headers["Retry-After"]) <= 30
            # each trigger has its own allowance, and a refused fire is not counted
            assert (await client.post(f"/api/v1/triggers/{second['secret']}")).status_code == 200
            shown = await client.get(f"{triggers_url(project)}/{first['id']}")
            assert shown.json()["fire_count"] == 2
    finally:
        limited.state.services.database.dispose()


async def test_the_access_log_never_holds_a_trigger_secret(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, project: str, caplog: pytest.LogCaptureFixture
):
    await create_flag(client, project, "checkout")
    created = await create_trigger(client, project, "checkout")
    caplog.set_level(logging.INFO, logger="flagstaff.access")
    assert (await anonymous.post(f"/api/v1/triggers/{created['secret']}")).status_code == 200
    lines = [record.getMessage() for record in caplog.records if record.name == "flagstaff.access"]
    assert any('"POST /api/v1/triggers/{secret} HTTP/1.1" 200' in line for line in lines), lines
    assert not any(created["secret"] in line for line in lines)

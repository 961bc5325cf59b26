"""Scheduled changes, triggers and webhooks from the console's releases page: editors create and cancel,
revoke and delete them, each audited as the signed-in key and visible through the REST API; a time typed in
the datetime-local input is UTC; a trigger's URL and a webhook's secret are shown once, on the page that
answers their creation, and never again; refusals are shown at the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import env_flag_url
from tests.console.release_helpers import ENV, audit, console, field_error, flag_on

pytestmark = pytest.mark.anyio


def _api(project: str, what: str) -> str:
    return f"/api/v1/projects/{project}/environments/{ENV}/{what}"


async def test_a_change_scheduled_from_now_is_pending_in_the_api_and_cancelled_from_the_page(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        before = datetime.now(UTC)
        created = await c.post(
            f"{c.base}/schedules",
            {"flag": "checkout", "action": "kill", "after": "+10m", "reason": "campaign over", "next": ""},
        )
        assert created.status_code == 303 and created.headers["location"] == f"{c.base}/releases"
        [item] = (await client.get(_api(project, "schedules"))).json()["items"]
        due = datetime.fromisoformat(item["at"])
        assert before + timedelta(minutes=10) <= due <= datetime.now(UTC) + timedelta(minutes=10)
        assert (item["action"], item["status"], item["created_by"]) == ("kill", "pending", c.name)
        page = await c.http.get(f"{c.base}/releases")
        assert "Scheduled kill of checkout in production" in page.text
        row = re.search(rf'<tr id="schedule-{item["id"]}".*?</tr>', page.text, re.S)
        assert row is not None and "campaign over" in row.group(0) and "Cancel" in row.group(0)
        cancelled = await c.post(f"{c.base}/schedules/{item['id']}/cancel", {"next": f"{c.base}/releases"})
        assert cancelled.status_code == 303
        again = await c.post(f"{c.base}/schedules/{item['id']}/cancel", {})
        assert again.status_code == 409 and "only a pending one can be cancelled" in again.text
        page = await c.http.get(f"{c.base}/releases")
    assert (await client.get(_api(project, f"schedules/{item['id']}"))).json()["status"] == "cancelled"
    assert f"cancelled by {c.name}" in page.text  # among the recent ones, with how it ended
    [create] = await audit(client, project, "schedule.create")
    [cancel] = await audit(client, project, "schedule.cancel")
    assert create["actor"] == cancel["actor"] == c.name and create["reason"] == "campaign over"


async def test_a_datetime_local_time_is_read_as_utc_and_a_patch_takes_json(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    at = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    async with console(app, client, project, "admin") as c:
        changes = '{"fallthrough": {"variation": 1}}'
        created = await c.post(
            f"{c.base}/schedules",
            {"flag": "checkout", "action": "patch", "at": at.strftime("%Y-%m-%dT%H:%M"), "changes": changes},
        )
        assert created.status_code == 303, created.text
    [item] = (await client.get(_api(project, "schedules"))).json()["items"]
    assert datetime.fromisoformat(item["at"]) == at
    assert item["changes"] == {"fallthrough": {"variation": 1}}


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"after": "+10x"}, "after", "like +10m"),
        ({"after": "tomorrow"}, "after", "like +10m"),
        ({}, "at", "choose a date and time (UTC)"),
        ({"at": "2020-01-01T00:00"}, "at", "must be in the future"),
        ({"at": "2030-02-30T00:00"}, "at", "is not a date and time"),
        ({"at": "2030-01-01T00:00", "after": "+1h"}, "after", "not both"),
        ({"after": "+1h", "action": "kill"}, "reason", "needs a reason"),
        ({"after": "+1h", "action": "patch", "changes": "{enabled"}, "changes", "not JSON"),
        ({"after": "+1h", "action": "patch", "changes": "[1]"}, "changes", "must be a JSON object"),
        ({"after": "+1h", "action": "patch", "changes": '{"rules": 3}'}, "changes", "rules: must be a list"),
        ({"after": "+1h", "flag": "nope"}, "flag", "does not exist"),
        ({"after": "+1h", "action": "delete"}, "action", "choose one of"),
    ],
)
async def test_a_refused_schedule_is_shown_at_its_field(
    app: FastAPI, client: httpx.AsyncClient, project: str, fields: dict[str, str], field: str, says: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        page = await c.post(f"{c.base}/schedules", {"flag": "checkout", "action": "on", **fields})
    assert page.status_code == 422, page.text
    error = field_error(page.text, "schedule", field)
    assert error is not None and says in error, error
    assert (await client.get(_api(project, "schedules"))).json()["items"] == []


async def test_a_triggers_url_is_shown_once_fires_without_a_key_and_dies_when_revoked(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        created = await c.post(
            f"{c.base}/triggers", {"name": "checkout-5xx", "flag": "checkout", "action": "kill", "next": ""}
        )
        assert created.status_code == 201
        found = re.search(r'id="secret" type="text" readonly value="([^"]+)"', created.text)
        assert found is not None and "shown only this once" in created.text
        url = found.group(1)
        assert url.startswith("http://flagstaff.test/api/v1/triggers/fs_trigger_")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as monitoring:
            fired = await monitoring.post(url, json={"reason": "5xx above 5%"})
        assert fired.status_code == 200 and fired.json()["changed"] is True
        flag = (await client.get(env_flag_url(project, ENV, "checkout"))).json()["flag"]
        assert flag["enabled"] is False
        page = await c.http.get(f"{c.base}/releases")
        assert url.rsplit("/", 1)[1] not in page.text  # never shown again
        [trigger] = (await client.get(_api(project, "triggers"))).json()["items"]
        row = re.search(rf'<tr id="trigger-{trigger["id"]}".*?</tr>', page.text, re.S)
        assert row is not None
        assert "checkout-5xx" in row.group(0) and '<td data-label="Fires">1</td>' in row.group(0)
        assert trigger["fingerprint"] in row.group(0) and "Revoke" in row.group(0)
        partial = await c.http.get(f"{c.base}/flags/checkout/releases")
        assert "checkout-5xx" in partial.text and "fired 1 times" in partial.text
        revoked = await c.post(f"{c.base}/triggers/{trigger['id']}/revoke", {})
        assert revoked.status_code == 303
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as monitoring:
            assert (await monitoring.post(url)).status_code == 404
    [create] = await audit(client, project, "trigger.create")
    [revoke] = await audit(client, project, "trigger.revoke")
    assert create["actor"] == revoke["actor"] == c.name


async def test_a_refused_trigger_is_shown_at_its_field(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        nameless = await c.post(f"{c.base}/triggers", {"name": "", "flag": "checkout", "action": "kill"})
        unknown = await c.post(f"{c.base}/triggers", {"name": "x", "flag": "nope", "action": "kill"})
    assert nameless.status_code == unknown.status_code == 422
    assert "at least 1 character" in (field_error(nameless.text, "trigger", "name") or "")
    assert "does not exist" in (field_error(unknown.text, "trigger", "flag") or "")


async def test_a_webhooks_secret_is_shown_once_and_a_deleted_webhook_stays_listed(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "admin") as c:
        created = await c.post(
            f"{c.base}/webhooks",
            {"name": "chat", "url": "http://127.0.0.1:9/hooks", "events": "flag.kill, rollout.*"},
        )
        assert created.status_code == 201
        found = re.search(r'id="secret" type="text" readonly value="([^"]+)"', created.text)
        assert found is not None and found.group(1).startswith("fs_whsec_")
        [webhook] = (await client.get(_api(project, "webhooks"))).json()["items"]
        assert webhook["events"] == ["flag.kill", "rollout.*"] and webhook["created_by"] == c.name
        page = await c.http.get(f"{c.base}/releases")
        assert found.group(1) not in page.text
        assert "<code>flag.kill</code>, <code>rollout.*</code>" in page.text and "none yet" in page.text
        deleted = await c.post(f"{c.base}/webhooks/{webhook['id']}/delete", {})
        assert deleted.status_code == 303
        page = await c.http.get(f"{c.base}/releases")
        shown = rf'<tr id="webhook-{webhook["id"]}" data-webhook="\d+" class="revoked">.*?</tr>'
        row = re.search(shown, page.text, re.S)
        assert row is not None and "deleted" in row.group(0) and "Delete</button>" not in row.group(0)
        refused = await c.post(f"{c.base}/webhooks", {"name": "x", "url": "ftp://example.org/"})
        assert refused.status_code == 422
        assert "http:// or https://" in (field_error(refused.text, "webhook", "url") or "")
        events = await c.post(f"{c.base}/webhooks", {"name": "x", "url": "http://h/", "events": "Flag Kill"})
        assert events.status_code == 422 and field_error(events.text, "webhook", "events") is not None
    assert [entry["actor"] for entry in await audit(client, project, "webhook.create")] == [c.name]
    assert [entry["actor"] for entry in await audit(client, project, "webhook.delete")] == [c.name]


async def test_a_webhooks_deliveries_show_their_status(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "admin") as c:
        created = await c.post(f"{c.base}/webhooks", {"name": "chat", "url": "http://127.0.0.1:9/hooks"})
        assert created.status_code == 201
        await client.post(env_flag_url(project, ENV, "checkout", "kill"), json={"reason": "incident"})
        services = app.state.services
        services.webhooks.outbox.run_once()  # the audit entry becomes a delivery (port 9: nothing listens)
        page = await c.http.get(f"{c.base}/releases")
    assert re.search(r'<span class="delivery delivery-pending"[^>]*>flag\.kill pending', page.text)

"""Outbound webhooks: registered by editors, seen by readers; a real receiver on loopback gets a signed JSON
event for each audited change of the webhook's environment, in order, retried with backoff, logged per
delivery, filtered by event, stopped by deletion, and never in the way of the write that caused it."""

from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url, error_of
from tests.webhook_receiver import WebhookReceiver
from tests.webhook_replica import BASE, CAP, Replica

pytestmark = pytest.mark.anyio
RELEASE_NOTES = Path(__file__).resolve().parents[2] / "docs" / "releases.md"


@pytest.fixture
def replica(app: FastAPI, database_url: str) -> Iterator[Replica]:
    made = Replica(database_url)
    yield made
    made.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    started = WebhookReceiver().start()
    yield started
    started.stop()


def webhooks_url(project: str, env: str = "production") -> str:
    return f"/api/v1/projects/{project}/environments/{env}/webhooks"


@pytest.fixture
async def register(
    client: httpx.AsyncClient,
) -> Any:
    """Registers webhooks, and deletes them after the test, so that no later round sends to a closed port."""
    made: list[str] = []

    async def registered(project: str, url: str, **fields: Any) -> dict[str, Any]:
        env = fields.pop("env", "production")
        response = await client.post(webhooks_url(project, env), json={"name": "hook", "url": url, **fields})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        made.append(f"{webhooks_url(project, env)}/{created['id']}")
        return created

    yield registered
    for url in made:
        await client.delete(url)


Register = Callable[..., Any]


async def deliveries(
    client: httpx.AsyncClient, project: str, webhook: dict[str, Any]
) -> list[dict[str, Any]]:
    response = await client.get(f"{webhooks_url(project)}/{webhook['id']}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def verified(secret: str, request: Any) -> bool:
    """What a receiver does: recompute the HMAC of `<timestamp>.<raw body>` and compare in constant time."""
    signed = request.headers["x-flagstaff-timestamp"].encode() + b"." + request.body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers["x-flagstaff-signature"])


# -- managing webhooks ------


async def test_the_secret_is_shown_once_and_reads_never_show_it(
    client: httpx.AsyncClient, project: str, register: Register
):
    created = await register(project, "https://hooks.example.com/flagstaff", events=["flag.*"])
    assert created["secret"].startswith("fs_whsec_") and len(created["secret"]) > 40
    assert (created["url"], created["events"], created["revoked_at"]) == (
        "https://hooks.example.com/flagstaff",
        ["flag.*"],
        None,
    )
    listed = await client.get(webhooks_url(project))
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    shown = await client.get(f"{webhooks_url(project)}/{created['id']}")
    assert shown.status_code == 200 and shown.json()["name"] == "hook"
    for response in (listed, shown):
        assert "secret" not in response.text and created["secret"] not in response.text
    audit = (await client.get("/api/v1/audit", params={"project": project, "limit": 1})).json()["items"][0]
    assert audit["action"] == "webhook.create" and created["secret"] not in str(audit)


async def test_a_chosen_secret_is_kept(client: httpx.AsyncClient, project: str, register: Register):
    created = await register(project, "http://127.0.0.1:9/x", secret="a-secret-of-my-own")
    assert created["secret"] == "a-secret-of-my-own"


async def test_editors_manage_webhooks_and_readers_see_them(client: httpx.AsyncClient, project: str):
    keys = {}
    for role in ("editor", "reader"):
        response = await client.post(
            "/api/v1/admin-keys", json={"name": role, "role": role, "project": project}
        )
        keys[role] = {"Authorization": f"Bearer {response.json()['secret']}"}
    body = {"name": "hook", "url": "http://127.0.0.1:9/x"}
    assert (await client.post(webhooks_url(project), json=body, headers=keys["reader"])).status_code == 403
    created = await client.post(webhooks_url(project), json=body, headers=keys["editor"])
    assert created.status_code == 201
    one = f"{webhooks_url(project)}/{created.json()['id']}"
    for path in (webhooks_url(project), one, f"{one}/deliveries"):
        assert (await client.get(path, headers=keys["reader"])).status_code == 200
    assert (await client.delete(one, headers=keys["reader"])).status_code == 403
    assert (await client.delete(one, headers=keys["editor"])).status_code == 200


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "http:///no-host"}, "url"),
        ({"url": "https://user:password@hooks.example.com/"}, "url"),
        ({"url": "http://hooks.example.com:99999/"}, "url"),
        ({"url": "http://hooks.example.com/a b"}, "url"),
        ({"url": "https://hooks.example.com/" + "x" * 2000}, "url"),
        ({"events": []}, "events"),
        ({"events": ["flag.kill", "Flag Kill"]}, "events[1]"),
        ({"events": ["flag.**"]}, "events[0]"),
        ({"secret": "short"}, "secret"),
        ({"name": ""}, "name"),
        ({"retries": 3}, "retries"),
    ],
)
async def test_a_bad_webhook_is_refused_naming_the_field(
    client: httpx.AsyncClient, project: str, fields: dict[str, Any], field: str
):
    body = {"name": "hook", "url": "https://hooks.example.com/x", **fields}
    response = await client.post(webhooks_url(project), json=body)
    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field
    assert (await client.get(webhooks_url(project))).json()["items"] == []


async def test_unknown_webhooks_are_404(client: httpx.AsyncClient, project: str):
    for response in (
        await client.get(f"{webhooks_url(project)}/99999999"),
        await client.get(f"{webhooks_url(project)}/99999999/deliveries"),
        await client.delete(f"{webhooks_url(project)}/99999999"),
    ):
        assert response.status_code == 404 and error_of(response)["field"] == "webhook_id"
    assert (await client.get(webhooks_url(project, "nowhere"))).status_code == 404


# -- delivering ------


async def test_a_flag_change_and_a_kill_arrive_signed(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    await create_flag(client, project, "checkout")
    webhook = await register(project, receiver.url)
    url = env_flag_url(project, "production", "checkout")
    assert (await client.patch(url, json={"enabled": True, "reason": "launch"})).status_code == 200
    assert (await client.post(f"{url}/kill", json={"reason": "5xx"})).status_code == 200
    assert replica.run() == 2
    first, second = receiver.wait_for(2)
    assert [first.headers["x-flagstaff-event"], second.headers["x-flagstaff-event"]] == [
        "flag.update",
        "flag.kill",
    ]
    for request in (first, second):
        assert verified(webhook["secret"], request)
        assert not verified("another secret entirely", request)
        assert request.headers["content-type"] == "application/json" and request.path == "/hook"
    update, kill = first.json, second.json
    assert set(kill) == {
        "event",
        "audit_id",
        "at",
        "actor",
        "project",
        "environment",
        "target",
        "reason",
        "before",
        "after",
        "request_id",
    }
    assert (kill["event"], kill["actor"], kill["reason"]) == ("flag.kill", "bootstrap", "5xx")
    assert (kill["project"], kill["environment"]) == (project, "production")
    assert kill["target"] == {"kind": "flag", "key": "checkout"}
    assert kill["before"]["enabled"] is True and kill["after"]["enabled"] is False
    assert update["reason"] == "launch" and update["audit_id"] < kill["audit_id"]
    logged = await deliveries(client, project, webhook)
    assert [item["event"] for item in logged] == ["flag.kill", "flag.update"]  # newest first
    assert {item["status"] for item in logged} == {"delivered"}
    assert [str(item["id"]) for item in reversed(logged)] == [
        r.headers["x-flagstaff-delivery"] for r in (first, second)
    ]
    assert all(item["attempts"] == 1 and item["last_status"] == 200 for item in logged)
    assert replica.run() == 0 and len(receiver.received) == 2  # delivered once


async def test_a_tampered_body_or_an_old_timestamp_fails_verification(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    await create_flag(client, project, "checkout")
    webhook = await register(project, receiver.url)
    await client.post(env_flag_url(project, "production", "checkout", "on"))
    replica.run()
    [request] = receiver.wait_for(1)
    tampered = type(request)(request.path, request.headers, request.body.replace(b'"flag.on"', b'"flag.off"'))
    replayed = type(request)(request.path, {**request.headers, "x-flagstaff-timestamp": "1"}, request.body)
    assert verified(webhook["secret"], request)
    assert not verified(webhook["secret"], tampered) and not verified(webhook["secret"], replayed)


def _documented_verify() -> Callable[..., bool]:
    """The receiver's check as the release notes print it."""
    text = RELEASE_NOTES.read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]
    code = next(block for block in blocks if "def verify" in block)
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


async def test_the_documented_verification_accepts_a_delivery_and_refuses_forgeries(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    verify = _documented_verify()
    await create_flag(client, project, "checkout")
    webhook = await register(project, receiver.url)
    await client.post(env_flag_url(project, "production", "checkout", "on"))
    replica.run()
    [request] = receiver.wait_for(1)
    headers = {
        "X-Flagstaff-Timestamp": request.headers["x-flagstaff-timestamp"],
        "X-Flagstaff-Signature": request.headers["x-flagstaff-signature"],
    }
    assert verify(webhook["secret"], headers, request.body)
    assert not verify("fs_whsec_someone-else", headers, request.body)
    assert not verify(webhook["secret"], headers, request.body + b" ")
    stale = {**headers, "X-Flagstaff-Timestamp": str(int(headers["X-Flagstaff-Timestamp"]) - 3600)}
    assert not verify(webhook["secret"], stale, request.body)


async def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    await create_flag(client, project, "checkout")
    webhook = await register(project, receiver.url)
    receiver.answer_with(500, 503)
    await client.post(env_flag_url(project, "production", "checkout", "on"))
    assert replica.run() == 1
    [pending] = await deliveries(client, project, webhook)
    assert (pending["status"], pending["attempts"], pending["last_status"]) == ("pending", 1, 500)
    assert pending["last_error"] == "HTTP 500: receiver says no"
    assert _near(pending["next_attempt_at"], replica.clock.now + timedelta(seconds=BASE))
    assert replica.run() == 0  # not due yet
    replica.clock.advance(BASE)
    assert replica.run() == 1
    [pending] = await deliveries(client, project, webhook)
    assert (pending["attempts"], pending["last_status"]) == (2, 503)
    # doubled after the second failure
    assert _near(pending["next_attempt_at"], replica.clock.now + timedelta(seconds=2 * BASE))
    replica.clock.advance(2 * BASE)
    assert replica.run() == 1
    [delivered] = await deliveries(client, project, webhook)
    assert (delivered["status"], delivered["attempts"], delivered["last_status"]) == ("delivered", 3, 200)
    assert delivered["last_error"] is None and delivered["delivered_at"] is not None
    assert delivered["next_attempt_at"] is None
    assert len(receiver.wait_for(3)) == 3
    assert len({request.headers["x-flagstaff-delivery"] for request in receiver.received}) == 1


async def test_a_delivery_fails_for_good_after_the_last_attempt(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    await create_flag(client, project, "checkout")
    webhook = await register(project, receiver.url)
    receiver.answer_with(*[500] * 10)
    await client.post(env_flag_url(project, "production", "checkout", "on"))
    for _ in range(4):  # max_attempts
        assert replica.run() == 1
        replica.clock.advance(CAP)  # past any backoff
    [failed] = await deliveries(client, project, webhook)
    assert (failed["status"], failed["attempts"], failed["last_status"]) == ("failed", 4, 500)
    assert failed["next_attempt_at"] is None
    replica.clock.advance(CAP)
    assert replica.run() == 0 and len(receiver.received) == 4


async def test_an_unreachable_receiver_is_a_failed_attempt_with_the_reason(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica
):
    await create_flag(client, project, "checkout")
    closed = WebhookReceiver()
    closed.server.server_close()  # its port, with nothing listening any more
    webhook = await register(project, closed.url)
    await client.post(env_flag_url(project, "production", "checkout", "on"))
    assert replica.run() == 1
    [pending] = await deliveries(client, project, webhook)
    assert (pending["status"], pending["attempts"], pending["last_status"]) == ("pending", 1, None)
    assert pending["last_error"].startswith("ConnectError")


async def test_a_webhook_filtered_by_events_receives_only_those(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    await create_flag(client, project, "checkout")
    kills = WebhookReceiver().start()
    try:
        await register(project, kills.url, events=["flag.kill", "schedule.*"])
        await register(project, receiver.url, events=["flag.*"])
        url = env_flag_url(project, "production", "checkout")
        await client.post(f"{url}/on")
        assert (await client.patch(url, json={"off_variation": 0})).json()["changed"]
        await client.post(f"{url}/kill", json={"reason": "r"})
        await client.post(f"/api/v1/projects/{project}/environments/production/sdk-keys", json={"name": "k"})
        replica.run()
        assert kills.wait_for(1) and kills.events() == ["flag.kill"]
        assert receiver.wait_for(3) and receiver.events() == ["flag.on", "flag.update", "flag.kill"]
    finally:
        kills.stop()


async def test_only_the_webhooks_environment_is_sent(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    await create_flag(client, project, "checkout")
    await register(project, receiver.url)
    await client.post(env_flag_url(project, "staging", "checkout", "on"))
    other = f"p-{uuid.uuid4().hex[:12]}"
    await client.post("/api/v1/projects", json={"key": other})
    await create_flag(client, other, "checkout")
    await client.post(env_flag_url(other, "production", "checkout", "on"))
    await client.post(env_flag_url(project, "production", "checkout", "off"))  # already off: nothing audited
    await client.post(env_flag_url(project, "production", "checkout", "on"))
    replica.run()
    assert [request.json["environment"] for request in receiver.wait_for(1)] == ["production"]
    assert [(r.json["project"], r.json["event"]) for r in receiver.received] == [(project, "flag.on")]


async def test_deleting_a_webhook_stops_its_deliveries_and_keeps_its_log(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    await create_flag(client, project, "checkout")
    webhook = await register(project, receiver.url)
    url = env_flag_url(project, "production", "checkout")
    receiver.answer_with(500)
    await client.post(f"{url}/on")
    replica.run()
    deleted = await client.delete(f"{webhooks_url(project)}/{webhook['id']}")
    assert deleted.status_code == 200 and deleted.json()["revoked_at"] is not None
    await client.post(f"{url}/off")
    replica.clock.advance(CAP)
    assert replica.run() == 0
    assert len(receiver.received) == 1
    [failed] = await deliveries(client, project, webhook)
    assert (failed["status"], failed["last_error"]) == ("failed", "the webhook was deleted")
    again = await client.delete(f"{webhooks_url(project)}/{webhook['id']}")
    assert again.json()["revoked_at"] == deleted.json()["revoked_at"]
    actions = [
        e["action"] for e in (await client.get("/api/v1/audit", params={"project": project})).json()["items"]
    ]
    assert actions.count("webhook.delete") == 1


async def test_a_write_returns_while_the_receiver_holds_its_delivery(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    await create_flag(client, project, "checkout")
    await register(project, receiver.url)
    url = env_flag_url(project, "production", "checkout")
    receiver.hang()
    await client.post(f"{url}/on")
    sending = threading.Thread(target=replica.run)
    sending.start()
    try:
        receiver.wait_for(1)
        await _until(lambda: receiver.holding == 1)
        killed = await client.post(f"{url}/kill", json={"reason": "while a receiver hangs"})
        assert killed.status_code == 200 and killed.json()["changed"] is True
        assert receiver.holding == 1  # the write did not wait for the delivery to end
    finally:
        receiver.release()
        sending.join(30)
    assert not sending.is_alive()


async def test_the_delivery_log_pages_newest_first(
    client: httpx.AsyncClient, project: str, register: Register, replica: Replica, receiver: WebhookReceiver
):
    await create_flag(client, project, "checkout")
    webhook = await register(project, receiver.url)
    url = env_flag_url(project, "production", "checkout")
    for _ in range(3):
        await client.post(f"{url}/on")
        await client.post(f"{url}/off")
    replica.run()
    log = f"{webhooks_url(project)}/{webhook['id']}/deliveries"
    first = (await client.get(log, params={"limit": 4})).json()
    second = (await client.get(log, params={"limit": 4, "before": first["next"]})).json()
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert len(first["items"]) == 4 and len(ids) == 6 and ids == sorted(ids, reverse=True)
    assert second["next"] is None
    assert [item["event"] for item in first["items"]][:2] == ["flag.off", "flag.on"]
    assert (await client.get(log, params={"limit": 0})).status_code == 422


def _near(text: str, expected: datetime) -> bool:
    """A time in an answer is `expected`, to the precision the database keeps."""
    return abs(datetime.fromisoformat(text.replace("Z", "+00:00")) - expected) < timedelta(seconds=1)


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)

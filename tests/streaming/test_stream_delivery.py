"""One server process: changes reach connected SDKs, resume after a restart, long gaps get a snapshot, other
SSE clients can read the stream, and the confirmed kill switch counts confirmations."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import httpx
import httpx_sse
import psycopg

from flagstaff import Client
from tests.streaming.admin import Admin
from tests.streaming.processes import ServerProcess, wait_until


def _events(
    base_url: str, sdk_key: str, count: int, last_event_id: str | bytes | None = None
) -> list[httpx_sse.ServerSentEvent]:
    headers: dict[str, str | bytes] = {"Authorization": f"Bearer {sdk_key}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    received: list[httpx_sse.ServerSentEvent] = []
    with (
        httpx.Client(timeout=5) as http,
        httpx_sse.connect_sse(http, "GET", f"{base_url}/sdk/v1/stream", headers=headers) as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        assert source.response.headers["x-accel-buffering"] == "no"
        assert source.response.headers["cache-control"] == "no-cache"
        for event in source.iter_sse():
            received.append(event)
            if len(received) == count:
                break
    return received


def test_a_kill_reaches_a_connected_sdk(
    admin: Admin, server: ServerProcess, make_client: Callable[..., Client]
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    client = make_client(key, server.base_url)
    assert client.wait_until_ready(5)
    assert client.is_enabled("checkout")
    changed: list[set[str]] = []
    client.on_change(changed.append)

    admin.switch("checkout", "kill")

    wait_until(lambda: not client.is_enabled("checkout"), 2, "the kill to reach the SDK")
    assert {"checkout"} in changed


def test_the_first_event_is_the_snapshot_and_every_event_id_is_a_revision(
    admin: Admin, server: ServerProcess
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    snapshot = _events(server.base_url, key, 1)[0]
    assert snapshot.event == "snapshot"
    body = json.loads(snapshot.data)
    assert body["format"] == 1 and "checkout" in body["flags"]
    assert snapshot.id == str(body["revision"])
    assert snapshot.retry == 200


def test_a_resume_sends_exactly_the_changes_after_last_event_id(admin: Admin, server: ServerProcess) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    start = _events(server.base_url, key, 1)[0].id
    admin.switch("checkout", "kill")
    admin.create_flag("search", enabled=False)

    events = _events(server.base_url, key, 2, last_event_id=start)

    assert [e.event for e in events] == ["change", "change"]
    assert [int(e.id) for e in events] == [int(start) + 1, int(start) + 2]
    first = json.loads(events[0].data)
    assert first["changes"][0]["key"] == "checkout" and first["changes"][0]["data"]["enabled"] is False


def test_a_resume_from_a_revision_too_far_back_gets_a_snapshot(admin: Admin, server: ServerProcess) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    start = _events(server.base_url, key, 1)[0].id
    for action in ("kill", "on") * 3:  # six changes; the test servers resume at most five
        admin.switch("checkout", action)

    assert _events(server.base_url, key, 1, last_event_id=start)[0].event == "snapshot"
    assert _events(server.base_url, key, 1, last_event_id="999999")[0].event == "snapshot"  # unknown: ahead


def test_a_last_event_id_that_is_not_a_revision_gets_a_snapshot(admin: Admin, server: ServerProcess) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    # b"\xb2" arrives as "²" (headers are Latin-1): a digit to str.isdigit(), not a number to int().
    for given in ("latest", "-1", "7x", b"\xb2", b"1\xb3"):
        assert _events(server.base_url, key, 1, last_event_id=given)[0].event == "snapshot", given


def test_an_sdk_resumes_after_a_restart_without_missing_a_write_made_while_it_was_down(
    admin: Admin,
    server: ServerProcess,
    make_client: Callable[..., Client],
    start_server: Callable[..., ServerProcess],
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    client = make_client(key, server.base_url)
    assert client.wait_until_ready(5)

    server.kill()
    other = start_server()  # the same database: the write lands while the SDK's server is down
    admin.use(other.base_url).switch("checkout", "kill")
    server.start()

    wait_until(lambda: not client.is_enabled("checkout"), 10, "the write made during the outage")
    wait_until(lambda: client.status().state == "valid", 5, "the stream to be back")


def test_curl_reads_the_stream_as_plain_server_sent_events(admin: Admin, server: ServerProcess) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    result = subprocess.run(
        ["curl", "-sN", "--max-time", "1.5", "-H", f"Authorization: Bearer {key}", f"{server.base_url}/sdk/v1/stream"],  # noqa: E501
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "event: snapshot" in result.stdout
    assert ": heartbeat" in result.stdout  # the 1 s heartbeat comment arrived within the 1.5 s


def test_a_kill_with_wait_reports_the_confirmation_of_every_connected_sdk(
    admin: Admin, server: ServerProcess, make_client: Callable[..., Client]
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    clients = [make_client(key, server.base_url) for _ in range(3)]
    assert all(c.wait_until_ready(5) for c in clients)
    wait_until(lambda: admin.propagation()["confirmed"] == 3, 5, "three connected, confirmed instances")

    result = admin.switch("checkout", "kill", wait=5)

    propagation = result["propagation"]
    assert propagation == {**propagation, "revision": result["revision"], "confirmed": 3, "unconfirmed": 0}
    assert 0 <= propagation["slowest_confirmation_ms"] < 5000
    assert admin.propagation()["confirmed"] == 3


def test_a_write_without_wait_reports_no_propagation(admin: Admin) -> None:
    admin.create_flag("checkout")
    assert admin.switch("checkout", "kill")["propagation"] is None


def test_malformed_change_data_keeps_the_last_good_flags_and_the_sdk_recovers(
    admin: Admin, server: ServerProcess, make_client: Callable[..., Client], database_url: str
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    client = make_client(key, server.base_url)
    assert client.wait_until_ready(5)
    revision = client.revision

    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as db:
        environment_id = db.execute(
            "SELECT e.id FROM environments e JOIN projects p ON p.id = e.project_id "
            "WHERE p.key = %s AND e.key = 'production'",
            (admin.project,),
        ).fetchone()[0]
        # A corrupted change-log row, as if written by a buggy or newer server: its data is not an object.
        db.execute("UPDATE environments SET revision = revision + 1 WHERE id = %s", (environment_id,))
        db.execute(
            "INSERT INTO change_log (environment_id, revision, entity_kind, key, version, deleted, payload, "
            "created_at) VALUES (%s, %s, 'flag', 'checkout', 99, false, '\"garbage\"', now())",
            (environment_id, revision + 1),
        )

    # The SDK drops the bad event, keeps serving, and reconnects for a snapshot of the (valid) tables.
    wait_until(lambda: client.revision == revision + 1, 5, "the snapshot after the malformed event")
    assert client.is_enabled("checkout")
    admin.switch("checkout", "kill")
    wait_until(lambda: not client.is_enabled("checkout"), 5, "later changes after the recovery")
